"""Entry history end to end: a real SQLite file, real HTTP, feeds parsed back with feedparser.

Ids and dates must be facts that survive restarts and reloads; an edit, a removal or a rename
shows only where it should; invalid, half-written or mass-removing data changes nothing; the
admin endpoint and the watcher reload on demand.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
import yaml

from publisher.app import close_app
from publisher.model.errors import DirectoryError, MassRemovalError
from publisher.model.timestamps import format_time
from publisher.watch import Watcher

BASE = "http://127.0.0.1:8000"
RTL = "reading-teaching-learning-groups"
CATEGORIES = (
    "facebook-groups",
    RTL,
    "community-groups",
    "national-and-international-groups",
)
FORMATS = ("atom", "rss", "json")
GROUP_FEEDS = tuple(f"/feeds/{key}.{fmt}" for key in ("all", *CATEGORIES) for fmt in FORMATS)
CHANGES = "/feeds/changes.atom"
TOKEN = "test-admin-token"

EDITED = "my-mad-space"  # a group of RTL
EDITED_NAME = "My Mad Space"
NEW_DESCRIPTION = "A group for people who teach and learn from lived experience of distress."


# --- data files ------------------------------------------------------------------------------


def data_file(data_dir: Path, category: str) -> Path:
    return data_dir / f"{category}.yaml"


def read_groups(data_dir: Path, category: str) -> list[dict]:
    """The groups of one category file, as plain dicts."""
    return yaml.safe_load(data_file(data_dir, category).read_text(encoding="utf-8"))["groups"]


def write_groups(data_dir: Path, category: str, groups: list[dict]) -> None:
    """Rewrite one category file with ``groups`` (comments are lost; the content is kept)."""
    path = data_file(data_dir, category)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["groups"] = groups
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


def edit_group(data_dir: Path, category: str, slug: str, /, **fields: object) -> None:
    """Set ``fields`` (``slug`` too) on the group ``slug``; a value of None deletes the key."""
    groups = read_groups(data_dir, category)
    group = next(g for g in groups if g["slug"] == slug)
    for key, value in fields.items():
        if value is None:
            group.pop(key, None)
        else:
            group[key] = value
    write_groups(data_dir, category, groups)


def remove_group(data_dir: Path, category: str, slug: str) -> tuple[int, dict]:
    """Delete one group from its file; return its position and its data, to put it back."""
    groups = read_groups(data_dir, category)
    index = next(i for i, g in enumerate(groups) if g["slug"] == slug)
    group = groups.pop(index)
    write_groups(data_dir, category, groups)
    return index, group


def insert_group(data_dir: Path, category: str, index: int, group: dict) -> None:
    groups = read_groups(data_dir, category)
    groups.insert(index, group)
    write_groups(data_dir, category, groups)


def line_of(path: Path, text: str) -> int:
    """1-based number of the first line of ``path`` containing ``text``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


def keep_only(data_dir: Path, category: str) -> int:
    """Empty every category file but ``category``; return how many groups went."""
    removed = 0
    for other in CATEGORIES:
        if other != category:
            removed += len(read_groups(data_dir, other))
            write_groups(data_dir, other, [])
    return removed


# --- what the server says --------------------------------------------------------------------


def moment(parsed: time.struct_time) -> datetime:
    """feedparser's UTC struct_time as an aware datetime."""
    return datetime(*parsed[:6], tzinfo=UTC)


def atom_entries(server, path: str = "/feeds/all.atom") -> dict[str, dict]:  # noqa: ANN001
    """Entries of an Atom feed by id: title, link, published and updated."""
    response = server.get(path)
    assert response.status_code == 200
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return {
        e.id: {
            "title": e.title,
            "link": e.link,
            "published": moment(e.published_parsed),
            "updated": moment(e.updated_parsed),
            "content": e.content[0].value,
        }
        for e in parsed.entries
    }


