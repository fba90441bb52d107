"""Running a benchmark part's measuring subprocess: one place for its limits and errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_child(cmd: list[str], part: str, timeout: float = 600) -> str:
    """The child's standard output; on failure, stop with the end of its error output."""
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT
    )
    if out.returncode:
        raise SystemExit(f"Part {part} failed:\n{out.stderr[-3000:]}")
    return out.stdout
