"""`publisher check`: every problem at once, each with file, line, group, field and a fix."""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from publisher.cli import main
from publisher.directory import checker, files, group_files
from publisher.directory.validate import check_directory
from tests.conftest import DATA

GOOD_GROUP = "  - slug: a-group\n    name: A group\n"
HEAD = "category: community-groups\ngroups:\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def folder(data_dir: Path) -> Path:
    """The bundled data, plus room for one more file of groups."""
    return data_dir


def problems_in(folder: Path) -> list[str]:
    directory, problems = check_directory(folder)
    assert directory is None
    return [str(p) for p in problems]


def test_bundled_data_is_valid(capsys):
    assert main(["check", "--data", str(DATA)]) == 0
    assert "13 groups in 4 categories" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD_GROUP + "    descripton: typo\n",
            "extra.yaml:5, group 'a-group', field 'descripton': "
            "error: Unknown key 'descripton'. Did you mean 'description'?",
        ),
        (
            "  - slug: a-group\n",
            "extra.yaml:3, group 'a-group', field 'name': error: "
            "The required key 'name' is missing.",
        ),
        (
            GOOD_GROUP + "    links:\n      - url: htp//x\n        label: Site\n",
            "field 'links[0].url': error: 'htp//x' is not a web address.",
        ),
        (
            GOOD_GROUP + "    links:\n      - url: javascript:alert(1)\n        label: Site\n",
            "field 'links[0].url': error: 'javascript:alert(1)' is not a web address.",
        ),
        (GOOD_GROUP + "    flags: closed-group\n", "field 'flags': error: Expected a list"),
        (GOOD_GROUP + "    flags: [closed]\n", "Unknown flag 'closed'."),
        (GOOD_GROUP + "    description: 12\n", "Expected text, found the number 12."),
        (GOOD_GROUP + "    description: no\n", None),  # YAML 1.1 would make this False
        (  # one line after '>-' is one line, though the '>-' stands on the line before
            GOOD_GROUP + "    links:\n      - url: >-\n          https://example.org/\n\n"
            "        label: Site\n",
            None,
        ),
        ("  - slug: Bad Slug\n    name: X\n", "'Bad Slug' is not a slug."),
        ("  - slug: mad-failures\n    name: Copy\n", "The slug 'mad-failures' is already used at "),
        (
            GOOD_GROUP + "    name: Twice\n",
            "extra.yaml:5, field 'name': error: The key 'name' appears twice",
        ),
        (
            GOOD_GROUP + "    contact:\n      twitter: stigmaresearch\n",
            "'stigmaresearch' is not a Twitter handle.",
        ),
        (
            GOOD_GROUP + "    place:\n      country: Wales\n      inferred: [region]\n",
            "'region' is not a place field of this group.",
        ),
    ],
)
def test_a_problem_is_reported_with_file_line_group_and_field(folder, text, expected):
    write(folder, "extra.yaml", "category: community-groups\ngroups:\n" + text)
    directory, problems = check_directory(folder)
    if expected is None:
        assert directory is not None and problems == []
        return
    assert directory is None
    assert any(expected in str(p) for p in problems), [str(p) for p in problems]


def test_unknown_category_suggests_the_nearest(folder):
    write(folder, "extra.yaml", "category: comunity-groups\ngroups:\n" + GOOD_GROUP)
    [problem] = problems_in(folder)
    assert problem.startswith(f"{folder}/extra.yaml:1, field 'category': error: Unknown category")
    assert "Did you mean 'community-groups'?" in problem


def test_every_problem_is_reported_at_once(folder, capsys):
    write(
        folder,
        "extra.yaml",
        "category: community-groups\ngroups:\n"
        "  - slug: one\n    nme: x\n  - slug: two\n    name: Two\n    colour: red\n",
    )
    write(folder, "broken.yaml", "category: community-groups\ngroups:\n  - slug: [\n")
    assert main(["check", "--data", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "extra.yaml:4, group 'one', field 'nme'" in err
    assert (
        "extra.yaml:3, group 'one', field 'name': error: The required key 'name' is missing." in err
    )
    assert "extra.yaml:7, group 'two', field 'colour'" in err
    assert "broken.yaml:4: error: This is not valid YAML" in err
    assert "4 error(s)" in err


@pytest.mark.parametrize("fraction", [0.3, 0.5, 0.66, 0.9, 0.99])
def test_half_written_file_is_refused(folder, fraction):
    """A file cut short mid-write must not load, even where the cut leaves valid YAML (inside
    a description, say): it would publish a truncated text as if it were real."""
    path = folder / "reading-teaching-learning-groups.yaml"
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)].rstrip(b"\n") + b" cut")
    problems = problems_in(folder)
    assert any(p.startswith(f"{path}:") for p in problems)


