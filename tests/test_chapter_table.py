"""tools/chapter_table.py: the README table and exercise list follow the chapters, renumbering included."""

import importlib.util
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("chapter_table", ROOT / "tools" / "chapter_table.py")
chapter_table = importlib.util.module_from_spec(spec)
spec.loader.exec_module(chapter_table)

OLD_README = """intro
<!-- CHAPTER TABLE -->
| # | chapter | what it teaches | fast mode | full mode |
|---|---|---|---|---|
| 13 | [Deployment](chapters/13_deployment.ipynb) | Serving. | 21 s | 2.4 min |
| 14 | [Applications and the road ahead](chapters/14_applications_and_outlook.ipynb) | Uses. | 20 s | 6.5 min |
<!-- /CHAPTER TABLE -->
outro
"""


def _chapter(path: Path, title: str, summary: str, exercise: str | None = None) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(f"# {title}\n\n{summary}\n\n## Learning objectives\n1. x"))
    if exercise:
        nb.cells.append(nbformat.v4.new_markdown_cell(f"**Exercise 1.** {exercise}. More text."))
        nb.cells.append(nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"))
    nbformat.write(nb, path)


def test_previous_fast_is_keyed_by_file_name():
    kept = chapter_table.previous_fast(OLD_README)
    assert kept == {"13_deployment.ipynb": "21 s", "14_applications_and_outlook.ipynb": "20 s"}


def test_renumbered_chapter_keeps_its_time_and_new_chapter_does_not_inherit_it(tmp_path, monkeypatch):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "docs").mkdir()
    _chapter(tmp_path / "chapters" / "13_deployment.ipynb", "13 · Deployment", "Serving models.")
    _chapter(tmp_path / "chapters" / "14_tokenization.ipynb", "14 · Tokenization", "Text to tokens.",
             "Count the merges")
    _chapter(tmp_path / "chapters" / "20_applications_and_outlook.ipynb", "20 · Applications and the road ahead",
             "Where it is used.")
    # the README still names the old file, as it does until the lead regenerates the table
    (tmp_path / "README.md").write_text(OLD_README.replace("14_applications", "20_applications"), encoding="utf-8")
    (tmp_path / "docs" / "TEACHING.md").write_text("<!-- EXERCISES -->\n<!-- /EXERCISES -->\n", encoding="utf-8")
    monkeypatch.setattr(chapter_table, "ROOT", tmp_path)
    assert chapter_table.main([]) == 0
    table = (tmp_path / "README.md").read_text(encoding="utf-8")
    rows = {line.split(" | ")[0]: line for line in table.splitlines() if line.startswith("| ") and "](" in line}
    assert set(rows) == {"| 13", "| 14", "| 20"}
    assert "chapters/20_applications_and_outlook.ipynb" in rows["| 20"] and rows["| 20"].endswith("| 20 s | – |")
    assert "[Tokenization](chapters/14_tokenization.ipynb)" in rows["| 14"] and rows["| 14"].endswith("| – | – |")
    assert table.startswith("intro\n") and table.endswith("outro\n")
    guide = (tmp_path / "docs" / "TEACHING.md").read_text(encoding="utf-8")
    assert "### 14 · Tokenization" in guide and "1. Count the merges." in guide
    assert "### 20 · Applications and the road ahead" in guide
