"""The development set of the accuracy benchmark: the datasets `devset.yaml` lists, their halves.

Imported by `accuracy.py` (beside it) and by `tests/test_devset.py`; it needs only PyYAML.

Example:
    >>> entries = load_manifest()
    >>> sorted({entry.half for entry in entries})
    ['checking', 'tuning']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = Path(__file__).resolve().parent / "devset.yaml"


@dataclass(frozen=True)
class Frequency:
    """A kind of time step: its pandas alias (None for integer steps), season and horizon."""

    name: str
    alias: str | None
    season_length: int
    horizon: int


# In the order of the halves rule: the longest periods first, integer steps last.
FREQUENCIES = {
    frequency.name: frequency
    for frequency in (
        Frequency("yearly", "YS", 1, 6),
        Frequency("quarterly", "QS", 4, 8),
        Frequency("monthly", "MS", 12, 18),
        Frequency("weekly", "W", 52, 13),
        Frequency("daily", "D", 7, 14),
        Frequency("hourly", "h", 24, 48),
        Frequency("half-hourly", "30min", 48, 48),
        Frequency("steps", None, 1, 10),
    )
}
SHAPES = ("panel", "seasonal", "trend")
HALVES = ("tuning", "checking")

REQUIRED_KEYS = {"name", "file", "time_column", "target", "frequency", "shape", "h", "half"}
OPTIONAL_KEYS = {"id_column", "covariates", "future_covariates", "note"}


@dataclass(frozen=True)
class Entry:
    """One dataset of the development set, as the manifest describes it."""

    name: str
    file: Path
    time_column: str
    target: str
    frequency: Frequency
    shape: str
    horizon: int
    half: str
    id_column: str | None = None
    covariates: tuple[str, ...] = ()
    future_covariates: tuple[str, ...] = ()
    note: str = ""

    @property
    def season_length(self) -> int:
        return self.frequency.season_length

    @property
    def columns(self) -> list[str]:
        """Every column the dataset uses: id, time, target, covariates."""
        id_columns = [self.id_column] if self.id_column else []
        return [
            *id_columns,
            self.time_column,
            self.target,
            *self.covariates,
            *self.future_covariates,
        ]

    def data_section(self, path: str) -> dict[str, Any]:
        """rnnforecast's `data` section for this dataset, reading `path`."""
        section: dict[str, Any] = {
            "path": path,
            "time_column": self.time_column,
            "target": self.target,
        }
        if self.id_column:
            section["id_column"] = self.id_column
        if self.covariates:
            section["covariates"] = list(self.covariates)
        if self.future_covariates:
            section["future_covariates"] = list(self.future_covariates)
        return section


def minimum_history(horizon: int, season_length: int) -> int:
    """Points a series needs before a forecast origin to be scored there: two horizons and a
    season, so the tool can hold out a horizon and still train on windows, and the MASE scale
    and the baselines' interval errors rest on more than a few points."""
    return 2 * horizon + season_length


def load_manifest(path: Path = MANIFEST) -> list[Entry]:
    """The datasets of the manifest at `path`, checked, in file order.

    Raises:
        ValueError: a missing or unknown key, an unknown frequency, shape or half, a duplicated
            name, or a horizon other than the frequency's without a `note` saying why.
    """
    with path.open(encoding="utf-8") as stream:
        document = yaml.safe_load(stream) or {}
    items = document.get("datasets")
    if not isinstance(items, list) or not items:
        raise ValueError(f"{path}: expected a non-empty list under `datasets`")
    entries = [entry_from_mapping(item, path) for item in items]
    names = [entry.name for entry in entries]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ValueError(f"{path}: duplicated dataset names: {', '.join(duplicated)}")
    return entries


def entry_from_mapping(item: Any, path: Path) -> Entry:
    """One manifest item as an `Entry`; `ValueError` naming the dataset and the key if bad."""
    if not isinstance(item, dict):
        raise ValueError(f"{path}: each dataset must be a mapping; got {item!r}")
    name = item.get("name", "?")
    missing = REQUIRED_KEYS - item.keys()
    unknown = item.keys() - REQUIRED_KEYS - OPTIONAL_KEYS
    if missing or unknown:
        problems = [f"missing {sorted(missing)}" if missing else "", f"unknown {sorted(unknown)}"]
        raise ValueError(f"{path}: dataset {name}: keys {'; '.join(p for p in problems if p)}")
    choices = (("frequency", FREQUENCIES), ("shape", SHAPES), ("half", HALVES))
    for key, allowed in choices:
        if item[key] not in allowed:
            raise ValueError(
                f"{path}: dataset {name}: {key} must be one of {', '.join(allowed)}; "
                f"got {item[key]!r}"
            )
    frequency = FREQUENCIES[item["frequency"]]
    horizon = item["h"]
    if not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"{path}: dataset {name}: h must be a positive integer; got {horizon!r}")
    if horizon != frequency.horizon and not item.get("note"):
        raise ValueError(
            f"{path}: dataset {name}: h {horizon} differs from the {frequency.name} default "
            f"{frequency.horizon}; add a `note` saying why"
        )
    return Entry(
        name=name,
        file=ROOT / item["file"],
        time_column=item["time_column"],
        target=item["target"],
        frequency=frequency,
        shape=item["shape"],
        horizon=horizon,
        half=item["half"],
        id_column=item.get("id_column"),
        covariates=tuple(item.get("covariates", ())),
        future_covariates=tuple(item.get("future_covariates", ())),
        note=item.get("note", ""),
    )


def halves_by_rule(entries: list[Entry]) -> dict[str, str]:
    """The half of each dataset by the fixed rule: sorted by frequency (`FREQUENCIES` order),
    shape (`SHAPES` order) and name, the datasets alternate tuning, checking, tuning ...

    Example: two yearly datasets `a` and `b` and a quarterly `c` give a: tuning, b: checking,
    c: tuning.
    """
    frequency_order = list(FREQUENCIES)

    def key(entry: Entry) -> tuple[int, int, str]:
        return frequency_order.index(entry.frequency.name), SHAPES.index(entry.shape), entry.name

    ordered = sorted(entries, key=key)
    return {entry.name: HALVES[position % 2] for position, entry in enumerate(ordered)}


if __name__ == "__main__":
    # Print the halves the rule gives next to the manifest's, for a new or edited manifest.
    manifest = load_manifest()
    by_rule = halves_by_rule(manifest)
    for one in manifest:
        flag = "" if by_rule[one.name] == one.half else f"  (manifest: {one.half})"
        print(f"{one.name:16} {one.frequency.name:12} {one.shape:9} {by_rule[one.name]}{flag}")