def check_command(cwd: Path, data: str) -> subprocess.CompletedProcess:
    """``publisher check --data DATA`` run in ``cwd``, as a volunteer would run it."""
    return subprocess.run(
        [sys.executable, "-m", "publisher.cli", "check", "--data", data],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def test_check_command_exits_non_zero(folder):
    write(folder, "extra.yaml", "category: nowhere\ngroups: []\n")
    result = check_command(folder.parent, str(folder))
    assert result.returncode == 1
    assert "extra.yaml:1, field 'category': error: Unknown category 'nowhere'." in result.stderr


def test_check_names_files_with_their_folder(folder):
    """`publisher check` said community-groups.yaml:12, not where that file is."""
    write(folder, "extra.yaml", "category: nowhere\ngroups: []\n")
    result = check_command(folder.parent, "./data")
    assert "data/extra.yaml:1, field 'category': error: Unknown category 'nowhere'." in (
        result.stderr
    )


def test_site_file_missing(folder):
    (folder / "site.yaml").unlink()
    assert any("site.yaml is missing" in p for p in problems_in(folder))


# Open-ended input: whatever a volunteer's editor leaves in a file, the loader reports
# problems and never crashes.
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "slug",
                    "name",
                    "description",
                    "links",
                    "url",
                    "label",
                    "place",
                    "country",
                    "inferred",
                    "flags",
                    "contact",
                    "category",
                    "groups",
                    "previous_slugs",
                    "meetings",
                    "x",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


#: A file of groups, or a site.yaml (whose title and names are hostile text too).
documents = st.one_of(
    st.tuples(
        st.just("extra.yaml"),
        st.dictionaries(st.sampled_from(["category", "groups", "x"]), values, max_size=3),
    ),
    st.tuples(
        st.just("site.yaml"),
        st.dictionaries(
            st.sampled_from(["title", "description", "language", "time_zone", "categories", "x"]),
            values,
            max_size=5,
        ),
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=documents)
def test_generated_data_files_never_crash_the_loader(generated):
    name, document = generated
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        shutil.copytree(DATA, folder)
        write(folder, name, yaml.safe_dump(document, allow_unicode=True))
        directory, problems = check_directory(folder)
        assert directory is not None or any(not p.warning for p in problems)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.text(max_size=40), description=st.text(max_size=40), name=st.text(max_size=40))
@example(title="Groups <b>", description="A <script>", name="Community <img src=x> Groups")
def test_hostile_site_text_is_kept_as_written_or_refused_by_field(title, description, name):
    """site.yaml's title and description and a category's name, whatever they hold: kept
    exactly (trimmed), or refused naming the field; a name or title with < or > is always
    refused, as feed readers may take it for HTML."""
    site = yaml.safe_load((DATA / "site.yaml").read_text(encoding="utf-8"))
    site.update(title=title, description=description)
    site["categories"][0]["name"] = name
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        shutil.copytree(DATA, folder)
        # Escaped, so that PyYAML writes exactly the text (a raw NEL would fold to a space).
        write(folder, "site.yaml", yaml.safe_dump(site, allow_unicode=False))
        directory, problems = check_directory(folder)
    errors = [p for p in problems if not p.warning]
    assert {(Path(p.file).name, p.field) for p in errors} <= {
        ("site.yaml", "title"),
        ("site.yaml", "description"),
        ("site.yaml", "categories[0].name"),
    }, [str(p) for p in errors]
    if directory is not None:
        assert directory.site.title == title.strip()
        assert directory.site.description == description.strip()
        assert directory.categories[0].name == name.strip()
    for field, text in (("title", title), ("categories[0].name", name)):
        if "<" in text or ">" in text:  # refused, for this or another fault of the text
            assert any(p.field == field for p in errors)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=200))
def test_arbitrary_text_never_crashes_the_loader(text):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        shutil.copytree(DATA, folder)
        write(folder, "extra.yaml", text)
        directory, problems = check_directory(folder)
        if directory is None:
            assert problems and all(p.file and p.message for p in problems)


