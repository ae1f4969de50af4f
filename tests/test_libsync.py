"""tools/libsync.py: generated course_lib modules equal the chapter cells they come from."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("libsync", ROOT / "tools" / "libsync.py")
libsync = importlib.util.module_from_spec(spec)
spec.loader.exec_module(libsync)


def test_generated_modules_match_their_chapters():
    assert libsync.sync(ROOT, check=True) == []


def _project(tmp_path: Path, cells: list[str]) -> Path:
    (tmp_path / "chapters").mkdir()
    (tmp_path / "course_lib").mkdir()
    nb = {"cells": [{"cell_type": "code", "source": s, "metadata": {}, "outputs": []} for s in cells],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "chapters" / "15_demo.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    return tmp_path


def test_sync_writes_then_check_catches_drift(tmp_path):
    root = _project(tmp_path, ['# export: course_lib/demo.py\n"""Demo."""\n\nX = 1',
                               "print('not exported')",
                               "# export: course_lib/demo.py\ndef f():\n    return X"])
    assert libsync.sync(root, check=True) == ["course_lib/demo.py is missing: run `make sync` "
                                              "(tools/libsync.py) and commit the result"]
    assert libsync.sync(root, check=False) == []
    text = (root / "course_lib" / "demo.py").read_text()
    assert text.startswith(libsync.GENERATED_TAG) and "X = 1\n\n\ndef f():" in text and "not exported" not in text
    ns: dict = {}
    exec(text, ns)
    assert ns["f"]() == 1 and ns["__doc__"] == "Demo."
    assert libsync.sync(root, check=True) == []
    (root / "course_lib" / "demo.py").write_text(text.replace("X = 1", "X = 2"))
    assert "differs from its chapter cells" in libsync.sync(root, check=True)[0]
    # the suggested fix (run the tool) fixes it
    assert libsync.sync(root, check=False) == [] and libsync.sync(root, check=True) == []


def test_refuses_to_overwrite_hand_written_module_and_flags_orphans(tmp_path):
    root = _project(tmp_path, ['# export: course_lib/demo.py\n"""Demo."""'])
    (root / "course_lib" / "demo.py").write_text('"""Hand written."""\n')
    assert "refusing to overwrite" in libsync.sync(root, check=False)[0]
    (root / "course_lib" / "demo.py").unlink()
    (root / "course_lib" / "orphan.py").write_text(libsync.GENERATED_TAG + " from nowhere\n")
    assert any("orphan.py says it is generated" in p for p in libsync.sync(root, check=False))
