"""Benchmarks of publisher: publishing, serving and start-up. Prints one table per part.

    .venv/bin/python bench/run.py            # full run, a few minutes
    .venv/bin/python bench/run.py --quick    # small sizes, short load runs

A. Publishing: generated data folders (temp dir), cold load, one-field-edit reload, peak RSS.
B. Serving: /feeds/all.atom of the bundled data under load, against publisher serve, a bare
   Flask app under granian and nginx; 200 and 304 (If-None-Match).
C. Start-up: launch of publisher serve to the first 200 on /healthz and on /.
D. Calendars: 1,000 meeting groups rendered into every calendar (bench/calendars.py).
E. WebSub fan-out of one change to 1,000 and 10,000 subscribers (bench/hub.py).
F. Other clients' wait while 8 slow request bodies or 1,500 slow headers hold connections
   (bench/slow.py).
G. A flood of POST /hub from one client; the cost of a refused one by size (bench/flood.py).

Everything listens on 127.0.0.1 only; every process started here is stopped (by its process
group id) on the way out, errors included. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from calendars import bench_calendars  # bench/ is on sys.path when run as a script
from flood import bench_flood
from hub import bench_hub
from slow import bench_slow_clients

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
FEED = "/feeds/all.atom"
CONNECTIONS = 16
SERVER_CPU = 0  # the server gets one core, the load generator the other
CLIENT_CPU = 1

GOAL_COLD_10K = 2.0  # s, all publications for 10,000 groups
GOAL_EDIT = 0.3  # s, reload after a one-field edit
#: Cold loads per size, each on a new database: one run is at the mercy of a noisy machine.
COLD_RUNS = 3
GOAL_VS_FLASK = 0.9  # publisher requests/s over bare Flask requests/s
GOAL_VS_NGINX = 0.15  # publisher requests/s over nginx requests/s


# --------------------------------------------------------------------------- helpers


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = "  ".join("-" * w for w in widths)
    out = [title, line]
    for n, row in enumerate(cells):
        out.append(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            out.append(line)
    out.append(line)
    return "\n".join(out)


def note(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def pinned(cmd: list[str], cpu: int | None) -> list[str]:
    """Run ``cmd`` on one core when the machine has two or more and taskset exists."""
    taskset = shutil.which("taskset")
    if cpu is None or taskset is None or (os.cpu_count() or 1) < 2:
        return cmd
    return [taskset, "-c", str(cpu), *cmd]


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any PUBLISHER_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    env.update(extra)
    return env


@contextlib.contextmanager
def process(
    cmd: list[str], log: Path, cwd: Path, env: dict[str, str]
) -> Iterator[subprocess.Popen]:
    """Start ``cmd`` in its own process group; on exit stop that group (TERM, then KILL)."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env, start_new_session=True
        )
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    # Workers (granian, nginx) may outlive their parent for a moment: end the group.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def get(port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 2) -> Reply:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
    finally:
        conn.close()