def nested_text(depth: int, style: str, indent: int) -> str:
    """A value ``depth`` collections deep (lists and blocks in turn) around a word."""
    if style == "flow":
        opening = "".join("[" if i % 2 else "{k: " for i in range(depth))
        return " " + opening + "x" + "".join("]" if i % 2 else "}" for i in reversed(range(depth)))
    lines = [f"{' ' * (indent + 2 * i)}{'-' if i % 2 else 'k:'}" for i in range(depth)]
    return "".join(f"\n{line}" for line in lines) + f"\n{' ' * (indent + 2 * depth)}x"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    depth=st.integers(min_value=0, max_value=1500),
    style=st.sampled_from(["flow", "block"]),
    key=st.sampled_from(["description", "links", "place", "meetings", "x"]),
    count=st.integers(min_value=1, max_value=1000),
    length=st.integers(min_value=0, max_value=3 * checker.MAX_TEXT),
)
def test_generated_nesting_and_size_never_crash_the_loader(depth, style, key, count, length):
    """However deep a value is nested and however large a file grows, the checker answers
    with problems naming the file (and the line of the nesting), never an exception."""
    text = "category: community-groups\ngroups:\n" + "".join(
        f"  - slug: group-{i}\n    name: Group {i}\n" for i in range(count)
    )
    text += f"    description: {'word ' * (length // 5)}end\n" if key != "description" else ""
    text += f"    {key}:{nested_text(depth, style, 6)}\n"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        shutil.copytree(DATA, folder)
        write(folder, "extra.yaml", text)
        directory, problems = check_directory(folder)
        assert directory is not None or any(not p.warning for p in problems)
        assert all(p.file == f"{folder}/extra.yaml" for p in problems)
        lines = text.count("\n")
        assert all(p.line is None or 1 <= p.line <= lines for p in problems)
        if depth + 3 > files.MAX_DEPTH:  # under a file, its groups, a group
            [deep] = [p for p in problems if "levels deep" in p.message]
            assert deep.line is not None


@given(
    st.one_of(
        st.text(),
        st.from_regex(
            r"\A(https?|HTTP|ftp|[a-z]{0,5}):/{0,3}[A-Za-z0-9._@:\[\]-]{0,20}[/?#]?\S{0,10}\Z"
        ),
    )
)
def test_the_quick_web_address_check_agrees_with_urlsplit(text):
    """Most links pass a regular expression instead of urlsplit: never with another answer."""

    def by_urlsplit(value: str) -> bool:
        if checker.SPACE.search(value):
            return False
        try:
            parts = urlsplit(value)
        except ValueError:
            return False
        return parts.scheme in ("http", "https") and bool(parts.hostname)

    assert checker._is_web_address(text) == by_urlsplit(text)  # noqa: SLF001


# --- the data folder as a new user leaves it ------------------------------------------------

SECRET = "s3cret-account:x:0:0:/root:/bin/bash\nsecond-s3cret:x:1:1::/usr/sbin:/bin/false\n"


def test_symlink_out_of_the_data_folder_is_refused(folder, tmp_path):
    """A data file linked to /etc/passwd had its contents quoted in the checker's messages."""
    outside = tmp_path / "passwd"
    outside.write_text(SECRET, encoding="utf-8")
    (folder / "extra.yaml").symlink_to(outside)
    assert problems_in(folder) == [
        f"{folder}/extra.yaml: error: This file is a link to a file outside the data folder, "
        "so it is not read. Put the file itself in the data folder."
    ]


def test_a_link_to_a_file_inside_the_data_folder_is_read(folder):
    (folder / "kept").mkdir()
    write(folder / "kept", "groups.txt", "category: community-groups\ngroups:\n" + GOOD_GROUP)
    (folder / "extra.yaml").symlink_to(folder / "kept" / "groups.txt")
    directory, problems = check_directory(folder)
    assert problems == []
    assert "a-group" in {g.slug for g in directory.groups}


