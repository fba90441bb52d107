"""A database publishes one data folder: a preview of another never writes into it."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time

import pytest
import requests

from publisher.model.errors import DataFolderError, PublisherError
from tests.conftest import DATA, ROOT
from tests.test_history import TOKEN, bearer
from tests.test_publication import publisher_on
from tests.test_serve import free_port, launch, stop

MEETINGS = ROOT / "examples" / "meetings"


def _env() -> dict[str, str]:
    """The environment of a volunteer's shell: no PUBLISHER_* setting at all."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}


def _digest(path) -> str:  # noqa: ANN001
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_preview_of_another_folder_never_touches_the_main_database(tmp_path):
    """`publisher serve --data examples/meetings` (no --database) used the main site's
    instance/publisher.sqlite3, although the README and `serve --help` promise a database of
    its own: the preview rewrote the main site's links and history. Run as a volunteer would,
    from a checkout with its main database."""
    shutil.copytree(DATA, tmp_path / "data")
    shutil.copytree(MEETINGS, tmp_path / "examples" / "meetings")
    cli = [sys.executable, "-m", "publisher.cli"]
    subprocess.run(
        [*cli, "reload"], cwd=tmp_path, env=_env(), check=True, capture_output=True, timeout=120
    )
    main = tmp_path / "instance" / "publisher.sqlite3"
    before = _digest(main)

    _serve_until(tmp_path, "Example meeting groups (fictional)", "--data", "examples/meetings")
    assert _digest(main) == before
    assert not main.with_name(main.name + "-wal").exists()
    assert len(list((tmp_path / "instance").glob("publisher-examples-meetings-*.sqlite3"))) == 1


def test_two_previews_whose_folders_end_alike_get_a_database_each(tmp_path):
    """x1/proj/data and x2/proj/data were both given instance/publisher-proj-data.sqlite3,
    and the second was then refused as another site's folder."""
    from publisher.cli import database_for

    assert database_for(str(tmp_path / "x1" / "proj" / "data")) != database_for(
        str(tmp_path / "x2" / "proj" / "data")
    )


def _serve_until(cwd, shows: str, *args: str) -> str:  # noqa: ANN001
    """Run `publisher serve ARGS` from ``cwd`` until its home page shows ``shows`` (the
    stored publication is served at once, so the test waits for the load): its log."""
    port = free_port()
    env = {**_env(), "PUBLISHER_WATCH": "0", "PUBLISHER_WORKER": "0"}
    process = launch([*args, "--port", str(port)], env, cwd)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):  # at most 30 s
            try:
                if shows in requests.get(url, timeout=1).text:
                    return stop(process)
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        pytest.fail(f"publisher serve did not show {shows!r} within 30 s:\n{stop(process)}")
    finally:
        stop(process)


def test_serve_adopt_publishes_the_moved_directory(tmp_path, database, clock):
    """`serve --adopt`: the directory moved away from its database, and the server is told
    (refused without it: test_a_folder_moved_away_from_its_database_is_adopted_once)."""
    shutil.copytree(DATA, tmp_path / "before")
    first = publisher_on(tmp_path / "before", database, clock)
    first.reload()
    first.close()
    shutil.move(tmp_path / "before", tmp_path / "after")
    site = tmp_path / "after" / "site.yaml"
    site.write_text(site.read_text(encoding="utf-8").replace("title: Mad", "title: Moved Mad"))
    output = _serve_until(
        tmp_path,
        "Moved Mad Studies groups",
        "--data",
        "after",
        "--database",
        str(database),
        "--adopt",
    )
    assert "now publishes" in output


def _loads(database) -> int:  # noqa: ANN001
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT COUNT(*) FROM loads").fetchone()[0]


def test_another_folder_is_refused_with_how_to_adopt_it(
    make_app, serve, data_dir, database, meetings_dir, caplog
):
    """Loading a second folder into a database that publishes another one is refused, as a
    PublisherError that names both folders and the exact command that adopts the new one;
    the last good publication stays served."""
    make_app()
    loads = _loads(database)
    with caplog.at_level(logging.ERROR, logger="publisher"):
        server = serve(make_app(data=str(meetings_dir), admin_token=TOKEN))
    assert "Mad Studies groups" in server.get("/").text  # the last good publication
    assert any("publisher reload --adopt" in r.getMessage() for r in caplog.records)

    answer = server.post("/admin/reload", headers=bearer(TOKEN))
    assert answer.status_code == 422
    message = answer.json()["error"]
    assert str(data_dir) in message and "'Mad Studies groups'" in message
    assert str(meetings_dir) in message and "'Example meeting groups (fictional)'" in message
    assert f"publisher reload --adopt --data {meetings_dir} --database {database}" in message
    assert "serve --adopt" in message
    assert "Mad Studies groups" in server.get("/").text
    assert _loads(database) == loads
    assert issubclass(DataFolderError, PublisherError)


