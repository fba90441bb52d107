"""Regression tests, each named after the bug it pins (found in review of the directory issue)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import datetime

import pytest
from lxml import etree, html

from publisher.directory.validate import check_directory
from publisher.model.errors import DirectoryError, SlugTakenError
from tests.conftest import ROOT
from tests.test_history import (
    CHANGES,
    atom_entries,
    edit_group,
    insert_group,
    line_of,
    remove_group,
    write_groups,
)
from tests.test_publication import publisher_on

COMMUNITY = "community-groups"
ATOM = "{http://www.w3.org/2005/Atom}"


def test_old_slug_of_a_listed_group_cannot_be_taken_by_another(server, data_dir, clock):
    """A new group reusing a renamed group's old slug took over its id and first date, and
    the renamed group's live page was replaced by a 301 to the newcomer."""
    edit_group(
        data_dir,
        COMMUNITY,
        "oor-mad-history",
        slug="oor-mad-history-group",
        previous_slugs=["oor-mad-history"],
    )
    clock.advance(minutes=1)
    server.publisher.reload()
    ids_before = set(atom_entries(server))
    edit_group(data_dir, COMMUNITY, "oor-mad-history-group", previous_slugs=None)
    insert_group(data_dir, COMMUNITY, 1, {"slug": "oor-mad-history", "name": "Someone else"})
    clock.advance(minutes=1)
    with pytest.raises(SlugTakenError, match="'oor-mad-history' was the address of 'Oor Mad"):
        server.publisher.reload()
    assert server.get("/groups/oor-mad-history-group/").status_code == 200
    assert server.get("/groups/oor-mad-history/").status_code == 301
    assert set(atom_entries(server)) == ids_before


def test_a_duplicate_slug_blames_the_new_group_not_the_published_one(server, data_dir, clock):
    """A new group placed before a published one with the same slug made the checker tell
    the published group, whose address is permanent, to choose another slug."""
    insert_group(data_dir, "facebook-groups", 0, {"slug": "mad-failures", "name": "Newcomer"})
    path = data_dir / "facebook-groups.yaml"
    new_line = line_of(path, "slug: mad-failures")
    old_line = line_of(path, "name: The Mad Failures") - 1
    clock.advance(minutes=1)
    with pytest.raises(DirectoryError) as caught:
        server.publisher.reload()
    [problem] = [str(p) for p in caught.value.problems]
    assert problem == (
        f"{path}:{new_line}, group 'mad-failures', field 'slug': error: The slug "
        f"'mad-failures' is already the address of 'The Mad Failures Facebook Group' "
        f"({path}:{old_line}), which is published, and addresses are permanent. "
        "Choose another slug for this group."
    )


