"""The README lists every setting with its default, and every command."""

import re

import pytest

from publisher.cli import parser
from publisher.config import SETTINGS
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _shown(default: object) -> str:
    if isinstance(default, bool):
        return "1" if default else "0"
    return str(default) if default != "" else "(empty)"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_readme_lists_setting_with_its_default(setting):
    row = re.search(rf"^\| `PUBLISHER_{setting.name}` \| (.+?) \|", README, re.M)
    assert row, f"PUBLISHER_{setting.name} is missing from the README's settings table"
    assert row.group(1).strip("`") == _shown(setting.default)


def test_readme_lists_no_setting_that_does_not_exist():
    names = set(re.findall(r"^\| `PUBLISHER_([A-Z_]+)` \|", README, re.M))
    assert names == {s.name for s in SETTINGS}


def test_readme_names_every_command():
    commands = parser()._subparsers._group_actions[0].choices  # noqa: SLF001
    for command in commands:
        assert f"publisher {command}" in README


def test_readme_gives_the_two_setup_commands():
    assert "make serve" in README and "make test" in README
