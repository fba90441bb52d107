"""The version of the code that renders: new code re-renders every document once.

A module of its own, importing nothing heavy, because a helper process answers with it
before its first job (publisher.helpers): it should not have to import every renderer to
say which code it runs.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
TEMPLATES = PACKAGE / "templates"


@cache
def render_version() -> str:
    """Hash of publisher's code and templates.

    The whole package, not only render/: words that reach pages live elsewhere too (the
    flags' labels in the model, the 404 and 410 notices in sitemap/notices.py)."""
    files = sorted([*PACKAGE.rglob("*.py"), *TEMPLATES.rglob("*.*")])
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(path.parent.parent)).encode() + path.read_bytes())
    return digest.hexdigest()