def wait_for(port: int, path: str, proc: subprocess.Popen, log: Path, limit: float = 30) -> float:
    """Poll ``path`` every 20 ms until it answers 200; seconds waited. Raises on give-up."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{tail(log)}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if get(port, path, timeout=1).status == 200:
                return time.perf_counter() - started
        time.sleep(0.02)
    raise RuntimeError(f"no 200 on {path} after {limit:.0f} s:\n{tail(log)}")


def tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --------------------------------------------------------------------------- A. publishing

GROUPS_PER_FILE = 100
CATEGORY_WEIGHTS = (0.4, 0.25, 0.2, 0.15)  # of the four categories in the bundled site.yaml
_VOCABULARY = (
    "peer support group survivors mental health service users community history movement "
    "advocacy reading teaching learning network research collective meets monthly online "
    "everyone welcome lived experience distress madness pride resources discussion seminar "
    "disability studies critical psychiatry social justice human rights recovery colonised "
    "narratives art stories anonymous submissions women trans queer black racialised young "
    "older carers families students activists academics practitioners library local regional "
    "national international forum sharing listening together safe space campaign rights "
    "accessible free open closed newsletter events workshops conference bi-monthly weekly "
    "Scotland England Wales Ireland Canada Lothians Durham Nottingham Toronto Glasgow "
    "neurodiversity intersections gender sexuality race ethnicity religion class colonisation"
)
WORDS = tuple(_VOCABULARY.split())
COUNTRIES = ("England", "Scotland", "Wales", "Ireland", "Canada", "Australia", "New Zealand")
FREQUENCIES = ("monthly", "bi-monthly", "weekly", "every second Tuesday", "twice a year")
FLAG_NAMES = ("closed-group", "accepts-anonymous-submissions")


def text(rng: random.Random, length: int) -> str:
    """Sentences of plausible words, about ``length`` characters, with some typography."""
    out: list[str] = []
    size = 0
    while size < length:
        words = [rng.choice(WORDS) for _ in range(rng.randint(5, 18))]
        if rng.random() < 0.2:
            words.insert(rng.randrange(len(words)), rng.choice(("‘recovery’", "–", "“success”")))
        sentence = " ".join(words)
        sentence = sentence[0].upper() + sentence[1:] + rng.choice((".", ".", ".", "!"))
        out.append(sentence)
        size += len(sentence) + 1
    return " ".join(out)


def make_group(rng: random.Random, number: int) -> dict[str, object]:
    name = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))).title()
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60].strip("-") + f"-{number}"
    group: dict[str, object] = {
        "slug": slug,
        "name": name,
        "description": text(rng, int(rng.triangular(40, 900, 200))),
    }
    if rng.random() < 0.5:
        links = [{"url": f"https://groups.example.org/{slug}", "label": "Website"}]
        if rng.random() < 0.3:
            links.append({"url": f"https://social.example.net/{slug}", "label": "Facebook group"})
        group["links"] = links
    if rng.random() < 0.6:
        town = rng.choice(WORDS).title()
        country = rng.choice(COUNTRIES)
        place: dict[str, object] = {"as_published": f"{town}, {country}", "locality": town}
        place["country"] = country
        if rng.random() < 0.3:
            place["inferred"] = ["country"]
        group["place"] = place
    if rng.random() < 0.25:
        group["contact"] = {
            "as_published": text(rng, rng.randint(40, 160)),
            "name": " ".join(rng.choice(WORDS).title() for _ in range(2)),
            "twitter": f"@grp{number}",
        }
    if rng.random() < 0.15:
        group["flags"] = [rng.choice(FLAG_NAMES)]
    if rng.random() < 0.2:
        group["meetings"] = {"frequency_as_published": rng.choice(FREQUENCIES)}
    return group


def generate(folder: Path, groups: int, seed: int = 1) -> Path:
    """A data folder: the bundled site.yaml and ``groups`` groups over its four categories.

    Returns the file of the largest category, the one the edits change.
    """
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    shutil.copy(DATA / "site.yaml", folder / "site.yaml")
    site = yaml.safe_load((DATA / "site.yaml").read_text(encoding="utf-8"))
    slugs = [c["slug"] for c in site["categories"]]
    assert len(slugs) == len(CATEGORY_WEIGHTS)
    counts = [int(groups * w) for w in CATEGORY_WEIGHTS]
    counts[0] += groups - sum(counts)
    number = 0
    for slug, count in zip(slugs, counts, strict=True):
        members = []
        for _ in range(count):
            number += 1
            members.append(make_group(rng, number))
        # A large directory is split over files of GROUPS_PER_FILE groups (as the README
        # suggests), so an edit re-reads one small file, not a whole category.
        for part, first in enumerate(range(0, max(count, 1), GROUPS_PER_FILE)):
            document = {"category": slug, "groups": members[first : first + GROUPS_PER_FILE]}
            with open(folder / f"{slug}-{part:03d}.yaml", "w", encoding="utf-8") as f:
                f.write(f"# Generated by bench/run.py: {len(document['groups'])} groups.\n")
                yaml.safe_dump(document, f, sort_keys=False, allow_unicode=True, width=10**6)
    return folder / f"{slugs[0]}-000.yaml"


def edit_description(path: Path, which: int) -> None:
    """Change one group's description (the ``which``-th of the file) in place."""
    lines = path.read_text(encoding="utf-8").split("\n")
    found = [i for i, line in enumerate(lines) if line.startswith("  description: ")]
    index = found[(len(found) // 2 + which * 7) % len(found)]
    lines[index] = f"  description: Edited for the benchmark, edit number {which + 1}."
    path.write_text("\n".join(lines), encoding="utf-8")


class StepClock:
    """A fixed clock that moves one minute per edit."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 13, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self) -> None:
        self.now += timedelta(minutes=1)


def child_publish(data: Path, edit_file: Path, database: Path, edits: int) -> None:
    """Runs in a subprocess per size, so ru_maxrss is this size's peak. Prints JSON.

    The cold load runs COLD_RUNS times, each on a new database with nothing parsed yet (the
    per-file cache emptied); templates stay compiled after the first, as Jinja's bytecode
    cache gives any restarted process. The edits change the last one."""
    from publisher.config import load_settings
    from publisher.directory import group_files, validate
    from publisher.publish import Publisher

    base_rss = maxrss_mb()
    clock = StepClock()
    cold_s = []
    for n in range(COLD_RUNS):
        group_files._CHECKED.clear()  # noqa: SLF001 - parse again, as a new process would
        last = n == COLD_RUNS - 1  # its database is the one the edits change, and C reuses
        file = database if last else database.with_name(f"{database.stem}-{n}{database.suffix}")
        for old in file.parent.glob(f"{file.name}*"):  # a new database: nothing recorded
            old.unlink()
        settings = load_settings({"data": str(data), "database": str(file), "watch": False})
        started = time.perf_counter()
        publisher = Publisher(settings, clock)
        cold = publisher.reload()
        cold_s.append(time.perf_counter() - started)
        if not last:
            publisher.close()
    try:
        edit_s = []
        rendered = []
        changes = []
        for n in range(edits):
            edit_description(edit_file, n)
            clock.advance()
            started = time.perf_counter()
            result = publisher.reload()
            edit_s.append(time.perf_counter() - started)
            rendered.append(result.rendered)
            changes.append(result.changes)  # 1 expected: one group was edited
        group_files._CHECKED.clear()  # noqa: SLF001 - time parsing itself, not the per-file cache
        started = time.perf_counter()
        validate.load_directory(data)
        parse_s = time.perf_counter() - started
        started = time.perf_counter()
        assert publisher.reload().unchanged
        unchanged_s = time.perf_counter() - started
        documents = len(publisher.current.documents)
        size = sum(len(p.body) for p in publisher.current.documents.values())
    finally:
        publisher.close()
    print(
        json.dumps(
            {
                "cold_s": cold_s,
                "cold_rendered": cold.rendered,
                "edit_s": edit_s,
                "edit_rendered": rendered,
                "edit_changes": changes,
                "parse_s": parse_s,
                "unchanged_s": unchanged_s,
                "documents": documents,
                "published_mb": size / 2**20,
                "base_rss_mb": base_rss,
                "peak_rss_mb": maxrss_mb(),
            }
        )
    )


def bench_publishing(sizes: Sequence[int], edits: int, tmp: Path) -> tuple[str, dict[int, Path]]:
    rows = []
    folders: dict[int, Path] = {}
    for size in sizes:
        folder = tmp / f"data-{size}"
        edit_file = generate(folder, size)
        folders[size] = folder
        data_mb = sum(p.stat().st_size for p in folder.glob("*.yaml")) / 2**20
        note(f"A. publishing {size} groups ({data_mb:.1f} MB of YAML) in a subprocess")
        work = tmp / f"edit-{size}"
        shutil.copytree(folder, work)  # edits change a copy; C may serve the original
        cmd = [sys.executable, __file__, "--child-publish", str(work), str(work / edit_file.name)]
        cmd += [str(tmp / f"publish-{size}.sqlite3"), str(edits)]
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=600, env=clean_env(), cwd=tmp
        )
        if done.returncode != 0:
            raise RuntimeError(f"publishing {size} groups failed:\n{done.stderr[-3000:]}")
        r = json.loads(done.stdout.strip().splitlines()[-1])
        edit = statistics.median(r["edit_s"])
        cold_goal = ""
        cold = statistics.median(r["cold_s"])
        if size == 10_000:
            cold_goal = f"{'ok' if cold < GOAL_COLD_10K else 'MISS'} <{GOAL_COLD_10K:g}s"
        rows.append(
            [
                f"{size:,}",
                f"{data_mb:.1f}",
                f"{r['documents']:,} ({r['published_mb']:.1f} MB)",
                f"{cold:.2f} ({min(r['cold_s']):.2f}-{max(r['cold_s']):.2f})",
                cold_goal,
                f"{edit:.3f} ({min(r['edit_s']):.3f}-{max(r['edit_s']):.3f})",
                f"{'ok' if edit < GOAL_EDIT else 'MISS'} <{GOAL_EDIT:g}s",
                f"{statistics.median(r['edit_changes']):,.0f}",
                f"{statistics.median(r['edit_rendered']):,.0f}",
                f"{r['parse_s']:.3f}",
                f"{r['unchanged_s']:.3f}",
                f"{r['peak_rss_mb']:.0f} (+{r['peak_rss_mb'] - r['base_rss_mb']:.0f})",
            ]
        )
    headers = [
        "groups",
        "YAML MB",
        "documents",
        f"cold s (median of {COLD_RUNS}, range)",
        "goal",
        f"edit s (median of {edits}, range)",
        "goal",
        "changes recorded",
        "re-rendered",
        "parse+check s",
        "no-op s",
        "peak RSS MB (+over imports)",
    ]
    title = (
        "A. Publishing: Publisher(load_settings(...)).reload() on a fresh SQLite file; "
        "edit = one description changed, then reload.\n"
        "   parse+check = load_directory() alone, per-file cache emptied; "
        "no-op = reload with nothing changed;\n   peak RSS = ru_maxrss of one subprocess per size."
    )
    return table(title, headers, rows), folders


# --------------------------------------------------------------------------- B. serving


@dataclass
class Load:
    rps: float
    p99_ms: float
    bytes_per_request: float
    errors: str


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _bytes(value: str, unit: str) -> float:
    return float(value) * {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}[unit]


def run_wrk(url: str, headers: dict[str, str], duration: float) -> Load:
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{duration:g}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        pinned([*cmd, url], CLIENT_CPU),
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=True,
    )
    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    total = re.search(r"(\d+) requests in [\d.]+\w+, ([\d.]+)([KMGT]?B) read", out)
    errors = []
    if m := re.search(r"Socket errors: (.*)", out):
        errors.append(m.group(1))
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors.append(f"{m.group(1)} non-2xx/3xx")
    return Load(
        rps,
        _ms(*p99.groups()),
        _bytes(total.group(2), total.group(3)) / max(int(total.group(1)), 1),
        "; ".join(errors) or "0",
    )


async def _client(
    port: int, request: bytes, deadline: float, limit: int, latencies: list[float], stats: dict
) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while time.perf_counter() < deadline and len(latencies) < limit:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            body = await reader.readexactly(int(length.group(1)) if length else 0)
            latencies.append(time.perf_counter() - started)
            stats["bytes"] += len(head) + len(body)
            if not head.startswith((b"HTTP/1.1 200", b"HTTP/1.1 304")):
                stats["bad"] += 1
    finally:
        writer.close()


def run_asyncio(url: str, headers: dict[str, str], duration: float) -> Load:
    """Fallback load generator when wrk is missing: 16 keep-alive connections, bounded."""
    port = int(re.search(r":(\d+)/", url).group(1))
    path = "/" + url.split("/", 3)[3]
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{extra}\r\n".encode()
    latencies: list[float] = []
    stats = {"bytes": 0, "bad": 0}

    async def main() -> None:
        deadline = time.perf_counter() + duration
        clients = [
            _client(port, request, deadline, 2_000_000, latencies, stats)
            for _ in range(CONNECTIONS)
        ]
        await asyncio.wait_for(asyncio.gather(*clients), timeout=duration + 30)

    started = time.perf_counter()
    asyncio.run(main())
    took = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)] * 1000 if latencies else float("nan")
    return Load(
        len(latencies) / took, p99, stats["bytes"] / max(len(latencies), 1), str(stats["bad"])
    )


def load(url: str, headers: dict[str, str], duration: float) -> Load:
    if shutil.which("wrk"):
        return run_wrk(url, headers, duration)
    return run_asyncio(url, headers, duration)


def check(port: int, body: bytes, etag: str) -> None:
    """The server answers the feed with these bytes, and 304 to If-None-Match: etag."""
    full = get(port, FEED)
    assert full.status == 200 and full.body == body, (full.status, len(full.body), len(body))
    assert full.headers.get("etag") == etag, (full.headers.get("etag"), etag)
    cond = get(port, FEED, {"If-None-Match": etag})
    assert cond.status == 304 and not cond.body, cond.status


def measure(name: str, port: int, body: bytes, etag: str, duration: float) -> dict[str, Load]:
    check(port, body, etag)
    url = f"http://{HOST}:{port}{FEED}"
    load(url, {}, min(2.0, duration))  # warm-up
    note(f"B. {name}: 200 for {duration:g} s")
    full = load(url, {}, duration)
    note(f"B. {name}: 304 for {duration:g} s")
    cond = load(url, {"If-None-Match": etag}, duration)
    check(port, body, etag)
    return {"200": full, "304": cond}


BARE_APP = '''"""Bare Flask: the same bytes, ETag, Content-Type; 304 on an equal If-None-Match."""
import os
from flask import Flask, Response, request

with open(os.environ["BENCH_BODY"], "rb") as f:
    BODY = f.read()
ETAG = os.environ["BENCH_ETAG"]
TYPE = os.environ["BENCH_TYPE"]
app = Flask(__name__)


@app.get("/feeds/all.atom")
def feed():
    if request.headers.get("If-None-Match") == ETAG:
        return Response(status=304, headers={"ETag": ETAG})
    return Response(BODY, content_type=TYPE, headers={"ETag": ETAG})
'''

# A bare Flask view under granian's WSGI interface, as any WSGI deployment runs one, with the
# default PUBLISHER_THREADS (publisher serve runs its own front on granian's RSGI interface).
BARE_SERVE = """import os, sys
from granian import Granian
from granian.constants import Interfaces
from publisher.config import load_settings
sys.path.insert(0, os.getcwd())
Granian("bare_app:app", address="127.0.0.1", port=int(os.environ["BENCH_PORT"]),
        interface=Interfaces.WSGI, workers=1, blocking_threads=load_settings().threads,
        log_access=False).serve()
"""

NGINX_CONF = """daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    types {{ application/atom+xml atom; }}
    charset utf-8;
    charset_types application/atom+xml;
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
    }}
}}
"""


def ensure_tools() -> None:
    """Install wrk and nginx from Debian when missing (root, apt-get)."""
    missing = [name for name in ("wrk", "nginx") if not shutil.which(name)]
    if not missing or not shutil.which("apt-get") or os.geteuid() != 0:
        return
    note(f"installing {' '.join(missing)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, timeout=300, check=False)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], env=env, timeout=600, check=False)


PUBLISHER_RUNS = (("publisher serve", "0"), ("publisher serve, access log on", "1"))


def bench_serving(duration: float, tmp: Path) -> str:
    results: dict[str, dict[str, Load]] = {}
    work = tmp / "serving"
    (work / "www" / "feeds").mkdir(parents=True)

    # The access log is on by default (one line per request, to the server's log); the
    # first run is without it, to compare the serving itself.
    for name, access_log in PUBLISHER_RUNS:
        port = free_port()
        env = clean_env(
            PUBLISHER_DATA=str(DATA),
            PUBLISHER_DATABASE=str(work / "publisher.sqlite3"),
            PUBLISHER_ACCESS_LOG=access_log,
            PUBLISHER_HOST=HOST,
            PUBLISHER_PORT=str(port),
        )
        log = work / f"publisher-{access_log}.log"
        cmd = pinned([str(BIN / "publisher"), "serve"], SERVER_CPU)
        with process(cmd, log, work, env) as proc:
            wait_for(port, FEED, proc, log)
            first = get(port, FEED)
            body, etag, ctype = first.body, first.headers["etag"], first.headers["content-type"]
            results[name] = measure(name, port, body, etag, duration)

    (work / "www" / "feeds" / "all.atom").write_bytes(body)
    (work / "bare_app.py").write_text(BARE_APP)
    (work / "bare_serve.py").write_text(BARE_SERVE)
    port = free_port()
    env = clean_env(
        BENCH_BODY=str(work / "www" / "feeds" / "all.atom"),
        BENCH_ETAG=etag,
        BENCH_TYPE=ctype,
        BENCH_PORT=str(port),
    )
    log = work / "bare.log"
    cmd = pinned([sys.executable, "bare_serve.py"], SERVER_CPU)
    with process(cmd, log, work, env) as proc:
        wait_for(port, FEED, proc, log)
        results["bare Flask (granian)"] = measure("bare Flask", port, body, etag, duration)

    if shutil.which("nginx"):
        port = free_port()
        conf = work / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=work, port=port))
        os.chmod(tmp, 0o755)  # nginx workers run as nobody: let them reach www/
        os.chmod(work, 0o755)
        log = work / "nginx.log"
        cmd = pinned(["nginx", "-p", str(work), "-e", str(work / "nginx-error.log")], SERVER_CPU)
        with process([*cmd, "-c", str(conf)], log, work, clean_env()) as proc:
            wait_for(port, FEED, proc, work / "nginx-error.log")
            nginx_etag = get(port, FEED).headers["etag"]
            results["nginx"] = measure("nginx", port, body, nginx_etag, duration)
    else:
        note("nginx is not installed and could not be installed: no nginx row")

    rows = []
    for name, by in results.items():
        rows.append(
            [name]
            + [f"{by[k].rps:,.0f}" for k in ("200", "304")]
            + [f"{by[k].p99_ms:.2f}" for k in ("200", "304")]
            + [f"{by[k].bytes_per_request:,.0f}" for k in ("200", "304")]
            + [f"{by['200'].errors} / {by['304'].errors}"]
        )
    for name, access_log in PUBLISHER_RUNS:
        pub = results[name]
        for other, goal in (("bare Flask (granian)", GOAL_VS_FLASK), ("nginx", GOAL_VS_NGINX)):
            if other not in results:
                continue
            ratios = [pub[k].rps / results[other][k].rps for k in ("200", "304")]
            marks = ["ok" if r >= goal else "MISS" for r in ratios]
            versus = "bare-flask" if "Flask" in other else other
            log_note = ", log on" if access_log == "1" else ""
            rows.append(
                [f"ratio publisher{log_note}/{versus} (goal >= {goal:g}x)"]
                + [f"{r:.2f}x {m}" for r, m in zip(ratios, marks, strict=True)]
                + ["", "", "", "", ""]
            )
    generator = (
        "wrk -t1 -c16 --latency"
        if shutil.which("wrk")
        else "Python asyncio client (wrk missing; the client, not the server, may be the limit)"
    )
    title = (
        f"B. Serving {FEED} of the bundled data ({len(body):,} bytes): {generator}, "
        f"{CONNECTIONS} connections, {duration:g} s per run,\n"
        f"   server on CPU {SERVER_CPU}, load generator on CPU {CLIENT_CPU}; "
        "304 = If-None-Match with the server's own ETag."
    )
    headers = ["server", "200 req/s", "304 req/s", "200 p99 ms", "304 p99 ms"]
    headers += ["200 B/req", "304 B/req", "errors 200 / 304"]
    return table(title, headers, rows)


# --------------------------------------------------------------------------- C. start-up


PATHS = ("/healthz", "/")


def time_startup(data: Path, database: Path, work: Path, give_up: float = 10.0) -> list[str]:
    """Seconds from launching publisher serve to the first 200 on /healthz and on /."""
    port = free_port()
    env = clean_env(
        PUBLISHER_DATA=str(data),
        PUBLISHER_DATABASE=str(database),
        PUBLISHER_ACCESS_LOG="0",
        PUBLISHER_HOST=HOST,
        PUBLISHER_PORT=str(port),
    )
    log = work / f"startup-{port}.log"
    first: dict[str, float] = {}
    started = time.perf_counter()
    with process([str(BIN / "publisher"), "serve"], log, work, env) as proc:
        while len(first) < 2 and time.perf_counter() - started < give_up:
            if proc.poll() is not None:
                raise RuntimeError(f"publisher serve exited:\n{tail(log)}")
            for path in PATHS:
                if path in first:
                    continue
                left = give_up - (time.perf_counter() - started)
                with contextlib.suppress(OSError, http.client.HTTPException):
                    if get(port, path, timeout=max(0.05, min(1.0, left))).status == 200:
                        first[path] = time.perf_counter() - started
            time.sleep(0.02)
    return [f"{first[p]:.2f}" if p in first else f"> {give_up:g} (gave up)" for p in PATHS]


def bench_startup(tmp: Path, folders: dict[int, Path]) -> str:
    work = tmp / "startup"
    work.mkdir()
    rows = []
    database = work / "bundled.sqlite3"
    rows.append(["bundled data, new database", *time_startup(DATA, database, work)])
    rows.append(["bundled data, database from the run above", *time_startup(DATA, database, work)])
    if folders:
        size = max(folders)
        fresh = work / f"generated-{size}.sqlite3"
        rows.append([f"{size:,} groups, new database", *time_startup(folders[size], fresh, work)])
        stored = work / f"stored-{size}.sqlite3"
        shutil.copy(tmp / f"publish-{size}.sqlite3", stored)  # A's database, publication in it
        # The folder A published (a database publishes one folder), edited once more: the
        # server serves A's publication at once and loads the edit meanwhile.
        edited = tmp / f"edit-{size}"
        edit_description(next(f for f in sorted(edited.glob("*-*.yaml"))), 99)
        case = f"{size:,} groups, database from A (one group edited since)"
        rows.append([case, *time_startup(edited, stored, work)])
    title = (
        "C. Start-up: launching `publisher serve` (access log off) to the first 200, "
        "polled every 20 ms, give up after 10 s"
    )
    return table(title, ["case", "/healthz s", "/ s"], rows)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="15,1000,10000", help="group counts for A")
    parser.add_argument("--edits", type=int, default=3, help="one-field edits per size (A)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per load run (B)")
    parser.add_argument("--quick", action="store_true", help="sizes 15,1000; 3 s load runs")
    parser.add_argument("--only", default="ABCDEFG", help="parts to run, e.g. --only B")
    parser.add_argument(
        "--hold", type=float, default=20, help="seconds slow clients are held, per scenario (F)"
    )
    parser.add_argument("--meeting-groups", type=int, default=1000, help="groups for D")
    parser.add_argument(
        "--subscribers", type=int, nargs="+", default=[1000, 10000], help="fan-outs for E"
    )
    parser.add_argument(
        "--flood-sizes", type=int, nargs="+", default=[1000, 10000], help="groups for G"
    )
    parser.add_argument("--child-publish", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_publish:
        data, edit_file, database, edits = args.child_publish
        child_publish(Path(data), Path(edit_file), Path(database), int(edits))
        return 0
    if args.quick:
        args.sizes, args.duration, args.edits, args.hold = "15,1000", 3, 3, 5
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    parts = args.only.upper()

    # A terminating signal unwinds through the finally blocks that stop servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="publisher-bench-") as name:
        tmp = Path(name)
        folders: dict[int, Path] = {}
        if "A" in parts:
            text, folders = bench_publishing(sizes, args.edits, tmp)
            print(text + "\n", flush=True)

        def serving() -> str:
            ensure_tools()
            return bench_serving(args.duration, tmp)

        later = {
            "B": serving,
            "C": lambda: bench_startup(tmp, folders),  # on A's folders, when A ran
            "D": lambda: bench_calendars(args.meeting_groups),
            "E": lambda: bench_hub(tuple(args.subscribers)),
            "F": lambda: bench_slow_clients(args.hold),
            "G": lambda: bench_flood(tuple(args.flood_sizes)),
        }
        for part, run in later.items():
            if part in parts:
                print(run() + "\n", flush=True)
    print(
        f"Machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; "
        f"whole run {time.perf_counter() - began:.0f} s."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
