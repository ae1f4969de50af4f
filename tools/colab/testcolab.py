#!/usr/bin/env python3
"""Run chapters as Google Colab would (`make test-colab`).

1. ``build``: a venv (``.venv-colab``) holding Colab's own versions (``tools/colab/pip-freeze.txt``) of every
   package the course imports that Colab ships, plus the test harness (nbval), and nothing a chapter's first
   cell installs. Every other Colab pin is a pip constraint, so dependencies get Colab's versions too.
   Colab runs Python 3.13; this uses the machine's Python (3.11 here: 3.13 is not installable on the course's
   reference machine or CI).
2. :func:`run_chapter`: one chapter, from its first cell, in a throw-away overlay venv on top of that image
   (so what one chapter's first cell installs cannot help another), with ``google.colab`` importable and
   imported at kernel start (a stub), and a checked-out course at ``$COURSE_COLAB_DIR`` (a copy of this
   working tree: the first cell's ``git clone`` is skipped, and a ``git`` on PATH that refuses to clone proves
   nothing is fetched). Afterwards it checks that the first cell installed no package Colab already ships.

    python tools/colab/testcolab.py build [--venv .venv-colab]
    python tools/colab/testcolab.py run chapters/09_*.ipynb
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import colabenv  # noqa: E402

ROOT = colabenv.ROOT
DEFAULT_VENV = ROOT / ".venv-colab"
FAKE = HERE / "fake"  # google/colab/__init__.py: the stub
CELL_TIMEOUT_S = 600


# --- the image -----------------------------------------------------------------------------------


def _site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3.*/site-packages"))
    if not found:
        raise FileNotFoundError(f"{venv} is not a venv (no lib/python3.*/site-packages)")
    return found[0]


def _pip(venv: Path, *args: str) -> None:
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", *args, "-q", "--disable-pip-version-check"],
                   check=True)


def build(venv: Path = DEFAULT_VENV, python: str = sys.executable) -> Path:
    """Create (or reuse, if its inputs are unchanged) the Colab-image venv at ``venv``.

    It holds Colab's version of every package the course imports that Colab ships, and of every package Colab
    ships that the pyproject extras depend on (on Colab those are already there, so the first cell's pip
    finds them satisfied); the extras themselves are left for the first cells to install.
    """
    reqs = "\n".join(colabenv.image_requirements()) + "\n"
    cons = "\n".join(colabenv.constraints()) + "\n"
    extra_reqs = sorted({r for rs in colabenv.extras().values() for r in rs})
    stamp = hashlib.sha256((reqs + cons + "\n".join(extra_reqs)).encode()).hexdigest()
    stamp_file = venv / ".colab-image"
    if stamp_file.is_file() and stamp_file.read_text().strip() == stamp:
        print(f"{venv}: Colab image up to date")
        return venv
    if venv.exists():
        shutil.rmtree(venv)  # start clean: an image must not keep packages a first cell installed earlier
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    (venv / "image-requirements.txt").write_text(reqs)
    (venv / "colab-constraints.txt").write_text(cons)
    print(f"{venv}: installing Colab's versions of\n  " + reqs.strip().replace("\n", " "))
    _pip(venv, "install", "-c", str(venv / "colab-constraints.txt"), "-r", str(venv / "image-requirements.txt"))
    # What the extras pull in, resolved against Colab's versions (fails if an extra needs another version of a
    # package Colab ships: its first cell would then replace Colab's).
    # The packages COLAB_REPAIRS lets an extra replace are left unconstrained here (the image keeps Colab's).
    report = venv / "extras-report.json"
    (venv / "extras-constraints.txt").write_text("".join(
        c + "\n" for c in colabenv.constraints() if colabenv.requirement_name(c) not in colabenv.repaired_dists()))
    _pip(venv, "install", "--dry-run", "--ignore-installed", "--report", str(report),
         "-c", str(venv / "extras-constraints.txt"), *extra_reqs)
    image = colabenv.colab_image()
    closure = {colabenv.normalize(i["metadata"]["name"]) for i in json.loads(report.read_text())["install"]}
    shipped = sorted(f"{n}=={image[n]}" for n in closure if n in image)
    (venv / "extras-colab-deps.txt").write_text("\n".join(shipped) + "\n")
    print("  and of what the extras depend on: " + " ".join(shipped))
    if shipped:
        _pip(venv, "install", "-c", str(venv / "colab-constraints.txt"), "-r", str(venv / "extras-colab-deps.txt"))
    stamp_file.write_text(stamp + "\n")
    return venv


def installed(site: Path) -> dict[str, str]:
    """Distributions installed in one site-packages folder: ``{normalized name: version}``."""
    out = {}
    for d in site.glob("*.dist-info"):
        name, _, version = d.name[: -len(".dist-info")].partition("-")
        out[colabenv.normalize(name)] = version
    return out


# --- one chapter ---------------------------------------------------------------------------------


def _tree_files() -> list[str]:
    """The working tree as a clone would have it: tracked files plus untracked ones git does not ignore."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         check=True, capture_output=True).stdout.decode()
    return [f for f in out.split("\0") if f and (ROOT / f).is_file()]


