"""Shared test set-up: headless matplotlib, quiet TensorFlow, fast mode."""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("COURSE_FAST", "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402


def _course_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("COURSE_")}


@pytest.fixture(autouse=True)
def _course_env_unchanged():
    """Fail a test that leaves COURSE_* variables changed: pytest-xdist runs unit tests and chapters in the
    same worker, and every notebook kernel it starts afterwards inherits the worker's environment."""
    before = _course_env()
    yield
    after = _course_env()
    assert after == before, f"test changed COURSE_* environment variables: {before} -> {after}"
