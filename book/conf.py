"""Sphinx configuration of the course book (``make book`` = ``tools/book.py``).

tools/book.py stages the chapters (with book-only cell tags) and a generated ``index.md`` into
``build/book/src/`` and runs ``sphinx-build -c book build/book/src dist/book``, so this folder holds only
the configuration and static assets. Nothing is executed: pages show the outputs stored in the notebooks.
"""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPO = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]["Repository"].rstrip("/")

project = "Large Models with Keras & TensorFlow"
author = "The course authors"
copyright = "the course authors, MIT licence"

extensions = [
    "myst_nb",                  # reads .ipynb with their stored outputs and MyST markdown
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",   # MathJax 3.2.2 shipped from PyPI, copied into _static/mathjax (no CDN)
]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# --- MyST / MyST-NB ---------------------------------------------------------------------------
nb_execution_mode = "off"               # never execute: the book shows the stored full-mode outputs
nb_merge_streams = True                 # one block per cell instead of many print fragments
nb_output_stderr = "remove"             # TensorFlow's log lines are noise for a reader
nb_code_prompt_show = "Show {type}"
nb_code_prompt_hide = "Hide {type}"
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "html_image"]
myst_dmath_double_inline = True         # $$...$$ inside a paragraph is display math too
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type", "misc.highlighting_failure"]

# --- MathJax: local copy, configured like the notebooks' renderer ----------------------------
mathjax_path = "mathjax/tex-chtml.js"
mathjax3_config = {"tex": {"tags": "ams"}, "chtml": {"displayAlign": "center"}}

# --- HTML ----------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_copy_source = False                # the notebooks themselves are offered as downloads
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": REPO,
    "repository_branch": "main",
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": False,       # tools/book.py adds per-chapter download links instead
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "show_toc_level": 2,
    "home_page_in_toc": True,
    "navigation_with_keys": True,
}
