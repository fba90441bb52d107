"""Helper processes, so a large load parses files and renders pages on every core.

A cold load of 10,000 groups is CPU work in Python: parsing 7 MB of YAML and rendering
10,000 group pages. One process uses one core; helpers take part of that work.

A helper is a new interpreter (``python -m publisher.helpers``), never a fork of the
serving process: that process has threads (the server's, the watcher's, the delivery
worker's), and a fork copies any lock one of them holds at that moment, held for ever. Nor
is it started through ``multiprocessing``, which imports the parent's main script again in
each child. Helpers live for one load: a small directory never starts one, and none idles
between loads. A helper reads jobs from its stdin and writes results to its stdout, each a
length-prefixed pickle; it ends when its stdin closes, so it cannot outlive its parent.

Work is shared, not split in fixed parts: a thread per helper takes chunks from the front of
the queue and this process takes chunks from the back, until none is left. While a helper
is still starting (a quarter of a second), this process simply does more of the work itself.
Each chunk done is handed to the caller at once, on its own thread, so that it can store
results while the helpers still work.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from queue import Empty, SimpleQueue
from typing import IO, Any, Protocol, TypeVar

try:
    import fcntl
except ImportError:  # not a Unix: pipes keep their default size
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_LENGTH = struct.Struct("!Q")
#: Seconds a helper may take to end once told to, before it is killed.
STOP_WAIT = 5.0
#: Pipe buffer asked for (Linux's default ceiling): a chunk's result crosses in one read.
PIPE_SIZE = 1 << 20
#: The GIL switch interval while helpers work, in seconds (Python's default is 0.005).
SWITCH_INTERVAL = 0.0005


class Spread(Protocol):
    """``Helpers.each``, as the code that has work to share sees it."""

    def __call__(
        self,
        func: Callable[[list[T]], list[R]],
        jobs: Iterable[T],
        chunk: int,
        meanwhile: Callable[[], None] | None = None,
        spread_from: int = 0,
    ) -> Iterator[tuple[int, list[R]]]: ...


def in_order(done: Iterable[tuple[int, list[R]]]) -> list[R]:
    """The results of ``Helpers.each`` in the order of its jobs."""
    by_start = dict(done)
    return [r for start in sorted(by_start) for r in by_start[start]]


def usable(wanted: int) -> int:
    """Helpers worth starting: at most one fewer than the cores this process may use."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(0, min(wanted, cores - 1))


def _frame(value: object) -> bytes:
    """``value`` as sent over a pipe: its pickle, after its length."""
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


