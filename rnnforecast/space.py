"""The search space of `tune`: its keys checked against the config schema, the default space,
and a trial's values turned into a config.

A space maps dotted config keys to a list of choices or a range (`config.RangeConfig`). Every
choice and both ends of every range are validated through the config schema itself, so a value
the key's type refuses is a config error before any trial runs, with the message the key would
get in the config file.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from rnnforecast.config import Config, RangeConfig, config_from_dict, key_errors
from rnnforecast.errors import ConfigError

# Keys that do not change what a trial scores.
UNSEARCHABLE_SECTIONS = ("tune", "tracking", "output")
SCALAR_TYPES = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Dimension:
    """One searched key: choices, or a range of whole or real numbers.

    Attributes:
        key: the dotted config key, e.g. `model.units`; also the Optuna parameter name.
        choices: the values to choose from; None for a range.
        labels: how each choice is stored in the study (YAML text for lists and mappings,
            which Optuna cannot store); the choices themselves when they are plain values.
    """

    key: str
    choices: tuple[Any, ...] | None = None
    labels: tuple[Any, ...] | None = None
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: float | None = None
    integer: bool = False

    def suggest(self, trial: Any) -> Any:
        """The value an Optuna trial picks for this key."""
        if self.choices is not None:
            assert self.labels is not None
            label = trial.suggest_categorical(self.key, list(self.labels))
            return self.choices[self.labels.index(label)]
        if self.integer:
            return trial.suggest_int(
                self.key, int(self.low), int(self.high), step=int(self.step or 1), log=self.log
            )
        return trial.suggest_float(self.key, self.low, self.high, step=self.step, log=self.log)

    def value_of(self, stored: Any) -> Any:
        """The config value of a value stored in the study (a label for list choices)."""
        if self.choices is not None and self.labels is not None and stored in self.labels:
            return self.choices[self.labels.index(stored)]
        return stored

    def describe(self) -> str:
        """One line, e.g. `[lstm, gru]` or `16 to 128 (log, whole numbers)`."""
        if self.choices is not None:
            return "[" + ", ".join(_text(choice) for choice in self.choices) + "]"
        details = [name for name, on in (("log", self.log), ("whole numbers", self.integer)) if on]
        if self.step is not None:
            details.append(f"step {self.step:g}")
        low, high = (f"{int(v)}" if self.integer else f"{v:g}" for v in (self.low, self.high))
        return f"{low} to {high}" + (f" ({', '.join(details)})" if details else "")


def check_space(config: Config, label: str) -> None:
    """Raise `ConfigError` naming the file and the key for an unknown key, an unsearchable
    one, or a choice or range end the key's type refuses."""
    dimensions(config, label)


def dimensions(config: Config, label: str = "<config>") -> list[Dimension]:
    """The dimensions of `config.tune.space`, each checked through the config schema."""
    base = config.model_dump(mode="json")
    base["tune"]["space"] = None
    return [_dimension(key, entry, base, label) for key, entry in (config.tune.space or {}).items()]


def _dimension(key: str, entry: Any, base: dict[str, Any], label: str) -> Dimension:
    _check_key(key, label)
    where = f"{label}: tune.space: `{key}`"
    if isinstance(entry, list):
        for choice in entry:
            _validated(base, key, choice, where, "choice")
        labels = tuple(
            choice if isinstance(choice, SCALAR_TYPES) else _text(choice) for choice in entry
        )
        unique = dict(zip(labels, entry, strict=True))
        return Dimension(key, choices=tuple(unique.values()), labels=tuple(unique))
    assert isinstance(entry, RangeConfig)
    not_numeric = ConfigError(
        f"{where}: a range needs a numeric key; give a list of choices instead. "
        f"Received: {key}={{low: {entry.low}, high: {entry.high}}}"
    )
    # A switch or a name refuses numbers outright; say so before quoting the schema's reason.
    if isinstance(_get(Config.model_validate(base), key), bool | str):
        raise not_numeric
    ends = [_validated(base, key, value, where, "range end") for value in (entry.low, entry.high)]
    if not all(isinstance(end, int | float) and not isinstance(end, bool) for end in ends):
        raise not_numeric
    integer = all(isinstance(end, int) for end in ends) and (
        entry.step is None or float(entry.step).is_integer()
    )
    return Dimension(
        key,
        low=float(ends[0]),
        high=float(ends[1]),
        log=entry.log,
        step=None if entry.step is None else float(entry.step),
        integer=integer,
    )


