#!/usr/bin/env python3
"""What each chapter needs on Google Colab, and the Colab-like environment that `make test-colab` builds.

Google Colab ships a fixed image of Python packages (``tools/colab/pip-freeze.txt``: Colab's own
``pip freeze``, copied unchanged from googlecolab/backend-info). A chapter runs on Colab only if every
third-party module it imports — directly, or through the ``course_lib`` modules it uses (lazy imports
included) — is either in that image or installed by the chapter's first cell. The first cell
(``tools/nblint.py install_cell``) installs ``course_lib`` with exactly the ``pyproject.toml``
``[project.optional-dependencies]`` extras that cover the rest, and never a package Colab ships.

    python tools/colab/colabenv.py needs chapters/09_*.ipynb   # extras and modules per chapter
    python tools/colab/colabenv.py image                       # requirements of the Colab-like venv
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FREEZE = HERE / "pip-freeze.txt"

# Import name -> PyPI distribution, where the two differ beyond case and "-"/"_"
# (tests/test_colab.py checks every entry the course uses against importlib.metadata).
MODULE_TO_DIST = {
    "sklearn": "scikit-learn",
    "PIL": "pillow",
    "yaml": "pyyaml",
    "cv2": "opencv-python",
    "tensorflow_datasets": "tensorflow-datasets",
    "google.protobuf": "protobuf",
    "attr": "attrs",
    "dateutil": "python-dateutil",
    "bs4": "beautifulsoup4",
}
# Present on Colab but not a PyPI package there (google.colab is Colab's own module).
COLAB_BUILTIN_MODULES = {"google.colab", "google"}
# Extras allowed to replace a package Colab ships, because Colab's own version is broken for the course:
# {extra: {distribution: why}}. A chapter needs such an extra when its own code matches its REPAIR_TRIGGERS pattern
# (not when a course_lib module it uses merely could import it lazily).
COLAB_REPAIRS = {
    "tfds": {"tensorflow-metadata": "Colab's 1.21.0 is protobuf-6 gencode beside Colab's protobuf 5.29.6: "
                                    "importing TFDS's protos raises VersionError (tensorflow/metadata#68)"},
}
REPAIR_TRIGGERS = {"tfds": re.compile(r"^\s*(import|from)\s+tensorflow_datasets\b|\bload_tfds\(|\btfds_builders\b",
                                      re.M)}
# Not in Colab's image but needed to run the chapters under pytest (`make test-colab` only).
TEST_HARNESS = ["nbval==0.11.0"]
# Colab-shipped packages the harness uses, pinned at Colab's versions like everything else.
HARNESS_FROM_COLAB = ["pip", "setuptools", "pytest", "ipykernel", "ipython", "jupyter-client", "nbformat"]


def repaired_dists() -> set[str]:
    """Every distribution some COLAB_REPAIRS extra replaces (normalized names)."""
    return {d for dists in COLAB_REPAIRS.values() for d in dists}


def normalize(name: str) -> str:
    """PEP 503 normalized distribution name: ``Rouge_Score`` -> ``rouge-score``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def colab_image() -> dict[str, str]:
    """Colab's packages: ``{normalized name: version}`` (``""`` for ones installed from a URL)."""
    out: dict[str, str] = {}
    for line in FREEZE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "==" in line:
            name, version = line.split("==", 1)
        elif " @ " in line:
            name, version = line.split(" @ ", 1)[0], ""
        else:
            raise ValueError(f"{FREEZE}: cannot parse line {line!r}")
        out[normalize(name)] = version.strip()
    return out


def constraints() -> list[str]:
    """Colab's exact versions as pip constraints (``name==version`` lines; local ``+cpu`` builds left out)."""
    return [f"{n}=={v}" for n, v in sorted(colab_image().items()) if v and "+" not in v]


def dist_of(module: str) -> str:
    """The PyPI distribution (normalized) that provides top-level ``module``."""
    return normalize(MODULE_TO_DIST.get(module, module))


# --- what the course imports ---------------------------------------------------------------------


def _imports(source: str) -> set[str]:
    """Top-level modules imported anywhere in ``source`` (inside functions too); IPython magics skipped."""
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    tree = ast.parse("\n".join(lines))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "course_lib":
                found.update(f"course_lib.{a.name}" for a in node.names)
    return found


def _third_party(modules: set[str]) -> set[str]:
    out = set()
    for m in modules:
        if m in COLAB_BUILTIN_MODULES or any(m.startswith(b + ".") for b in COLAB_BUILTIN_MODULES):
            continue
        top = m.split(".")[0]
        if top in sys.stdlib_module_names or top in ("__future__", "course_lib"):
            continue
        out.add(m if m in MODULE_TO_DIST else top)
    return out


def _without_docstrings(text: str) -> str:
    """The source with its docstrings blanked: a module named in prose (``:mod:`course_lib.litert```) is not a
    module that the code starts by name, as ``python -m course_lib.serve`` in a string is."""
    lines = text.splitlines()
    for node in ast.walk(ast.parse(text)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            for i in range(body[0].lineno - 1, body[0].end_lineno):
                lines[i] = ""
    return "\n".join(lines)


@cache
def course_lib_imports(module: str) -> frozenset[str]:
    """Third-party modules ``course_lib.<module>`` needs: its own imports, and those of every course_lib module
    it imports or starts by name (e.g. ``python -m course_lib.serve`` in serve_client), transitively."""
    found: set[str] = set()
    todo, seen = [module], {module}
    while todo:
        name = todo.pop()
        path = ROOT / "course_lib" / f"{name}.py"
        if not path.is_file():
            raise ValueError(f"course_lib has no module {name!r} ({path} is missing)")
        text = path.read_text(encoding="utf-8")
        mods = _imports(text)
        found |= _third_party(mods)
        used = {m.split(".")[1] for m in mods if m.startswith("course_lib.") and m.count(".") == 1}
        used |= set(re.findall(r"\bcourse_lib\.([a-z_][a-z0-9_]*)", _without_docstrings(text)))
        for lib in sorted(used - seen):
            if (ROOT / "course_lib" / f"{lib}.py").is_file():
                seen.add(lib)
                todo.append(lib)
    return frozenset(found)


def notebook_code(path: Path) -> list[str]:
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    src = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells]
    # The first cell is the generated install cell: what it installs is the output of this analysis.
    if src and "@title Colab only" in src[0] or src and "# Colab only:" in src[0]:
        src = src[1:]
    return src


