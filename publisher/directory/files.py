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
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from publisher.model.errors import Problem

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


#: Collections inside collections, at most: the deepest a directory needs is 8 (a file,
#: its groups, a group, its meetings, their series, a series, its moved dates, one of them).
#: Refused beyond this before going deeper, so no nesting can exhaust Python's stack.
MAX_DEPTH = 20
#: Characters of a value a message quotes, at most: the rest is cut off with '…'.
QUOTE_MAX = 60


@dataclass(frozen=True)
class DataFile:
    """One parsed file: its plain value and the line (1-based) of every path in it."""

    name: str
    value: Any
    lines: dict[Path_, int]
    #: Paths of the text values written over more than one line of the file.
    several_lines: frozenset[Path_] = frozenset()

    def line(self, path: Path_) -> int | None:
        """Line of ``path``, or of its nearest parent that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def one_line(self, path: Path_) -> bool:
        """Whether the value at ``path`` is written on one line, so a message may quote it:
        a message quotes at most the line it is about, so a file that is not what it seems
        (a link to another file, say) is never shown whole."""
        return path not in self.several_lines


def cut(text: str) -> str:
    """``text`` cut to QUOTE_MAX characters, '…' marking the cut: for a message."""
    return text if len(text) <= QUOTE_MAX else text[: QUOTE_MAX - 1] + "…"


def quote(text: str) -> str:
    """``text`` cut short, in quotes: for a message, of text known to be on one line."""
    return repr(cut(text))


class _Refused(ValueError):
    """A node that is not read, with what is wrong and how to fix it."""

    def __init__(self, node: yaml.Node, message: str, hint: str) -> None:
        super().__init__(message)
        self.mark = node.start_mark
        self.message = message
        self.hint = hint


class _Reader:
    """Turns one file's composed nodes into plain values, noting each value's line."""

    def __init__(self, name: str, text: str, problems: list[Problem]) -> None:
        self.name = name
        self.text = text
        self.problems = problems
        self.lines: dict[Path_, int] = {}
        self.several_lines: set[Path_] = set()
        self.seen: set[int] = set()

    def plain(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        # The composer hands back the anchored node itself for an alias. Refusing a node
        # seen before stops a self-referencing file (endless recursion) and a "billion
        # laughs" file (exponential size); the data never needs aliases.
        if id(node) in self.seen:
            raise _Refused(
                node,
                "Anchors and aliases (& and *) are not supported.",
                "Write the value out in full where it is needed.",
            )
        self.seen.add(id(node))
        start = node.start_mark.line
        self.lines[path] = start + 1
        if isinstance(node, yaml.ScalarNode):  # nearly every node
            if node.end_mark.line != start and self._over_lines(node):
                self.several_lines.add(path)
            if node.tag == STR:  # nearly every value: no need for the constructor's machinery
                return node.value
            return _construct(node)
        if depth > MAX_DEPTH:
            raise _Refused(
                node,
                f"The values here are nested more than {MAX_DEPTH} levels deep, deeper than "
                "any directory needs.",
                "Check the indentation and the brackets from this line on.",
            )
        if isinstance(node, yaml.SequenceNode):
            return [self.plain(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self._mapping(node, path, depth)

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str) or not key or key_node.end_mark.line + 1 != line:
                self.problems.append(
                    Problem(
                        self.name,
                        line,
                        None,
                        None,
                        "A key must be a plain word.",
                        "Write key: value.",
                    )
                )
                continue
            if key in out:
                self.problems.append(
                    Problem(
                        self.name,
                        line,
                        None,
                        key,
                        f"The key {quote(key)} appears twice in the same block.",
                        "Keep one of them.",
                    )
                )
                continue
            out[key] = self.plain(value_node, (*path, key), depth + 1)
        return out

    @cached_property
    def source(self) -> list[str]:
        return self.text.splitlines()

    def _over_lines(self, node: yaml.ScalarNode) -> bool:
        """Whether a value whose node spans lines has text on more than one of them: a
        block scalar ('>-' or '|') starts on the line of its indicator, and ends after any
        blank lines that follow it."""
        if node.style not in ("|", ">"):
            return True
        end = node.end_mark
        lines = self.source[node.start_mark.line + 1 : end.line + (1 if end.column else 0)]
        return sum(1 for line in lines if line.strip()) > 1


def _construct(node: yaml.ScalarNode) -> Any:
    """A value with a tag other than text's: a number, true or false, or one with a ! tag."""
    try:
        return yaml.constructor.SafeConstructor().construct_object(node)
    except yaml.MarkedYAMLError as exc:  # an unknown tag such as !!python/object
        raise _Refused(
            node,
            f"This value cannot be read: {exc.problem}.",
            "Write plain text, a list or key: value pairs; no ! tags.",
        ) from None
    except Exception:  # !!int abc, !!timestamp x: each constructor fails its own way
        raise _Refused(
            node,
            "This value cannot be read: it is not what its ! tag says.",
            "Write plain text, a list or key: value pairs; no ! tags.",
        ) from None


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
        return None, [_syntax_problem(display_name, text, exc)]
    except yaml.reader.ReaderError as exc:
        return None, [
            Problem(
                display_name,
                raw.count(b"\n", 0, exc.position) + 1,  # libyaml counts in UTF-8 bytes
                None,
                None,
                "This is not valid YAML: it holds a character YAML does not allow "
                f"(#x{exc.character:04x}).",
                "Retype the text around it; copy-paste can bring such characters in.",
            )
        ]
    reader = _Reader(display_name, text, problems)
    try:
        value = None if node is None else reader.plain(node, (), 1)
    except _Refused as exc:
        return None, [_yaml_problem(display_name, exc.mark, exc.message, exc.hint)]
    return DataFile(display_name, value, reader.lines, frozenset(reader.several_lines)), problems


