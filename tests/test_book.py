"""The book (tools/book.py: Sphinx + MyST-NB) and the slides, opened offline in headless Chromium.

Pages are served from 127.0.0.1 and every other request is refused by Playwright (and by Chromium's
host resolver), so anything that still needs the internet (a CDN, an external image) shows up as a
failure. Screenshots of the index and three chapters are saved in ``<book>/_screenshots/`` for a human
to look at (``dist/book/_screenshots/`` after ``make book``).
"""

import base64
import functools
import http.server
import importlib.util
import os
import re
import shutil
import struct
import threading
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("book", ROOT / "tools" / "book.py")
book = importlib.util.module_from_spec(spec)
spec.loader.exec_module(book)

CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SEARCH_CHAPTER = next(p for p in CHAPTERS if p.name.startswith("08_"))
# Chromium flags that keep it from calling home; the resolver rule makes any non-local host unreachable.
FLAGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
# Visible text outside code, math and scripts: where raw TeX would show if MathJax did not run.
PROSE_JS = """() => { const w = document.createTreeWalker(document.querySelector('article') || document.body,
  NodeFilter.SHOW_TEXT); const out = []; let n;
  while ((n = w.nextNode())) { const p = n.parentElement;
    if (p.closest('pre, code, mjx-container, script, style, .highlight')) continue;
    out.push(n.textContent); }
  return out.join(' '); }"""
IMAGES_JS = """() => [...document.querySelectorAll('article img')].filter(i => i.src.includes('/_images/'))
  .map(i => ({src: i.src, ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth}))"""


# --- helpers -------------------------------------------------------------------------------------

def _png_widths(nb) -> list[int]:
    """Pixel widths of the PNG figures the book shows (cells it removes are skipped)."""
    widths = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "remove-cell" in cell.metadata.get("tags", []):
            continue
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if png:
                widths.append(struct.unpack(">I", base64.b64decode(png)[16:20])[0])
    return widths


def _staged(path: Path):
    return book.book_notebook(nbformat.read(path, as_version=4), path.name, "https://github.com/o/r")