def modules_of_sources(sources: list[str]) -> set[str]:
    """Third-party modules the code needs: its own imports plus those of every course_lib module it uses."""
    mods: set[str] = set()
    used_lib = {"__init__"}
    for s in sources:
        imported = _imports(s)
        mods |= _third_party(imported)
        used_lib |= {m.split(".")[1] for m in imported if m.startswith("course_lib.")}
        # `course_lib.serve` run as `python -m course_lib.serve`, or used as an attribute
        used_lib |= set(re.findall(r"\bcourse_lib\.([a-z_][a-z0-9_]*)", s))
    for lib in used_lib:
        if (ROOT / "course_lib" / f"{lib}.py").is_file():
            mods |= course_lib_imports(lib)
    return mods


# --- extras --------------------------------------------------------------------------------------


@cache
def extras() -> dict[str, tuple[str, ...]]:
    """``[project.optional-dependencies]`` of pyproject.toml: ``{extra: (requirement, ...)}``."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {k: tuple(v) for k, v in data["project"].get("optional-dependencies", {}).items()}


def requirement_name(req: str) -> str:
    return normalize(re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0])


@dataclass(frozen=True)
class Needs:
    """What a chapter needs on Colab beyond the image."""

    extras: tuple[str, ...]  # pyproject extras the first cell installs
    modules: tuple[str, ...]  # modules those extras provide (the first cell checks they import)
    uncovered: tuple[str, ...]  # "module (dist)" Colab lacks and no extra provides: a lint error
    repairs: tuple[str, ...] = ()  # "dist==version" of COLAB_REPAIRS packages the extras replace


def needs_of_sources(sources: list[str]) -> Needs:
    image = colab_image()
    by_dist: dict[str, str] = {}
    for extra, reqs in sorted(extras().items()):
        for r in reqs:
            by_dist.setdefault(requirement_name(r), extra)
    chosen, modules, uncovered = set(), set(), []
    for extra, trigger in REPAIR_TRIGGERS.items():
        if any(trigger.search(s) for s in sources):
            chosen.add(extra)
            # what the extra adds that Colab lacks: its absence makes the first cell install the extra
            modules |= {requirement_name(r).replace("-", "_") for r in extras()[extra]
                        if requirement_name(r) not in image}
    for m in sorted(modules_of_sources(sources)):
        dist = dist_of(m)
        if dist in image:
            continue
        if dist in by_dist:
            chosen.add(by_dist[dist])
            modules.add(m)
        else:
            uncovered.append(f"{m} ({dist})")
    repairs = sorted(r for e in chosen for r in extras()[e] if requirement_name(r) in COLAB_REPAIRS.get(e, {}))
    return Needs(tuple(sorted(chosen)), tuple(sorted(modules)), tuple(uncovered), tuple(repairs))


def needs(path: Path) -> Needs:
    """What chapter ``path`` needs beyond Colab's image (see :class:`Needs`)."""
    return needs_of_sources(notebook_code(path))


# --- the Colab-like environment ------------------------------------------------------------------


def course_dists(chapters: list[Path] | None = None) -> set[str]:
    """Distributions the course imports: every chapter and every course_lib module."""
    chapters = sorted((ROOT / "chapters").glob("*.ipynb")) if chapters is None else chapters
    mods: set[str] = set()
    for p in chapters:
        mods |= modules_of_sources(notebook_code(p))
    for p in sorted((ROOT / "course_lib").glob("*.py")):
        mods |= course_lib_imports(p.stem)
    return {dist_of(m) for m in mods}


def image_requirements(chapters: list[Path] | None = None) -> list[str]:
    """Pinned requirements of the Colab-like venv: Colab's version of every package the course imports that
    Colab ships, plus the test harness. Nothing a first cell installs is in it (testcolab.build adds Colab's
    versions of the extras' dependencies that Colab ships)."""
    image = colab_image()
    wanted = {d for d in course_dists(chapters) if d in image} | {normalize(d) for d in HARNESS_FROM_COLAB}
    return [f"{d}=={image[d]}" for d in sorted(wanted)] + TEST_HARNESS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    n = sub.add_parser("needs", help="extras each chapter's first cell installs")
    n.add_argument("notebooks", nargs="+", type=Path)
    sub.add_parser("image", help="requirements of the Colab-like venv (Colab's versions)")
    sub.add_parser("constraints", help="Colab's exact versions as pip constraints")
    args = ap.parse_args(argv)
    if args.cmd == "needs":
        bad = 0
        for p in args.notebooks:
            nd = needs(p)
            print(f"{p.name}: extras={list(nd.extras)} modules={list(nd.modules)}"
                  + (f" UNCOVERED={list(nd.uncovered)}" if nd.uncovered else ""))
            bad += bool(nd.uncovered)
        return 1 if bad else 0
    print("\n".join(image_requirements() if args.cmd == "image" else constraints()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
