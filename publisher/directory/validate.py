"""Check the data folder and build the directory: site.yaml and its categories, each file of
groups (``group_files``), then what spans the files (categories named, slugs used twice).

Every problem is collected (not just the first), each naming the file, line, group and field
and saying how to fix it.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path
from typing import Any

from publisher.directory import slugs
from publisher.directory.checker import Checker
from publisher.directory.files import SITE_FILE, Contents, ignored, parse, quote, read_folder
from publisher.directory.group_files import MapChunks, check_groups_files, checker_fault
from publisher.directory.schema import SITE
from publisher.model.directory import Category, Directory, Group, Site
from publisher.model.errors import DirectoryError, Problem


def load_directory(
    folder: Path,
    contents: Contents | None = None,
    spread: MapChunks | None = None,
    owner: slugs.Owner | None = None,
) -> Directory:
    """Read, check and build the directory in ``folder``; raise DirectoryError listing all
    problems (warnings included) if any error was found."""
    directory, problems = check_directory(folder, contents, spread, owner)
    if directory is None:
        raise DirectoryError(problems)
    return directory


def check_directory(
    folder: Path,
    contents: Contents | None = None,
    spread: MapChunks | None = None,
    owner: slugs.Owner | None = None,
) -> tuple[Directory | None, list[Problem]]:
    """Every problem in the folder, and the directory when there is no error.

    ``contents`` (``files.read_folder``) saves reading the files again. ``owner`` tells
    which published group a slug belongs to, when the caller knows the history. Problems
    name each file with its folder (data/community-groups.yaml), as given."""
    folder = Path(folder)
    if not folder.is_dir():
        return None, [
            Problem(
                str(folder),
                None,
                None,
                None,
                "This data folder does not exist.",
                "Give the folder that holds site.yaml with --data.",
            )
        ]
    directory, problems = _check_folder(folder, contents, spread, owner)
    return directory, [replace(p, file=str(folder / p.file)) for p in problems]


def _check_folder(
    folder: Path, contents: Contents | None, spread: MapChunks | None, owner: slugs.Owner | None
) -> tuple[Directory | None, list[Problem]]:
    if contents is None:
        contents = read_folder(folder)
    problems: list[Problem] = [
        Problem(
            path.name,
            None,
            None,
            None,
            "This file is not read: only files ending in .yaml are.",
            f"If it holds groups, rename it to {path.stem}.yaml.",
            warning=True,
        )
        for path in sorted(folder.iterdir())
        if path.suffix.lower() in (".yml", ".yaml")
        and path.suffix != ".yaml"
        and not ignored(path.name)
    ]
    site_raw, categories = _check_site(contents.get(SITE_FILE), problems)
    groups: dict[str, list[Group]] = {slug: [] for slug in categories}
    slug_seen: dict[str, slugs.Use] = {}

    def where(use: slugs.Use) -> str:
        return f"{folder / use.file}:{use.line}"

    for name, checked in check_groups_files(contents, spread).items():
        problems += checked.problems
        category = checked.category
        if category and categories and category not in categories:
            close = difflib.get_close_matches(category, list(categories), n=1)
            problems.append(
                Problem(
                    name,
                    checked.category_line,
                    None,
                    "category",
                    f"Unknown category {quote(category)}.",
                    (f"Did you mean {close[0]!r}? " if close else "")
                    + "Categories are listed in site.yaml.",
                )
            )
            continue
        for group, line, previous_lines in checked.groups:
            uses = [(group.slug, slugs.Use(name, line, group, "slug"))] + [
                (slug, slugs.Use(name, previous_lines[j], group, f"previous_slugs[{j}]"))
                for j, slug in enumerate(group.previous_slugs)
            ]
            for slug, use in uses:
                first = slug_seen.setdefault(slug, use)
                if first is not use:
                    problem, slug_seen[slug] = slugs.duplicate(slug, first, use, owner, where)
                    problems.append(problem)
            if category in groups:
                groups[category].append(group)
    if any(not p.warning for p in problems) or site_raw is None:
        return None, problems
    directory = Directory(
        site=Site(
            site_raw["title"],
            site_raw["description"],
            site_raw["language"],
            site_raw.get("time_zone", "UTC"),
        ),
        categories=tuple(
            Category(
                slug=slug,
                name=cat["name"],
                description=cat.get("description"),
                groups=tuple(groups[slug]),
            )
            for slug, cat in categories.items()
        ),
    )
    return directory, problems


def _check_site(
    raw: bytes | Problem | None, problems: list[Problem]
) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """site.yaml: the directory's title and language, and its categories in order."""
    if raw is None:
        problems.append(
            Problem(
                SITE_FILE,
                None,
                None,
                None,
                "site.yaml is missing: it names the directory and its categories.",
                "Create it; see the README.",
            )
        )
        return None, {}
    if isinstance(raw, Problem):  # not read (files.read_folder says why)
        problems.append(raw)
        return None, {}
    try:
        return _check_site_file(raw, problems)
    except Exception as exc:  # noqa: BLE001 - as in check_files: a problem, not a crash
        problems.append(checker_fault(SITE_FILE, exc))
        return None, {}


def _check_site_file(
    raw: bytes, problems: list[Problem]
) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    data, found = parse(raw, SITE_FILE)
    problems += found
    if data is None:
        return None, {}
    checker = Checker(data, problems)
    site_raw = checker.check(data.value, SITE, ())
    categories: dict[str, dict[str, Any]] = {}
    if site_raw and not any(step[0] == "categories" for step in checker.bad):
        for i, cat in enumerate(site_raw.get("categories", [])):
            if cat["slug"] in categories:
                problems.append(
                    Problem(
                        SITE_FILE,
                        data.line(("categories", i, "slug")),
                        None,
                        "slug",
                        f"The category {quote(cat['slug'])} is listed twice.",
                        "Keep one.",
                    )
                )
            categories[cat["slug"]] = cat
    return site_raw, categories
