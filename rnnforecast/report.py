"""`report`: one self-contained HTML page about a run directory, a backtest folder or a tune
folder, to look at or to send.

The page needs nothing but itself: figures are inlined as base64 PNG, the style sheet is inline,
and a Content-Security-Policy forbids every request, so an external reference slipped in later
would show as an error in the browser's console instead of loading silently. It reads only the
folder's own files (not the data file, which may have moved since).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from matplotlib.figure import Figure

from rnnforecast.baselines import BASELINES
from rnnforecast.config import Config, config_from_dict
from rnnforecast.errors import ConfigError, RunError
from rnnforecast.plan import Plan
from rnnforecast.run import (
    BACKTEST_FILE,
    BACKTEST_METRICS_FILE,
    BACKTEST_PLOT_FILE,
    BEST_CONFIG_FILE,
    CONFIG_FILE,
    FORECAST_PLOT_FILE,
    FORECAST_TEST_FILE,
    IMPORTANCE_PLOT_FILE,
    LOSS_PLOT_FILE,
    MANIFEST_FILE,
    METRICS_FILE,
    SPLIT_FILE,
    TRIALS_FILE,
    TRIALS_PLOT_FILE,
    TUNE_SUMMARY_FILE,
)
from rnnforecast.staging import write_atomic
from rnnforecast.validation import BLEND, BLEND_WORDS, NETWORK, margin_words
from rnnforecast.version import __version__

# Above this many series, the page shows the few worst and best instead of every one.
MAX_SERIES_SHOWN = 6
SHOWN_EACH_WAY = 3
MAX_TRIAL_ROWS = 15
SCORES = ("mae", "rmse", "mape", "smape", "mase")
POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;
padding:1.5em 2em;color:#1d1d1f;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.8em;
border-bottom:1px solid #ddd;padding-bottom:.2em}
.sub{color:#666;margin-top:0}table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #ddd;padding:.3em .7em;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{background:#f4f4f6}
table.text td{text-align:left}
tr.model td{font-weight:600;background:#fff7e6}tr.best td{background:#eef6ee}
.verdict{font-size:1.05em;padding:.7em 1em;border-radius:6px;margin:.8em 0}
.good{background:#e8f5e9;border-left:5px solid #2e7d32}
.bad{background:#fdecea;border-left:5px solid #c62828}
.neutral{background:#f4f4f6;border-left:5px solid #888}
img{max-width:100%;height:auto;border:1px solid #eee;margin:.4em 0}
pre{background:#f6f8fa;padding:.8em;overflow:auto;font-size:.85em;border-radius:4px}
code{background:#f6f8fa;padding:0 .25em;border-radius:3px}
footer{color:#888;font-size:.85em;margin-top:3em}
"""


def folder_kind(folder: Path) -> str:
    """`run`, `backtest` or `tune`, from the files the folder holds.

    Raises:
        RunError: the folder is missing or none of the three.
    """
    if not folder.is_dir():
        raise RunError(
            f"{folder}: folder not found. Pass a run directory, a backtest folder or a tune folder."
        )
    if (folder / TUNE_SUMMARY_FILE).is_file():
        return "tune"
    if (folder / BACKTEST_METRICS_FILE).is_file():
        return "backtest"
    if (folder / METRICS_FILE).is_file() and (folder / MANIFEST_FILE).is_file():
        return "run"
    raise RunError(
        f"{folder}: not a run directory ({METRICS_FILE}, {MANIFEST_FILE}), a backtest folder "
        f"({BACKTEST_METRICS_FILE}) or a tune folder ({TUNE_SUMMARY_FILE}). Pass a folder that "
        "train, backtest or tune wrote."
    )


def write_report(folder: Path | str, output: Path | str) -> str:
    """Write the report of `folder` to `output` (atomically) and return the kind of folder.

    Example:
        `write_report("runs/a10-20261122-101500", "a10.html")`
    """
    folder, output = Path(folder), Path(output)
    kind = folder_kind(folder)
    page = render(folder, kind)
    write_atomic(output, lambda path: path.write_text(page, encoding="utf-8"))
    return kind


