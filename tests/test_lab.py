"""`make lab` serves the chapters, as root and as a normal user, on a machine with no browser.

The live test runs the real `make lab PORT=<free port> IP=127.0.0.1` (as root, and as an unprivileged user),
reads the URL with its token from what it prints, opens a chapter in headless Chromium driven by Playwright,
runs the chapter's first two code cells from the keyboard (Shift+Enter) through the Jupyter Lab UI, waits for
the kernel's fresh `runtime.setup()` line, saves a screenshot in dist/lab/, then stops the server and checks
that no process of it (make, jupyter, kernel) is left. The server runs with autosave off, and the chapter file
must be byte-identical afterwards. The flag logic of the recipe (`--allow-root` only for uid 0, `--no-browser`
without a display, PORT/IP/NB) is also checked with `make -n lab` under a faked `id -u`.
"""

import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "dist" / "lab"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SETUP_LINE = re.compile(r"\[course_lib\] .+ -> \S+ \(\d+ replicas?\), precision \w+, seed \d+, .+, "
                        r"FAST mode \(COURSE_FAST=1\)")
URL = re.compile(r"http://127\.0\.0\.1:(\d+)(/lab\S*)\?token=(\w+)")
# What the caller's environment must not pass to `make lab`: a display would open a real browser window, and
# make's own variables (e.g. MAKEFLAGS=n under `make -n test`) or stray NB/PORT/IP would change the recipe.
DROP_ENV = ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES",
            "NB", "PORT", "IP", "JUPYTER_PORT", "JUPYTER_TOKEN", "JUPYTER_CONFIG_DIR", "JUPYTER_CONFIG_PATH",
            "JUPYTER_DATA_DIR", "JUPYTER_PATH")


def _chapter_to_open() -> tuple[Path, list[int]]:
    """The first chapter whose second code cell calls runtime.setup(), and its first two code cells' indices."""
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        code = [i for i, c in enumerate(cells) if c.cell_type == "code"]
        if len(code) >= 2 and "runtime.setup(" in cells[code[1]].source:
            return path, code[:2]
    raise AssertionError("no chapter calls runtime.setup() in its second code cell")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _make_n_lab(*args: str, uid: int, display: str | None = None) -> str:
    """The `jupyter lab` command line that `make lab` runs, with `id -u` faked to print `uid`."""
    fake = Path(tempfile.mkdtemp(prefix="fake-id-"))
    try:
        (fake / "id").write_text(f'#!/bin/sh\nif [ "$1" = "-u" ]; then echo {uid}; else exec /usr/bin/id "$@"; fi\n')
        (fake / "id").chmod(0o755)
        env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
        env["PATH"] = f"{fake}:{env['PATH']}"
        if display:
            env["DISPLAY"] = display
        out = subprocess.run(["make", "-n", "lab", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                             check=True).stdout
    finally:
        shutil.rmtree(fake)
    lines = [line for line in out.splitlines() if "jupyter lab" in line]
    assert len(lines) == 1, out
    return lines[0]


def test_make_lab_flags_follow_user_display_and_overrides():
    as_root = _make_n_lab(uid=0).split()
    as_user = _make_n_lab(uid=1000).split()
    assert as_root[:2] == [".venv/bin/jupyter", "lab"] and as_root[-1] == "chapters/"
    assert "--allow-root" in as_root and "--allow-root" not in as_user
    assert sorted(set(as_root) - {"--allow-root"}) == sorted(as_user)
    if os.uname().sysname == "Linux":
        assert "--no-browser" in as_user, "no display: Jupyter must not try to start a browser"
        assert "--no-browser" not in _make_n_lab(uid=1000, display=":0").split()
    assert "--ip=localhost" in as_user and not any(a.startswith("--port") for a in as_user)
    chapter = sorted((ROOT / "chapters").glob("06_*.ipynb"))[0]
    custom = _make_n_lab("PORT=9123", "IP=0.0.0.0", "NB=chapters/06_*", uid=1000).split()
    assert {"--port=9123", "--ip=0.0.0.0", f"--LabApp.default_url=/lab/tree/{chapter.name}"} <= set(custom)
    bad = subprocess.run(["make", "-n", "lab", "NB=chapters/no_such.ipynb"], cwd=ROOT, capture_output=True,
                         text=True, env={k: v for k, v in os.environ.items() if k not in DROP_ENV})
    assert bad.returncode != 0 and "NB=chapters/no_such.ipynb: no such chapter" in bad.stderr


def _unprivileged_user() -> pwd.struct_passwd:
    """A real unprivileged user: `nobody` (every Debian system has it), else a throwaway one; needs root."""
    for name in ("nobody", "course-lab-test"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "course-lab-test"],
                   check=True, capture_output=True)
    return pwd.getpwnam("course-lab-test")


def _readable_by_others(path: Path) -> bool:
    """Whether any user can read `path` (every folder on the way searchable by 'others', the file readable)."""
    return all(p.stat().st_mode & 0o004 and all(d.stat().st_mode & 0o001 for d in p.parents)
               for p in {path, path.resolve()})


