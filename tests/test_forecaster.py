"""Future covariates, calendar features, series embeddings and the recursive strategy."""

from dataclasses import replace

import numpy as np
import pytest

from rnnforecast.errors import DataError
from rnnforecast.prediction import load_input, predict
from tests.conftest import predicted, write_future_file


def test_the_run_resolves_calendar_features_and_has_all_inputs(future_run):
    assert future_run.config.data.calendar == ["month"]
    forecaster = future_run.load_forecaster()
    model = forecaster.members[0].model
    assert {tensor.name for tensor in model.inputs} == {"window", "future", "series"}
    # The price and the sine/cosine of the month are known over the horizon.
    assert forecaster.layout.known == (1, 2, 3)
    assert forecaster.layout.series_ids == {"north": 0, "south": 1}


def test_predict_needs_the_future_covariates(future_run, tmp_path):
    dataset = load_input(future_run)
    with pytest.raises(DataError, match=r"pass their values .* --future FILE \(columns: region"):
        predict(future_run, dataset)
    gappy = write_future_file(tmp_path / "gappy.csv", drop=1)
    with pytest.raises(DataError, match=r"\(series 'north'\): no future covariates \(price\) at "):
        predict(future_run, dataset, future=gappy)


def test_future_covariates_reach_the_forecast(future_run, tmp_path):
    forecasts = predicted(future_run, future=write_future_file(tmp_path / "f.csv"))
    assert forecasts.columns.tolist()[:3] == ["region", "month", "forecast"]
    assert forecasts.columns.tolist()[3:] == ["lower_80", "upper_80", "lower_95", "upper_95"]
    assert len(forecasts) == 2 * 3 and np.isfinite(forecasts["forecast"]).all()
    dearer = tmp_path / "dearer.csv"
    dearer.write_text((tmp_path / "f.csv").read_text().replace(",5", ",9"))
    changed = predicted(future_run, future=dearer)
    assert not np.allclose(changed["forecast"], forecasts["forecast"])


def test_a_forecast_reads_nothing_after_its_origin_but_the_known_columns(future_run):
    """Leak check: tampering with the target after the origin, or with any value after the
    horizon, leaves the forecast from that origin unchanged."""
    forecaster = future_run.load_forecaster()
    dataset = load_input(future_run)
    origin = 40
    before = forecaster.forecast(dataset, [np.array([origin])] * 2).point
    tampered_series = []
    for series in dataset.series:
        values = series.values.copy()
        values[origin:, 0] = 1e6  # the target from the origin on
        values[origin + 3 :, 1] = -1e6  # the price after the horizon
        tampered_series.append(replace(series, values=values))
    tampered = replace(dataset, series=tampered_series)
    after = forecaster.forecast(tampered, [np.array([origin])] * 2).point
    np.testing.assert_allclose(after, before)


def test_recursive_forecast_extends_the_direct_one(future_run, tmp_path):
    future = write_future_file(tmp_path / "f.csv", months=8)
    direct = predicted(future_run, future=future)
    longer = predicted(future_run, future=future, steps=8)
    assert len(longer) == 2 * 8
    north = longer[longer["region"] == "north"]
    np.testing.assert_allclose(
        north["forecast"].to_numpy()[:3],
        direct[direct["region"] == "north"]["forecast"].to_numpy(),
        rtol=1e-6,
    )
    assert north["month"].iloc[-1].strftime("%Y-%m") == "2020-08"
    shorter = predicted(future_run, future=future, steps=2)
    np.testing.assert_allclose(
        shorter["forecast"].to_numpy(),
        direct.groupby("region").head(2)["forecast"].to_numpy(),
        rtol=1e-6,
    )


def test_recursion_refuses_past_covariates(long_run):
    run, _, _ = long_run
    with pytest.raises(DataError, match=r"past covariates \['price'\] are unknown"):
        predict(run, load_input(run), steps=10)


def test_future_files_with_duplicates_or_gaps_elsewhere(future_run, tmp_path):
    dataset = load_input(future_run)
    good = write_future_file(tmp_path / "f.csv")
    expected = predicted(future_run, future=good)
    # A blank value at a time no forecast needs is ignored.
    padded = tmp_path / "padded.csv"
    padded.write_text(good.read_text() + "north,2021-06-01,\n")
    np.testing.assert_allclose(
        predicted(future_run, future=padded)["forecast"], expected["forecast"]
    )
    twice = tmp_path / "twice.csv"
    twice.write_text(good.read_text() + "north,2020-02-01,9\n")
    with pytest.raises(DataError, match=r"appear more than once .* first 2020-02-01"):
        predict(future_run, dataset, future=twice)
    with pytest.raises(DataError, match="future covariates file not found"):
        predict(future_run, dataset, future=tmp_path / "absent.csv")
