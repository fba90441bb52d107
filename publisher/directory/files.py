"""Read the data folder's YAML files into plain values, remembering the line of every value.

YAML 1.1 turns ``no``, ``on`` and ``2026-01-13`` into booleans and dates behind a volunteer's
back; this loader keeps only ``true``/``false`` as booleans and reads dates as text, so the
validator sees what was written. Duplicate keys are reported instead of silently dropped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from publisher.errors import Problem

SITE_FILE = "site.yaml"

Path_ = tuple[str | int, ...]


# libyaml's parser where installed (ten times faster on a large directory), else PyYAML's own.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


STR = "tag:yaml.org,2002:str"


class _Loader(_Base):
    """SafeLoader without YAML 1.1's yes/no/on/off booleans and implicit dates."""

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        """Plain text that cannot be a number, boolean or null is text: say so without
        trying every pattern (this runs for each of the 200,000 values of a large folder).

        A colon makes text too: YAML 1.1 would read a time such as 12:30 as the number 750.
        And '=' and '<<' (YAML's value and merge keys) are just text here."""
        if (
            kind is yaml.ScalarNode
            and value
            and (value[0] not in _MAYBE_TYPED or ":" in value or value in ("=", "<<"))
        ):
            return STR
        return super().resolve(kind, value, implicit)


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
#: First characters with which a plain value may be something other than text.
_MAYBE_TYPED = frozenset("".join(_Loader.yaml_implicit_resolvers)) - {""}


@dataclass(frozen=True)
class DataFile:
    """One parsed file: its plain value and the line (1-based) of every path in it."""

    name: str
    value: Any
    lines: dict[Path_, int]

    def line(self, path: Path_) -> int | None:
        """Line of ``path``, or of its nearest parent that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


class _AliasError(ValueError):
    """An anchor (&) used again by an alias (*): refused, see ``_plain``."""

    def __init__(self, node: yaml.Node) -> None:
        super().__init__("alias")
        self.mark = node.start_mark


def _plain(
    node: yaml.Node,
    path: Path_,
    lines: dict[Path_, int],
    problems: list[Problem],
    name: str,
    seen: set[int],
) -> Any:
    # The composer hands back the anchored node itself for an alias. Refusing a node seen
    # before stops a self-referencing file (endless recursion) and a "billion laughs" file
    # (exponential size); the data never needs aliases.
    if id(node) in seen:
        raise _AliasError(node)
    seen.add(id(node))
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str) or not key:
                problems.append(
                    Problem(
                        name,
                        key_node.start_mark.line + 1,
                        None,
                        None,
                        "A key must be a plain word.",
                        "Write key: value.",
                    )
                )
                continue
            if key in out:
                problems.append(
                    Problem(
                        name,
                        key_node.start_mark.line + 1,
                        None,
                        key,
                        f"The key {key!r} appears twice in the same block.",
                        "Keep one of them.",
                    )
                )
                continue
            out[key] = _plain(value_node, (*path, key), lines, problems, name, seen)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _plain(item, (*path, i), lines, problems, name, seen)
            for i, item in enumerate(node.value)
        ]
    if node.tag == STR:  # nearly every value: no need for the constructor's machinery
        return node.value
    return yaml.constructor.SafeConstructor().construct_object(node)


def parse(raw: bytes, display_name: str) -> tuple[DataFile | None, list[Problem]]:
    """Parse one YAML file's bytes; a syntax error becomes a Problem with its line."""
    problems: list[Problem] = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [
            Problem(
                display_name,
                None,
                None,
                None,
                f"The file is not UTF-8 text ({exc.reason}).",
                "Save it as UTF-8 in your editor.",
            )
        ]
    if text and not text.endswith("\n"):
        # Editors end a saved text file with a line break; a file cut short mid-write does
        # not. Loading it could publish a truncated description as if it were real.
        lines_in = text.count("\n") + 1
        return None, [
            Problem(
                display_name,
                lines_in,
                None,
                None,
                "The file does not end with a line break, so it may be only half saved.",
                "Check the end of the file, then save it again with a line "
                "break after the last line.",
            )
        ]
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        lines = text.splitlines()
        line = lines[mark.line] if mark and mark.line < len(lines) else ""
        indent = line[: len(line) - len(line.lstrip())]
        hint = (
            "Indent with spaces: this line starts with a tab, which YAML does not allow."
            if "\t" in indent
            else "Check the indentation on that line. Text that contains ': ' or starts with "
            "@, *, & or a quote must be put in double quotes, or written on the next line "
            "after '>-'."
        )
        return None, [
            _yaml_problem(
                display_name, mark, f"This is not valid YAML: {exc.problem or exc.context}.", hint
            )
        ]
    except yaml.YAMLError as exc:
        return None, [
            Problem(display_name, None, None, None, f"This is not valid YAML: {exc}.", "")
        ]
    lines: dict[Path_, int] = {}
    try:
        value = None if node is None else _plain(node, (), lines, problems, display_name, set())
    except _AliasError as exc:
        return None, [
            _yaml_problem(
                display_name,
                exc.mark,
                "Anchors and aliases (& and *) are not supported.",
                "Write the value out in full where it is needed.",
            )
        ]
    except yaml.MarkedYAMLError as exc:  # an unknown tag such as !!python/object
        return None, [
            _yaml_problem(
                display_name,
                exc.problem_mark,
                f"This value cannot be read: {exc.problem}.",
                "Write plain text, a list or key: value pairs; no ! tags.",
            )
        ]
    return DataFile(display_name, value, lines), problems


def _yaml_problem(name: str, mark: yaml.Mark | None, message: str, hint: str) -> Problem:
    return Problem(name, mark.line + 1 if mark else None, None, None, message, hint)


def ignored(name: str) -> bool:
    """Whether a file in the data folder is left alone: hidden files (macOS's ._ copies,
    Emacs's .# locks) and editors' leftovers (backup~, #autosave#, .swp). The loader and
    the watcher both skip them, so saving in an editor neither blocks nor starts a load."""
    return (
        name.startswith(".")
        or name.endswith(("~", ".swp"))
        or (name.startswith("#") and name.endswith("#"))
    )


def data_files(folder: Path) -> list[Path]:
    """The YAML files of a data folder, in name order (so loads are deterministic)."""
    return sorted(p for p in folder.glob("*.yaml") if not ignored(p.name) and p.is_file())


def read_folder(folder: Path) -> dict[str, bytes]:
    """Every data file's bytes by name, read once: a load checks and fingerprints this same
    snapshot, so what is stored as loaded is exactly what was checked."""
    return {path.name: path.read_bytes() for path in data_files(folder)}


def fingerprint(contents: Mapping[str, bytes]) -> str:
    """Hash of every data file's name and bytes: equal fingerprints mean nothing to load."""
    digest = hashlib.sha256()
    for name, raw in contents.items():
        digest.update(name.encode() + b"\0" + raw + b"\0")
    return digest.hexdigest()
