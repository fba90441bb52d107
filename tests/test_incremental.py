"""Incremental publishing gives the same documents as rendering everything from scratch.

Loads reuse what did not change (documents by key, parsed files, the
history kept in memory). Random sequences of edits check that none of that ever serves
something a full render from the database would not.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
import yaml

from publisher import calendars, publication
from publisher.directory.validate import load_directory
from publisher.model.errors import PublisherError
from publisher.store import events, history
from tests.test_publication import publisher_on

CATEGORIES = ["facebook-groups", "reading-teaching-learning-groups", "community-groups"]


def load(path):  # noqa: ANN001, ANN201
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def dump(path, doc) -> None:  # noqa: ANN001
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def mutate(rng: random.Random, data_dir, counter: int) -> None:  # noqa: ANN001
    """One volunteer's edit, picked at random."""
    path = data_dir / f"{rng.choice(CATEGORIES)}.yaml"
    doc = load(path)
    groups = doc["groups"]
    action = rng.choice(
        ["describe", "rename", "remove", "add", "move", "category", "typo", "reorder"]
    )
    if action == "describe" and groups:
        rng.choice(groups)["description"] = f"Edit {counter}."
    elif action == "rename" and groups:
        group = rng.choice(groups)
        group["previous_slugs"] = [*group.get("previous_slugs", []), group["slug"]]
        group["slug"] = f"renamed-{counter}"
    elif action == "remove" and groups:
        groups.pop(rng.randrange(len(groups)))
    elif action == "add":
        groups.insert(rng.randrange(len(groups) + 1), {"slug": f"new-{counter}", "name": "New"})
    elif action == "move" and groups:
        group = groups.pop()
        other = data_dir / f"{rng.choice(CATEGORIES)}.yaml"
        dump(path, doc)
        target = load(other)
        target["groups"].append(group)
        dump(other, target)
        return
    elif action == "category":
        site = load(data_dir / "site.yaml")
        site["categories"][rng.randrange(4)]["description"] = f"About {counter}."
        dump(data_dir / "site.yaml", site)
        return
    elif action == "reorder" and len(groups) > 1:
        groups.append(groups.pop(0))  # not a change to any group: no change is logged
    elif action == "typo" and groups:
        rng.choice(groups)["descripton"] = "refused"
    dump(path, doc)


def published_after(publisher, data_dir, change: Callable[[], None]) -> bool:  # noqa: ANN001
    """Make ``change`` (to the data, the clock) and reload: True once published; False if the
    load refused it (a typo), with the last good files put back."""
    snapshot = {p.name: p.read_bytes() for p in data_dir.glob("*.yaml")}
    change()
    try:
        publisher.reload(confirm_removals=True)
    except PublisherError:
        for name, raw in snapshot.items():
            (data_dir / name).write_bytes(raw)
        return False
    return True


def full_render(publisher) -> dict[str, bytes]:  # noqa: ANN001
    """Every document rendered from scratch from the data and a fresh read of the history."""
    directory = load_directory(publisher.data)
    view = history.read(publisher.conn, publisher.settings.feed_max_entries)
    site = publisher.site(directory.site, view.tag_base)
    now = publisher.clock()
    stored = events.read(publisher.conn)
    cal = calendars.prepare(
        directory, view, now, lambda _: {uid: state for uid, (_, state) in stored.items()}
    )
    pubs, _ = publication.build(directory, view, site, {}, now, publication.Memo(), cal)
    return {path: pub.body for path, pub in pubs.items()}


@pytest.mark.parametrize("seed", range(6))
def test_incremental_publication_equals_a_full_render(data_dir, database, clock, seed):
    rng = random.Random(seed)
    publisher = publisher_on(data_dir, database, clock, feed_max_entries=5)
    publisher.reload()
    for counter in range(15):

        def change(counter: int = counter) -> None:
            mutate(rng, data_dir, counter)
            clock.advance(seconds=rng.choice([0, 1, 60]))

        if not published_after(publisher, data_dir, change):
            continue
        assert publisher.history == history.read(publisher.conn, 5)
        served = {path: pub.body for path, pub in publisher.current.documents.items()}
        assert served == full_render(publisher)
    publisher.close()
