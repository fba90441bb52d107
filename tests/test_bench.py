"""The benchmarks' own code keeps working: a small run of the calendar part (D).

Benchmarks print figures and set no pass mark here (timings live in bench/, not in tests);
this only catches a benchmark broken by a change of the code it measures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_calendar_benchmark_runs_on_a_small_directory():
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "calendars.py"), "20"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "D. Calendars: 20 meeting groups" in out.stdout
    assert "| All, category and group calendars (25 documents)" in out.stdout


def test_hub_benchmark_runs_with_a_few_subscribers():
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "hub.py"), "20"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "| 20 |" in out.stdout
