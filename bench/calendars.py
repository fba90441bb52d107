"""Part D of the benchmark: rendering the calendars of 1,000 meeting groups.

Every group has a recurring series with a moved and a cancelled meeting, and some have a
one-off meeting. Each event appears in its group's, its category's and the all calendar;
the goal is all of those under 1 s, which needs each event serialised once. Beside it, in the
same run: a bare loop serialising the same number of VEVENTs with icalendar (the reference),
icalendar's ``Event.to_ical`` serialising the very VEVENTs of the all calendar, each whole
(what render/ical.py would cost serialising each VEVENT with it, docs/BENCHMARKS.md), the
single-meeting files of the next 12 months, and a whole cold load of that directory.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml
from child import run_child  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RULES = (
    ("week", "Tuesday"),
    ("2 weeks", "Thursday"),
    ("month", "first Monday"),
    ("month", "last Friday"),
    ("2 months", "second Wednesday"),
    ("month", "day 15"),
)


def generate(folder: Path, groups: int, seed: int = 7) -> None:
    """A data folder of ``groups`` meeting groups over the bundled site's categories."""
    from publisher.directory import schedule, schedule_words
    from publisher.model.directory import Rule, Series, TimeRange

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    site = (ROOT / "data" / "site.yaml").read_text(encoding="utf-8")
    (folder / "site.yaml").write_text(site, encoding="utf-8")
    categories = [c["slug"] for c in yaml.safe_load(site)["categories"]]
    files: dict[str, list[dict[str, object]]] = {c: [] for c in categories}
    for n in range(groups):
        every, on = rng.choice(RULES)
        hour = rng.randint(9, 19)
        starts = date(2026, 1, 1) + timedelta(days=rng.randint(0, 300))
        zone = "America/New_York" if rng.random() < 0.1 else "Europe/London"
        freq, interval = schedule_words.parse_every(every)
        weekdays, monthday, month = schedule_words.parse_on(on, freq)
        series = Series(
            "k",
            starts,
            Rule(freq, interval, weekdays, monthday, month),
            TimeRange(datetime(1, 1, 1, hour).time(), datetime(1, 1, 1, hour + 2).time()),
        )
        coming = [d for d in schedule.series_dates(series, limit=200) if d > NOW.date()][:6]
        entry: dict[str, object] = {
            "starts": starts.isoformat(),
            "every": every,
            "on": on,
            "time": f"{hour:02d}:00-{hour + 2:02d}:00",
            "moved": [
                {
                    "date": coming[1].isoformat(),
                    "to": (coming[1] + timedelta(days=1)).isoformat(),
                    "note": "Moved.",
                }
            ],
            "cancelled": [{"date": coming[3].isoformat(), "note": "Cancelled."}],
        }
        meetings: dict[str, object] = {"time_zone": zone, "series": [entry]}
        if rng.random() < 0.3:
            day = NOW.date() + timedelta(days=rng.randint(10, 300))
            while day in coming:
                day += timedelta(days=1)
            meetings["one_off"] = [
                {"date": day.isoformat(), "time": "06:00-07:00", "title": "Early session"}
            ]
        files[categories[n % len(categories)]].append(
            {
                "slug": f"meeting-group-{n}",
                "name": f"Meeting group {n}",
                "description": f"A generated group that meets {every} on the {on}.",
                "place": {"as_published": f"Room {n}, Example Centre"},
                "meetings": meetings,
            }
        )
    for slug, members in files.items():
        with open(folder / f"{slug}.yaml", "w", encoding="utf-8") as f:
            yaml.safe_dump(
                {"category": slug, "groups": members}, f, sort_keys=False, allow_unicode=True
            )


