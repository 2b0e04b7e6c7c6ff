import re

import pytest

from transformer_book.text.corpus import Splits
from transformer_book.text.hangul import conjugate, particle
from transformer_book.text.korean_grammar import (
    ADVERBS,
    OBJECTS,
    SUBJECTS,
    VERBS,
    Sentence,
    english_number,
    held_out_pairs,
    korean_corpus,
    objects_of,
    sample_sentences,
)


def index(table, english):
    return next(i for i, row in enumerate(table) if row[0] == english)


def sentence(subject, definite, verb, obj, number, tense, adverb=""):
    adverbs = [en for en, _ in ADVERBS[tense]]
    return Sentence(index(SUBJECTS, subject), definite, index(VERBS, verb), index(OBJECTS, obj),
                    number, tense, adverbs.index(adverb))


@pytest.mark.parametrize("args, english, korean", [
    (("cat", True, "eat", "apple", 3, "past", "yesterday"),
     "The cat ate three apples yesterday.", "고양이는 어제 사과를 세 개 먹었어요."),
    (("student", False, "drink", "glass of milk", 1, "present", "every day"),
     "A student drinks one glass of milk every day.", "학생이 매일 우유를 한 잔 마셔요."),
    (("owl", False, "catch", "mouse", 21, "future", "next week"),
     "An owl will catch twenty-one mice next week.",
     "부엉이가 다음 주에 쥐를 스물한 마리 잡을 거예요."),
    (("teacher", True, "read", "book", 20, "present"),
     "The teacher reads twenty books.", "선생님은 책을 스무 권 읽어요."),
    (("bear", False, "see", "fish", 2, "past", "last week"),
     "A bear saw two fish last week.", "곰이 지난주에 물고기를 두 마리 봤어요."),
    (("elephant", True, "like", "flower", 5, "future"),
     "The elephant will like five flowers.", "코끼리는 꽃을 다섯 송이 좋아할 거예요."),
])
def test_sentences_in_both_languages(args, english, korean):
    s = sentence(*args)
    assert (s.english, s.korean) == (english, korean)


@pytest.fixture(scope="module")
def seen():
    return sample_sentences(3000, held_out=False, seed=5)


def test_korean_puts_the_verb_last_and_the_object_before_its_count(seen):
    for s in seen:
        en, ko = s.english[:-1].split(), s.korean[:-1].split()
        noun, counter = OBJECTS[s.obj][2:4]
        subject = SUBJECTS[s.subject][1]
        assert ko[0] == subject + particle(subject, "topic" if s.definite else "subject")
        i = ko.index(noun + particle(noun, "object"))
        assert ko[i + 2] == counter
        assert " ".join(ko[i + 3:]) == conjugate(VERBS[s.verb][3], s.tense)  # SOV: verb last
        verb = {"present": VERBS[s.verb][1], "past": VERBS[s.verb][2], "future": "will"}
        j = en.index(verb[s.tense])
        assert en[j + (2 if s.tense == "future" else 1)] == english_number(s.number)  # SVO
        assert (en[0] == "The") == s.definite


def test_both_particles_of_each_kind_occur(seen):
    words = {w for s in seen for w in s.korean.split()}
    for ending in ("은", "는", "이", "가", "을", "를"):
        assert any(w.endswith(ending) for w in words), ending


def test_every_verb_takes_some_objects():
    for v, row in enumerate(VERBS):
        assert len(objects_of(v)) >= 2, row[0]
    eat = objects_of(index(VERBS, "eat"))
    assert {OBJECTS[i][0] for i in eat} == {"apple", "banana", "egg", "cake", "loaf of bread"}


def test_held_out_pairs_cover_every_subject_once():
    pairs = held_out_pairs(seed=0)
    assert sorted(s for s, _ in pairs) == list(range(len(SUBJECTS)))
    counts = [sum(v == verb for _, v in pairs) for verb in range(len(VERBS))]
    assert max(counts) <= 2
    assert held_out_pairs(seed=1) != pairs


@pytest.fixture(scope="module")
def corpus():
    return korean_corpus(seed=0)


def test_corpus_has_tens_of_thousands_of_distinct_pairs(corpus):
    assert isinstance(corpus, Splits)
    assert [len(part) for part in corpus] == [40_000, 2_000, 2_000]
    everything = corpus.train + corpus.validation + corpus.test
    assert len(set(everything)) == len(everything)
    assert len({en for en, _ in everything}) == len(everything)


def test_test_combinations_never_occur_in_training():
    held = held_out_pairs(seed=3)
    train = sample_sentences(5000, held_out=False, seed=3)
    test = sample_sentences(500, held_out=True, seed=3)
    train_pairs = {(s.subject, s.verb) for s in train}
    assert all((s.subject, s.verb) in held for s in test)
    assert not train_pairs & {(s.subject, s.verb) for s in test}
    # ... yet every subject and verb of the test set occurs in training.
    assert {s.subject for s in test} <= {s.subject for s in train}
    assert {s.verb for s in test} <= {s.verb for s in train}
    corpus = korean_corpus(4000, 1000, 500, seed=3)
    assert corpus.train == [(s.english, s.korean) for s in train[:4000]]
    assert corpus.validation == [(s.english, s.korean) for s in train[4000:]]
    assert corpus.test == [(s.english, s.korean) for s in test]


def test_the_corpus_is_deterministic(corpus):
    small = korean_corpus(300, 20, 20, seed=0)
    assert small.train == corpus.train[:300] and small.test == corpus.test[:20]
    assert korean_corpus(300, 20, 20, seed=0) == small
    assert korean_corpus(300, 20, 20, seed=1).train != small.train


def test_max_number_bounds_the_counts():
    words = {w for en, _ in korean_corpus(500, 0, 0, max_number=3).train for w in en.split()}
    assert {"one", "two", "three"} <= words and not {"four", "twenty"} & words


def test_the_count_of_distinct_sentences_is_exact():
    with pytest.raises(ValueError, match=r"the (\d+) distinct") as err:
        sample_sentences(10**6, held_out=True, max_number=1)
    size = int(re.search(r"the (\d+) distinct", str(err.value)).group(1))
    everything = sample_sentences(size, held_out=True, max_number=1)
    assert len(set(everything)) == size
    with pytest.raises(ValueError, match=f"n={size + 1} is more than the {size}"):
        sample_sentences(size + 1, held_out=True, max_number=1)


@pytest.mark.parametrize("n, english", [(1, "one"), (13, "thirteen"), (20, "twenty"),
                                        (21, "twenty-one"), (40, "forty"), (99, "ninety-nine")])
def test_english_numbers(n, english):
    assert english_number(n) == english


@pytest.mark.parametrize("call, match", [
    (lambda: english_number(0), r"n=0 must be an int in \[1, 99\]"),
    (lambda: sample_sentences(0, False), "n=0 must be an int >= 1"),
    (lambda: sample_sentences(5, False, max_number=100), "max_number=100 must be at most 99"),
    (lambda: sample_sentences(20000, True, max_number=1), r"n=20000 is more than the \d+ distinct"),
    (lambda: korean_corpus(num_test=-1), "num_test=-1 must be an int >= 0"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
