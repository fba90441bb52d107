"""Helper processes share a large load's work: the same results, nothing lost if one ends.

The helpers here are real processes (``python -m publisher.helpers``) on this machine's
second core. ``share=False`` leaves every chunk to them, so what they compute is what is
checked, not what this process would have computed anyway.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher import helpers as helpers_module
from publisher import publication, publish
from publisher.directory import group_files
from publisher.helpers import Helpers, in_order, usable
from publisher.version import render_version
from tests.conftest import Clock
from tests.test_publication import publisher_on

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"bundled": ROOT / "data", "meetings": ROOT / "examples" / "meetings"}

needs_a_second_core = pytest.mark.skipif(usable(1) == 0, reason="no second core for a helper")


def slow_squares(jobs: list[int]) -> list[int]:
    time.sleep(0.01 * len(jobs))
    return [n * n for n in jobs]


def pids(jobs: list[int]) -> list[int]:
    return [os.getpid() for _ in jobs]


def fails_on_seven(jobs: list[int]) -> list[int]:
    if 7 in jobs:
        raise ValueError("seven is not allowed")
    return jobs


def pid_version() -> str:
    """A code version that differs in every process, as if the code changed on disk."""
    return str(os.getpid())


class PickyError(Exception):
    def __init__(self, what: str, why: str) -> None:  # pickles, but cannot be unpickled
        super().__init__(f"{what} because {why}")


def fails_pickily(jobs: list[int]) -> list[int]:
    raise PickyError("it failed", "it had to")


def ends_unless_in(jobs: list[tuple[int, int]]) -> list[int]:
    """Ends the process it runs in, unless that is the given one (each job: pid, number)."""
    if any(pid != os.getpid() for pid, _ in jobs):
        os._exit(3)
    return [n for _, n in jobs]


@needs_a_second_core
def test_results_come_back_in_order_whoever_computed_them():
    with Helpers(1) as helpers:
        assert in_order(helpers.each(slow_squares, list(range(40)), 2)) == [
            n * n for n in range(40)
        ]
        assert helpers.chunks_helped > 0, "the helper should have taken some of 20 chunks"


@needs_a_second_core
def test_helpers_alone_run_the_jobs_while_this_process_does_its_own_work():
    ran: list[bool] = []
    with Helpers(1, share=False, version=render_version) as helpers:
        result = in_order(helpers.each(pids, list(range(10)), 2, lambda: ran.append(True)))
    assert ran == [True]
    assert len(result) == 10
    assert os.getpid() not in result
    assert helpers.chunks_helped == 5


@needs_a_second_core
def test_each_chunk_is_handed_over_on_the_calling_thread_as_soon_as_it_is_done():
    """A load stores each chunk of pages while the helper renders the next ones."""
    jobs = list(range(24))
    seen: list[tuple[int, list[int], str]] = []
    helped_at_first = None
    with Helpers(1, share=False) as helpers:
        for start, squares in helpers.each(slow_squares, jobs, 2):
            seen.append((start, squares, threading.current_thread().name))
            if helped_at_first is None:
                helped_at_first = helpers.chunks_helped
    assert helped_at_first is not None and helped_at_first < 12, "handed over only at the end"
    assert sorted(start for start, _, _ in seen) == list(range(0, 24, 2))
    assert all(squares == [n * n for n in jobs[s : s + 2]] for s, squares, _ in seen)
    assert {name for _, _, name in seen} == {threading.main_thread().name}
    assert helpers.chunks_helped == 12


@needs_a_second_core
def test_helpers_start_on_the_first_chunks_while_the_rest_are_made():
    """A load makes its renders one by one: the helper need not wait for the last."""
    helped_before_the_last: list[int] = []

    def made_slowly(helpers: Helpers) -> Iterator[int]:
        for n in range(50):
            time.sleep(0.02)  # a second in all
            yield n
        helped_before_the_last.append(helpers.chunks_helped)

    with Helpers(1, share=False) as helpers:
        done = in_order(helpers.each(slow_squares, made_slowly(helpers), 2))
    assert done == [n * n for n in range(50)]
    assert helped_before_the_last[0] > 0


def test_too_few_jobs_start_no_helper():
    with Helpers(1) as helpers:
        assert in_order(helpers.each(pids, range(10), 2, spread_from=11)) == [os.getpid()] * 10
        assert helpers._helpers == []  # noqa: SLF001 - no process was started


@needs_a_second_core
def test_stopping_early_takes_no_more_chunks_and_ends_the_helpers():
    with Helpers(1) as helpers:
        for _ in helpers.each(slow_squares, list(range(200)), 2):
            break  # the caller gave up on the first chunk (e.g. it could not store it)
        procs = [h.proc for h in helpers._helpers]  # noqa: SLF001 - the processes themselves
        assert helpers.chunks_helped < 10
        assert not any(t.name == "helper" for t in threading.enumerate())
    assert all(p.poll() is not None for p in procs)


def test_without_helpers_this_process_does_everything():
    ran: list[bool] = []
    with Helpers(0) as helpers:
        result = in_order(helpers.each(pids, list(range(10)), 2, lambda: ran.append(True)))
    assert result == [os.getpid()] * 10
    assert ran == [True]
    assert helpers.chunks_helped == 0


@needs_a_second_core
def test_an_error_in_a_helper_is_raised_in_the_loading_process():
    with Helpers(1, share=False) as helpers, pytest.raises(ValueError, match="seven"):
        in_order(helpers.each(fails_on_seven, list(range(10)), 2))


@needs_a_second_core
def test_after_an_error_a_helper_answers_the_next_jobs_and_not_old_ones():
    """A chunk may wait in the helper's pipe behind the one that failed: its answer must not
    be taken for the answer to a later job."""
    with Helpers(1, share=False) as helpers:
        with pytest.raises(ValueError, match="seven"):
            in_order(helpers.each(fails_on_seven, list(range(10)), 2))
        assert in_order(helpers.each(slow_squares, list(range(6)), 2)) == [0, 1, 4, 9, 16, 25]


@needs_a_second_core
def test_an_error_that_cannot_travel_is_raised_as_a_runtime_error():
    with Helpers(1, share=False) as helpers, pytest.raises(RuntimeError, match="PickyError"):
        in_order(helpers.each(fails_pickily, list(range(4)), 2))


@needs_a_second_core
def test_a_helper_running_other_code_is_not_used(caplog):
    """Code replaced on disk since the service started: the helper would render with the
    new templates while this process renders with the old, in one publication."""
    with caplog.at_level(logging.WARNING), Helpers(1, share=False, version=pid_version) as h:
        assert in_order(h.each(pids, list(range(10)), 2)) == [os.getpid()] * 10
    assert h.chunks_helped == 0
    assert "other code" in caplog.text


@needs_a_second_core
def test_a_helper_that_ends_early_leaves_its_work_to_this_process(caplog):
    jobs = [(os.getpid(), n) for n in range(10)]
    with caplog.at_level(logging.WARNING), Helpers(1, share=False) as helpers:
        assert in_order(helpers.each(ends_unless_in, jobs, 2)) == list(range(10))
    assert helpers.chunks_helped == 0
    assert "ended early" in caplog.text


def dies_in_helper_on_four(jobs: list[tuple[int, int]]) -> list[int]:
    """Ends the process it runs in when given job 4, unless that is the given one."""
    if any(n == 4 and pid != os.getpid() for pid, n in jobs):
        os._exit(3)
    return [n for _, n in jobs]


@needs_a_second_core
@pytest.mark.parametrize("room", [0, 1 << 20], ids=["no room in the pipe", "room for a chunk"])
def test_a_helper_that_ends_mid_run_loses_no_chunk(room, monkeypatch):
    """Bug: with no room to send a chunk ahead (no F_GETPIPE_SZ, or a refused pipe size),
    the chunk taken while the helper died was dropped, and its documents with it."""
    original = helpers_module._Helper.__init__  # noqa: SLF001

    def helper_init(self: helpers_module._Helper) -> None:  # noqa: SLF001
        original(self)
        self.room = room

    monkeypatch.setattr(helpers_module._Helper, "__init__", helper_init)  # noqa: SLF001
    jobs = [(os.getpid(), n) for n in range(10)]
    with Helpers(1, share=False) as helpers:
        assert in_order(helpers.each(dies_in_helper_on_four, jobs, 2)) == list(range(10))


@needs_a_second_core
def test_helpers_end_with_the_block():
    with Helpers(1) as helpers:
        in_order(helpers.each(slow_squares, list(range(20)), 2))
        procs = [h.proc for h in helpers._helpers]  # noqa: SLF001 - the processes themselves
        assert procs and all(p.poll() is None for p in procs)
    assert all(p.poll() is not None for p in procs)


@needs_a_second_core
@pytest.mark.parametrize("folder", FOLDERS.values(), ids=FOLDERS.keys())
def test_a_load_spread_over_helpers_publishes_the_same_bytes(folder, tmp_path, monkeypatch):
    """Every document, parsed and rendered by a helper wherever it can be, is byte for byte
    the one this process renders alone, with the same ETag and Last-Modified."""
    alone = publisher_on(folder, tmp_path / "alone.sqlite3", Clock(), load_helpers=0)
    assert not alone.reload().helped
    # Helpers for any size, a chunk at a time, and all of it left to them.
    monkeypatch.setattr(group_files, "SPREAD_BYTES", 0)
    monkeypatch.setattr(group_files, "SPREAD_CHUNK", 1)
    monkeypatch.setattr(group_files, "_CHECKED", {})  # parse again, in the helper
    monkeypatch.setattr(publication, "SPREAD_RENDERS", 0)
    monkeypatch.setattr(publication, "SPREAD_CHUNK", 2)
    monkeypatch.setattr(publish, "Helpers", functools.partial(Helpers, share=False))
    helped = publisher_on(folder, tmp_path / "helped.sqlite3", Clock(), load_helpers=1)
    result = helped.reload()
    assert result.helped > 0
    try:
        assert alone.current.documents.keys() == helped.current.documents.keys()
        for path, mine in alone.current.documents.items():
            theirs = helped.current.documents[path]
            assert (theirs.body, theirs.etag, theirs.last_modified) == (
                mine.body,
                mine.etag,
                mine.last_modified,
            ), path
    finally:
        alone.close()
        helped.close()
