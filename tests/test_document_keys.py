"""Hand-made keys: where the sitemap keys a document by hand (group pages and calendars,
pages listing many groups, the feeds), any change of what it is made from changes its key.

A document's key decides whether the last load's bytes are reused, so a key that missed an
input would serve stale bytes. The arguments each render is given are the truth: across
random edits and the time passing, two loads whose arguments for a document differ must
give it two keys.
"""

from __future__ import annotations

import random
import shutil

import pytest

from publisher import calendars, sitemap
from publisher.directory.validate import load_directory
from publisher.sitemap.context import Load, Memo, derived_key
from publisher.store import events
from tests.conftest import ROOT
from tests.test_incremental import dump, load, mutate, published_after
from tests.test_publication import publisher_on


def listed(publisher, memo: Memo) -> dict[str, tuple[str, tuple, bool]]:  # noqa: ANN001
    """Each document of the publisher's last load: its key, its arguments, and whether the
    key is hand-made."""
    directory = load_directory(publisher.data)
    view = publisher.history
    stored = events.read(publisher.conn)
    cal = calendars.prepare(
        directory,
        view,
        publisher.clock(),
        lambda _: {uid: state for uid, (_, state) in stored.items()},
    )
    site = publisher.site(directory.site, view.tag_base)
    return {
        d.path: (d.key or derived_key(d), d.arguments(), d.key is not None)
        for d in sitemap.documents(Load(directory, view, site, memo, cal))
    }


def assert_keys_follow_arguments(before: dict, after: dict) -> int:
    """Returns how many hand-keyed documents changed their arguments (and so their key)."""
    changed = 0
    for path, (key, arguments, by_hand) in after.items():
        if path not in before:
            continue
        old_key, old_arguments, _ = before[path]
        if old_arguments != arguments:
            assert old_key != key, f"{path}: its arguments changed, its key did not"
            changed += by_hand
    return changed


def edit_meetings(rng: random.Random, data_dir, counter: int) -> None:  # noqa: ANN001
    """One edit of examples/meetings, picked at random: what groups and meetings show."""
    path = rng.choice([p for p in sorted(data_dir.glob("*.yaml")) if p.name != "site.yaml"])
    doc = load(path)
    group = rng.choice(doc["groups"])
    meetings = group.get("meetings") or {}
    action = rng.choice(["describe", "name", "time", "zone", "join", "category", "cancel"])
    if action == "describe":
        group["description"] = f"Edit {counter}."
    elif action == "name":
        group["name"] = f"Renamed {counter}"
    elif action == "time" and meetings.get("series"):
        meetings["series"][0]["time"] = rng.choice(["18:00-20:00", "18:30-20:00", "09:00-10:00"])
    elif action == "zone" and meetings.get("time_zone"):
        meetings["time_zone"] = rng.choice(["Europe/London", "Europe/Dublin", "America/Toronto"])
    elif action == "join" and meetings:
        meetings["how_to_join"] = f"Ask first ({counter})."
    elif action == "cancel" and meetings.get("series"):
        series = meetings["series"][-1]
        series["cancelled"] = [{"date": str(series["starts"]), "note": f"Closed {counter}."}]
    elif action == "category":
        site = load(data_dir / "site.yaml")
        site["categories"][0]["name"] = f"Category {counter}"
        dump(data_dir / "site.yaml", site)
        return
    dump(path, doc)


@pytest.mark.parametrize(
    "folder, edit",
    [("data", mutate), ("examples/meetings", edit_meetings)],
    ids=["bundled", "meetings"],
)
@pytest.mark.parametrize("seed", range(3))
def test_a_change_of_any_argument_changes_the_key(tmp_path, clock, folder, edit, seed):
    data_dir = tmp_path / "data"
    shutil.copytree(ROOT / folder, data_dir)
    rng = random.Random(seed)
    publisher = publisher_on(data_dir, tmp_path / "db.sqlite3", clock, feed_max_entries=5)
    memo = Memo()
    try:
        publisher.reload()
        before = listed(publisher, memo)
        changed = 0
        for counter in range(12):

            def change(counter: int = counter) -> None:
                edit(rng, data_dir, counter)
                clock.advance(days=rng.choice([0, 1, 9, 40]))

            if not published_after(publisher, data_dir, change):
                continue
            after = listed(publisher, memo)
            changed += assert_keys_follow_arguments(before, after)
            before = after
        assert changed > 0  # the edits did reach hand-keyed documents
    finally:
        publisher.close()


def test_a_key_that_missed_an_argument_would_be_caught(data_dir, database, clock):
    """The check itself: the same key for other arguments is reported."""
    publisher = publisher_on(data_dir, database, clock)
    try:
        publisher.reload()
        before = listed(publisher, Memo())
        path = "/groups/mad-failures/"
        key, arguments, by_hand = before[path]
        after = dict(before)
        after[path] = (key, (*arguments, "something else"), by_hand)
        with pytest.raises(AssertionError, match="its key did not"):
            assert_keys_follow_arguments(before, after)
    finally:
        publisher.close()