def _has_math(path: Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    return any("$" in c.source for c in nb.cells if c.cell_type == "markdown")


def _unique_word(chapter: Path) -> str:
    """A prose word of ``chapter`` that no other chapter contains anywhere (for the search test)."""
    def prose(p):
        md = " ".join(c.source for c in nbformat.read(p, as_version=4).cells if c.cell_type == "markdown")
        md = re.sub(r"`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|\([^)]*\)|<[^>]*>", " ", md, flags=re.S)
        return set(re.findall(r"\b[a-z]{7,}\b", md.lower()))
    others = " ".join(p.read_text(encoding="utf-8").lower() for p in CHAPTERS if p != chapter)
    words = sorted(w for w in prose(chapter) if w not in others)
    assert words, f"{chapter.name} has no word that other chapters lack"
    return words[0]


# --- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def book_dir(tmp_path_factory):
    built = ROOT / "dist" / "book"
    def fresh(p: Path) -> bool:
        page = built / "chapters" / f"{p.stem}.html"
        return page.exists() and page.stat().st_mtime >= p.stat().st_mtime
    if (built / "index.html").exists() and all(fresh(p) for p in CHAPTERS):
        return built  # made by `make book` just before the tests
    work = tmp_path_factory.mktemp("book")
    book.build_book(work / "html", CHAPTERS, work=work / "work")
    return work / "html"


def _serve(directory: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


@pytest.fixture(scope="module")
def site(book_dir):
    server, url = _serve(book_dir)
    yield url
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium not installed (apt-get install chromium) - the CI run installs it")
    from playwright.sync_api import sync_playwright  # Debian's chromium; never `playwright install`
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def offline_page(browser):
    """A page whose only reachable host is 127.0.0.1; ``page.blocked`` lists every other URL it asked for."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    blocked: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith(("http://127.0.0.1:", "data:", "blob:")):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()
    context.route("**/*", route)
    page = context.new_page()
    page.blocked = blocked
    yield page
    context.close()


def _open(page, url: str) -> None:
    page.goto(url, wait_until="load")
    # MathJax 3 (a deferred script) typesets after load; its startup promise resolves when it is done.
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise.then(() => true) : null")


def _check_math(page, chapter: Path) -> None:
    text = page.evaluate(PROSE_JS)
    assert "$$" not in text, f"{chapter.name}: raw $$ visible: ...{text[text.find('$$') - 60:][:160]}..."
    assert not re.search(r"\\(frac|sum|mathrm|sqrt|begin)\b", text), f"{chapter.name}: raw TeX visible"
    if _has_math(chapter):
        assert page.locator("mjx-container").count() > 0, f"{chapter.name}: MathJax rendered no formula"
    assert page.locator("mjx-merror").count() == 0, f"{chapter.name}: MathJax could not parse a formula"


def _check_images(page, chapter: Path) -> None:
    widths = _png_widths(_staged(chapter))
    assert widths, f"{chapter.name} has no plot"
    images = page.evaluate(IMAGES_JS)
    broken = [i["src"] for i in images if not i["ok"]]
    assert not broken, f"{chapter.name}: images did not decode: {broken}"
    assert sorted(i["w"] for i in images) == sorted(widths), \
        f"{chapter.name}: figures not shown at the notebook's resolution ({len(images)} vs {len(widths)})"


# --- pure functions (no browser) ----------------------------------------------------------------

def test_book_notebook_hides_install_cell_and_solutions_and_replaces_the_badge():
    nb = nbformat.read(CHAPTERS[0], as_version=4)
    staged = book.book_notebook(nb, CHAPTERS[0].name, "https://github.com/o/r")
    install = [c for c in staged.cells if book.is_install_cell(c)]
    assert len(install) == 1 and "remove-cell" in install[0].metadata["tags"]
    solutions = [c for c in staged.cells if c.cell_type == "code" and book.BEGIN_SOLUTION in c.source]
    assert solutions and all({"hide-input", "hide-cell"} & set(c.metadata["tags"]) for c in solutions)
    assert all(c.metadata["mystnb"]["code_prompt_show"].startswith("Show solution") for c in solutions)
    title = next(c for c in staged.cells if c.cell_type == "markdown" and "\n# " in "\n" + c.source)
    assert "colab-badge.svg" not in title.source
    assert f"https://colab.research.google.com/github/o/r/blob/main/chapters/{CHAPTERS[0].name}" in title.source
    assert f'href="../notebooks/{CHAPTERS[0].name}" download' in title.source
    # the chapter itself is not changed
    assert "remove-cell" not in nb.cells[0].metadata.get("tags", []) and "colab-badge.svg" in nb.cells[1].source


def test_install_cell_is_found_by_tag_or_marker_line():
    cell = nbformat.v4.new_code_cell("print('setup')", metadata={"tags": ["colab-install"]})
    assert book.is_install_cell(cell)
    assert book.is_install_cell(nbformat.v4.new_code_cell(book.INSTALL_MARK + " (course_lib)\nimport os"))
    assert not book.is_install_cell(nbformat.v4.new_code_cell("import os"))
    assert not book.is_install_cell(nbformat.v4.new_markdown_cell(book.INSTALL_MARK))


def test_long_outputs_are_folded():
    cell = nbformat.v4.new_code_cell("for i in range(100): print(i)", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="".join(f"{i}\n" for i in range(100)))])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 99 · T"), cell])
    staged = book.book_notebook(nb, "99_t.ipynb", "https://github.com/o/r")
    assert "hide-output" in staged.cells[1].metadata["tags"]
    assert staged.cells[1].metadata["mystnb"]["code_prompt_show"] == "Show output (100 lines)"


def test_build_book_refuses_an_empty_chapter_list(tmp_path):
    with pytest.raises(ValueError, match="notebooks"):
        book.build_book(tmp_path, [])


def test_index_lists_every_chapter(book_dir):
    index = (book_dir / "index.html").read_text(encoding="utf-8")
    for p in CHAPTERS:
        assert f'href="chapters/{p.stem}.html"' in index
        assert book.title_of(nbformat.read(p, as_version=4)).split(" ", 2)[-1][:20] in index
    assert (book_dir / "_static" / "mathjax" / "tex-chtml.js").exists()
    for p in CHAPTERS:  # the downloads the chapter pages link to
        assert (book_dir / "notebooks" / p.name).read_bytes() == p.read_bytes()
        assert book.BEGIN_SOLUTION not in (book_dir / "student" / p.name).read_text(encoding="utf-8")


# --- in the browser, offline ---------------------------------------------------------------------

def test_every_chapter_is_reachable_from_the_navigation(book_dir, site, offline_page):
    """Sidebar lists every chapter; following "next" from the index visits them all in order, and on
    each page the figures decode at full resolution and every formula is typeset."""
    page = offline_page
    _open(page, site + "index.html")
    sidebar = page.eval_on_selector_all("nav.bd-docs-nav a.reference.internal", "els => els.map(e => e.href)")
    for p in CHAPTERS:
        assert any(h.endswith(f"chapters/{p.stem}.html") for h in sidebar), f"{p.name} missing from the sidebar"
    visited = []
    for _ in range(len(CHAPTERS) + 1):
        nxt = page.locator("a.right-next")
        if nxt.count() == 0:
            break
        nxt.first.click()
        page.wait_for_load_state("load")
        _open(page, page.url)
        visited.append(page.url.split("/")[-1].split("#")[0])
        chapter = CHAPTERS[len(visited) - 1]
        assert page.locator("a.left-prev").count() == 1, f"{chapter.name}: no previous link"
        _check_math(page, chapter)
        _check_images(page, chapter)
    assert visited == [f"{p.stem}.html" for p in CHAPTERS]
    assert not page.blocked, f"pages asked for the network: {sorted(set(page.blocked))[:5]}"


@pytest.mark.parametrize("which", ["index", "first", "most-math", "search-chapter"])
def test_page_renders_offline_and_is_screenshotted(book_dir, site, offline_page, which):
    counts = {p: sum(c.source.count("$") for c in nbformat.read(p, as_version=4).cells if c.cell_type == "markdown")
              for p in CHAPTERS}
    chapter = {"first": CHAPTERS[0], "most-math": max(counts, key=counts.get),
               "search-chapter": SEARCH_CHAPTER}.get(which)
    page = offline_page
    _open(page, site + ("index.html" if chapter is None else f"chapters/{chapter.stem}.html"))
    shots = book_dir / "_screenshots"
    shots.mkdir(exist_ok=True)
    shot = shots / f"{which if chapter is None else chapter.stem}.png"
    target = page.locator("article mjx-container[display=true], article .cell_output img").first
    if target.count():  # show a typeset formula (or a figure) rather than only the title
        target.scroll_into_view_if_needed()
        page.evaluate("() => window.scrollBy(0, -250)")
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 30_000, "screenshot is blank"
    assert not page.blocked, f"page asked for the network: {sorted(set(page.blocked))[:5]}"
    if chapter is None:
        assert page.locator("article li.toctree-l1").count() == len(CHAPTERS)
        assert page.locator("article li.toctree-l2").count() >= 3 * len(CHAPTERS), "sections missing from the TOC"
        return
    _check_math(page, chapter)
    _check_images(page, chapter)
    text = page.inner_text("article")
    assert "Colab only: install the course helpers" not in text, "the Colab install cell is shown"
    # solutions are folded: present in the page, not visible until the toggle is opened
    solution = page.locator("article details.hide").filter(has_text="BEGIN SOLUTION").first
    assert solution.count() == 1 and not solution.locator("pre").first.is_visible()
    solution.locator("summary").first.click()
    assert solution.locator("pre").first.is_visible()
    # code keeps syntax highlighting (Pygments spans) and the chapter links work
    assert page.locator("article div.highlight-ipython3 pre span.kn").count() > 0
    colab = page.locator(".chapter-links a.colab")
    assert colab.get_attribute("href") == book.colab_url(chapter.name)
    for cls in ("download", "student"):
        href = page.locator(f".chapter-links a.{cls}").get_attribute("href")
        status = page.evaluate("async u => (await fetch(u)).status", href)
        assert status == 200, f"{cls} link {href} is broken"


def test_search_finds_chapter_08(site, offline_page):
    word = _unique_word(SEARCH_CHAPTER)
    page = offline_page
    _open(page, site + "index.html")
    box = page.locator("nav.bd-docs-nav, .bd-sidebar-primary").locator("input[name=q]").first
    if not box.is_visible():  # narrow layouts: the search dialog (Ctrl+K)
        page.keyboard.press("Control+k")
        box = page.locator("input[name=q]:visible").first
    box.fill(word)
    box.press("Enter")
    page.wait_for_url(re.compile(r"search\.html\?q="))
    page.wait_for_selector("#search-results li a", timeout=20_000)
    hits = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.href)")
    assert any(f"chapters/{SEARCH_CHAPTER.stem}.html" in h for h in hits), f"searching {word!r} gave {hits}"
    assert not page.blocked


def test_slides_render_offline(tmp_path, offline_page):
    chapter = next(p for p in CHAPTERS if any("$$" in c.source for c in nbformat.read(p, as_version=4).cells))
    dest = book.build_slides(tmp_path, chapter)
    text = dest.read_text(encoding="utf-8")
    assert "reveal" in text and text.count("<section") >= 5 and "data:image/png" in text
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", text), "slides load something from the web"
    assert book.INSTALL_MARK not in text
    server, url = _serve(tmp_path)
    try:
        page = offline_page
        _open(page, url + dest.name)
        page.wait_for_function("() => window.Reveal && Reveal.isReady()")
        assert page.evaluate("() => Reveal.getTotalSlides()") >= 5
        assert page.locator("mjx-container").count() > 0 and page.locator("mjx-merror").count() == 0
        assert not page.blocked, f"slides asked for the network: {sorted(set(page.blocked))[:5]}"
    finally:
        server.shutdown()
