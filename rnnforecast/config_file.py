"""Reading a config: the YAML file (bounded, duplicate keys refused), `--set` overrides and
sections merged over it, validated against the schema of `config` and, for `tune.space`, the
search space checked through `space`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from rnnforecast.config import DEFAULT_CONFIG_NAME, Config, config_from_dict, merge_sections
from rnnforecast.errors import ConfigError, check_path, quoted, shorten
from rnnforecast.space import check_space

# A config is a few hundred bytes and a hundred values; these bounds are far above any real one
# and keep a hostile file (a YAML alias bomb: a few hundred bytes expanding to billions of
# values) from taking the machine down.
MAX_CONFIG_BYTES = 1 << 20
MAX_CONFIG_VALUES = 10_000
MAX_CONFIG_DEPTH = 50


def load_config(
    path: Path | str | None = None,
    overrides: list[str] | None = None,
    sections: Mapping[str, Any] | None = None,
) -> Config:
    """Read, override and validate a config.

    Args:
        path: YAML file; `None` gives the built-in default (synthetic data).
        overrides: `key.path=value` strings, values parsed as YAML (`training.epochs=2`).
        sections: parts of the config merged over the file's key by key, before validation
            (`{"window": {"horizon": 12}}`); a None value removes a key.

    Returns:
        The validated `Config`, with `data.path` made absolute relative to the file's folder.

    Raises:
        ConfigError: the file is missing, empty, larger than 1 MiB, not YAML, holds a key
            twice or expands past 10,000 values through aliases, or a value is wrong.

    Example:
        `load_config("configs/sine.yaml", ["training.epochs=2"])`
    """
    if path is not None:
        check_path(path, ConfigError, "the config file")
    label = str(path) if path is not None else "<default config>"
    raw = _read_yaml(Path(path)) if path is not None else {}
    for override in overrides or []:
        _apply_override(raw, override)
    raw = merge_sections(raw, sections or {})
    config = config_from_dict(raw, label)
    if config.tune.space:
        check_space(config, label)
    if path is not None:
        if config.data.path is not None and not config.data.path.is_absolute():
            config.data.path = (Path(path).parent / config.data.path).resolve()
        if config.output.name is None:
            config.output.name = _name_from_file(Path(path))
    elif config.output.name is None:
        config.output.name = DEFAULT_CONFIG_NAME
    return config


def _name_from_file(path: Path) -> str:
    """The config file's name as a run name: its stem, made a plain name."""
    stem = "".join(c if c.isprintable() and c not in "/\\" else "_" for c in path.stem)
    stem = stem.replace("..", "_").lstrip(".")[:200]
    return stem or DEFAULT_CONFIG_NAME


class RefusedYAML(yaml.MarkedYAMLError):
    """YAML that parses but that a config must not be: a key given twice, or aliases that
    expand past `MAX_CONFIG_VALUES` values or nest past `MAX_CONFIG_DEPTH` levels."""


class ConfigLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses duplicate keys and bounds the expanded size of a document.

    PyYAML builds an alias as a reference to the anchored node, so an alias bomb (each level
    repeating the one before nine times) loads in microseconds; it is everything that walks the
    result afterwards (validation, error messages) that meets billions of values. Composing
    counts every node as the number of values it expands to, an alias as its anchor's whole
    count, and stops past the limit, so the cost of any file is bounded by its own size.

    Example:
        `yaml.load(text, Loader=ConfigLoader)`
    """

    def __init__(self, stream: str | bytes) -> None:
        super().__init__(stream)
        self._values = 0  # values composed so far, each alias counted as its anchor's expansion
        self._expansion: dict[int, int] = {}  # id(node) -> values the node expands to
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            anchored = self.anchors.get(event.anchor)
            if anchored is not None:
                size = self._expansion.get(id(anchored))
                if size is None:  # the alias sits inside its own anchor
                    raise RefusedYAML(
                        problem=f"alias *{shorten(str(event.anchor))} refers to a node that "
                        "contains it (a recursive structure); a config cannot hold one",
                        problem_mark=event.start_mark,
                    )
                self._count(size, event.start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_CONFIG_DEPTH:
            raise RefusedYAML(
                problem=f"nested more than {MAX_CONFIG_DEPTH} levels deep; a config has a few",
                problem_mark=self.peek_event().start_mark,
            )
        before = self._values
        node = super().compose_node(parent, index)
        self._depth -= 1
        self._count(1, node.start_mark)
        self._expansion[id(node)] = self._values - before
        return node

    def _count(self, values: int, mark: Any) -> None:
        self._values += values
        if self._values > MAX_CONFIG_VALUES:
            raise RefusedYAML(
                problem=f"expands to more than {MAX_CONFIG_VALUES:,} values (aliases `*name` "
                "repeat whole nodes); a config holds far fewer. Remove the aliases or the bulk",
                problem_mark=mark,
            )

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # PyYAML keeps the last of two equal keys silently; in a config that is a mistake.
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *defaults` may be overridden by the keys beside it
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key, which the base class reports
            if first is not None:
                raise RefusedYAML(
                    problem=f"duplicate key {quoted(key)} (first at line {first + 1}); "
                    "keep one of them",
                    problem_mark=key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"{path}: config file not found. Check the path.")
    if not path.is_file():
        raise ConfigError(f"{path}: not a regular file; give the path of a YAML config file.")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the config file: {shorten(str(error))}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path}: the config file is larger than {MAX_CONFIG_BYTES // (1 << 20)} MiB; a "
            "config is a few hundred bytes. Check that this is the YAML config. "
            f"Received: size={path.stat().st_size}"
        )
    raw = _parse_yaml(text, str(path))
    if raw is None:
        raise ConfigError(
            f"{path}: the config file is empty (or holds only comments); expected a mapping of "
            "sections (data, window, model ...). To train on the built-in synthetic series, run "
            "the command without a config file."
        )
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: expected a mapping of sections (data, window, model ...) at the top level, "
            f"got {type(raw).__name__}"
        )
    return raw


def _parse_yaml(text: str, label: str) -> Any:
    try:
        return yaml.load(text, Loader=ConfigLoader)
    except RefusedYAML as error:
        mark = error.problem_mark
        raise ConfigError(f"{label}: line {mark.line + 1}: {error.problem}.") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{label}: invalid YAML{where}: {shorten(problem, 200)}") from None
    except ValueError as error:  # an integer of more digits than Python converts
        raise ConfigError(f"{label}: invalid YAML: {shorten(str(error), 200)}") from None


def _apply_override(raw: dict[str, Any], override: str) -> None:
    key, separator, text = override.partition("=")
    parts = key.strip().split(".")
    if not separator or not all(parts):
        raise ConfigError(
            f"--set {quoted(override)}: expected key.path=value, e.g. --set training.epochs=5"
        )
    try:
        value = yaml.load(text, Loader=ConfigLoader) if text.strip() else None
    except RefusedYAML as error:
        raise ConfigError(f"--set {quoted(override)}: {error.problem}.") from None
    except (yaml.YAMLError, ValueError):
        value = text
    node = raw
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {quoted(override)}: `{shorten(part)}` is not a section")
        node = child
    node[parts[-1]] = value
