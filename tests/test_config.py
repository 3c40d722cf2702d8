import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rnnforecast.config import Config, SplitConfig, config_from_dict, dump_config
from rnnforecast.config_file import ConfigLoader, load_config
from rnnforecast.errors import ConfigError
from tests.conftest import PEAK_RSS_KIB, REPO


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_nothing_given_is_the_synthetic_default():
    config = load_config(None)
    assert config.data.source == "synthetic"
    assert config.window.horizon == 12
    assert config.output.name == "default"


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_config_is_valid(path: Path):
    config = load_config(path)
    if config.data.path is not None:
        assert config.data.path.is_file(), "data paths resolve relative to the config file"


def test_data_path_resolves_relative_to_the_config_file(tmp_path: Path):
    config = load_config(write(tmp_path, "data: {path: sub/x.csv, target: y}"))
    assert config.data.path == (tmp_path / "sub/x.csv").resolve()
    assert config.data.source == "csv"


def test_unknown_key_names_file_key_and_close_match(tmp_path: Path):
    path = write(tmp_path, "model: {unit: 3}")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: model.unit: unknown key; did you mean `units`?")


def test_out_of_range_value_names_the_dotted_key(tmp_path: Path):
    path = write(tmp_path, "model: {units: -3}")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value) == f"{path}: model.units[0]: must be > 0 (got -3)"


def test_wrong_type_and_wrong_choice(tmp_path: Path):
    path = write(tmp_path, "training: {epochs: many}\nmodel: {cell: transformer}")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert f"{path}: training.epochs: input should be a valid integer" in message
    assert "model.cell: must be one of 'simple_rnn', 'lstm' or 'gru' (got 'transformer')" in message


def test_csv_source_without_path_names_both_keys(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"data: `path` is required when `source` is 'csv'"):
        load_config(write(tmp_path, "data: {source: csv, target: y}"))


def test_period_and_frequency_conflict(tmp_path: Path):
    text = "data: {synthetic: {period: 10, frequency: 0.1}}"
    with pytest.raises(ConfigError, match="either `period` or `frequency`, not both"):
        load_config(write(tmp_path, text))


def test_covariates_must_not_repeat_the_target(tmp_path: Path):
    text = "data: {path: x.csv, target: y, covariates: [y]}"
    with pytest.raises(ConfigError, match=r"`covariates` must not repeat .* \['y'\]"):
        load_config(write(tmp_path, text))


def test_overrides_go_through_the_same_validation(tmp_path: Path):
    config = load_config(None, ["training.epochs=3", "model.units=[4, 2]", "model.cell=gru"])
    assert (config.training.epochs, config.model.units, config.model.cell) == (3, [4, 2], "gru")
    with pytest.raises(ConfigError, match=r"<default config>: training.epochs: must be > 0"):
        load_config(None, ["training.epochs=0"])
    with pytest.raises(ConfigError, match=r"expected key\.path=value"):
        load_config(None, ["training.epochs"])


def test_yaml_syntax_error_gives_the_line(tmp_path: Path):
    path = write(tmp_path, "model:\n  units: [1, 2\n")
    with pytest.raises(ConfigError, match=rf"{path}: invalid YAML at line \d+"):
        load_config(path)


def test_missing_file_and_non_mapping(tmp_path: Path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="expected a mapping of sections"):
        load_config(write(tmp_path, "- 1\n- 2\n"))


def test_dump_round_trips_every_default():
    config = load_config(None, ["window.horizon=5"])
    dumped = yaml.safe_load(dump_config(config))
    assert dumped["training"]["optimizer"] == "adam"
    assert dumped["training"]["learning_rate"] is None, "chosen from the data at training"
    assert Config.model_validate(dumped) == config


@pytest.mark.parametrize(
    ("split", "expected"),
    [
        # 0.1 * 100 is raised to three horizons, the test part's fraction to one
        ({"validation": 0.1, "test": 0.2}, (36, 20)),
        ({"validation": 0, "test": 30}, (0, 30)),
        ({"validation": 15.0, "test": 0.25}, (15, 25)),
    ],
)
def test_split_sizes_fractions_and_counts(split: dict, expected: tuple[int, int]):
    assert SplitConfig(**split).sizes(100, horizon=12) == expected


def test_split_rejects_fractional_counts_and_empty_test(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"split\.test: must be a fraction below 1"):
        load_config(None, ["split.test=1.5"])
    with pytest.raises(ConfigError, match=r"split\.test: must be > 0"):
        load_config(None, ["split.test=0"])


