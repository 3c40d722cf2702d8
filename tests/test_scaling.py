import numpy as np
import pytest

from rnnforecast.errors import DataError
from rnnforecast.scaling import Scaler


@pytest.mark.parametrize("method", ["standard", "minmax", "none"])
def test_inverse_of_transform_is_identity(method: str):
    values = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 25.0]])
    scaler = Scaler.fit(method, {"a": values})
    scaled = scaler.transform("a", values)
    np.testing.assert_allclose(scaler.inverse_target("a", scaled[:, 0]), values[:, 0], rtol=1e-6)


def test_standard_and_minmax_parameters():
    values = np.array([[1.0], [3.0]])
    assert Scaler.fit("standard", {"": values}).transform("", values).ravel().tolist() == [-1, 1]
    assert Scaler.fit("minmax", {"": values}).transform("", values).ravel().tolist() == [0, 1]


def test_constant_column_is_not_divided_by_zero():
    scaler = Scaler.fit("standard", {"": np.full((5, 1), 7.0)})
    assert scaler.transform("", np.array([[8.0]])).item() == 1.0


def test_json_round_trip_and_unknown_series():
    scaler = Scaler.fit("standard", {"a": np.array([[1.0], [2.0]]), "b": np.array([[5.0], [9.0]])})
    again = Scaler.from_dict(scaler.to_dict())
    assert again == scaler
    with pytest.raises(DataError, match="series 'c' was not in the training data"):
        again.transform("c", np.zeros((1, 1)))


def test_log_scaling_round_trips_and_refuses_values_that_are_not_positive():
    values = np.array([[1.0, -3.0], [10.0, 4.0], [100.0, 5.0]])
    scaler = Scaler.fit("standard", {"": values}, log=True)
    scaled = scaler.transform("", values)
    # The target's logarithm is standardised: equal ratios become equal steps.
    assert scaled[1, 0] - scaled[0, 0] == pytest.approx(scaled[2, 0] - scaled[1, 0], rel=1e-5)
    np.testing.assert_allclose(scaler.inverse_target("", scaled[:, 0]), values[:, 0], rtol=1e-5)
    assert Scaler.from_dict(scaler.to_dict()) == scaler
    with pytest.raises(DataError, match=r"`transform.log` needs positive values, but series 'b'"):
        Scaler.fit("standard", {"b": np.array([[1.0], [0.0]])}, log=True)
