"""Every public function and class of course_lib is exercised by some unit test."""

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import course_lib

TESTS = Path(__file__).resolve().parent


def public_names():
    for mod_info in pkgutil.iter_modules(course_lib.__path__):
        if mod_info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"course_lib.{mod_info.name}")
        for name, obj in vars(mod).items():
            if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if getattr(obj, "__module__", None) == mod.__name__:
                yield mod_info.name, name


def test_every_public_function_is_tested():
    sources = {p.stem: p.read_text(encoding="utf-8") for p in TESTS.glob("test_*.py") if p.name != Path(__file__).name}
    everything = "\n".join(sources.values())
    missing = [f"{m}.{n}" for m, n in public_names() if not re.search(rf"\b{re.escape(n)}\b", everything)]
    assert not missing, f"public course_lib names without a unit test: {missing}"