def entry_for(entries: dict[str, dict], slug: str) -> tuple[str, dict]:
    """The (id, entry) whose page is /groups/<slug>/."""
    link = f"{BASE}/groups/{slug}/"
    found = [(i, e) for i, e in entries.items() if e["link"] == link]
    assert len(found) == 1, f"{len(found)} entries link to {link}"
    return found[0]


def change_titles(server) -> list[str]:  # noqa: ANN001
    """Titles of the "what changed" feed, newest first."""
    return [e["title"] for e in atom_entries(server, CHANGES).values()]


def snapshot(server, paths: tuple[str, ...] = (*GROUP_FEEDS, CHANGES)) -> dict:  # noqa: ANN001
    """ETag and bytes of every path: what a client would see."""
    out = {}
    for path in paths:
        response = server.get(path)
        assert response.status_code == 200, path
        out[path] = (response.headers["ETag"], response.content)
    return out


def last_modified(server, path: str) -> datetime:  # noqa: ANN001
    return parsedate_to_datetime(server.get(path).headers["Last-Modified"])


def restart(make_app, serve, app, clock, **settings: object):  # noqa: ANN001, ANN201
    """Close ``app``, move time on, start a new app on the same database and data."""
    close_app(app)
    clock.advance(hours=3)
    return serve(make_app(**settings))  # make_app waits for the first load


# --- 1. restart ------------------------------------------------------------------------------


def test_ids_dates_etags_and_bytes_survive_a_restart(make_app, serve, clock):
    first = serve(make_app())
    before = atom_entries(first)
    bytes_before = snapshot(first)
    assert len(before) == 13
    assert all(i.startswith("tag:") for i in before)

    second = restart(make_app, serve, first.app, clock)

    assert atom_entries(second) == before
    assert snapshot(second) == bytes_before


# --- 2. one edit -----------------------------------------------------------------------------


def test_editing_one_description_changes_only_that_entry(server, data_dir, clock):
    all_before = atom_entries(server)
    rtl_before = atom_entries(server, f"/feeds/{RTL}.atom")
    others = [c for c in CATEGORIES if c != RTL]
    other_feeds = tuple(f"/feeds/{c}.{fmt}" for c in others for fmt in FORMATS)
    other_before = snapshot(server, other_feeds)
    changes_before = change_titles(server)
    edited_id, _ = entry_for(all_before, EDITED)

    edit_group(data_dir, RTL, EDITED, description=NEW_DESCRIPTION)
    edited_at = clock.advance(minutes=5)
    server.publisher.reload()

    for path, before in (("/feeds/all.atom", all_before), (f"/feeds/{RTL}.atom", rtl_before)):
        after = atom_entries(server, path)
        assert after.keys() == before.keys(), path
        for entry_id, entry in after.items():
            assert entry["published"] == before[entry_id]["published"], (path, entry_id)
            expected = edited_at if entry_id == edited_id else before[entry_id]["updated"]
            assert entry["updated"] == expected, (path, entry_id)
        assert NEW_DESCRIPTION in after[edited_id]["content"]
    assert change_titles(server) == [f"Changed: {EDITED_NAME}", *changes_before]
    assert snapshot(server, other_feeds) == other_before


# --- 3. removal and return -------------------------------------------------------------------


def test_a_removed_group_leaves_every_feed_and_comes_back_with_its_id(server, data_dir, clock):
    slug, name = "hamilton-mad-students-collective", "The Hamilton Mad Students Collective"
    entry_id, entry = entry_for(atom_entries(server), slug)

    index, group = remove_group(data_dir, RTL, slug)
    clock.advance(minutes=5)
    server.publisher.reload()

    for path in GROUP_FEEDS:
        body = server.get(path).text
        assert entry_id not in body, path
        assert f"/groups/{slug}/" not in body, path
    gone = server.get(f"/groups/{slug}/")
    assert gone.status_code == 410
    assert gone.headers["Content-Type"] == "text/html; charset=utf-8"
    assert f"{name} is no longer listed in this directory." in gone.text
    assert change_titles(server)[0] == f"Removed: {name}"

    insert_group(data_dir, RTL, index, group)
    back_at = clock.advance(minutes=5)
    server.publisher.reload()

    returned_id, returned = entry_for(atom_entries(server), slug)
    assert returned_id == entry_id
    assert returned["published"] == entry["published"]
    assert returned["updated"] == back_at != entry["updated"]
    assert server.get(f"/groups/{slug}/").status_code == 200


