import numpy as np
import pandas as pd
import pytest

from rnnforecast.config_file import load_config
from rnnforecast.errors import DataError
from rnnforecast.forecaster import future_times
from rnnforecast.prediction import evaluate, load_input, predict
from rnnforecast.training import train
from tests.conftest import TINY_OVERRIDES, predicted, write_long_csv


def test_predict_continues_the_synthetic_steps(tiny_run):
    forecasts = predicted(tiny_run)
    assert forecasts.columns.tolist() == [
        "step",
        "forecast",
        "lower_80",
        "upper_80",
        "lower_95",
        "upper_95",
    ]
    assert forecasts["step"].tolist() == [240, 241, 242, 243]
    assert np.isfinite(forecasts["forecast"]).all()


def test_predict_long_format_gives_future_months_per_series(long_run):
    run, _, _ = long_run
    forecasts = predicted(run)
    assert forecasts.columns.tolist() == [
        "region",
        "month",
        "forecast",
        "lower_80",
        "upper_80",
        "lower_95",
        "upper_95",
    ]
    assert forecasts["region"].tolist() == ["north"] * 3 + ["south"] * 3
    assert list(forecasts["month"][:3]) == list(pd.date_range("2020-01-01", periods=3, freq="MS"))
    # Per-series scaling puts each series' forecast near its own level (100 vs 110).
    levels = forecasts.groupby("region")["forecast"].mean()
    assert abs(levels["north"] - 100) < 15 and abs(levels["south"] - 110) < 15


def test_without_refit_evaluate_on_the_training_data_repeats_the_test_figures(tmp_path):
    config = load_config(None, [*TINY_OVERRIDES, "training.refit=false"])
    run = train(config, run_dir=tmp_path / "run", progress="none")
    metrics = evaluate(run, load_input(run))
    assert metrics["part"] == "test and newer"
    assert metrics["windows"] == run.metrics["windows"]
    for name in ("model", "naive", "seasonal_naive", "drift"):
        assert metrics[name] == pytest.approx(run.metrics[name], rel=1e-5)
    assert "note" not in metrics
    # More than the test part (48 points): some were seen in training, and it says so.
    assert "trained on" in evaluate(run, load_input(run), last=60)["note"]


def test_a_refit_model_is_only_evaluated_on_data_it_never_saw(tiny_run, tmp_path):
    # Right after training nothing is newer: the stored test figures, saying so.
    metrics = evaluate(tiny_run, load_input(tiny_run))
    assert metrics["stored"] is True and metrics["part"] == "test (stored)"
    for name in ("windows", "model", "naive", "seasonal_naive", "drift", "mean", "intervals"):
        assert metrics[name] == tiny_run.metrics[name], name
    assert "test figures stored in metrics.json" in metrics["note"]
    # A few newer points, fewer than a horizon: too little to score, and it says why.
    newer = tmp_path / "newer.csv"
    pd.DataFrame({"value": np.sin(np.arange(242) * 2 * np.pi / 24)}).to_csv(newer, index=False)
    with pytest.raises(DataError, match="refit on the whole history, so only newer points"):
        evaluate(tiny_run, load_input(tiny_run, newer))
    with pytest.raises(DataError, match=r"--last 500 is more than its 240 points"):
        evaluate(tiny_run, load_input(tiny_run), last=500)
    metrics = evaluate(tiny_run, load_input(tiny_run), last=10)
    assert metrics["windows"] == 10 - 4 + 1 and "trained on" in metrics["note"]


def test_evaluate_newer_data_scores_what_came_after_the_training_data(long_run, tmp_path):
    run, _, _ = long_run
    newer = write_long_csv(tmp_path / "newer.csv", length=72)  # 12 months past training
    metrics = evaluate(run, load_input(run, newer))
    # The saved model was refit on all 60 months: 12 new months, horizon 3, per series.
    assert metrics["part"] == "newer than training" and metrics["windows"] == 2 * (12 - 3 + 1)
    assert "note" not in metrics


def test_evaluate_last_points_of_a_new_file(long_run, tmp_path):
    run, _, _ = long_run
    newer = write_long_csv(tmp_path / "newer.csv", length=72)
    metrics = evaluate(run, load_input(run, newer), last=6)
    assert metrics["part"] == "last 6 points" and metrics["windows"] == 2 * (6 - 3 + 1)


def test_new_data_must_match_the_run(long_run, tmp_path):
    run, _, _ = long_run
    unknown = write_long_csv(tmp_path / "unknown.csv", ids=("east",))
    with pytest.raises(DataError, match=r"'east'.*not in the training data"):
        predict(run, load_input(run, unknown))
    short = write_long_csv(tmp_path / "short.csv", length=5)
    with pytest.raises(DataError, match=r"5 point\(s\), but the model needs .* 12 points"):
        predict(run, load_input(run, short))
    pd.read_csv(short).drop(columns="price").to_csv(tmp_path / "nocov.csv", index=False)
    with pytest.raises(DataError, match=r"column 'price' \(`data.covariates`\) not found"):
        load_input(run, tmp_path / "nocov.csv")


def test_future_times():
    months = pd.date_range("2020-01-01", periods=3, freq="MS")
    assert list(future_times(months, "MS", 2)) == [
        pd.Timestamp("2020-04-01"),
        pd.Timestamp("2020-05-01"),
    ]
    assert future_times(pd.Index([10, 12, 14]), None, 2).tolist() == [16, 18]