def render(folder: Path, kind: str | None = None) -> str:
    """The HTML page of `folder` (`kind` as `folder_kind` tells it)."""
    kind = kind or folder_kind(folder)
    sections = {"run": _run_sections, "backtest": _backtest_sections, "tune": _tune_sections}
    title, subtitle, body = sections[kind](folder)
    return _page(title, subtitle, body)


def _page(title: str, subtitle: str, body: Iterable[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{POLICY}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{_e(title)}</h1><p class='sub'>{_e(subtitle)}</p>"
        + "".join(body)
        + f"<footer>Written by rnnforecast {_e(__version__)} (<code>rnnforecast report</code>)."
        "</footer></body></html>\n"
    )


# -- a run directory -------------------------------------------------------------------------


def _run_sections(folder: Path) -> tuple[str, str, list[str]]:
    config = _config(folder / CONFIG_FILE)
    plan = Plan.of(config)
    metrics = _json(folder / METRICS_FILE)
    manifest = _json(folder / MANIFEST_FILE)
    split = _json(folder / SPLIT_FILE) if (folder / SPLIT_FILE).is_file() else {}
    pairs = _csv(folder / FORECAST_TEST_FILE)
    body = [
        "<h2>What was trained on what</h2>",
        _data_table(config, manifest, split),
        f"<p>{_e(_model_sentence(plan))}</p>",
        "<h2>Test part: the model next to the naive baselines</h2>",
        "<p>The test part was never seen in training. Original units; MASE is scaled by the "
        "seasonal naive error on the training part.</p>",
        _comparison(metrics),
        _verdict(metrics),
        *_guard(metrics),
    ]
    body += _intervals(metrics, pairs)
    body += ["<h2>Forecasts</h2>"]
    body += _image(folder / FORECAST_PLOT_FILE, "Actual and forecast over every part")
    if pairs is not None:
        body += _series_section(pairs, config, "test windows")
    body += ["<h2>Training</h2>"]
    body += _image(folder / LOSS_PLOT_FILE, "Loss per epoch, member and phase")
    body.append(_training_table(metrics.get("training", {})))
    for key, note in metrics.get("models", {}).items():
        body.append(f"<p><b>{_e(key)}</b>: {_e(note)}</p>")
    body += [
        "<h2>Values chosen from the data</h2>",
        "<p>Every value the config left out was chosen from the data (or taken as given):</p>",
        _table(["value", "resolved"], _chosen_rows(plan)),
    ]
    body += _reproduce(
        [f"rnnforecast train {CONFIG_FILE}", f"rnnforecast report {folder.name}"],
        config,
        manifest,
    )
    title = f"Run {folder.name}"
    created = manifest.get("created_at", "")
    return title, f"rnnforecast run directory, created {created}", body


def _data_table(config: Config, manifest: dict[str, Any], split: dict[str, Any]) -> str:
    data = config.data
    rows = [
        ("source", data.source or ""),
        ("file", str(data.path) if data.path else "synthetic sine plus noise"),
        ("SHA-256", (manifest.get("data") or {}).get("sha256") or "n/a"),
        ("target", data.target or "value"),
        ("frequency", data.frequency or "integer steps"),
        ("season length", str(data.season_length)),
        ("series", str(len(split)) if split else "1"),
        ("covariates", ", ".join([*data.covariates, *data.future_covariates]) or "none"),
    ]
    parts = [_table(["", ""], rows, header=False, text=True)]
    if split:
        parts.append(
            _details(
                f"Where each series was split ({len(split)})",
                _table(
                    ["series", "validation starts", "test starts", "ends"],
                    [
                        (key, item.get("validation_start"), item.get("test_start"), item["end"])
                        for key, item in split.items()
                    ],
                ),
            )
        )
    return "".join(parts)


def _model_sentence(plan: Plan) -> str:
    model = plan.config.model
    members = len(plan.members)
    return (
        f"{model.cell.upper()} network, units {list(plan.units)}, {members} ensemble "
        f"member(s) (median), lookback {plan.lookback}, horizon {plan.horizon}, starting from "
        f"the {plan.baseline} forecast."
    )


def _comparison(metrics: dict[str, Any]) -> str:
    names = ["model", *(name for name in BASELINES if name in metrics)]
    rows = []
    for name in names:
        figures = metrics.get(name, {})
        rows.append((name, *(_number(figures.get(score)) for score in SCORES)))
    best = metrics.get("best_baseline")
    classes = ["model" if name == "model" else "best" if name == best else "" for name in names]
    return _table(["", "MAE", "RMSE", "MAPE %", "sMAPE %", "MASE"], rows, classes=classes)


def verdict_text(metrics: dict[str, Any]) -> tuple[str, str]:
    """The skill verdict in words, and its tone (`good`, `bad` or `neutral`)."""
    best, skill = metrics.get("best_baseline"), metrics.get("skill")
    windows = f"on {metrics.get('windows')} windows of {metrics.get('horizon')} steps"
    model = (metrics.get("model") or {}).get("mase")
    baseline = (metrics.get(best) or {}).get("mase") if best else None
    if best is None or model is None:
        return "No windows were scored.", "neutral"
    if skill is None or skill != skill:
        return (
            f"The best naive baseline ({best}) is exact {windows}, so no skill can be measured.",
            "neutral",
        )
    if skill > 0:
        return (
            f"The model beats the best naive baseline ({best}): its MASE is {skill:.1%} lower "
            f"({model:.3f} against {baseline:.3f}) {windows}.",
            "good",
        )
    return (
        f"The model does NOT beat the best naive baseline ({best}): its MASE is "
        f"{-skill:.1%} higher ({model:.3f} against {baseline:.3f}) {windows}. Forecast with "
        f"{best}, or search other settings with rnnforecast tune.",
        "bad",
    )


def _verdict(metrics: dict[str, Any]) -> str:
    text, tone = verdict_text(metrics)
    return f"<p class='verdict {tone}'>{_e(text)}</p>"


def _guard(metrics: dict[str, Any]) -> list[str]:
    """What the guard chose on validation, when it chose a baseline or the blend over the
    network."""
    guard = metrics.get("guard") or {}
    choice = guard.get("choice")
    if not guard.get("enabled") or choice in (None, "model", NETWORK):
        return []
    scores = ", ".join(
        f"{name} {_number(value)}" for name, value in (guard.get("validation_mase") or {}).items()
    )
    margin = guard.get("margin", 0)  # runs of earlier versions record none: 0
    kept = f" (it keeps the network only when {margin_words(margin)} them)" if margin else ""
    chosen = BLEND_WORDS if choice == BLEND else choice
    text = (
        f"The guard compared the network with the baselines on the validation part (MASE: "
        f"{scores}){kept} and chose {chosen}: this run forecasts with {chosen}, so the model "
        "row above is that forecast."
    )
    return [f"<p class='verdict neutral'>{_e(text)}</p>"]


def _intervals(metrics: dict[str, Any], pairs: pd.DataFrame | None) -> list[str]:
    """Interval coverage: per level, the coverage, width and MSIS of the model and the
    baselines that the metrics hold; without those, the coverage computed from the bounds in
    the forecast file."""
    levels = metrics.get("intervals") or {}
    computed = interval_coverage(pairs) if pairs is not None and not levels else []
    if not levels and not computed:
        return []
    parts = ["<h2>Prediction intervals</h2>"]
    if levels:
        parts.append(
            "<p>Coverage is the share of the actual values inside the interval: it should be "
            "close to the level. Width and MSIS (the interval score; lower is better) are scaled "
            "like MASE.</p>"
        )
        rows, classes = [], []
        for level, names in levels.items():
            for name, figures in (names or {}).items():
                figures = figures or {}
                rows.append(
                    (
                        f"{level}%",
                        name,
                        _percent_plain(figures.get("coverage")),
                        _number(figures.get("width")),
                        _number(figures.get("msis")),
                    )
                )
                classes.append("model" if name == "model" else "")
        parts.append(_table(["level", "", "coverage", "width", "MSIS"], rows, classes=classes))
    else:
        parts.append(
            "<p>Share of the actual values inside each interval (it should be close to the "
            "level) and the mean width, from the bounds in the forecast file:</p>"
        )
        parts.append(
            _table(
                ["level", "coverage", "mean width", "points"],
                [
                    (f"{level:g}%", _percent_plain(coverage), _number(width), str(points))
                    for level, coverage, width, points in computed
                ],
            )
        )
    return parts


def interval_coverage(pairs: pd.DataFrame) -> list[tuple[float, float, float, int]]:
    """Per level with `lower_<L>` and `upper_<L>` columns: the share of actual values inside
    the interval, its mean width and the number of points."""
    levels = []
    for column in pairs.columns:
        if column.startswith("lower_") and f"upper_{column[6:]}" in pairs.columns:
            try:
                levels.append(float(column[6:]))
            except ValueError:
                continue
    rows = []
    for level in sorted(levels):
        lower = pairs[f"lower_{level:g}"].to_numpy(dtype=np.float64)
        upper = pairs[f"upper_{level:g}"].to_numpy(dtype=np.float64)
        actual = pairs["actual"].to_numpy(dtype=np.float64)
        inside = (actual >= lower) & (actual <= upper)
        rows.append((level, float(inside.mean()), float(np.mean(upper - lower)), len(actual)))
    return rows


def _series_section(pairs: pd.DataFrame, config: Config, what: str) -> list[str]:
    """Forecast windows per series, with bands when the file has bounds; for many series the
    few worst and best, and every series' score in a table."""
    id_column = config.data.id_column
    time_column = config.data.time_column or "step"
    if id_column is None or id_column not in pairs:
        groups = [("series", pairs)]
    else:
        groups = list(pairs.groupby(id_column, sort=False))
    scores = [(str(name), _relative_mae(group)) for name, group in groups]
    shown = list(range(len(groups)))
    note = ""
    if len(groups) > MAX_SERIES_SHOWN:
        order = sorted(shown, key=lambda index: _sort_key(scores[index][1]))
        shown = order[-SHOWN_EACH_WAY:][::-1] + order[:SHOWN_EACH_WAY]
        note = (
            f"<p>{len(groups)} series: the {SHOWN_EACH_WAY} worst and the {SHOWN_EACH_WAY} best "
            "by MAE relative to seasonal naive (below 1: better than it).</p>"
        )
    horizon = config.window.horizon
    parts = [f"<h3>{_e(what.capitalize())} per series</h3>", note]
    figure = series_figure(
        [(scores[index][0], groups[index][1]) for index in shown], time_column, horizon
    )
    parts += _figure(figure, f"{what} per series")
    parts.append(
        _details(
            f"Every series' score ({len(groups)})",
            _table(
                ["series", "MAE relative to seasonal naive"],
                [(name, _number(score)) for name, score in scores],
            ),
        )
    )
    return parts


def _relative_mae(group: pd.DataFrame) -> float:
    seasonal = float(np.mean(np.abs(group["actual"] - group["seasonal_naive"])))
    model = float(np.mean(np.abs(group["actual"] - group["forecast"])))
    return model / seasonal if seasonal > 0 else float("nan")


def _sort_key(value: float) -> float:
    return value if value == value else -np.inf


def series_figure(series: list[tuple[str, pd.DataFrame]], time_column: str, horizon: int) -> Figure:
    """Per series, the actual values and the model's forecast windows (non-overlapping: every
    `horizon`-th origin, and every fold of a backtest), with interval bands when present."""
    figure = Figure(figsize=(10, 2.6 * len(series)), layout="constrained")
    axes = figure.subplots(len(series), 1, squeeze=False)[:, 0]
    for axis, (name, frame) in zip(axes, series, strict=True):
        frame = frame.copy()
        frame["_time"] = _times(frame[time_column])
        actual = frame.drop_duplicates("_time").sort_values("_time")
        axis.plot(actual["_time"], actual["actual"], color="black", linewidth=1, label="actual")
        levels = sorted(
            (float(column[6:]) for column in frame if column.startswith("lower_")), reverse=True
        )
        keys = ["fold", "origin"] if "fold" in frame else ["origin"]
        windows = list(frame.groupby(keys, sort=True))
        if "fold" not in frame:
            windows = windows[::horizon]
        for index, (_, window) in enumerate(windows):
            window = window.sort_values("_time")
            for shade, level in enumerate(levels):
                axis.fill_between(
                    window["_time"],
                    window[f"lower_{level:g}"],
                    window[f"upper_{level:g}"],
                    color="tab:red",
                    alpha=0.12 + 0.1 * shade,
                    linewidth=0,
                    label=f"{level:g}% interval" if index == 0 else None,
                )
            axis.plot(
                window["_time"],
                window["forecast"],
                color="tab:red",
                linewidth=1.3,
                label="model" if index == 0 else None,
            )
            axis.plot(
                window["_time"],
                window["seasonal_naive"],
                color="grey",
                linestyle=":",
                linewidth=1,
                label="seasonal naive" if index == 0 else None,
            )
        axis.set_title(name, fontsize="medium")
        axis.legend(loc="upper left", fontsize="small", ncol=4)
    return figure


def _times(column: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column):
        return column
    try:
        return pd.to_datetime(column)
    except (ValueError, TypeError):
        return column


def _training_table(training: dict[str, Any]) -> str:
    members = training.get("members") or []
    refits = training.get("refit_epochs") or [None] * len(members)
    rows = [
        (
            str(number),
            str(member.get("epochs_run")),
            str(member.get("best_epoch")),
            _number(member.get("best_loss")),
            "" if refit is None else str(refit),
        )
        for number, (member, refit) in enumerate(zip(members, refits, strict=False), start=1)
    ]
    if not rows:
        return ""
    return _table(["member", "epochs run", "best epoch", "best loss", "refit epochs"], rows)


def _chosen_rows(plan: Plan) -> list[tuple[str, str]]:
    config = plan.config
    return [
        ("frequency", plan.frequency or "integer steps"),
        ("season length", str(plan.season_length)),
        ("lookback", str(plan.lookback)),
        ("baseline", plan.baseline),
        ("units", str(list(plan.units))),
        ("batch size", str(plan.batch_size)),
        ("learning rate", f"{plan.learning_rate:g}"),
        ("epochs (at most)", str(plan.epochs)),
        ("early stopping patience", str(plan.patience)),
        ("calendar features", ", ".join(plan.calendar) or "none"),
        ("log transform", str(plan.log)),
        ("ensemble members", str(len(plan.members))),
        ("refit on the whole history", str(config.training.refit)),
    ]


def _reproduce(commands: list[str], config: Config, manifest: dict[str, Any] | None) -> list[str]:
    parts = [
        "<h2>How to reproduce</h2>",
        f"<p>From the folder, with the config below ({_e(CONFIG_FILE)}, every value resolved):</p>",
        "<pre>" + _e("\n".join(commands)) + "</pre>",
        _details(CONFIG_FILE, "<pre>" + _e(_dump(config)) + "</pre>"),
    ]
    if manifest:
        packages = manifest.get("packages") or {}
        rows = [("python", str(manifest.get("python")))] + [
            (name, str(value)) for name, value in packages.items()
        ]
        parts.append(_details("Versions", _table(["package", "version"], rows)))
    return parts


# -- a backtest folder -----------------------------------------------------------------------


def _backtest_sections(folder: Path) -> tuple[str, str, list[str]]:
    config = _config(folder / CONFIG_FILE)
    summary = _json(folder / BACKTEST_METRICS_FILE)
    overall = summary.get("overall", {})
    folds = summary.get("folds", [])
    pairs = _csv(folder / BACKTEST_FILE)
    body = [
        "<h2>What was evaluated</h2>",
        _data_table(config, {}, {}),
        f"<p>{_e(_model_sentence(Plan.of(config)))} {len(folds)} forecast origins; "
        + (
            "a model was trained for each, on the data before it."
            if summary.get("refit_each_fold", True)
            else "one model, trained before the first, forecast from every one."
        )
        + "</p>",
        "<h2>All folds together: the model next to the naive baselines</h2>",
        _comparison(overall),
        _verdict(overall),
        "<h2>Each fold</h2>",
        _table(
            ["fold", "origin", "model MASE", *(f"{name} MASE" for name in BASELINES), "skill"],
            [
                (
                    str(fold.get("fold")),
                    ", ".join(str(value) for value in (fold.get("origins") or {}).values()),
                    _number((fold.get("model") or {}).get("mase")),
                    *(_number((fold.get(name) or {}).get("mase")) for name in BASELINES),
                    _percent(fold.get("skill")),
                )
                for fold in folds
            ],
        ),
    ]
    body += _intervals(overall, pairs)
    body += ["<h2>Forecasts</h2>"]
    body += _image(folder / BACKTEST_PLOT_FILE, "Each fold's forecast")
    if pairs is not None:
        body += _series_section(pairs, config, "fold forecasts")
    refit = "" if summary.get("refit_each_fold", True) else " --no-refit"
    body += _reproduce(
        [f"rnnforecast backtest {CONFIG_FILE} --folds {len(folds)}{refit}"], config, None
    )
    return f"Backtest {folder.name}", "rnnforecast backtest folder (rolling origin)", body


# -- a tune folder ---------------------------------------------------------------------------


def _tune_sections(folder: Path) -> tuple[str, str, list[str]]:
    summary = _json(folder / TUNE_SUMMARY_FILE)
    trials = _csv(folder / TRIALS_FILE)
    metric = str(summary.get("metric", "mase"))
    defaults, best = summary.get("defaults", {}), summary.get("best", {})
    counts = summary.get("trials", {})
    body = [
        "<h2>What was searched</h2>",
        f"<p>Each trial was scored by a rolling-origin backtest of {summary.get('folds')} "
        f"folds ({summary.get('step')} steps apart) on the training history only: "
        f"{_e(summary.get('held_out', ''))}. Lower {metric.upper()} is better.</p>",
        _table(["key", "searched"], list((summary.get("space") or {}).items())),
        "<h2>Result</h2>",
        _tune_verdict(summary),
        _table(
            ["", metric.upper()],
            [
                ("defaults (trial 0)", _number(defaults.get("score"))),
                (f"best (trial {best.get('trial')})", _number(best.get("score"))),
                *(
                    (name, _number(value))
                    for name, value in (defaults.get("baselines") or {}).items()
                ),
            ],
        ),
    ]
    if best.get("values"):
        body.append(_table(["key", "best value"], [(k, str(v)) for k, v in best["values"].items()]))
    body.append(
        f"<p>{counts.get('complete', 0)} complete, {counts.get('pruned', 0)} pruned (stopped "
        f"early by the median pruner), {counts.get('failed', 0)} failed, after the defaults; "
        f"{summary.get('seconds')} s.</p>"
    )
    body += ["<h2>The search</h2>"]
    body += _image(folder / TRIALS_PLOT_FILE, "Score of each trial")
    body += _image(folder / IMPORTANCE_PLOT_FILE, "How much each key mattered")
    if trials is not None and len(trials):
        body.append(_trials_table(trials, metric))
    config = _config(folder / CONFIG_FILE) if (folder / CONFIG_FILE).is_file() else None
    best_text = (folder / BEST_CONFIG_FILE).read_text(encoding="utf-8")
    body += [
        "<h2>How to reproduce</h2>",
        "<pre>"
        + _e(
            f"rnnforecast tune {CONFIG_FILE}      # the search (the study continues if kept)\n"
            f"rnnforecast train {BEST_CONFIG_FILE}     # a run with the best config"
        )
        + "</pre>",
        _details(BEST_CONFIG_FILE, "<pre>" + _e(best_text) + "</pre>"),
    ]
    if config is not None:
        given = f"<pre>{_e(_dump(config))}</pre>"
        body.append(_details(f"{CONFIG_FILE} (the config as given)", given))
    return f"Tune {folder.name}", "rnnforecast tune folder (Optuna search)", body


def _tune_verdict(summary: dict[str, Any]) -> str:
    defaults, best = summary.get("defaults", {}), summary.get("best", {})
    metric = str(summary.get("metric", "mase")).upper()
    if summary.get("beats_defaults"):
        text = (
            f"The best trial ({best.get('trial')}) scores {metric} {best.get('score'):.4f}, "
            f"{summary.get('improvement'):.1%} lower than the config as given "
            f"({defaults.get('score'):.4f}) on the same folds."
        )
        return f"<p class='verdict good'>{_e(text)}</p>"
    text = (
        f"No trial beat the config as given ({metric} {defaults.get('score', float('nan')):.4f} "
        "on the same folds); best.yaml holds it unchanged."
    )
    return f"<p class='verdict neutral'>{_e(text)}</p>"


def _trials_table(trials: pd.DataFrame, metric: str) -> str:
    ordered = trials.sort_values(metric, na_position="last").head(MAX_TRIAL_ROWS)
    keys = [
        column
        for column in trials.columns
        if column not in ("number", "state", "defaults", metric, "seconds", "error")
        and not column.startswith("fold_")
    ]
    rows = [
        (
            str(row["number"]) + (" (defaults)" if bool(row["defaults"]) else ""),
            str(row["state"]),
            _number(row[metric]),
            *("" if pd.isna(row[key]) else str(row[key]) for key in keys),
        )
        for _, row in ordered.iterrows()
    ]
    label = f"The {len(rows)} best of {len(trials)} trials"
    return f"<h3>{_e(label)}</h3>" + _table(["trial", "state", metric.upper(), *keys], rows)


# -- small pieces ----------------------------------------------------------------------------


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.4g}"
    return str(value)