# --- 4. rename -------------------------------------------------------------------------------


def test_a_renamed_slug_redirects_and_keeps_its_entry_id(server, data_dir, clock):
    new_slug = "my-mad-space-group"
    entry_id, _ = entry_for(atom_entries(server), EDITED)

    edit_group(data_dir, RTL, EDITED, slug=new_slug, previous_slugs=[EDITED])
    clock.advance(minutes=5)
    server.publisher.reload()

    assert server.get(f"/groups/{new_slug}/").status_code == 200
    moved = server.get(f"/groups/{EDITED}/")
    assert moved.status_code == 301
    assert moved.headers["Location"] == f"{BASE}/groups/{new_slug}/"
    renamed_id, _ = entry_for(atom_entries(server), new_slug)
    assert renamed_id == entry_id


# --- 5. refused loads ------------------------------------------------------------------------


def drop_name(data_dir: Path) -> tuple[str, str, str]:
    """A group without its required name: (file, slug, text on the reported line)."""
    slug = "hamilton-mad-students-collective"
    edit_group(data_dir, RTL, slug, name=None)
    return f"{RTL}.yaml", slug, f"slug: {slug}"


def misspell_description(data_dir: Path) -> tuple[str, str, str]:
    """A group with the unknown key ``descripton``."""
    groups = read_groups(data_dir, RTL)
    group = next(g for g in groups if g["slug"] == EDITED)
    group["descripton"] = group.pop("description")
    write_groups(data_dir, RTL, groups)
    return f"{RTL}.yaml", EDITED, "descripton:"


@pytest.mark.parametrize(
    ("breakage", "field"), [(drop_name, "'name'"), (misspell_description, "field 'descripton'")]
)
def test_invalid_data_is_refused_naming_where(server, data_dir, clock, breakage, field):
    before = snapshot(server)
    file, slug, marker = breakage(data_dir)
    line = line_of(data_dir / file, marker)
    clock.advance(minutes=5)

    with pytest.raises(DirectoryError) as caught:
        server.publisher.reload()

    problem = next(
        (p for p in str(caught.value).splitlines() if p.startswith(f"{data_dir / file}:{line}")), ""
    )
    assert f"group '{slug}'" in problem, str(caught.value)
    assert field in problem, str(caught.value)
    assert snapshot(server) == before


def test_a_half_written_file_is_refused(server, data_dir, clock):
    before = snapshot(server)
    path = data_file(data_dir, RTL)
    raw = path.read_bytes()
    cut = raw[: int(len(raw) * 0.6)]
    assert not cut.endswith(b"\n") and b"\n" in raw[len(cut) :], "the cut must fall mid-line"
    path.write_bytes(cut)
    clock.advance(minutes=5)

    with pytest.raises(DirectoryError) as caught:
        server.publisher.reload()

    assert f"{RTL}.yaml" in str(caught.value)
    assert snapshot(server) == before


def test_a_mass_removal_is_refused_unless_confirmed(server, data_dir, clock):
    before = snapshot(server)
    removed = keep_only(data_dir, "facebook-groups")
    assert removed * 2 > 13
    clock.advance(minutes=5)

    with pytest.raises(MassRemovalError):
        server.publisher.reload()
    assert snapshot(server) == before
    with pytest.raises(MassRemovalError):  # the refusal was not recorded as a load either
        server.publisher.reload()

    server.publisher.reload(confirm_removals=True)
    assert len(atom_entries(server)) == 13 - removed
    titles = change_titles(server)
    assert sum(t.startswith("Removed: ") for t in titles) == removed
    assert server.get("/groups/shaping-our-lives/").status_code == 410


# --- 6. restart with broken data -------------------------------------------------------------