def _capability_to_read() -> str:
    """cap_dac_read_search (read and search only) if we hold it, else cap_dac_override (a default Docker
    container grants only that one; it also allows writing)."""
    held = int(re.search(r"^CapPrm:\s+(\w+)", Path("/proc/self/status").read_text(), re.M).group(1), 16)
    for bit, name in ((2, "dac_read_search"), (1, "dac_override")):
        if held >> bit & 1:
            return name
    pytest.fail("the checkout or its .venv's Python is readable only by root, and we cannot lend another user "
                "the right to read it: clone the course where other users can read it")


def _our_processes(*marks: str) -> list[tuple[int, int, str]]:
    """(pid, real uid, command line) of every process whose command line contains one of `marks`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            uid = int(re.search(r"^Uid:\s+(\d+)", (proc / "status").read_text(), re.M).group(1))
        except (OSError, AttributeError):
            continue  # the process has just exited
        if any(m in cmd for m in marks):
            found.append((int(proc.name), uid, cmd))
    return found


@contextmanager
def _make_lab(user: pwd.struct_passwd | None, port: int, *make_args: str):
    """Run `make lab PORT=port IP=127.0.0.1 *make_args` as `user` (None: as we are).

    Yields (the URL match, the output lines so far, marks that find its processes' command lines)."""
    home = Path(tempfile.mkdtemp(prefix="lab-home-"))  # not pytest's tmp_path: that is private to root
    settings = home / "settings"
    for plugin, values in {"docmanager-extension/plugin": {"autosave": False},  # never write the chapter
                           "apputils-extension/notification": {"fetchNews": "false"}}.items():
        f = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(values))
    env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
    env.update(HOME=str(home), JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), COURSE_FAST="1", TF_CPP_MIN_LOG_LEVEL="3")
    cmd = ["make", "lab", f"PORT={port}", "IP=127.0.0.1", *make_args]
    as_user = []
    if user is not None:
        for p in [home, *home.rglob("*")]:
            os.chown(p, user.pw_uid, user.pw_gid)
        env.update(USER=user.pw_name, LOGNAME=user.pw_name)
        as_user = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
        if not all(_readable_by_others(ROOT / f) for f in ("Makefile", ".venv/bin/python")):
            # The checkout or the venv's interpreter lives where only root may look (e.g. pyenv under /root, as on
            # the course's machines): lend the user the right to read and search files, nothing else (still not
            # uid 0, which is all Jupyter's root check and the Makefile look at).
            cap = _capability_to_read()
            as_user += [f"--inh-caps=+{cap}", f"--ambient-caps=+{cap}"]
        as_user.append("--")
    proc = subprocess.Popen(as_user + cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)  # own process group: make, jupyter
    log: list[str] = []
    reader = threading.Thread(target=lambda: [log.append(line) for line in proc.stdout], daemon=True)
    reader.start()
    marks = (f"PORT={port}", f"--port={port}", str(home))  # make, jupyter, and kernels (connection file in home)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None and not any(URL.search(line) for line in log):
            time.sleep(0.2)
        found = [m for line in list(log) if (m := URL.search(line))]
        assert found, f"`{' '.join(cmd)}` printed no URL with a token (exit {proc.poll()}):\n{''.join(log)[-3000:]}"
        url = found[-1]
        assert int(url.group(1)) == port, f"asked for port {port}, got {url.group(0)}"
        token = url.group(3)
        yield url, log, marks
        # Stop the way Jupyter's own "Shut Down" does: it stops kernels, then the server exits, then make.
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/shutdown", method="POST",
                                         headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
        assert proc.wait(timeout=60) == 0, "".join(log)[-3000:]
        deadline = time.monotonic() + 30
        while _our_processes(*marks) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = _our_processes(*marks)
        assert not left, f"processes left behind after shutdown: {left}"
    finally:
        if proc.poll() is None:  # something above failed: no server outlives the test
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        for pid, _, _ in _our_processes(*marks):
            os.kill(pid, signal.SIGKILL)
        reader.join(timeout=10)
        shutil.rmtree(home, ignore_errors=True)


# Records every text the input prompts of the given cells show ("[1]:", "[*]:", ...), so the test can tell a run
# it started from the execution counts stored in the file. A collapsed cell (source_hidden) has no input prompt.
WATCH_PROMPTS = """(indices) => {
    const cells = document.querySelectorAll('.jp-NotebookPanel .jp-Notebook-cell');
    window.promptHistory = {};
    for (const i of indices) {
        const prompt = cells[i].querySelector('.jp-InputArea .jp-InputPrompt');
        if (!prompt) continue;
        const seen = window.promptHistory[i] = [prompt.textContent];
        new MutationObserver(() => seen.push(prompt.textContent))
            .observe(prompt, {childList: true, subtree: true, characterData: true});
    }
}"""