def test_adopting_another_folder_publishes_it_and_the_old_one_is_then_refused(
    data_dir, database, meetings_dir, clock
):
    first = publisher_on(data_dir, database, clock)
    first.reload()
    first.close()
    other = publisher_on(meetings_dir, database, clock)
    with pytest.raises(DataFolderError):
        other.reload()
    clock.advance(minutes=5)
    other.reload(adopt=True, confirm_removals=True)  # every group of the old one goes
    assert b"Example meeting groups (fictional)" in other.current.documents["/"].body
    clock.advance(minutes=5)
    assert other.reload().unchanged  # adopted for good
    other.close()
    again = publisher_on(data_dir, database, clock)
    with pytest.raises(DataFolderError, match="Example meeting groups"):
        again.reload()
    again.close()


def test_a_checkout_moved_with_its_database_needs_no_adopting(tmp_path, clock):
    """A volunteer's new machine: the checkout, data and instance/ together, in another
    folder. The data folder is where it was beside the database, so it is the same one."""
    old = tmp_path / "old" / "checkout"
    shutil.copytree(DATA, old / "data")
    first = publisher_on(old / "data", old / "instance" / "publisher.sqlite3", clock)
    first.reload()
    first.close()
    new = tmp_path / "new-machine" / "publisher"
    shutil.move(old, new)
    moved = publisher_on(new / "data", new / "instance" / "publisher.sqlite3", clock)
    assert moved.reload().unchanged
    moved.close()


def test_a_folder_moved_away_from_its_database_is_adopted_once(tmp_path, database, clock):
    """The data moved, the database stayed: refused until adopted, then loads as before."""
    shutil.copytree(DATA, tmp_path / "before")
    first = publisher_on(tmp_path / "before", database, clock)
    first.reload()
    first.close()
    shutil.move(tmp_path / "before", tmp_path / "after")
    moved = publisher_on(tmp_path / "after", database, clock)
    with pytest.raises(DataFolderError, match="If the directory has moved"):
        moved.reload()
    assert moved.reload(adopt=True).unchanged  # the same files: nothing to render again
    assert moved.reload().unchanged
    moved.close()


def test_a_database_that_published_nothing_takes_any_folder(
    data_dir, database, meetings_dir, clock
):
    """A first load that failed leaves nothing to protect: the right folder is not refused."""
    (data_dir / "site.yaml").write_text("title: [\n", encoding="utf-8")
    wrong = publisher_on(data_dir, database, clock)
    with pytest.raises(PublisherError, match="nothing was loaded"):
        wrong.reload()
    wrong.close()
    right = publisher_on(meetings_dir, database, clock)
    assert right.reload().rendered
    right.close()


def test_reload_adopt_on_the_command_line(tmp_path, data_dir, meetings_dir):
    database = tmp_path / "db.sqlite3"
    cli = [sys.executable, "-m", "publisher.cli", "reload", "--database", str(database)]
    run = dict(env=_env(), capture_output=True, text=True, timeout=120, check=False)
    assert subprocess.run([*cli, "--data", str(data_dir)], **run).returncode == 0
    refused = subprocess.run([*cli, "--data", str(meetings_dir)], **run)
    assert refused.returncode == 1
    assert "publisher reload --adopt" in refused.stderr
    adopted = subprocess.run(
        [*cli, "--data", str(meetings_dir), "--adopt", "--confirm-removals"], **run
    )
    assert adopted.returncode == 0, adopted.stderr


def test_a_failed_adoption_leaves_the_published_folder_recorded(
    data_dir, database, meetings_dir, clock
):
    """The adoption was written before the load: a load of the adopted folder that then
    failed (errors in its data) left the database refusing the folder it still served."""
    first = publisher_on(data_dir, database, clock)
    first.reload()
    first.close()
    (meetings_dir / "site.yaml").write_text("title: [\n", encoding="utf-8")
    other = publisher_on(meetings_dir, database, clock)
    with pytest.raises(PublisherError, match="nothing was loaded"):
        other.reload(adopt=True, confirm_removals=True)
    other.close()
    again = publisher_on(data_dir, database, clock)
    clock.advance(minutes=1)
    assert again.reload().unchanged  # still the folder the database publishes
    again.close()


def _serve_refused(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "publisher.cli", "serve", *args],
        cwd=ROOT,
        env={**_env(), "PUBLISHER_WATCH": "0"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_serve_does_not_start_on_a_database_that_publishes_another_folder(
    data_dir, database, meetings_dir, clock
):
    """It logged the refusal, then served the other site's publication under this folder's
    address as if nothing were wrong."""
    first = publisher_on(data_dir, database, clock)
    first.reload()
    first.close()
    port = str(free_port())
    refused = _serve_refused(
        "--data", str(meetings_dir), "--database", str(database), "--port", port
    )
    assert refused.returncode == 1
    assert "publisher reload --adopt" in refused.stderr


def test_serve_adopt_on_a_port_in_use_adopts_nothing(data_dir, database, meetings_dir, clock):
    first = publisher_on(data_dir, database, clock)
    first.reload()
    first.close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        refused = _serve_refused(
            "--adopt", "--data", str(meetings_dir), "--database", str(database), "--port", port
        )
    assert refused.returncode == 1 and "Cannot listen" in refused.stderr
    again = publisher_on(data_dir, database, clock)
    clock.advance(minutes=1)
    assert again.reload().unchanged
    again.close()
