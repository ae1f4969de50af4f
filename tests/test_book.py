"""The rendered book (tools/book.py) opens in headless Chromium with every chapter's plots visible;
slides render too."""

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("book", ROOT / "tools" / "book.py")
book = importlib.util.module_from_spec(spec)
spec.loader.exec_module(book)

CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


@pytest.fixture(scope="module")
def book_dir(tmp_path_factory):
    built = ROOT / "dist" / "book"
    if all((built / f"{p.stem}.html").exists() and (built / f"{p.stem}.html").stat().st_mtime >= p.stat().st_mtime
           for p in CHAPTERS) and (built / "index.html").exists():
        return built  # made by `make book` just before the tests
    out = tmp_path_factory.mktemp("book")
    book.build_book(out, CHAPTERS)
    return out


def _chromium(tmp_path, *args):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium not installed (apt-get install chromium) - the CI run installs it")
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


def test_index_lists_every_chapter(book_dir):
    index = (book_dir / "index.html").read_text(encoding="utf-8")
    for p in CHAPTERS:
        assert f"href='{p.stem}.html'" in index
        assert book.title_of(nbformat.read(p, as_version=4)).split(" ", 1)[1][:20] in index


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem[:2] for p in CHAPTERS])
def test_chapter_plots_are_visible_in_chromium(book_dir, chapter, tmp_path):
    nb = nbformat.read(chapter, as_version=4)
    expected = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if "image/png" in o.get("data", {}))
    assert expected >= 1, f"{chapter.name} has no plot"
    page = (book_dir / f"{chapter.stem}.html").resolve()
    dom = _chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", page.as_uri()).stdout
    loaded = re.search(r'data-images-loaded="(\d+)"', dom)
    assert loaded, "the page's load probe did not run"
    assert int(loaded.group(1)) >= expected, f"only {loaded.group(1)} of {expected} plots decoded"


def test_screenshot_of_a_chapter_shows_content(book_dir, tmp_path):
    shot = tmp_path / "shot.png"
    page = (book_dir / f"{CHAPTERS[0].stem}.html").resolve()
    _chromium(tmp_path, "--window-size=1200,2400", f"--screenshot={shot}", page.as_uri())
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 30_000, "screenshot is missing or blank"


def test_slides_render(tmp_path):
    dest = book.build_slides(tmp_path, CHAPTERS[0])
    text = dest.read_text(encoding="utf-8")
    assert "reveal" in text and text.count("<section") >= 5 and "data:image/png" in text