def test_check_command_names_the_new_group_of_a_duplicate_slug(data_dir, database, clock):
    """`publisher check` told the published group to change its slug too: it reads what is
    published from the database, when there is one, without changing it."""
    first = publisher_on(data_dir, database, clock)
    first.reload()
    first.close()
    insert_group(data_dir, "facebook-groups", 0, {"slug": "mad-failures", "name": "Newcomer"})
    new_line = line_of(data_dir / "facebook-groups.yaml", "slug: mad-failures")
    result = subprocess.run(
        [sys.executable, "-m", "publisher.cli", "check", "--data", "data"],
        env={**os.environ, "PUBLISHER_DATABASE": str(database)},
        cwd=data_dir.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert (
        f"data/facebook-groups.yaml:{new_line}, group 'mad-failures', field 'slug': error: "
        "The slug 'mad-failures' is already the address of 'The Mad Failures Facebook Group'"
    ) in result.stderr


def test_two_edits_in_one_second_both_move_the_updated_date(server, data_dir, clock):
    """Each load restarted its change times at the whole second, so a second edit within
    that second kept the same updated date and readers missed it."""
    edit_group(data_dir, COMMUNITY, "oor-mad-history", description="First edit.")
    server.publisher.reload()
    first = updated_of(server, "oor-mad-history")
    edit_group(data_dir, COMMUNITY, "oor-mad-history", description="Second edit.")
    server.publisher.reload()  # same clock time
    assert updated_of(server, "oor-mad-history") > first


def updated_of(server, slug: str) -> datetime:  # noqa: ANN001
    """The exact atom:updated (fractions of a second included) of a group's entry."""
    feed = etree.fromstring(server.get("/feeds/all.atom").content)
    link = f"http://127.0.0.1:8000/groups/{slug}/"
    [entry] = [e for e in feed.iter(f"{ATOM}entry") if e.find(f"{ATOM}link").get("href") == link]
    return datetime.fromisoformat(entry.findtext(f"{ATOM}updated"))


def test_a_group_without_a_slug_is_not_named_after_the_group_before_it(data_dir):
    """The checker kept the previous group's slug and blamed it for the next one's errors."""
    (data_dir / "extra.yaml").write_text(
        "category: community-groups\ngroups:\n"
        "  - slug: first-group\n    name: First\n"
        "  - name: Second\n    colour: red\n",
        encoding="utf-8",
    )
    _, problems = check_directory(data_dir)
    assert {p.group for p in problems} == {"(no slug) Second"}


def test_a_group_back_unchanged_after_removal_is_added_back(server, data_dir, clock):
    """The changes feed said 'was added to' for a group restored without any edit."""
    index, group = remove_group(data_dir, COMMUNITY, "oor-mad-history")
    clock.advance(minutes=1)
    server.publisher.reload(confirm_removals=True)
    insert_group(data_dir, COMMUNITY, index, group)
    clock.advance(minutes=1)
    server.publisher.reload()
    assert "Oor Mad History was added back to Community Groups." in server.get(CHANGES).text


@pytest.mark.parametrize(
    ("email", "linked"), [("v.e.potts’at’", False), ("someone@example.org", True)]
)
def test_only_a_whole_email_address_is_linked(make_app, serve, data_dir, email, linked):
    """Every published email was called incomplete, a whole one included."""
    write_groups(
        data_dir,
        COMMUNITY,
        [
            {
                "slug": "oor-mad-history",
                "name": "Oor Mad History",
                "contact": {"email_as_published": email},
            },
        ],
    )
    page = html.fromstring(serve(make_app()).get("/groups/oor-mad-history/").content)
    assert bool(page.xpath(f"//a[@href='mailto:{email}']")) is linked
    assert ("not a whole email address" in page.text_content()) is not linked
    assert email in page.text_content()


def test_a_yml_file_is_reported_not_silently_ignored(data_dir):
    (data_dir / "extra.yml").write_text("category: community-groups\ngroups: []\n")
    directory, problems = check_directory(data_dir)
    assert directory is not None  # a warning, not an error
    assert [str(p) for p in problems] == [
        f"{data_dir}/extra.yml: warning: This file is not read: only files ending in .yaml are. "
        "If it holds groups, rename it to extra.yaml."
    ]


def publisher_settings(env: dict[str, str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """`publisher settings` with only ``env`` set; output captured unless told otherwise."""
    options = {"capture_output": True, **kwargs}
    return subprocess.run(
        [sys.executable, "-m", "publisher.cli", "settings"],
        env={"PATH": "", **env},
        text=True,
        timeout=60,
        check=False,
        **options,
    )


def test_a_bad_setting_is_a_message_not_a_traceback():
    result = publisher_settings({"PUBLISHER_PORT": "abc"})
    assert result.returncode == 2
    assert result.stderr.strip() == "PUBLISHER_PORT='abc': write a whole number, e.g. 8000."


def test_feeds_answer_a_cors_preflight(server):
    response = server.session_options("/feeds/all.json")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "If-None-Match" in response.headers["Access-Control-Allow-Headers"]


def test_a_category_description_change_reaches_its_page(server, data_dir, clock):
    """The category page's key left out the category's description, so an edited
    description was never published."""
    site = data_dir / "site.yaml"
    site.write_text(
        site.read_text(encoding="utf-8").replace(
            "    name: Community Groups\n",
            "    name: Community Groups\n    description: Groups rooted in one place.\n",
        ),
        encoding="utf-8",
    )
    clock.advance(minutes=1)
    server.publisher.reload()
    assert "Groups rooted in one place." in server.get("/categories/community-groups/").text


@pytest.mark.parametrize(
    "text",
    ["category: x\ngroups: &a [*a]\n", "a: &x [1, 2]\nb: [*x, *x, *x]\n"],
    ids=["self-referencing", "repeated"],
)
def test_a_yaml_alias_is_a_problem_not_a_crash(data_dir, text):
    """A self-referencing alias recursed until Python gave up; repeated ones can blow up."""
    (data_dir / "extra.yaml").write_text(text, encoding="utf-8")
    _, problems = check_directory(data_dir)
    assert any("Anchors and aliases (& and *) are not supported." in str(p) for p in problems)


def test_a_time_like_value_stays_text(data_dir):
    """YAML 1.1 reads 12:30 as the number 750; here it is the text a volunteer typed."""
    (data_dir / "extra.yaml").write_text(
        "category: community-groups\ngroups:\n  - slug: a-group\n    name: 12:30 club\n"
        "    description: Meets at 12:30\n",
        encoding="utf-8",
    )
    directory, problems = check_directory(data_dir)
    assert problems == []
    group = next(g for g in directory.groups if g.slug == "a-group")
    assert group.description == "Meets at 12:30"


def test_a_trailing_slash_redirect_keeps_the_query(server):
    response = server.get("/categories/community-groups?from=newsletter")
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/categories/community-groups/?from=newsletter")


def test_a_failed_commit_leaves_no_transaction_open(tmp_path):
    """A failing COMMIT left the transaction open, and every later load failed."""
    import sqlite3

    from publisher.store.db import connect, transaction

    conn = connect(tmp_path / "db.sqlite3", migrate=True)
    with pytest.raises(sqlite3.IntegrityError), transaction(conn):
        conn.execute("PRAGMA defer_foreign_keys=ON")  # the violation is found at COMMIT
        conn.execute("INSERT INTO slugs (slug, entry) VALUES ('x', 999)")
    assert not conn.in_transaction
    with transaction(conn):  # and the next one works
        conn.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")


def test_a_server_starting_while_another_process_publishes_catches_up(
    data_dir, database, clock, monkeypatch
):
    """Publications were read before the generation: a publish in between was never seen."""
    from publisher.store import publications as stored
    from tests.test_publication import edit_description, publisher_on

    other = publisher_on(data_dir, database, clock)
    other.reload()
    edit_description(data_dir, "oor-mad-history", "Published meanwhile.")
    real = stored.load_all

    def load_all_while_another_publishes(conn):  # noqa: ANN001, ANN202
        pubs = real(conn)
        monkeypatch.setattr(stored, "load_all", real)
        clock.advance(minutes=1)
        other.reload()
        return pubs

    monkeypatch.setattr(stored, "load_all", load_all_while_another_publishes)
    server = publisher_on(data_dir, database, clock)
    server.current.refresh(force=True)
    assert b"Published meanwhile." in server.current.documents["/groups/oor-mad-history/"].body
    server.close()
    other.close()


def test_a_tab_in_the_indentation_is_named_as_the_cause(data_dir):
    """YAML's own words ('cannot start any token') do not tell a volunteer about tabs."""
    (data_dir / "extra.yaml").write_text(
        "category: community-groups\ngroups:\n\t- slug: a-group\n", encoding="utf-8"
    )
    [problem] = [str(p) for p in check_directory(data_dir)[1]]
    assert problem.startswith(f"{data_dir}/extra.yaml:3: error: This is not valid YAML")
    assert "Indent with spaces: this line starts with a tab" in problem


def test_semicolon_in_a_migration_comment_broke_the_statement_split():
    """migrate() runs a migration statement by statement, split at ';': a ';' inside a
    '--' comment cut a CREATE TABLE in two (sqlite3.OperationalError near "version")."""
    from publisher.store.migrations import MIGRATIONS

    for migration in MIGRATIONS:
        for line in migration.splitlines():
            comment = line.partition("--")[2]
            assert ";" not in comment, f"a ';' in a migration comment: {line.strip()}"


def test_a_restart_with_other_hubs_kept_the_old_hubs_inside_the_feeds(data_dir, database, clock):
    """The load's fingerprint left out settings the documents show (the hubs, the calendar
    refresh), so a restart with unchanged data served feeds naming the old hubs while the
    Link headers named the new ones."""
    from publisher.config import load_settings
    from publisher.publish import Publisher

    def start(**config: object) -> Publisher:
        settings = {"data": str(data_dir), "database": str(database), "watch": False}
        return Publisher(load_settings({**settings, **config}, environ={}), clock)

    first = start()
    first.reload()
    first.close()
    second = start(hubs="https://hub.example.org/")
    assert not second.reload().unchanged
    assert b"https://hub.example.org/" in second.current.documents["/feeds/all.atom"].body
    second.close()


@pytest.mark.parametrize("path", ["/categories/community-groups/", "/groups/oor-mad-history/"])
def test_the_embed_section_adds_no_blank_line_to_a_page(server, path):
    """Rendering the 'Embed this' section once per category (``{{ embed }}`` instead of an
    include) kept the newline after the tag, and every category and group page gained a
    blank line before </main>."""
    body = server.get(path).text
    assert "</section>\n</main>" in body


def test_closing_does_not_wait_for_a_load_in_progress(data_dir, tmp_path, clock):
    """close() took the load lock, so stopping the server during a large first load waited
    for the load, past granian's graceful-stop time, and the worker was killed."""
    publisher = publisher_on(data_dir, tmp_path / "db.sqlite3", clock)
    loading, release = threading.Event(), threading.Event()

    def load_in_progress() -> None:
        with publisher.current.lock:  # what a running reload holds
            loading.set()
            release.wait(10)

    holder = threading.Thread(target=load_in_progress)
    holder.start()
    loading.wait(5)
    closer = threading.Thread(target=publisher.close)
    closer.start()
    closer.join(5)
    try:
        assert not closer.is_alive(), "close() waited for the load"
    finally:
        release.set()
        holder.join(5)
        closer.join(5)


def test_a_lower_case_bearer_scheme_is_accepted(make_app, serve):
    """The authentication scheme is case-insensitive (RFC 9110 §11.1): `bearer` was 401."""
    from tests.test_history import TOKEN

    server = serve(make_app(admin_token=TOKEN))
    for scheme in ("bearer", "BEARER"):
        response = server.post("/admin/reload", headers={"Authorization": f"{scheme} {TOKEN}"})
        assert response.status_code == 200, scheme
    assert server.post("/admin/reload", headers={"Authorization": TOKEN}).status_code == 401
    wrong = {"Authorization": f"Basic {TOKEN}"}
    assert server.post("/admin/reload", headers=wrong).status_code == 401


@pytest.mark.parametrize(
    "command", [["settings"], ["check"], ["hub", "subscriptions"]], ids=" ".join
)
def test_a_command_piped_into_head_ends_without_a_traceback(command, tmp_path):
    """`publisher settings | head`: the reader goes away, and a BrokenPipeError traceback
    ended the output; then `check` and `hub subscriptions` did the same. Here the reading
    end is closed before the command writes at all."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "publisher.cli", *command],
            cwd=ROOT,
            env={"PATH": "", "PUBLISHER_DATABASE": str(tmp_path / "db.sqlite3")},
            text=True,
            timeout=60,
            check=False,
            stdout=write,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(write)
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr


def test_settings_prints_booleans_as_written_in_the_environment():
    """The README says PUBLISHER_WATCH=1; `publisher settings` printed True."""
    result = publisher_settings({"PUBLISHER_ACCESS_LOG": "no"})
    assert result.returncode == 0
    assert "PUBLISHER_WATCH=1\n" in result.stdout
    assert "PUBLISHER_ACCESS_LOG=0\n" in result.stdout
    assert "True" not in result.stdout and "False" not in result.stdout


def test_a_failing_re_render_of_the_next_meetings_is_logged_once_not_four_times_a_second(
    make_app, data_dir, clock, caplog
):
    """Once the next meetings were due to move on and the data had meanwhile been broken,
    the clock thread tried again every WATCH_INTERVAL and logged the whole refusal each
    time: about 10 MB of log an hour."""
    import time

    app = make_app(watch_interval=0.01)
    publisher = app.extensions["publisher"]
    (data_dir / "community-groups.yaml").write_text("groups: [\n", encoding="utf-8")
    current = publisher.current  # the next meetings are due to move on now:
    current.show(current.documents, current.shown.generation, clock.now)
    deadline = time.monotonic() + 1.0  # a hundred looks of the clock thread
    while time.monotonic() < deadline:
        time.sleep(0.05)
    refusals = [r for r in caplog.records if "The data was not loaded" in r.getMessage()]
    assert len(refusals) == 1


def test_a_path_with_a_line_break_gets_the_site_s_404_page(server):
    """Flask's path converter takes no line break: /a%0Ab got Werkzeug's bare 404, without
    the site's page or its security headers."""
    answer = server.get("/a%0Ab")
    assert answer.status_code == 404
    assert "Content-Security-Policy" in answer.headers
    assert answer.text == server.get("/no-such-page").text
