"""Markdown files with YAML front matter: read with line numbers in every error, written
deterministically. YAML here is untrusted (papers come from digests and hands), so only
plain data is accepted: no tags, no aliases, no duplicate keys."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
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
_RESOLVER = _PlainLoader("")  # only its resolve(): which type YAML gives a plain scalar
# The first characters of the plain scalars YAML may read as other than text (PyYAML's
# resolver looks its patterns up by first character; None would be a pattern for any).
_RESOLVED_FIRST = frozenset(_PlainLoader.yaml_implicit_resolvers)
assert None not in _RESOLVED_FIRST


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
    yaml_text = "\n".join(lines[1:end])
    simple = parse_simple(lines[1:end])
    fields, key_lines = simple if simple else _parse_yaml(yaml_text, path, first_line=2)
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
    simple = dump_simple(data)
    if simple is not None:
        return simple
    return yaml.dump(
        data,
        Dumper=_PlainDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100_000,
    )


def dump_simple(data: dict[str, Any]) -> str | None:
    """What PyYAML writes for fields of one-line text or whole numbers, lists of text,
    flat mappings of text and lists of them (a manifest's papers), written here about
    five times faster than by its Python representer (ingest writes 10,000 papers and a
    10,000-entry manifest); None for anything else. Property tests hold it to PyYAML."""
    if not data:
        return None
    lines: list[str] = []
    for key, value in data.items():
        if not _written_key(key):
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            lines.append(f"{key}: {value}\n")
        elif isinstance(value, str):
            scalar = _written_scalar(value)
            if scalar is None:
                return None
            lines.append(f"{key}: {scalar}\n")
        elif isinstance(value, dict):
            mapping = _written_mapping(value, "  ")
            if mapping is None:
                return None
            lines.append(f"{key}:\n{mapping}" if mapping else f"{key}: {{}}\n")
        elif isinstance(value, list):
            items = [written for item in value if (written := _written_item(item)) is not None]
            if len(items) < len(value):
                return None
            lines.append(
                f"{key}:\n" + "".join(f"- {item}" for item in items) if items else f"{key}: []\n"
            )
        else:
            return None
    return "".join(lines)


def _written_item(item: object) -> str | None:
    """A list item after its "- ": text, or a flat mapping of text (not empty)."""
    if isinstance(item, str):
        scalar = _written_scalar(item)
        return None if scalar is None else scalar + "\n"
    if isinstance(item, dict) and item:
        mapping = _written_mapping(item, "  ")
        return None if mapping is None else mapping[2:]  # the first key follows "- "
    return None


def _written_mapping(mapping: dict[Any, Any], indent: str) -> str | None:
    """The `key: text` lines of a flat mapping of text, each indented."""
    lines = []
    for key, value in mapping.items():
        scalar = _written_scalar(value) if isinstance(value, str) else None
        if scalar is None or not _written_key(key):
            return None
        lines.append(f"{indent}{key}: {scalar}\n")
    return "".join(lines)


def _written_key(key: object) -> bool:
    return isinstance(key, str) and _is_field_name(key)


@cache
def _is_field_name(key: str) -> bool:  # the same few names, 10,000 times in a manifest
    return _FIELD_NAME.fullmatch(key) is not None and _is_text(key)


_FIELD_NAME = re.compile(r"[a-z][a-z0-9_-]*")
# What libyaml's emitter does not count as printable, and so writes escaped in double
# quotes: characters beyond the Basic Multilingual Plane, the BOM and U+FFFE/U+FFFF.
_NOT_PRINTED = re.compile("[\U00010000-\U0010ffff\ufeff\ufffe\uffff]")
_OTHER_SPACE = re.compile(r"[^\S ]")  # tabs, line breaks and Unicode spaces


def _written_scalar(text: str) -> str | None:
    """One line of text as libyaml writes it (the rules of its emitter's scalar
    analysis): plain when YAML reads it back as this text, else single-quoted; None where
    it would choose another style, or where these rules are not sure."""
    if not text or text[0] == " " or text[-1] == " " or _NOT_WRITTEN.search(text):
        return None
    # "-", "?" and ":" start a plain scalar when a non-space follows them.
    head = "x" + text[1:] if text[0] in "-?:" and text[1:2] not in ("", " ") else text
    if (
        _SAFE_PLAIN.fullmatch(head)
        and not text.startswith(("---", "..."))  # document markers
        and _is_text(text)
    ):
        return text
    return "'" + text.replace("'", "''") + "'"


def load_yaml(text: str, path: Path) -> dict[str, Any]:
    """A YAML mapping (a digest manifest): read by parse_simple when in the shape
    dump_yaml writes (a 10,000-paper manifest: 0.18 s instead of 0.76 s), else by PyYAML."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    simple = parse_simple(lines)
    fields, _ = simple if simple else _parse_yaml(text, path, first_line=1)
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


# ---- the shape dump() writes, read without PyYAML's Python-level constructor --------------

_KEY_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?: (.*))?")
_NESTED_LINE = re.compile(r"  ([A-Za-z_][A-Za-z0-9_-]*): (.+)")
_ITEM_KEY_LINE = re.compile(r"- ([A-Za-z_][A-Za-z0-9_-]*): (.+)")
# A plain scalar that can only be text: no indicator first, nothing that YAML reads as a
# comment, a mapping or a flow collection, no space at either end.
_SAFE_PLAIN = re.compile(r"[^-?:,\[\]{}#&*!|>'\"%@`\s](?:[^:#\t]|:(?=\S)|(?<! )#)*(?<!\s)")
# What YAML refuses to read (its reader's NON_PRINTABLE) or reads as a line break inside
# a line (\r, NEL, LS, PS): left to PyYAML.
_NOT_ONE_LINE = re.compile(
    "[^\x09\x0a\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]"
)
# Text _written_scalar leaves to PyYAML: one regex, not three searches per value.
_NOT_WRITTEN = re.compile("|".join(r.pattern for r in (_NOT_ONE_LINE, _NOT_PRINTED, _OTHER_SPACE)))
_QUOTED = re.compile(r"'((?:[^']|'')*)'")