def test_a_restart_with_broken_data_serves_the_last_good_publication(
    make_app, serve, data_dir, clock
):
    first = serve(make_app())
    before = snapshot(first)
    drop_name(data_dir)

    second = restart(make_app, serve, first.app, clock)

    response = second.get("/feeds/all.atom")
    assert response.status_code == 200
    assert snapshot(second) == before


# --- 7. POST /admin/reload -------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_admin_reload_is_off_without_a_token(make_app, serve):
    server = serve(make_app(admin_token=""))
    response = server.post("/admin/reload", headers=bearer(TOKEN))
    assert response.status_code == 404
    assert response.json()["ok"] is False


def test_admin_reload_refuses_a_wrong_token(make_app, serve, data_dir, clock):
    server = serve(make_app(admin_token=TOKEN))
    before = snapshot(server)
    edit_group(data_dir, RTL, EDITED, description=NEW_DESCRIPTION)
    clock.advance(minutes=5)

    assert server.post("/admin/reload", headers=bearer("wrong")).status_code == 401
    assert server.post("/admin/reload").status_code == 401
    assert snapshot(server) == before


def test_admin_reload_publishes_an_edit(make_app, serve, data_dir, clock):
    server = serve(make_app(admin_token=TOKEN))
    edit_group(data_dir, RTL, EDITED, description=NEW_DESCRIPTION)
    clock.advance(minutes=5)

    response = server.post("/admin/reload", headers=bearer(TOKEN))

    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response.json()["changes"] == 1
    _, entry = entry_for(atom_entries(server), EDITED)
    assert NEW_DESCRIPTION in entry["content"]


def test_admin_reload_lists_problems_of_invalid_data(make_app, serve, data_dir, clock):
    server = serve(make_app(admin_token=TOKEN))
    before = snapshot(server)
    misspell_description(data_dir)
    clock.advance(minutes=5)

    response = server.post("/admin/reload", headers=bearer(TOKEN))

    assert response.status_code == 422
    body = response.json()
    assert body["ok"] is False
    assert any(f"{RTL}.yaml" in p and "descripton" in p for p in body["problems"])
    assert snapshot(server) == before


def test_admin_reload_needs_confirmation_for_a_mass_removal(make_app, serve, data_dir, clock):
    server = serve(make_app(admin_token=TOKEN))
    before = snapshot(server)
    removed = keep_only(data_dir, "facebook-groups")
    clock.advance(minutes=5)

    refused = server.post("/admin/reload", headers=bearer(TOKEN))
    assert refused.status_code == 409
    assert refused.json()["ok"] is False
    assert snapshot(server) == before

    confirmed = server.post("/admin/reload", headers=bearer(TOKEN), data={"confirm": "removals"})
    assert confirmed.status_code == 200
    assert confirmed.json()["ok"] is True
    assert confirmed.json()["changes"] == removed
    assert len(atom_entries(server)) == 13 - removed


def test_admin_reload_lists_deep_nesting_as_a_problem(make_app, serve, data_dir, clock):
    """A value nested ~600 deep raised RecursionError, and the endpoint answered a bare 500."""
    server = serve(make_app(admin_token=TOKEN))
    before = snapshot(server)
    path = data_file(data_dir, RTL)
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "    links: " + "[" * 600 + "]" * 600 + "\n", encoding="utf-8")
    line = text.count("\n") + 1
    clock.advance(minutes=5)

    response = server.post("/admin/reload", headers=bearer(TOKEN))

    assert response.status_code == 422
    [problem] = response.json()["problems"]
    assert problem.startswith(f"{path}:{line}: error: "), problem
    assert "nested more than 20 levels deep" in problem
    assert snapshot(server) == before


# --- 8. watching -----------------------------------------------------------------------------