def test_many_series_train_plot_the_first_six_and_forecast_all(tmp_path):
    from tests.conftest import write_long_config

    ids = tuple(f"s{index}" for index in range(8))
    data_file = write_long_csv(tmp_path / "sales.csv", length=40, ids=ids)
    config = load_config(write_long_config(tmp_path, data_file))
    run = train(config, run_dir=tmp_path / "run", progress="none")
    assert (run.path / "forecast.png").read_bytes()[:4] == b"\x89PNG"
    forecasts = predicted(run)
    assert forecasts["region"].nunique() == 8 and len(forecasts) == 8 * 3


def test_evaluate_scales_mase_on_what_the_input_holds_before_the_scored_part(tmp_path):
    from rnnforecast.metrics import mase_scale
    from tests.conftest import write_long_config

    data_file = write_long_csv(tmp_path / "sales.csv", length=72, ids=("north",))
    config_file = write_long_config(tmp_path, data_file)
    config = load_config(config_file, ["training.refit=false"])
    run = train(config, run_dir=tmp_path / "run", progress="none")
    # The input starts a lookback (12 months) before the run's validation part: too little of
    # the training part for a seasonal scale, so MASE is scaled on the input before the test.
    frame = pd.read_csv(data_file)
    start = run.split["north"]["validation_start"][:10]
    first = int(np.flatnonzero(frame["month"] >= start)[0]) - 12
    frame.iloc[first:].to_csv(tmp_path / "late.csv", index=False)
    dataset = load_input(run, tmp_path / "late.csv")
    metrics = evaluate(run, dataset)
    target = dataset.series[0].target
    stored = pd.Timestamp(run.split["north"]["test_start"])
    test_start = int(np.flatnonzero(dataset.series[0].time >= stored)[0])
    expected = metrics["model"]["mae"] / mase_scale(target[:test_start], 12)
    assert metrics["model"]["mase"] == pytest.approx(expected)


def test_a_nul_byte_in_the_input_path_is_a_data_error(tiny_run):
    with pytest.raises(DataError, match=r"--input: a path cannot hold a NUL byte"):
        load_input(tiny_run, "new\0.csv")


def test_predict_a_minimal_config_on_a_gzip_monthly_file_gives_future_months(monthly_gzip_run):
    forecasts = predicted(monthly_gzip_run, no_bounds=True)
    assert forecasts.columns.tolist() == ["month", "forecast"]
    assert forecasts["month"].tolist() == list(pd.date_range("2022-01-01", periods=3, freq="MS"))
    assert np.isfinite(forecasts["forecast"]).all()


def test_predict_keeps_string_ids_as_written_and_continues_after_the_gaps(string_ids_run):
    dataset = load_input(string_ids_run)
    forecasts = predicted(string_ids_run, no_bounds=True)
    assert forecasts.columns.tolist() == ["store_id", "date", "forecast"]
    assert forecasts["store_id"].tolist() == ["001"] * 3 + ["002"] * 3 + ["010"] * 3
    days = pd.date_range("2024-02-10", periods=3, freq="D").tolist()
    assert forecasts["date"].tolist() == days * 3
    assert forecasts.to_csv(index=False).splitlines()[1].startswith("001,2024-02-10,")
    # Store 002's two missing days and its empty cell were filled, and are marked so.
    assert dataset.series[1].observed.sum() == 37


def test_predict_writes_timestamps_in_the_input_offset(tmp_path):
    from tests.conftest import EXPORTS, train_minimal

    run = train_minimal(tmp_path, EXPORTS / "hourly_dst_offsets.csv", horizon=2)
    forecasts = predicted(run, no_bounds=True)
    assert [str(stamp) for stamp in forecasts["timestamp"]] == [
        "2023-03-29 01:00:00+02:00",
        "2023-03-29 02:00:00+02:00",
    ]
    assert forecasts.to_csv(index=False).splitlines()[1].startswith("2023-03-29 01:00:00+02:00,")


def test_future_covariates_are_read_with_the_data_s_date_order(tmp_path):
    from rnnforecast.data import future_covariate_values

    # A day-first export with decimal commas: sales and a price known in advance.
    rows = "".join(
        f"{day:%d.%m.%Y};{10 + day.day % 7},5;{day.day % 3 + 1},5\n"
        for day in pd.date_range("2024-01-01", periods=60)
    )
    (tmp_path / "shop.csv").write_text("Datum;Umsatz;Preis\n" + rows)
    (tmp_path / "shop.yaml").write_text(
        "data: {path: shop.csv, target: Umsatz, future_covariates: [Preis]}\n"
        "window: {lookback: 7, horizon: 2}\nmodel: {units: 4}\ntraining: {epochs: 1, ensemble: 1}\n"
    )
    run = train(load_config(tmp_path / "shop.yaml"), run_dir=tmp_path / "run", progress="none")
    dataset = load_input(run)
    (tmp_path / "future.csv").write_text("Datum;Preis\n01.03.2024;2,5\n02.03.2024;3,5\n")
    known = future_covariate_values(
        tmp_path / "future.csv", dataset, [pd.date_range("2024-03-01", periods=2)]
    )
    assert known[0][:, 0].tolist() == [2.5, 3.5]
