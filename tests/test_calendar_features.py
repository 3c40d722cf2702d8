import numpy as np
import pandas as pd
import pytest

from rnnforecast.calendar_features import calendar_features, calendar_names
from rnnforecast.errors import DataError


@pytest.mark.parametrize(
    ("frequency", "names"),
    [
        ("MS", ["month"]),
        ("QS-OCT", ["quarter"]),
        ("W-SUN", ["week"]),
        ("D", ["day_of_week", "day_of_year"]),
        ("h", ["hour", "day_of_week"]),
        ("30min", ["hour", "day_of_week"]),
        ("YS", []),
        (None, []),
    ],
)
def test_auto_picks_what_varies_within_a_season(frequency, names):
    assert calendar_names("auto", frequency) == names


def test_explicit_lists_and_none_are_taken_as_given():
    assert calendar_names(["hour"], "MS") == ["hour"]
    assert calendar_names("none", "h") == []


def test_features_are_sine_cosine_pairs_on_the_unit_circle():
    time = pd.date_range("2024-01-01", periods=24, freq="MS")
    features = calendar_features(time, ["month", "quarter"])
    assert features.shape == (24, 4)
    np.testing.assert_allclose(features[:, 0] ** 2 + features[:, 1] ** 2, 1.0, rtol=1e-6)
    # The same month of consecutive years gets the same values; December is next to January.
    np.testing.assert_allclose(features[:12], features[12:])
    assert np.linalg.norm(features[11, :2] - features[0, :2]) < 0.6


def test_integer_steps_have_no_calendar():
    with pytest.raises(DataError, match="integer steps, not dates"):
        calendar_features(pd.RangeIndex(5), ["month"], "x.csv")