def child(folder: Path, database: Path) -> None:
    """Runs in a subprocess. Prints JSON timings."""
    from icalendar import Calendar, Event

    from publisher import calendars, urls
    from publisher.config import load_settings
    from publisher.directory.validate import load_directory
    from publisher.model.events import State
    from publisher.model.history import Entry, History
    from publisher.publish import Publisher
    from publisher.render import ical
    from publisher.render.common import Site
    from publisher.sitemap import calendars as calendar_documents
    from publisher.sitemap.context import Load, Memo

    directory = load_directory(folder)
    ids = {g.slug: f"tag:bench.example,2026-01-01:{g.slug}" for g in directory.groups}
    found = calendars.events_of(directory, ids)
    states = {e.uid: State(e.uid, NOW, NOW, 0) for e in found}
    site = Site("https://bench.example", "bench", "Bench", "Bench", "en-GB", (), 100, "tag:x")
    entries = tuple(
        Entry(n, ids[g.slug], g.slug, c.slug, g.name, g.fingerprint, NOW, NOW, None)
        for n, (c, g) in enumerate((c, g) for c in directory.categories for g in c.groups)
    )
    history = History("tag:x", NOW, entries, {e.slug: e.id for e in entries}, (), {}, 0)

    def run() -> tuple[float, float, int, int]:
        """Cold: nothing memoised. Whole calendars first, then the single-meeting files."""
        calendars._expanded.cache_clear()  # noqa: SLF001 - time the expansion too
        ical._shared.cache_clear()  # noqa: SLF001 - and every event's lines
        ical._words.cache_clear()  # noqa: SLF001
        ical._revision.cache_clear()  # noqa: SLF001
        started = time.perf_counter()
        cal = calendars.Calendars(found, states, calendars.upcoming(directory, NOW))
        whole = single = 0
        middle = 0.0
        load = Load(directory, history, site, Memo(), cal)
        for document in calendar_documents.documents(load):
            began = time.perf_counter()
            document.render(*document.arguments())
            if document.path.count("/") > 3:
                single += 1
                middle += time.perf_counter() - began
            else:
                whole += 1
        total = time.perf_counter() - started
        return total - middle, middle, whole, single

    runs = [run() for _ in range(3)]
    components = sum(
        1 + len(getattr(e.source, "moved", ())) + len(getattr(e.source, "cancelled", ()))
        for e in found
    )

    def bare() -> float:
        """The reference: icalendar serialising as many VEVENTs, each once."""
        started = time.perf_counter()
        for n in range(components):
            vevent = Event()
            vevent.add("UID", f"bare-{n}@bench")
            vevent.add("DTSTAMP", NOW)
            vevent.add("DTSTART", NOW)
            vevent.add("DTEND", NOW + timedelta(hours=2))
            vevent.add("SUMMARY", f"Meeting group {n}")
            vevent.add("DESCRIPTION", "A generated group that meets every month.")
            vevent.add("LOCATION", f"Room {n}, Example Centre")
            vevent.to_ical()
        return time.perf_counter() - started

    bare_s = min(bare() for _ in range(3))
    cal = calendars.Calendars(found, states, calendars.upcoming(directory, NOW))
    every = next(
        document.render(*document.arguments())
        for document in calendar_documents.documents(Load(directory, history, site, Memo(), cal))
        if document.path == urls.CALENDAR("all")
    )
    parsed = Calendar.from_ical(every).walk("VEVENT")

    def whole() -> float:
        """icalendar serialising the very VEVENTs of the all calendar, each whole."""
        started = time.perf_counter()
        for vevent in parsed:
            vevent.to_ical()
        return time.perf_counter() - started

    whole_s = min(whole() for _ in range(3))
    settings = load_settings({"data": str(folder), "database": str(database), "watch": False})
    started = time.perf_counter()
    publisher = Publisher(settings, lambda: NOW)
    publisher.reload()
    cold_s = time.perf_counter() - started
    publisher.close()
    print(
        json.dumps(
            {
                "events": len(found),
                "components": components,
                "calendars": runs[0][2],
                "singles": runs[0][3],
                "whole_s": [r[0] for r in runs],
                "single_s": [r[1] for r in runs],
                "bare_s": bare_s,
                "whole_vevents_s": whole_s,
                "cold_s": cold_s,
            }
        )
    )


def bench_calendars(groups: int = 1000) -> str:
    """Part D's table, from a subprocess on a generated folder."""
    with tempfile.TemporaryDirectory(prefix="publisher-bench-cal-") as name:
        folder = Path(name) / "data"
        generate(folder, groups)
        out = run_child(
            [sys.executable, __file__, "--child", str(folder), str(Path(name) / "db.sqlite3")],
            "D",
        )
    r = json.loads(out)
    whole = statistics.median(r["whole_s"])
    rows = [
        (
            f"All, category and group calendars ({r['calendars']} documents), with the "
            "expansion of every schedule",
            f"{whole:.2f} s",
            "< 1 s",
        ),
        (
            f"Bare loop: icalendar serialising {r['components']} VEVENTs once",
            f"{r['bare_s']:.2f} s",
            "",
        ),
        ("Calendars / bare loop", f"{whole / r['bare_s']:.2f}x", ""),
        (
            f"icalendar's Event.to_ical on the same {r['components']} VEVENTs, each whole",
            f"{r['whole_vevents_s']:.2f} s",
            "",
        ),
        (
            f"Rendering the single-meeting files of the next 12 months ({r['singles']})",
            f"{statistics.median(r['single_s']):.2f} s",
            "",
        ),
        ("Whole cold load of this directory (pages, feeds, calendars)", f"{r['cold_s']:.2f} s", ""),
    ]
    lines = [
        f"D. Calendars: {groups} meeting groups, {r['events']} events "
        f"({r['components']} VEVENTs with overrides); median of 3",
        "| What | Time | Goal |",
        "| --- | --- | --- |",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        sys.path.insert(0, str(ROOT))
        child(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        print(bench_calendars(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
