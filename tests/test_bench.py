"""The benchmarks' own code keeps working: small runs of the publishing (A), start-up (C),
calendar (D), hub (E), slow-client (F) and hub-flood (G) parts.

Benchmarks print figures and set no pass mark here (timings live in bench/, not in tests);
this only catches a benchmark broken by a change of the code it measures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("script", "size", "expected"),
    [
        (
            "calendars.py",
            "20",
            [
                "D. Calendars: 20 meeting groups",
                "| All, category and group calendars (25 documents)",
            ],
        ),
        ("hub.py", "20", ["E. WebSub fan-out", "| 20 |"]),
        ("slow.py", "1", ["F. Other clients", "1,500 slow headers, a line every 2 s"]),
        (
            "flood.py",
            "20",
            ["G1. 1,000 POST /hub", "| refused (default) | 1,000 × 400 |", "| accepted (202) |"],
        ),
    ],
)
def test_benchmark_part_runs_small(script, size, expected):
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), size],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for text in expected:
        assert text in out.stdout


def test_publishing_and_start_up_parts_run_small():
    """A times cold loads and edits; C starts a server on A's database (bug: C looked for a
    database A no longer wrote, once A ran several cold loads)."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--only", "AC", "--sizes", "15"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "cold s (median of 3, range)" in out.stdout
    assert "15 groups, database from A" in out.stdout