def test_unknown_key_without_a_close_match_lists_the_known_keys(tmp_path: Path):
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, "window: {zzz: 1}"))
    assert str(error.value).endswith(
        "window.zzz: unknown key. Known keys: lookback, horizon, stride."
    )


def test_empty_section_takes_defaults_and_accepts_overrides(tmp_path: Path):
    config = load_config(write(tmp_path, "model:\ntraining:\n"), ["model.units=3"])
    assert config.model.units == [3] and config.training.optimizer == "adam"
    assert config.training.epochs is None, "chosen from the data when training starts"


def test_nan_and_infinity_are_refused(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"data\.synthetic\.amplitude: input should be a finite"):
        load_config(write(tmp_path, "data: {synthetic: {amplitude: .nan}}"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["transform.difference=true", "model.baseline=none"],
            "`transform.difference` needs the window's level",
        ),
        (
            ["training.ensemble=2", "training.ensemble_lookbacks=[4, 8, 12]"],
            "lists 3 lookbacks for 2 member(s)",
        ),
        (
            [
                "data.path=x.csv",
                "data.covariates=[price]",
                "data.future_covariates=[price]",
            ],
            "listed in both `covariates` and `future_covariates`",
        ),
        (["data.calendar=[month, season]"], "data.calendar"),
    ],
)
def test_conflicting_new_settings_are_refused(overrides: list[str], message: str):
    with pytest.raises(ConfigError) as error:
        load_config(None, overrides)
    assert message in str(error.value)


ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9) if previous else '1, 2, 3'}]\n"
    for previous, name in zip([None, *"abcdefgh"], "abcdefghi", strict=True)
)


def test_an_alias_bomb_is_refused_in_bounded_time_and_memory(tmp_path: Path):
    """A few hundred bytes expanding to 9**9 values took minutes and 11 GB before."""
    path = write(tmp_path, ALIAS_BOMB)
    assert len(ALIAS_BOMB) < 400
    code = (
        "import resource, sys, time\n"
        # A safety net for the test machine: without the bound this child would take gigabytes.
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from rnnforecast.config_file import load_config\n"
        "from rnnforecast.errors import ConfigError\n"
        "start = time.perf_counter()\n"
        "try:\n"
        f"    load_config({str(path)!r})\n"
        "except ConfigError as error:\n"
        "    print(error)\n"
        "print(time.perf_counter() - start)\n"
        f"print({PEAK_RSS_KIB})\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    message, seconds, peak_kib = result.stdout.splitlines()
    assert message.startswith(f"{path}: line ") and "expands to more than 10,000 values" in message
    assert float(seconds) < 2.0
    assert int(peak_kib) < 200 * 1024


def test_a_recursive_alias_and_deep_nesting_are_refused(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"line 1: alias \*a refers to a node that contains it"):
        load_config(write(tmp_path, "a: &a [1, *a]\n"))
    with pytest.raises(ConfigError, match="nested more than 50 levels deep"):
        load_config(write(tmp_path, "a: " + "[" * 200 + "]" * 200 + "\n"))


def test_aliases_within_the_bound_still_work(tmp_path: Path):
    text = "model: &m {units: [4, 2]}\nwindow: {lookback: 8, horizon: 2}\n"
    assert load_config(write(tmp_path, text)).model.units == [4, 2]


def test_a_file_over_one_mib_is_refused_before_parsing(tmp_path: Path):
    path = write(tmp_path, "# " + "x" * (1 << 20) + "\n")
    with pytest.raises(ConfigError, match=r"larger than 1 MiB.*Received: size=1048579"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        ("model: {units: 4}\nwindow: {horizon: 2}\nmodel: {cell: gru}\n", 3, "model"),
        ("training:\n  epochs: 3\n  seed: 1\n  epochs: 30\n", 4, "epochs"),
        ("window: {horizon: 2, horizon: 3}\n", 1, "horizon"),
    ],
)
def test_a_duplicate_key_names_the_key_and_its_line(tmp_path: Path, text: str, line: int, key):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: line {line}: duplicate key '{key}' (first at")


def test_a_merge_key_may_be_overridden_beside_it(tmp_path: Path):
    text = "base: &base {units: 4, cell: gru}\n"
    raw = yaml.load(text + "model: {<<: *base, units: 8}\n", Loader=ConfigLoader)
    assert raw["model"] == {"units": 8, "cell": "gru"}


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", "~\n"])
def test_an_empty_config_file_is_an_error_not_the_demo(tmp_path: Path, text: str):
    with pytest.raises(ConfigError, match="the config file is empty"):
        load_config(write(tmp_path, text))


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("x.csv", "csv"),
        ("x.tsv", "csv"),
        ("x.CSV.GZ", "csv"),
        ("x.csv.bz2", "csv"),
        ("x.csv.zip", "csv"),
        ("x.tsv.xz", "csv"),
        ("x.parquet", "parquet"),
        ("x.pq", "parquet"),
    ],
)
def test_source_follows_the_suffixes(tmp_path: Path, name: str, source: str):
    assert load_config(write(tmp_path, f"data: {{path: {name}}}")).data.source == source