def _percent_plain(value: Any) -> str:
    return "n/a" if value is None or value != value else f"{value:.1%}"


def _percent(value: Any) -> str:
    return "n/a" if value is None or value != value else f"{value:+.1%}"


def _table(
    columns: list[str],
    rows: Iterable[Iterable[Any]],
    classes: list[str] | None = None,
    header: bool = True,
    text: bool = False,
) -> str:
    parts = ["<table class='text'>" if text else "<table>"]
    if header:
        cells = "".join(f"<th>{_e(cell)}</th>" for cell in columns)
        parts.append(f"<thead><tr>{cells}</tr></thead>")
    parts.append("<tbody>")
    for index, row in enumerate(rows):
        css = f" class='{classes[index]}'" if classes and classes[index] else ""
        parts.append(f"<tr{css}>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def _details(summary: str, content: str) -> str:
    return f"<details><summary>{_e(summary)}</summary>{content}</details>"


def _image(path: Path, alt: str) -> list[str]:
    if not path.is_file():
        return []
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return [f"<img alt='{_e(alt)}' src='data:image/png;base64,{encoded}'>"]


def _figure(figure: Figure, alt: str) -> list[str]:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return [f"<img alt='{_e(alt)}' src='data:image/png;base64,{encoded}'>"]


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RunError(f"{path}: cannot read it ({error}). The folder is damaged.") from None
    if not isinstance(data, dict):
        raise RunError(f"{path}: expected a JSON object. The folder is damaged.")
    return data


def _csv(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise RunError(f"{path}: cannot read it ({error}). The folder is damaged.") from None


def _config(path: Path) -> Config:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise RunError(f"{path}: cannot read it ({error}). The folder is damaged.") from None
    try:
        return config_from_dict(raw if isinstance(raw, dict) else {}, str(path))
    except ConfigError as error:
        raise RunError(f"{error} The folder is damaged or from another version.") from None


def _dump(config: Config) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