def _syntax_problem(name: str, text: str, exc: yaml.MarkedYAMLError) -> Problem:
    """A syntax error at its line, in YAML's words (which never quote more than a character
    or a tag), with the likely fix."""
    mark = exc.problem_mark or exc.context_mark
    if exc.problem == "exceeded maximum nesting depth":  # libyaml's own limit, 1,000
        return _yaml_problem(
            name,
            mark,
            f"The values here are nested more than {MAX_DEPTH} levels deep, deeper than any "
            "directory needs.",
            "Check the indentation and the brackets from this line on.",
        )
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
    return _yaml_problem(name, mark, f"This is not valid YAML: {exc.problem or exc.context}.", hint)


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


#: A data file's bytes, or why it was not read.
Contents = Mapping[str, bytes | Problem]


def read_folder(folder: Path) -> dict[str, bytes | Problem]:
    """Every data file's bytes by name, read once: a load checks and fingerprints this same
    snapshot, so what is stored as loaded is exactly what was checked.

    A file that links out of the folder is not read: the data is what the folder holds,
    and a link to /etc/passwd must not put that file's lines into the checker's messages.
    A file that cannot be read is a Problem too, never an exception."""
    root = folder.resolve()
    out: dict[str, bytes | Problem] = {}
    for path in data_files(folder):
        try:
            real = path.resolve()
            if not real.is_relative_to(root):
                out[path.name] = Problem(
                    path.name,
                    None,
                    None,
                    None,
                    "This file is a link to a file outside the data folder, so it is not read.",
                    "Put the file itself in the data folder.",
                )
                continue
            out[path.name] = real.read_bytes()
        except (OSError, RuntimeError) as exc:  # RuntimeError: a link loop made meanwhile
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "a link loop"
            out[path.name] = Problem(
                path.name,
                None,
                None,
                None,
                f"This file cannot be read ({reason}).",
                "Check that it is there and that publisher may read it.",
            )
    return out


def site_title(folder: Path) -> str:
    """The directory's title in site.yaml, to name the folder in messages; empty when it
    cannot be read, or is a link out of the folder (the checker says why when the folder
    is loaded)."""
    path = folder / SITE_FILE
    try:
        if not path.resolve().is_relative_to(folder.resolve()):
            return ""
        raw = path.read_bytes()
    except (OSError, RuntimeError):
        return ""
    parsed, _ = parse(raw, SITE_FILE)
    title = parsed.value.get("title") if parsed and isinstance(parsed.value, dict) else None
    return title if isinstance(title, str) else ""


def fingerprint(contents: Contents) -> str:
    """Hash of every data file's name and bytes (or why it was not read): equal
    fingerprints mean nothing to load."""
    digest = hashlib.sha256()
    for name, raw in contents.items():
        body = raw if isinstance(raw, bytes) else str(raw).encode()
        digest.update(name.encode() + b"\0" + body + b"\0")
    return digest.hexdigest()