def test_unknown_suffix_lists_the_known_ones(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"\.csv, \.tsv, either with \.gz, \.bz2"):
        load_config(write(tmp_path, "data: {path: x.parquet.gz}"))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("training.epochs=true", "training.epochs: must be a whole number, not true or false"),
        ("window.horizon=false", "window.horizon: must be a whole number, not true or false"),
        ("training.epochs='5'", "training.epochs: must be a whole number, not text"),
        ("training.learning_rate=true", "training.learning_rate: must be a number, not true"),
        ("data.synthetic.amplitude='2.5'", "data.synthetic.amplitude: must be a number, not text"),
        ("split.test=true", "split.test: must be a whole number, not true or false"),
        ("model.units=[8, true]", "model.units[1]: must be a whole number, not true or false"),
    ],
)
def test_types_are_strict(override: str, message: str):
    with pytest.raises(ConfigError) as error:
        load_config(None, [override])
    assert message in str(error.value)


def test_strict_types_keep_ints_for_floats_and_strings_for_paths(tmp_path: Path):
    config = load_config(
        write(tmp_path, "data: {path: d.csv, synthetic: {amplitude: 2}}\noutput: {dir: out}\n"),
        ["training.learning_rate=1", "split.test=0.25", "split.validation=10"],
    )
    assert config.data.synthetic.amplitude == 2.0 and config.training.learning_rate == 1.0
    assert config.output.dir == Path("out") and config.data.path == (tmp_path / "d.csv")
    assert (config.split.test, config.split.validation) == (0.25, 10)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("training.seed=-1", "training.seed: must be >= 0 (got -1)"),
        ("training.seed=4294967296", "training.seed: must be <= 4294967295"),
        ("data.synthetic.seed=-3", "data.synthetic.seed: must be >= 0"),
        ("model.units=100000", "model.units[0]: must be <= 4096 (got 100000)"),
        ("model.units=[8, 8, 8, 8, 8, 8, 8, 8, 8]", "model.units: must have at most 8 item(s)"),
        ("model.dense=[5000]", "model.dense[0]: must be <= 4096"),
        ("model.series_embedding=100000", "model.series_embedding: must be <= 4096"),
        ("training.ensemble=1000", "training.ensemble: must be <= 100"),
    ],
)
def test_seeds_and_sizes_are_bounded(override: str, message: str):
    with pytest.raises(ConfigError) as error:
        load_config(None, [override])
    assert message in str(error.value)
    assert load_config(None, ["training.seed=4294967295"]).training.seed == 2**32 - 1


@pytest.mark.parametrize(
    "name", ["../../x", "/abs/x", "a/b", "a\\\\b", "..", ".hidden", "", "x\\0y", "x\\ny"]
)
def test_output_name_must_be_a_plain_name(tmp_path: Path, name: str):
    path = write(tmp_path, f'output: {{name: "{name}"}}\n')
    with pytest.raises(ConfigError, match=r"output\.name: "):
        load_config(path)


def test_a_run_name_from_the_file_name_is_made_plain(tmp_path: Path):
    assert load_config(write(tmp_path, "window: {horizon: 3}\n", ".x.yaml")).output.name == "x"
    assert load_config(write(tmp_path, "window: {horizon: 3}\n", "a..b.yaml")).output.name == "a_b"
    assert load_config(write(tmp_path, "window: {horizon: 3}\n", "my run.yaml")).output.name == (
        "my run"
    )


@pytest.mark.parametrize(
    ("text", "key"),
    [('data: {path: "a\\0b.csv"}\n', "data.path"), ('output: {dir: "r\\0s"}\n', "output.dir")],
)
def test_a_nul_byte_in_a_path_is_a_config_error(tmp_path: Path, text: str, key: str):
    with pytest.raises(ConfigError, match=rf"{key}: must not hold a NUL byte"):
        load_config(write(tmp_path, text))
    with pytest.raises(ConfigError, match="cannot hold a NUL byte"):
        load_config(str(tmp_path / "a\0.yaml"))