def _run_first_two_code_cells(page, code: list[int]) -> list[str]:
    """Shift+Enter from the first cell until the second code cell (notebook cell indices `code`) has run; return
    that cell's fresh output text."""
    cells = page.locator(".jp-NotebookPanel .jp-Notebook-cell")
    cells.nth(code[1]).wait_for(state="attached")  # Jupyter Lab adds a long notebook's cells in batches
    # The status bar reads "Python 3 (ipykernel) | Idle" once the kernel has started and connected.
    page.wait_for_function("() => /\\bIdle\\b/.test(document.querySelector('#jp-main-statusbar')?.innerText)")
    # Mark the outputs stored in the file, so only output the kernel produces now can satisfy the wait below.
    page.evaluate("() => document.querySelectorAll('.jp-OutputArea-output').forEach(o => o.dataset.stored = 1)")
    page.evaluate(WATCH_PROMPTS, code)
    for i in range(code[1] + 1):  # from the first cell, where the notebook opens; markdown cells are stepped over
        assert cells.nth(i).evaluate("c => c.classList.contains('jp-mod-active')"), f"cell {i} is not selected"
        page.keyboard.press("Shift+Enter")
    second = cells.nth(code[1])
    fresh = second.locator(".jp-OutputArea-output:not([data-stored])")
    fresh.filter(has_text="[course_lib]").first.wait_for(timeout=300_000)
    page.wait_for_function("(i) => window.promptHistory[i].at(-1).includes('[2]')", arg=code[1], timeout=30_000)
    history = page.evaluate("() => window.promptHistory")
    assert str(code[1]) in history, "the second code cell has no input prompt"
    # Queued or running ("[*]"), then this kernel's n-th execution: "[2]" in the second code cell also proves that
    # the first one ran, where it is collapsed and shows no prompt.
    for n, i in enumerate(code, start=1):
        if (seen := history.get(str(i))) is not None:
            assert "[*]" in "".join(seen) and f"[{n}]" in seen[-1], f"cell {i}'s prompt went {seen}"
    second.scroll_into_view_if_needed()
    return fresh.all_inner_texts()


def _open_chapter_and_run(url: str, chapter: Path, code: list[int], shot: Path) -> str:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(url)
            page.locator("#jp-main-statusbar", has_text=chapter.name).wait_for()  # the chapter is open
            text = "\n".join(_run_first_two_code_cells(page, code))
            page.wait_for_timeout(300)  # let the output paint before the screenshot
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    return text


@pytest.mark.parametrize("who", ["root", "user"])
def test_make_lab_runs_a_chapter_in_chromium(who):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium not installed (apt-get install chromium) - the CI run installs it")
    am_root = os.geteuid() == 0
    if who == "root" and not am_root:
        pytest.skip("needs root; test_make_lab_flags_follow_user_display_and_overrides checks --allow-root")
    user = None
    if who == "user" and am_root:
        user = _unprivileged_user()
    stale = subprocess.run(["make", "-q", "venv"], cwd=ROOT, env={k: v for k, v in os.environ.items()
                                                                if k not in DROP_ENV}).returncode
    assert stale == 0, "`.venv` is older than requirements.txt: run `make venv` (make lab would reinstall it here)"
    chapter, code = _chapter_to_open()
    digest = hashlib.sha256(chapter.read_bytes()).hexdigest()
    shot = SHOTS / f"make_lab_{who}.png"
    shot.unlink(missing_ok=True)
    port = _free_port()
    # root: the default recipe (chapters/), then the chapter's URL; user: NB= makes the printed URL open it.
    make_args = () if who == "root" else (f"NB=chapters/{chapter.name}",)
    with _make_lab(user, port, *make_args) as (url, log, marks):
        command = next(line for line in log if "jupyter lab" in line)  # make echoes the recipe it runs
        assert ("--allow-root" in command) == (who == "root"), command
        assert "--no-browser" in command or os.uname().sysname != "Linux", command
        path = url.group(2)
        if who == "root":
            assert path == "/lab", url.group(0)
            path = f"/lab/tree/{chapter.name}"
        else:
            assert path == f"/lab/tree/{chapter.name}", url.group(0)
        text = _open_chapter_and_run(f"http://127.0.0.1:{port}{path}?token={url.group(3)}", chapter, code, shot)
        procs = _our_processes(*marks)
        assert any("ipykernel" in cmd for _, _, cmd in procs), procs  # the kernel is found, so is checked below
        uid = os.getuid() if user is None else user.pw_uid
        assert {u for _, u, _ in procs} == {uid}, f"not all of make, jupyter and the kernel run as uid {uid}: {procs}"
    assert SETUP_LINE.search(text), f"the kernel's answer has no runtime.setup() line: {text!r}"
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 30_000, "screenshot is missing or blank"
    assert hashlib.sha256(chapter.read_bytes()).hexdigest() == digest, f"{chapter.name} was modified"
