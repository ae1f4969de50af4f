"""course_lib.corpus: the 42 bundled works, cut without loss, and the fixed split by play."""

import hashlib

import pytest

from course_lib import corpus, data


def test_shakespeare_plays_reproduces_the_file_exactly():
    works = corpus.shakespeare_plays()
    assert len(works) == corpus.N_WORKS == 42
    assert "".join(works.values()) == data.load_shakespeare()
    titles = list(works)
    assert titles[0] == "ALL'S WELL THAT ENDS WELL" and titles[-1] == "THE WINTER'S TALE"
    assert "THE SONNETS" in works and "HAMLET, PRINCE OF DENMARK" in works
    for title, text in works.items():
        assert text.startswith(title + "\n"), title
        assert "by William Shakespeare" in text[: len(title) + 30], title
    works["HAMLET, PRINCE OF DENMARK"] = ""  # a fresh dict each call: callers cannot damage the cache
    assert corpus.shakespeare_plays()["HAMLET, PRINCE OF DENMARK"]


def test_is_play_finds_37_plays_and_the_5_poems():
    works = corpus.shakespeare_plays()
    poems = sorted(t for t, text in works.items() if not corpus.is_play(text))
    assert poems == ["A LOVER'S COMPLAINT", "THE PASSIONATE PILGRIM", "THE PHOENIX AND THE TURTLE",
                     "THE RAPE OF LUCRECE", "THE SONNETS"]
    with pytest.raises(TypeError, match="text"):
        corpus.is_play(b"bytes")


def test_play_split_is_the_stated_rule_and_a_partition():
    works = corpus.shakespeare_plays()
    test, val = corpus.held_out_by_rule(works)
    assert sorted(test) == sorted(corpus.TEST_PLAYS) and sorted(val) == sorted(corpus.VAL_PLAYS)
    # the rule, spelled out independently
    plays = [t for t, text in works.items() if corpus.is_play(text)]
    ranked = sorted(plays, key=lambda t: hashlib.sha256(t.encode()).hexdigest())
    assert set(ranked[:3]) == set(test) and set(ranked[3:6]) == set(val)
    split = corpus.play_split()
    assert set(split) == {"train", "val", "test"}
    assert len(split["train"]) == 36 and len(split["val"]) == 3 and len(split["test"]) == 3
    everything = split["train"] + split["val"] + split["test"]
    assert sorted(everything) == sorted(works) and len(set(everything)) == 42
    order = list(works)
    for titles in split.values():
        assert titles == sorted(titles, key=order.index)


def test_held_out_by_rule_checks_its_arguments():
    works = corpus.shakespeare_plays()
    with pytest.raises(ValueError, match="n_test"):
        corpus.held_out_by_rule(works, n_test=-1)
    with pytest.raises(ValueError, match="n_test \\+ n_val"):
        corpus.held_out_by_rule(works, n_test=30, n_val=30)


def test_split_text_sizes_and_bad_split():
    sizes = {s: len(corpus.split_text(s)) for s in corpus.SPLITS}
    assert sizes == {"train": 4_229_661, "val": 469_665, "test": 357_954}
    assert sum(sizes.values()) == len(data.load_shakespeare())
    works = corpus.shakespeare_plays()
    assert corpus.split_text("val") == "".join(works[t] for t in corpus.play_split()["val"])
    assert "Tomorrow, and tomorrow" not in corpus.split_text("val")  # Macbeth is a training play
    with pytest.raises(ValueError, match="split"):
        corpus.split_text("validation")