def test_messages_quote_a_bounded_part_of_the_input(tmp_path: Path):
    huge = "x" * 100_000
    cases = [
        write(tmp_path, f"model: {{cell: {huge}}}\n"),
        write(tmp_path, f"model: {{{huge}: 1}}\n", "key.yaml"),
        write(tmp_path, "".join(f"k{index}: 1\n" for index in range(500)), "many.yaml"),
        write(tmp_path, f"model: {{units: [{', '.join(['0'] * 500)}]}}\n", "list.yaml"),
        write(tmp_path, "a: " + "9" * 5000 + "\n", "digits.yaml"),
        write(tmp_path, f"data: &d {{path: x.csv, covariates: [{huge}]}}\n", "cov.yaml"),
    ]
    for path in cases:
        with pytest.raises(ConfigError) as error:
            load_config(path, ["training.epochs=" + huge])
        lines = str(error.value).splitlines()
        assert len(lines) <= 11, path
        assert all(len(line) < len(str(path)) + 500 for line in lines), path
    with pytest.raises(ConfigError) as error:
        load_config(None, [f"model.cell={huge}", f"{huge}=1"])
    assert len(str(error.value)) < 1000


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("tracking.mlflow=true", {"uri": None, "experiment": None}),
        ("tracking.mlflow=", {"uri": None, "experiment": None}),
        ("tracking.mlflow={uri: 'sqlite:///m.db'}", {"uri": "sqlite:///m.db", "experiment": None}),
        ("tracking.mlflow=false", None),
    ],
)
def test_mlflow_is_on_with_true_or_a_section(override: str, expected):
    settings = load_config(None, [override]).tracking.mlflow_settings
    assert (settings.model_dump() if settings else None) == expected


def test_the_resolved_config_shows_the_tune_and_tracking_keys():
    dumped = yaml.safe_load(dump_config(load_config(None)))
    assert dumped["tune"] == {
        "trials": 20,
        "timeout": None,
        "metric": "mase",
        "folds": 3,
        "step": None,
        "pruning": True,
        "seed": 0,
        "space": None,
    }
    assert dumped["tracking"] == {"tensorboard": False, "mlflow": False}
    with_space = load_config(None, ["tune.space.model.units={low: 8, high: 64}"])
    again = config_from_dict(yaml.safe_load(dump_config(with_space)), "config.yaml")
    assert again.tune.space == with_space.tune.space, "a dumped space loads back as it was"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.missing=drop", "data.missing: must be one of 'interpolate', 'forward_fill'"),
        ("data.max_filled=2", "data.max_filled: must be <= 1.0 (got 2)"),
        ("data.csv.sep=ab", "data.csv.sep: must be one character such as"),
        ("data.csv.decimal=';'", "data.csv.decimal: must be one of '.' or ','"),
        ("data.csv.encoding=klingon", "data.csv.encoding: unknown text encoding 'klingon'"),
        ("data.timezone=Mars/Base", "data.timezone: unknown time zone 'Mars/Base'; use an IANA"),
        ("data.date_format=dd.mm.yyyy", "data.date_format: must be strftime codes"),
        ("data.csv={sep: ',', decimal: ','}", "`sep` and `decimal` are both ','"),
        ("data.dayfirst=true", "give either `date_format` or `dayfirst`, not both"),
    ],
)
def test_reading_settings_are_checked(override: str, message: str):
    overrides = ["data.path=x.csv", override]
    if override.startswith("data.dayfirst"):
        overrides.append("data.date_format=%d.%m.%Y")
    with pytest.raises(ConfigError) as error:
        load_config(None, overrides)
    assert message in str(error.value)


def test_reading_settings_have_defaults_and_a_tab_can_be_written_out():
    data = load_config(None, ["data.path=x.tsv", r"data.csv.sep=\t"]).data
    assert (data.csv.sep, data.csv.decimal, data.csv.encoding) == ("\t", None, None)
    assert (data.missing, data.max_filled, data.dayfirst, data.timezone) == (
        "interpolate",
        0.5,
        None,
        None,
    )
    assert "csv:" in dump_config(load_config(None)) and "missing: interpolate" in dump_config(
        load_config(None)
    )


def test_time_column_none_is_allowed_with_the_synthetic_series():
    assert load_config(None, ["data.time_column=none"]).data.source == "synthetic"
    with pytest.raises(ConfigError, match="`time_column` is set but `source` is 'synthetic'"):
        load_config(None, ["data.time_column=date"])