def checkout(dest: Path) -> Path:
    """Copy the working tree to ``dest`` (copies, not links: edits to the tree must not reach a running test)."""
    for f in _tree_files():
        target = dest / f
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, target)
    return dest


GIT_GUARD = """#!/bin/sh
# make test-colab: the first cell must find the course already checked out, never clone it.
for a in "$@"; do [ "$a" = clone ] && { echo "test-colab: refusing 'git $*' (no network)" >&2; exit 1; }; done
exec GIT "$@"
"""


@dataclass
class Result:
    chapter: str
    ok: bool
    seconds: float
    output: str
    installed: dict[str, str] = field(default_factory=dict)  # what the first cell added to the overlay
    problems: list[str] = field(default_factory=list)


def run_chapter(nb: Path, work: Path, image: Path = DEFAULT_VENV, course: Path | None = None,
                timeout_s: float = 1800) -> Result:
    """Run notebook ``nb`` from its first cell as on Colab, in ``work`` (a fresh folder)."""
    work.mkdir(parents=True, exist_ok=True)
    course = course or checkout(work / "course")
    ov = work / "venv"
    subprocess.run([str(image / "bin" / "python"), "-m", "venv", "--without-pip", str(ov)], check=True)
    site = _site_packages(ov)
    (site / "_colab_image.pth").write_text(
        f"import site; site.addsitedir({str(_site_packages(image))!r}); site.addsitedir({str(FAKE)!r})\n")
    startup = work / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00_google_colab.py").write_text("import google.colab  # Colab's kernel imports it at start\n")
    bin_dir = work / "bin"
    bin_dir.mkdir()
    git = bin_dir / "git"
    git.write_text(GIT_GUARD.replace("GIT", shutil.which("git") or "/usr/bin/git"))
    git.chmod(0o755)
    content = work / "content"
    content.mkdir()
    shutil.copy2(nb, content / nb.name)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("COURSE_", "PYTHON", "VIRTUAL_ENV", "JUPYTER", "IPYTHON", "PYTEST"))}
    env.update(COURSE_COLAB_DIR=str(course), COURSE_FAST="1", COURSE_STRICT_CHECKS="1", TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONHASHSEED="0", IPYTHONDIR=str(work / "ipython"), VIRTUAL_ENV=str(ov),
               PATH=f"{ov / 'bin'}{os.pathsep}{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    cmd = [str(ov / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(content),
           "--nbval-lax", "--nbval-current-env", f"--nbval-cell-timeout={CELL_TIMEOUT_S}",
           "--sanitize-with", str(ROOT / "tests" / "sanitize.cfg"), nb.name]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=content, env=env, capture_output=True, text=True, timeout=timeout_s)
        ok, output = p.returncode == 0, p.stdout + p.stderr
    except subprocess.TimeoutExpired as err:
        ok, output = False, f"timed out after {timeout_s} s\n{err.stdout or ''}"
    seconds = time.perf_counter() - t0
    added = installed(site)
    image_pkgs = colabenv.colab_image()
    # a package COLAB_REPAIRS lets this chapter's extras replace, at exactly the extra's version, is allowed
    repairs = dict(r.split("==") for r in colabenv.needs(nb).repairs)
    problems = [f"the first cell installed {n}=={v}, which Colab already ships ({n}=={image_pkgs[n]})"
                for n, v in sorted(added.items()) if n in image_pkgs and repairs.get(n) != v]
    return Result(nb.name, ok and not problems, seconds, output, added, problems)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="create or update the Colab-image venv")
    b.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    b.add_argument("--python", default=sys.executable, help="interpreter for the venv (Colab: 3.13)")
    r = sub.add_parser("run", help="run chapters as on Colab (one at a time)")
    r.add_argument("notebooks", nargs="+", type=Path)
    r.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    r.add_argument("--work", type=Path, default=ROOT / "build" / "colab")
    args = ap.parse_args(argv)
    if args.cmd == "build":
        build(args.venv, args.python)
        return 0
    bad = 0
    for nb in args.notebooks:
        work = args.work / nb.stem
        shutil.rmtree(work, ignore_errors=True)
        res = run_chapter(nb.resolve(), work, args.venv)
        print(f"{'ok  ' if res.ok else 'FAIL'} {res.chapter} {res.seconds:.0f} s; first cell installed "
              f"{sorted(res.installed)}")
        if not res.ok:
            bad += 1
            print("\n".join(res.problems) + "\n" + res.output[-4000:])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