def parse_simple(lines: list[str]) -> tuple[dict[str, Any], dict[str, int]] | None:
    """Fields and key lines of front matter in the shape dump() writes (`key: value`,
    `key:` and `- item` lines, items text or flat mappings, `key:` and indented `name:
    value` lines, values plain or single-quoted), about five times faster than PyYAML;
    None for anything else, which _parse_yaml then reads (and reports). Property tests
    hold it to PyYAML's result."""
    if any(_NOT_ONE_LINE.search(line) for line in lines):
        return None
    fields: dict[str, Any] = {}
    key_lines: dict[str, int] = {}
    number = 0
    while number < len(lines):
        match = _KEY_LINE.fullmatch(lines[number])
        if match is None or match.group(1) in fields or not _is_text(match.group(1)):
            return None
        key, value = match.groups()
        key_lines[key] = number + 2
        number += 1
        if value is not None:
            scalar = _scalar(value, raw=key in TEXT_KEYS)
            if scalar is None:
                return None
            fields[key] = scalar
            continue
        collection, number = _collection(lines, number)
        if collection is None:
            return None
        fields[key] = collection
    return fields, key_lines


def _collection(
    lines: list[str], number: int
) -> tuple[list[str | dict[str, str]] | dict[str, str] | None, int]:
    """From `number` on: `- item` lines, where an item is text or a flat mapping
    (`- name: value` and indented `name: value` lines: a manifest's papers), or the
    indented `name: value` lines of a flat mapping."""
    items: list[str | dict[str, str]] = []
    mapping: dict[str, str] = {}
    while number < len(lines) and lines[number][:1] in ("-", " "):
        line = lines[number]
        if line.startswith("- ") and not mapping:
            item = _list_item(line)
            if item is None:
                return None, number
            items.append(item)
        else:
            nested = _NESTED_LINE.fullmatch(line)
            # inside the mapping of the last item, or of the key: never after a text item
            into = items[-1] if items else mapping
            if not nested or not isinstance(into, dict) or not _is_new_key(nested[1], into):
                return None, number
            scalar = _scalar(nested.group(2))
            if scalar is None:
                return None, number
            into[nested.group(1)] = scalar
        number += 1
    if not items and not mapping:
        return None, number  # 'key:' alone is null in YAML: left to PyYAML
    return (items or mapping), number


def _list_item(line: str) -> str | dict[str, str] | None:
    """A `- ` line's item: text, or the first entry of a mapping."""
    entry = _ITEM_KEY_LINE.fullmatch(line)
    if entry is None:
        return _scalar(line[2:])
    scalar = _scalar(entry.group(2))
    if scalar is None or not _is_text(entry.group(1)):
        return None
    return {entry.group(1): scalar}


def _is_new_key(key: str, mapping: dict[str, str]) -> bool:
    return key not in mapping and _is_text(key)


def _scalar(text: str, raw: bool = False) -> str | None:
    quoted = _QUOTED.fullmatch(text)
    if quoted:
        return quoted.group(1).replace("''", "'")
    if not _SAFE_PLAIN.fullmatch(text):
        return None
    return text if raw or _is_text(text) else None


def _is_text(plain: str) -> bool:
    """Whether YAML reads this plain scalar as text (not a number, boolean or null)."""
    if plain[:1] not in _RESOLVED_FIRST:  # no typed value starts so: text (most slugs)
        return True
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, plain, (True, False))
    return tag == "tag:yaml.org,2002:str"


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
