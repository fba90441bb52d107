"""Publications: rendered once per data change, only what the change touches, once in all."""

import yaml

from publisher.config import load_settings
from publisher.model.publication import Kind
from publisher.publish import Publisher
from publisher.store import history
from publisher.store import publications as stored
from publisher.store.migrations import MIGRATIONS


def publisher_on(data_dir, database, clock, **overrides):
    settings = load_settings(
        {"data": str(data_dir), "database": str(database), "watch": False, **overrides},
        environ={},
    )
    return Publisher(settings, clock)


def edit_description(data_dir, slug, text):
    path = data_dir / "community-groups.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for group in doc["groups"]:
        if group["slug"] == slug:
            group["description"] = text
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_a_second_process_renders_nothing_for_the_same_data(data_dir, database, clock):
    first = publisher_on(data_dir, database, clock)
    assert first.reload().rendered > 0
    second = publisher_on(data_dir, database, clock)
    result = second.reload()
    assert result.unchanged and result.rendered == 0
    assert second.current.documents.keys() == first.current.documents.keys()
    assert all(
        second.current.documents[p].etag == first.current.documents[p].etag
        for p in first.current.documents
    )
    first.close()
    second.close()


def test_a_one_field_edit_re_renders_only_what_shows_that_group(data_dir, database, clock):
    publisher = publisher_on(data_dir, database, clock)
    publisher.reload()
    before = dict(publisher.current.documents)
    clock.advance(minutes=1)
    edit_description(data_dir, "oor-mad-history", "A new description.")
    result = publisher.reload()
    assert result.changes == 1
    changed = {
        p for p in publisher.current.documents if publisher.current.documents[p] is not before[p]
    }
    assert changed == {
        "/",
        "/groups/oor-mad-history/",
        "/calendars/groups/oor-mad-history.ics",  # its description may mention the group
        "/embed/all",
        "/embed/community-groups",
        "/categories/community-groups/",
        "/feeds/community-groups.atom",
        "/feeds/community-groups.rss",
        "/feeds/community-groups.json",
        "/feeds/all.atom",
        "/feeds/all.rss",
        "/feeds/all.json",
        "/feeds/changes.atom",
    }
    assert result.rendered == len(changed)
    publisher.close()


def test_a_process_picks_up_what_another_published(data_dir, database, clock):
    server = publisher_on(data_dir, database, clock, refresh_interval=0)
    server.reload()
    etag = server.current.documents["/feeds/all.atom"].etag
    clock.advance(minutes=1)
    edit_description(data_dir, "oor-mad-history", "Edited by another process.")
    other = publisher_on(data_dir, database, clock)
    other.reload()
    server.current.refresh()
    assert server.current.documents["/feeds/all.atom"].etag != etag
    assert b"Edited by another process." in server.current.documents["/feeds/all.atom"].body
    server.close()
    other.close()


def test_invalid_data_keeps_the_stored_publication_for_a_new_process(data_dir, database, clock):
    first = publisher_on(data_dir, database, clock)
    first.reload()
    first.close()
    (data_dir / "community-groups.yaml").write_text("groups: [\n", encoding="utf-8")
    second = publisher_on(data_dir, database, clock)
    assert (
        second.current.documents["/feeds/all.atom"].etag
        == first.current.documents["/feeds/all.atom"].etag
    )
    second.close()


def test_the_history_kept_in_memory_is_the_one_in_the_database(data_dir, database, clock):
    """A load works out the new history instead of reading it back: after every kind of
    change it must equal a fresh read of the database."""
    publisher = publisher_on(data_dir, database, clock)

    def check() -> None:
        assert publisher.history == history.read(publisher.conn, 100)

    publisher.reload()
    check()
    steps = [
        lambda doc: doc["groups"][0].update(description="Changed."),
        lambda doc: doc["groups"].pop(0),
        lambda doc: doc["groups"].insert(0, {"slug": "oor-mad-history", "name": "Back"}),
        lambda doc: doc["groups"][0].update(slug="oor", previous_slugs=["oor-mad-history"]),
        lambda doc: doc["groups"].append({"slug": "new-group", "name": "New"}),
    ]
    path = data_dir / "community-groups.yaml"
    for step in steps:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        step(doc)
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        clock.advance(minutes=1)
        publisher.reload(confirm_removals=True)
        check()
    publisher.close()


def test_documents_stored_before_kinds_get_the_kind_their_address_gave_them(
    data_dir, database, clock
):
    """The migration that added kinds gives each stored document the kind its address gave it
    until then (CORS for feeds, calendars, the OPML and the embed's data, frames for embed
    pages). For every document a load makes, moved and removed ones included, it must agree
    with the kind the load gives it, or a restart would serve old documents with other
    headers."""
    publisher = publisher_on(data_dir, database, clock)
    publisher.reload()
    edits = {
        "community-groups.yaml": lambda groups: groups.clear(),  # a 410, an empty calendar
        "facebook-groups.yaml": lambda groups: groups[0].update(  # 301s
            slug="renamed", previous_slugs=[groups[0]["slug"]]
        ),
    }
    for name, edit in edits.items():
        path = data_dir / name
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        edit(doc["groups"])
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    clock.advance(minutes=1)
    publisher.reload(confirm_removals=True)
    kinds = {path: pub.kind for path, pub in publisher.current.documents.items()}
    assert set(kinds.values()) == set(Kind)
    assert {pub.status for pub in publisher.current.documents.values()} == {200, 301, 404, 410}

    [backfill] = [s for s in MIGRATIONS[4].split(";") if "UPDATE publications" in s]
    publisher.conn.execute(backfill)
    assert {path: pub.kind for path, pub in stored.load_all(publisher.conn).items()} == kinds
    publisher.close()