def _check_key(key: str, label: str) -> None:
    leaves = leaf_keys()
    if key in leaves and key.split(".")[0] not in UNSEARCHABLE_SECTIONS:
        return
    if key in leaves:
        raise ConfigError(
            f"{label}: tune.space: `{key}` cannot be searched: keys under "
            f"{', '.join(f'`{name}`' for name in UNSEARCHABLE_SECTIONS)} do not change the "
            f"score. Remove it from `tune.space`. Received: {key}"
        )
    searchable = [leaf for leaf in leaves if leaf.split(".")[0] not in UNSEARCHABLE_SECTIONS]
    close = difflib.get_close_matches(key, searchable, n=1)
    hint = f"; did you mean `{close[0]}`?" if close else "."
    raise ConfigError(
        f"{label}: tune.space: `{key}` is not a config key{hint} Use the dotted key of a value, "
        f"e.g. `model.units` (`rnnforecast validate` prints every key). Received: {key}"
    )


def leaf_keys(model: type[BaseModel] = Config, prefix: str = "") -> list[str]:
    """Every dotted key that holds a value (not a section) in the config schema."""
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(leaf_keys(annotation, f"{prefix}{name}."))
        else:
            keys.append(f"{prefix}{name}")
    return keys


def _validated(base: dict[str, Any], key: str, value: Any, where: str, what: str) -> Any:
    """`value` as the schema reads it at `key` (a single unit is one layer, `[16]`: its item)."""
    raw = copy.deepcopy(base)
    _set(raw, key, value)
    try:
        config = Config.model_validate(raw)
    except ValidationError as error:
        messages = key_errors(error)
        reason = messages.get(key) or next(iter(messages.values()))
        raise ConfigError(
            f"{where}: the {what} {_text(value)} is refused: {reason}. Fix or remove it. "
            f"Received: {key}={_text(value)}"
        ) from None
    read = _get(config, key)
    if isinstance(read, list) and len(read) == 1:
        return read[0]
    return read


def apply(config: Config, values: dict[str, Any], label: str = "<trial>") -> Config:
    """A copy of `config` with each dotted key set to its value, validated as a whole (a
    combination of values can conflict, e.g. `transform.difference` with `model.baseline:
    none`)."""
    raw = config.model_dump(mode="json")
    for key, value in values.items():
        _set(raw, key, value)
    return config_from_dict(raw, label)


def _set(raw: dict[str, Any], key: str, value: Any) -> None:
    *sections, name = key.split(".")
    node = raw
    for section in sections:
        node = node.setdefault(section, {})
    node[name] = value


def _get(config: Config, key: str) -> Any:
    node: Any = config
    for part in key.split("."):
        node = getattr(node, part)
    return node


def _text(value: Any) -> str:
    """A value as YAML flow text: `[32, 16]`, `lstm`, `0.001`."""
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...")


DEFAULT_LOOKBACK_MULTIPLES = (1, 2, 3)


def default_space(season_length: int, horizon: int, training_part: int) -> dict[str, Any]:
    """The space searched when `tune.space` is left out, in the spirit of NeuralForecast's
    AutoLSTM: the cell, the units (16 to 128, log scale), the input dropout (0 to 0.3), the
    learning rate (1e-4 to 1e-2, log scale), and lookbacks of 1, 2 and 3 times
    max(season, horizon) that leave at least half of the first fold's `training_part` for
    windows (the longest that fits when none does; left out when none fits at all)."""
    space: dict[str, Any] = {
        "model.cell": ["lstm", "gru"],
        "model.units": {"low": 16, "high": 128, "log": True},
        "model.dropout": {"low": 0.0, "high": 0.3},
        "training.learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
    }
    unit = max(season_length, horizon)
    candidates = [multiple * unit for multiple in DEFAULT_LOOKBACK_MULTIPLES]
    roomy = [lookback for lookback in candidates if lookback <= (training_part - horizon) // 2]
    fitting = [lookback for lookback in candidates if lookback + horizon <= training_part]
    lookbacks = roomy or fitting[:1]
    if lookbacks:
        space["window.lookback"] = lookbacks
    return space