def _send(stream: IO[bytes], value: object) -> None:
    stream.write(_frame(value))
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    """The next value, or raise EOFError when the other side has gone."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 - from our own process, over its own pipe


class HelperGone(Exception):
    """The helper process ended before it answered."""


def _versions(functions: list[Callable[[], str]]) -> list[str]:
    return [function() for function in functions]


class _Helper:
    """One helper process and the pipe to it; used by one thread at a time."""

    def __init__(self) -> None:
        self.agreed = False
        #: Answers to be read and dropped before the next (see ``read``).
        self.unread = 0
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "publisher.helpers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        # Each read of a pipe needs the GIL back, which the busy main thread gives up only
        # every switch interval: with the default 64 KB pipe, a result waited that long for
        # each 64 KB, and the helper idled meanwhile. Larger pipes mean one read per result.
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(AttributeError, OSError):  # not Linux, or capped lower
                fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)  # type: ignore[union-attr]
        #: Bytes its stdin pipe holds (0: unknown): a job that fits may be sent before the
        #: answer to the previous one is read (see ``Helpers.each``).
        self.room = 0
        with contextlib.suppress(AttributeError, OSError):
            self.room = fcntl.fcntl(self.proc.stdin.fileno(), fcntl.F_GETPIPE_SZ)  # type: ignore[union-attr]

    def write(self, frame: bytes) -> None:
        """Send a job (a ``_frame`` of (function, chunk)); its answer comes from ``read``."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(frame)
            self.proc.stdin.flush()
        except OSError as exc:
            raise HelperGone from exc

    def read(self) -> Any:
        """The answer to the oldest job not yet answered; raises the job's own error."""
        assert self.proc.stdout is not None
        try:
            # Answers no one waits for: to ``post`` (only its effect matters), and to jobs
            # sent behind one that failed.
            for _ in range(self.unread):
                _receive(self.proc.stdout)
            self.unread = 0
            ok, value = _receive(self.proc.stdout)
        except (OSError, EOFError) as exc:
            raise HelperGone from exc
        if not ok:
            raise value
        return value

    def call(self, func: Callable[[list[T]], list[R]], chunk: list[T]) -> list[R]:
        self.write(_frame((func, chunk)))
        return self.read()  # type: ignore[no-any-return]

    def post(self, func: Callable[[list[T]], list[R]]) -> None:
        """Send ``func`` on no jobs and go on; its answer is read before the next call."""
        try:
            self.write(_frame((func, [])))
        except HelperGone:
            return  # it has ended: the next call finds out
        self.unread += 1

    def stop(self) -> None:
        """Close its stdin, which ends it; kill it should it not end soon."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=STOP_WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


class Helpers:
    """The helper processes of one load, started at the first ``each`` that needs them.

    Use as a context manager: the processes end with the block."""

    def __init__(
        self, processes: int, share: bool = True, version: Callable[[], str] | None = None
    ) -> None:
        self.processes = usable(processes)
        #: A module-level function naming the code's version (publisher.version.render_version):
        #: a helper runs the code on disk, which may have been replaced since this process
        #: started; one whose version differs is not used, so a load never mixes the two.
        self.version = version
        #: Whether this process takes chunks too; False leaves every chunk to the helpers
        #: while they live (the tests use it to check a helper's results).
        self.share = share
        self._helpers: list[_Helper] = []
        #: Chunks the helpers ran (for the log and the tests).
        self.chunks_helped = 0

    def __enter__(self) -> Helpers:
        return self

    def __exit__(self, *exc: object) -> None:
        for helper in self._helpers:
            helper.stop()
        self._helpers = []

    def warm(self, func: Callable[[list[T]], list[R]]) -> None:
        """Have each helper run ``func`` on no jobs now, while it would otherwise wait (while
        a large load works out its history), rather than import and prepare what ``func``
        needs when its first chunk comes. Returns at once."""
        for helper in self._helpers:
            if helper.agreed and helper.proc.poll() is None:
                helper.post(func)

    def _agrees(self, helper: _Helper) -> bool:
        """Whether ``helper`` runs the same code as this process (asked once per helper)."""
        if self.version is None or helper.agreed:
            return True
        try:
            [theirs] = helper.call(_versions, [self.version])
        except HelperGone:
            return False
        if theirs != self.version():
            log.warning(
                "A helper process runs other code than this one (was it updated on disk?); "
                "this process does its work. Restart the service to use the new code."
            )
            helper.stop()
            return False
        helper.agreed = True
        return True

    def map(self, func: Callable[[list[T]], list[R]], jobs: list[T], chunk: int) -> list[R]:
        """``each``'s results in the order of the jobs, for a caller that needs them all
        before it goes on (``directory.validate``, checking files)."""
        return in_order(self.each(func, jobs, chunk))

    def each(
        self,
        func: Callable[[list[T]], list[R]],
        jobs: Iterable[T],
        chunk: int,
        meanwhile: Callable[[], None] | None = None,
        spread_from: int = 0,
    ) -> Iterator[tuple[int, list[R]]]:
        """``func`` over ``jobs`` in chunks of ``chunk``: yields (index of the chunk's first
        job, its results) as each chunk is done, in no set order, always on the calling
        thread, so that the caller can store results while helpers work on the rest.

        ``func`` takes a list and returns one result per item; it must be a module-level
        function and the jobs picklable, as they may run in a helper. Without helpers, or
        should a helper die, this process runs everything itself: same results either way.
        ``jobs`` may be a generator: helpers start on its first chunks while this thread
        makes the rest. Fewer than ``spread_from`` jobs (or than two chunks) are not worth a
        helper, and stay here. ``meanwhile``, work that stays in this process, runs once
        every job is made, while helpers work on them.
        """
        source = iter(jobs)
        enough = max(spread_from, chunk + 1)
        head = list(islice(source, enough))
        if self.processes == 0 or len(head) < enough:
            head += source  # nothing left unless there are no helpers to be had
            if meanwhile is not None:
                meanwhile()
            for i, part in _chunks(head, chunk):
                yield i, func(part)
            return
        while len(self._helpers) < self.processes:
            try:
                self._helpers.append(_Helper())
            except OSError as exc:  # no process or pipe to be had: fewer helpers, or none
                log.warning("A helper process could not start (%s); working without it.", exc)
                self.processes = len(self._helpers)
        queue: deque[tuple[int, list[T]]] = deque()
        lock = threading.Lock()
        ready = threading.Condition(lock)  # a chunk was queued, or there will be no more
        making = True  # this thread still makes jobs
        failures: list[BaseException] = []
        #: Chunks the helpers finished, and a None from each helper's thread as it ends.
        finished: SimpleQueue[tuple[int, list[R]] | None] = SimpleQueue()

        def helped(helper: _Helper) -> None:
            sent: deque[tuple[int, list[T]]] = deque()  # chunks sent, not yet answered

            def answer() -> None:
                try:
                    result = helper.read()
                except HelperGone:
                    raise  # sent[0] goes back to the queue with the rest
                except BaseException:
                    sent.popleft()  # its answer, the error, has been read
                    raise
                i, _ = sent.popleft()
                finished.put((i, result))
                with lock:
                    self.chunks_helped += 1

            taken: tuple[int, list[T]] | None = None  # off the queue, not yet sent
            try:
                if not self._agrees(helper):
                    return
                while True:
                    with lock:
                        while not queue and making and not failures and not sent:
                            ready.wait()
                        taken = queue.popleft() if queue and not failures else None
                    if taken is None:
                        if not sent:  # no more chunks, or a failure
                            return
                        answer()
                        continue
                    frame = _frame((func, taken[1]))
                    # The next chunk waits in the helper's pipe while it works on this one,
                    # so that it never waits for this thread to get the GIL. Only if it fits:
                    # else writing it could block while the helper blocks writing its answer.
                    if sent and len(frame) > helper.room:
                        answer()
                    sent.append(taken)
                    taken = None
                    helper.write(frame)
                    if len(sent) > 1:
                        answer()
            except HelperGone:
                log.warning("A helper process ended early; this process does its work.")
                with lock:  # every chunk it had, sent or about to be, goes back
                    queue.extendleft(reversed([*sent, *([taken] if taken else [])]))
            except BaseException as exc:  # func's own error: raised below, as if here
                failures.append(exc)
                helper.unread += len(sent)  # answers still to come: not to be taken for others
            finally:
                finished.put(None)

        threads = [
            threading.Thread(target=helped, args=(h,), name="helper", daemon=True)
            for h in self._helpers
            if h.proc.poll() is None
        ]
        for thread in threads:
            thread.start()
        live = len(threads)
        interval = sys.getswitchinterval()
        # The threads above mostly wait on pipes; when a result arrives they need the GIL
        # soon, or the helper waits for its next chunk while this thread renders.
        sys.setswitchinterval(SWITCH_INTERVAL)
        try:
            try:
                for made in _chunks(chain(head, source), chunk):
                    with lock:
                        if failures:  # a helper's job failed: the load fails, make no more
                            break
                        queue.append(made)
                        ready.notify()
            finally:
                with lock:
                    making = False
                    ready.notify_all()
            if meanwhile is not None and not failures:
                meanwhile()
            while True:
                # First hand over what the helpers have done, then take a chunk from the back.
                while (item := _next(finished, wait=False)) is not _EMPTY:
                    if item is None:
                        live -= 1
                    else:
                        yield item
                with lock:
                    if not self.share or not queue or failures:
                        break
                    i, part = queue.pop()
                yield i, func(part)
            while live:  # the helpers' last chunks
                item = _next(finished, wait=True)
                if item is None:
                    live -= 1
                elif not failures:
                    yield item
        except BaseException:  # also GeneratorExit: the caller stopped early
            with lock:
                queue.clear()  # helpers take no more
            raise
        finally:
            sys.setswitchinterval(interval)
            for thread in threads:
                thread.join()
        if failures:
            raise failures[0]
        for i, part in queue:  # given back by a helper that ended, or none could start
            yield i, func(part)


def _chunks(jobs: Iterable[T], size: int) -> Iterator[tuple[int, list[T]]]:
    """(index of the first, list) of each run of ``size`` jobs."""
    source, start = iter(jobs), 0
    while part := list(islice(source, size)):
        yield start, part
        start += len(part)


_EMPTY = object()


def _next(finished: SimpleQueue[Any], wait: bool) -> Any:
    """The next item from ``finished``, or _EMPTY when there is none and ``wait`` is false."""
    try:
        return finished.get(block=wait)
    except Empty:
        return _EMPTY


def main() -> None:
    """A helper: run each (function, chunk) read from stdin, write (ok, result) to stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which ends us
    gc.disable()  # it lives for one load, which makes objects that nearly all live on
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the pipe
    while True:
        try:
            func, chunk = _receive(stdin)
        except EOFError:
            os._exit(0)  # nothing to tidy: skip freeing a load's worth of objects
        except Exception as exc:  # noqa: BLE001 - e.g. a class changed on disk since
            _send(stdout, (False, RuntimeError(f"A helper could not read its job: {exc!r}")))
            continue
        try:
            reply: tuple[bool, object] = (True, func(chunk))
        except Exception as exc:  # noqa: BLE001 - sent back and raised in the parent
            traceback.print_exc()  # where it happened, in the service's log (our stderr)
            reply = (False, _portable_error(exc))
        try:
            _send(stdout, reply)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            _send(stdout, (False, RuntimeError(f"{type(exc).__name__}: {exc}")))


def _portable_error(exc: Exception) -> Exception:
    """``exc``, or a RuntimeError saying the same should ``exc`` not survive pickling (an
    exception whose constructor takes other arguments than its message does not)."""
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


if __name__ == "__main__":
    main()