@pytest.mark.parametrize(
    "text",
    [
        "first-s3cret-line\nsecond-s3cret-line\n",  # a whole file that is one long value
        HEAD + "  - slug: a-group\n    name: A\n    flags: closed\n      second-s3cret\n",
        HEAD + "  - slug: a\n      second-s3cret\n    name: A\n",
        HEAD + "  - name: A\n      second-s3cret\n    colour: red\n",
        HEAD + "  - slug: a-group\n    name: A\n    ? |\n      colour\n      second-s3cret\n"
        "    : red\n",
        HEAD + "  - slug: a-group\n    name: A\n    place:\n      country: Wales\n"
        "      inferred: [region\n        second-s3cret]\n",
        HEAD + "  - slug: a-group\n    name: A\n    meetings:\n      series:\n"
        "        - starts: 2026-01-13\n          every: month\n          on: second\n"
        "            second-s3cret\n          time: 18:00-20:00\n",
        HEAD + "  - slug: a-group\n    name: A\n    links:\n      - url: >-\n"
        "          https://example.org/\n          second-s3cret\n        label: Site\n",
        HEAD + '  - slug: a-group\n    name: "A\n      second-s3cret\n',
        HEAD + "  - slug: a-group\n    name: A\n    description: !!binary |\n"
        "      c2Vjb25kLXMzY3JldA==\n      c2Vjb25kLXMzY3JldA==\n",
    ],
    ids=[
        "whole-file",
        "wrong-kind",
        "slug",
        "group-name",
        "key",
        "inferred",
        "series-on",
        "url",
        "syntax",
        "binary",
    ],
)
def test_a_problem_quotes_no_more_than_its_line(folder, text):
    """A value written over several lines was quoted whole in a message."""
    write(folder, "extra.yaml", text)
    problems = problems_in(folder)
    assert problems
    assert not any("second-s3cret" in p for p in problems), problems


@pytest.mark.parametrize(
    "name",
    [
        "._community-groups.yaml",  # macOS keeps a file's metadata beside it so
        ".extra.yaml",
        ".#community-groups.yaml",  # Emacs marks a file being edited so
        "community-groups.yaml~",
        "#community-groups.yaml#",
        ".community-groups.yaml.swp",
        ".extra.yml",
    ],
)
def test_hidden_and_editor_files_are_not_read(folder, name):
    """A macOS ._community-groups.yaml (binary, not UTF-8) blocked every load."""
    (folder / name).write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
    directory, problems = check_directory(folder)
    assert problems == []
    assert directory is not None


def nested(depth: int, style: str) -> str:
    """A group's description nested ``depth`` lists deep, from line 5 on."""
    if style == "flow":
        return "    description: " + "[" * depth + "]" * depth + "\n"
    return "    description:\n" + "".join(f"{'  ' * (i + 3)}- \n" for i in range(depth))


@pytest.mark.parametrize("style", ["flow", "block"])
@pytest.mark.parametrize("depth", [25, 600, 5000])
def test_deep_nesting_is_a_problem_naming_file_and_line(folder, style, depth):
    """A value nested ~600 deep raised RecursionError instead of a problem."""
    write(folder, "extra.yaml", HEAD + GOOD_GROUP + nested(depth, style))
    [problem] = problems_in(folder)
    assert problem.startswith(f"{folder}/extra.yaml:"), problem
    assert int(problem.split(":")[1].split(",")[0]) >= 5, problem
    assert "nested more than 20 levels deep" in problem, problem


def test_check_command_reports_deep_nesting_without_a_traceback(folder):
    write(folder, "extra.yaml", HEAD + GOOD_GROUP + nested(600, "flow"))
    result = check_command(folder.parent, "data")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "data/extra.yaml:5: error: The values here are nested more than 20 levels" in (
        result.stderr
    )


@pytest.mark.parametrize("value", ["!!int abc", "!!float x", "!!timestamp x", "!!int"])
def test_a_tag_that_does_not_fit_its_value_is_a_problem_not_a_crash(folder, value):
    write(folder, "extra.yaml", HEAD + GOOD_GROUP + f"    description: {value}\n")
    [problem] = problems_in(folder)
    assert problem.startswith(f"{folder}/extra.yaml:5: error: This value cannot be read"), problem


def test_an_unexpected_failure_in_one_file_is_a_problem_for_that_file(folder, monkeypatch):
    """Any exception while reading one file ended the whole check with a traceback."""
    real = group_files.parse

    def parse_failing_on_extra(raw: bytes, name: str):  # noqa: ANN202
        if name == "extra.yaml":
            raise RuntimeError("an unforeseen fault")
        return real(raw, name)

    monkeypatch.setattr(group_files, "parse", parse_failing_on_extra)
    write(folder, "extra.yaml", HEAD + GOOD_GROUP)
    [problem] = problems_in(folder)
    assert problem.startswith(f"{folder}/extra.yaml: error: This file could not be read"), problem
