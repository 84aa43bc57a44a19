"""YAML that remembers where each value came from.

Every mapping loads as a `Node` dict, so validation can name `file:line:column`
for a key or a value, not just for the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


class Node(dict):
    """A mapping with the 1-based line/column of itself and of each key."""

    file: str
    line: int
    column: int
    key_marks: dict

    def where(self, key: Any = None) -> tuple[int, int]:
        if key is not None and key in self.key_marks:
            return self.key_marks[key]
        return self.line, self.column

    def error(self, message: str, key: Any = None) -> ConfigError:
        line, column = self.where(key)
        return ConfigError(message, self.file, line, column)


class Seq(list):
    """A sequence with the line/column of each item."""

    file: str
    line: int
    column: int
    item_marks: list

    def error(self, message: str, index: int | None = None) -> ConfigError:
        line, column = (self.item_marks[index] if index is not None and index < len(self.item_marks)
                        else (self.line, self.column))
        return ConfigError(message, self.file, line, column)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _loader_for(file: str):
    class Loader(yaml.SafeLoader):
        pass

    def construct_mapping(loader, node, deep=False):
        loader.flatten_mapping(node)
        out = Node()
        out.file, (out.line, out.column) = file, _mark(node)
        out.key_marks = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise ConfigError("a mapping key must be a plain value", file, *_mark(key_node))
            if key in out:
                raise ConfigError(f"duplicate key {key!r}", file, *_mark(key_node))
            out[key] = loader.construct_object(value_node, deep=True)
            out.key_marks[key] = _mark(key_node)
        return out

    def construct_sequence(loader, node, deep=False):
        out = Seq(loader.construct_object(child, deep=True) for child in node.value)
        out.file, (out.line, out.column) = file, _mark(node)
        out.item_marks = [_mark(child) for child in node.value]
        return out

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    # YAML 1.1 reads 0229 as an octal-ish int and 020 as 16: area codes must stay strings,
    # so plain scalars that look like numbers with a leading zero are kept as text.
    Loader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    Loader.yaml_implicit_resolvers["0"].insert(0, ("tag:yaml.org,2002:str", _LEADING_ZERO))
    return Loader


_LEADING_ZERO = re.compile(r"^0[0-9]+$")


def load(path: str | Path, display_name: str | None = None) -> Any:
    """Load a YAML file; syntax errors become ConfigError with file:line:column."""
    path = Path(path)
    name = display_name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", name) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason})", name) from None
    return loads(text, name)


def loads(text: str, name: str = "<string>") -> Any:
    try:
        return yaml.load(text, Loader=_loader_for(name))  # noqa: S506 (SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            message = f"{exc.problem} ({exc.context})"
        if mark is None:
            raise ConfigError(f"YAML syntax error: {message}", name) from None
        raise ConfigError(f"YAML syntax error: {message}", name, mark.line + 1, mark.column + 1) from None
    except yaml.reader.ReaderError as exc:
        # Raised before any mark exists: the position is a character index into the text.
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise ConfigError(f"YAML syntax error: character {exc.character!r} is not allowed in YAML",
                          name, line, column) from None