def test_the_watcher_publishes_an_edit_within_two_seconds(make_app, serve, data_dir, clock):
    server = serve(make_app(watch=True, watch_interval=0.05, watch_settle=0.2))
    clock.advance(minutes=5)
    edit_group(data_dir, RTL, EDITED, description=NEW_DESCRIPTION)
    started = time.monotonic()

    for _ in range(40):
        _, entry = entry_for(atom_entries(server), EDITED)
        if NEW_DESCRIPTION in entry["content"]:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the edit was not published within 40 polls")
    assert time.monotonic() - started < 2.0
    assert change_titles(server)[0] == f"Changed: {EDITED_NAME}"


class FakeMonotonic:
    """A monotonic clock read from a list: ``times[-1]`` is now."""

    def __init__(self) -> None:
        self.times = [0.0]

    def __call__(self) -> float:
        return self.times[-1]

    def at(self, seconds: float) -> None:
        self.times.append(seconds)


def test_watcher_acts_once_after_the_files_settle(data_dir):
    now = FakeMonotonic()
    calls: list[float] = []
    watcher = Watcher(data_dir, lambda: calls.append(now()), interval=1, settle=1.0, clock=now)
    path = data_file(data_dir, RTL)

    def step(seconds: float, append: str = "") -> bool:
        if append:
            path.write_text(path.read_text(encoding="utf-8") + append, encoding="utf-8")
        now.at(seconds)
        return watcher.tick()

    assert not step(0.5)  # nothing changed
    assert not step(1.0, "\n# first half of a save\n")  # a change: wait for it to settle
    assert not step(1.9)  # still for 0.9 s only
    assert not step(2.0, "# second half of the save, longer\n")  # changed again: restart
    assert not step(2.9)
    assert step(3.0)  # still for 1.0 s: acted on
    assert not step(4.0)
    assert not step(10.0)  # never twice for one change
    assert calls == [3.0]


def test_the_watcher_ignores_hidden_and_editor_files(data_dir):
    """A macOS ._community-groups.yaml was read as data, and changing it started a reload."""
    now = FakeMonotonic()
    calls: list[float] = []
    watcher = Watcher(data_dir, lambda: calls.append(now()), interval=1, settle=1.0, clock=now)
    for second, name in enumerate(("._community-groups.yaml", ".#community-groups.yaml")):
        (data_dir / name).write_bytes(b"\x00\x05\x16\x07 metadata")
        now.at(second + 0.5)
        assert not watcher.tick()
        now.at(second + 2.0)
        assert not watcher.tick()
    assert calls == []


# --- 9. Last-Modified ------------------------------------------------------------------------


def test_last_modified_of_a_category_feed_is_its_newest_change(server, data_dir, clock):
    started = clock.now
    feed, other = f"/feeds/{RTL}.atom", "/feeds/community-groups.atom"
    assert last_modified(server, feed) == started

    edit_group(data_dir, RTL, EDITED, description=NEW_DESCRIPTION)
    edited_at = clock.advance(minutes=5)
    server.publisher.reload()
    assert last_modified(server, feed) == edited_at
    assert last_modified(server, other) == started

    clock.advance(minutes=5)
    community = read_groups(data_dir, "community-groups")[0]["slug"]
    edit_group(data_dir, "community-groups", community, description=NEW_DESCRIPTION)
    server.publisher.reload()
    assert last_modified(server, feed) == edited_at  # a change elsewhere does not count

    remove_group(data_dir, RTL, "hamilton-mad-students-collective")
    removed_at = clock.advance(minutes=5)
    server.publisher.reload()
    assert last_modified(server, feed) == removed_at


def test_the_two_half_past_ones_of_the_night_the_clocks_go_back_are_stored_apart():
    """Bug (found in review): times were remembered by a key under which 01:30 before and
    after the clocks go back are equal, so the second was stored as the first, an hour off."""
    london = ZoneInfo("Europe/London")
    first = datetime(2026, 10, 25, 1, 30, tzinfo=london, fold=0)
    second = datetime(2026, 10, 25, 1, 30, tzinfo=london, fold=1)
    assert format_time(first) == "2026-10-25T00:30:00.000000Z"
    assert format_time(second) == "2026-10-25T01:30:00.000000Z"
