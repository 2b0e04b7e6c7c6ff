"""The nearest-neighbour baseline of chapter 11: retrieve the training pair whose source shares
the most words with the sentence to translate, and output its target."""

import pytest

from transformer_book.scoring import nearest_neighbour

TRAIN = [("I like apples.", "사과를 좋아해요."), ("Tom ate.", "톰은 먹었어요."),
         ("Tom ate an egg.", "톰은 달걀을 먹었어요."), ("Tom ate a pear.", "톰은 배를 먹었어요.")]


def test_most_shared_words_win():
    assert nearest_neighbour(["Tom ate an apple."], TRAIN) == ["톰은 달걀을 먹었어요."]


def test_words_are_lower_cased_and_punctuation_ignored():
    assert nearest_neighbour(["APPLES, i LIKE!"], TRAIN) == ["사과를 좋아해요."]


def test_ties_go_to_the_fewest_other_words_then_the_first_pair():
    # "tom ate" shares 2 words with three pairs: "Tom ate." has no other word
    assert nearest_neighbour(["Tom ate!"], TRAIN) == ["톰은 먹었어요."]
    assert nearest_neighbour(["Tom ate the cake."], TRAIN[2:]) == ["톰은 달걀을 먹었어요."]


def test_a_training_source_retrieves_its_own_target():
    sources = [s for s, _ in TRAIN]
    assert nearest_neighbour(sources, TRAIN) == [t for _, t in TRAIN]


def test_no_shared_word_gives_the_first_pair_and_order_is_kept():
    assert nearest_neighbour(["Hello.", "I like apples."], TRAIN) == [
        "사과를 좋아해요.", "사과를 좋아해요."]
    assert nearest_neighbour([], TRAIN) == []


def test_bad_arguments():
    with pytest.raises(TypeError, match="one str"):
        nearest_neighbour("Tom ate.", TRAIN)
    with pytest.raises(ValueError, match="empty"):
        nearest_neighbour(["Tom ate."], [])
