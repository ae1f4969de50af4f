"""The other half of the chapters for tests/test_exercises.py (every stub says NOT YET, every solution PASS).

A separate file so that ``make test`` (``pytest -n 2 --dist loadfile``) runs the two halves on its two workers.
"""

import pytest
from test_exercises import CHAPTERS, check_chapter

HALF = CHAPTERS[1::2]


@pytest.mark.parametrize("path", HALF, ids=lambda p: p.stem)
def test_stub_fails_and_solution_passes(path, monkeypatch):
    check_chapter(path, monkeypatch)
