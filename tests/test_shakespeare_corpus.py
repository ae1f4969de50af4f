"""The facts about the bundled Shakespeare that course_lib.data's docstring and chapter 08 state, counted."""

import re

import pytest

from course_lib import data

POEMS = {"A LOVER'S COMPLAINT", "THE PASSIONATE PILGRIM", "THE PHOENIX AND THE TURTLE", "THE RAPE OF LUCRECE",
         "THE SONNETS"}


@pytest.fixture(scope="module")
def works() -> tuple[str, list[tuple[int, str]]]:
    text = data.load_shakespeare()
    # a blank line before "by William Shakespeare", except in the Sonnets
    heads = [m.start() for m in re.finditer(r"\n\n?by William Shakespeare\n", text)]
    starts = [text.rfind("\n", 0, h) + 1 for h in heads]    # each work starts with its one-line title
    return text, [(s, text[s:h]) for s, h in zip(starts, heads, strict=True)]


def test_42_works_37_plays_and_5_poetry_works(works):
    text, found = works
    titles = [t for _, t in found]
    assert len(titles) == 42 == len(set(titles))
    assert POEMS <= set(titles) and len(set(titles) - POEMS) == 37
    assert titles[0] == "ALL'S WELL THAT ENDS WELL" and titles[-1] == "THE WINTER'S TALE"
    assert len(text) == 5_057_280


def test_chapter_08_split_first_2m_characters_and_last_60k(works):
    text, found = works
    inside = [t for s, t in found if s < 2_000_000]
    assert len(inside) == 15 and inside[-1] == "KING JOHN" and not POEMS & set(inside)
    next_start = [s for s, _ in found if s >= 2_000_000][0]
    assert next_start > 2_000_000                      # King John continues past the training cut
    assert found[-1][0] < len(text) - 60_000           # the validation text lies inside The Winter's Tale
