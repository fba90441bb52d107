"""A wheel of publisher serves everything: pages, stylesheet and scripts ship inside it.

The bug: nothing mapped the templates into the package, so `pip install .` (not `-e`)
shipped none, and every page answered 503. The wheel is built here and installed into a
folder of its own; `publisher serve` then runs from another folder with only that copy of
publisher on its path (its dependencies from this virtualenv).
"""

import os
import subprocess
import sys
import zipfile

import requests

from tests.conftest import ROOT
from tests.test_serve import free_port, launch, stop, wait_ready


def pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "-q", *args], check=True, capture_output=True, timeout=300
    )


def test_pip_install_dot_serves_pages_styles_and_scripts(tmp_path):
    wheels = tmp_path / "wheels"
    # With this virtualenv's setuptools (no build isolation): nothing is downloaded.
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT))
    (wheel,) = wheels.glob("publisher-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "publisher/templates/home.html" in names
    assert "publisher/templates/static/style.css" in names
    assert "publisher/templates/embed/v1.js" in names
    site = tmp_path / "site"
    pip("install", "--no-deps", "--target", str(site), str(wheel))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "PUBLISHER_DATABASE": str(tmp_path / "db.sqlite3"),
        "PUBLISHER_WATCH": "0",
    }
    process = launch(["--data", str(ROOT / "data"), "--port", str(port)], env, elsewhere)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        for path in ("/", "/static/style.css", "/embed/v1.js", "/feeds/all.atom"):
            assert requests.get(url + path, timeout=5).status_code == 200, path
    finally:
        stop(process)
    found = subprocess.run(
        [sys.executable, "-c", "import publisher; print(publisher.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert found.startswith(str(site)), found
