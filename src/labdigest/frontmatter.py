"""Markdown files with YAML front matter: read with line numbers in every error, written
deterministically. YAML here is untrusted (papers come from digests and hands), so only
plain data is accepted: no tags, no aliases, no duplicate keys."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from labdigest.errors import ContentError

DELIMITER = "---"
TEXT_KEYS = frozenset({"arxiv", "title"})  # always read as the text written


# libyaml's C parser and emitter are ten times faster than the pure-Python ones; both
# only ever build plain data here (safe constructors, no Python tags).
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SafeDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _PlainLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader that keeps dates as the text the maintainer wrote."""


class _PlainDumper(_SafeDumper):  # type: ignore[valid-type,misc]
    """SafeDumper that writes dates unquoted, matching _PlainLoader."""


def _without_timestamps(cls: type[yaml.SafeLoader] | type[yaml.SafeDumper]) -> None:
    cls.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_without_timestamps(_PlainLoader)
_without_timestamps(_PlainDumper)


def _literal_for_multiline(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_PlainDumper.add_representer(str, _literal_for_multiline)


@dataclass(frozen=True, slots=True)
class Document:
    fields: dict[str, Any]  # in file order
    key_lines: dict[str, int]  # line of each top-level key in the file
    body: str
    body_line: int


def parse(text: str, path: Path) -> Document:
    """Split and parse ``---\\n<yaml>---\\n<body>``; errors name path and line."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if not lines or lines[0].rstrip("\r") != DELIMITER:
        raise ContentError("expected front matter starting with '---' on the first line", path, 1)
    end = next(
        (i for i in range(1, len(lines)) if lines[i].rstrip("\r") == DELIMITER),
        None,
    )
    if end is None:
        raise ContentError("front matter is not closed by a '---' line", path, 1)
    yaml_text = "\n".join(lines[1:end]) + "\n"  # (its last line ends as in the file)
    fields, key_lines = _parse_yaml(yaml_text, path, first_line=2)
    body_lines = lines[end + 1 :]
    skipped = 0
    while skipped < len(body_lines) and not body_lines[skipped].strip():
        skipped += 1
    body = "\n".join(line.rstrip("\r") for line in body_lines[skipped:]).rstrip()
    return Document(fields, key_lines, body, body_line=end + 2 + skipped)


def dump(fields: Iterable[tuple[str, Any]], body: str) -> str:
    """The file text for these fields (in the given order) and body."""
    return f"{DELIMITER}\n{dump_yaml(dict(fields))}{DELIMITER}\n\n{body.strip()}\n"


def dump_yaml(data: dict[str, Any]) -> str:
    """YAML for these fields, in their order, one field a line (diffs stay readable)."""
    return yaml.dump(
        data,
        Dumper=_PlainDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100_000,
    )


def load_yaml(text: str, path: Path) -> dict[str, Any]:
    """A YAML mapping (a digest manifest)."""
    fields, _ = _parse_yaml(text, path, first_line=1)
    return fields


def _parse_yaml(text: str, path: Path, first_line: int) -> tuple[dict[str, Any], dict[str, int]]:
    loader = _PlainLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return {}, {}
        if not isinstance(root, yaml.MappingNode):
            raise ContentError(
                "front matter must be a mapping of 'key: value' lines",
                path,
                first_line + root.start_mark.line,
            )
        _reject_aliases(root, path, first_line)
        fields: dict[str, Any] = {}
        key_lines: dict[str, int] = {}
        for key_node, value_node in root.value:
            line = first_line + key_node.start_mark.line
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise ContentError(f"key {key!r} is not text", path, line)
            if key in fields:
                raise ContentError(
                    f"duplicate key '{key}' (first on line {key_lines[key]})", path, line
                )
            if key in TEXT_KEYS and isinstance(value_node, yaml.ScalarNode):
                # 'arxiv: 2401.10000' is a float to YAML; the id is the text as written.
                fields[key] = value_node.value
            else:
                fields[key] = loader.construct_object(value_node, deep=True)
            key_lines[key] = line
        return fields, key_lines
    except yaml.MarkedYAMLError as error:
        # The context (where a bracket or quote opened) is nearer the mistake than the
        # place the parser gave up.
        mark = error.context_mark or error.problem_mark
        line = first_line + mark.line if mark is not None else None
        problem = error.problem or error.context or "invalid YAML"
        raise ContentError(f"invalid YAML: {_one_line(problem)}", path, line) from None
    except yaml.YAMLError as error:
        raise ContentError(f"invalid YAML: {_one_line(str(error))}", path, first_line) from None
    finally:
        loader.dispose()


def _reject_aliases(root: yaml.Node, path: Path, first_line: int) -> None:
    """An alias makes a node appear twice; refusing them defuses 'billion laughs' files."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise ContentError(
                "YAML anchors and aliases (&, *) are not allowed here",
                path,
                first_line + node.start_mark.line,
            )
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
