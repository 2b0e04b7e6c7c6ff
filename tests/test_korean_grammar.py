import re

import pytest

from transformer_book.text.corpus import Splits
from transformer_book.text.hangul import TENSES, conjugate, particle
from transformer_book.text.korean_grammar import (
    ADVERBS,
    HONORIFIC_SUBJECTS,
    OBJECTS,
    SUBJECTS,
    VERBS,
    Sentence,
    conjugate_verb,
    english_number,
    held_out_pairs,
    honorific_verb,
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
     "The teacher reads twenty books.", "선생님은 책을 스무 권 읽으세요."),
    (("grandmother", False, "eat", "cake", 2, "past", "yesterday"),
     "A grandmother ate two cakes yesterday.", "할머니가 어제 케이크를 두 개 드셨어요."),
    (("king", True, "make", "hat", 1, "future", "tomorrow"),
     "The king will make one hat tomorrow.", "왕은 내일 모자를 한 개 만드실 거예요."),
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
        verb = conjugate(VERBS[s.verb][3], s.tense)
        if SUBJECTS[s.subject][0] not in HONORIFIC_SUBJECTS:
            assert " ".join(ko[i + 3:]) == verb  # SOV: verb last
        else:  # -(으)시- before the ending, and 드시다 for 먹다
            assert " ".join(ko[i + 3:]) == conjugate_verb(VERBS[s.verb][3], s.tense, True) != verb
        verb = {"present": VERBS[s.verb][1], "past": VERBS[s.verb][2], "future": "will"}
        j = en.index(verb[s.tense])
        assert en[j + (2 if s.tense == "future" else 1)] == english_number(s.number)  # SVO
        assert (en[0] == "The") == s.definite


# (verb, present, past, future) in the honorific polite style.
HONORIFIC_FORMS = [
    ("던지다", "던지세요", "던지셨어요", "던지실 거예요"),  # vowel-final stem: 시
    ("마시다", "마시세요", "마시셨어요", "마시실 거예요"),
    ("보다", "보세요", "보셨어요", "보실 거예요"),
    ("보내다", "보내세요", "보내셨어요", "보내실 거예요"),
    ("쓰다", "쓰세요", "쓰셨어요", "쓰실 거예요"),
    ("좋아하다", "좋아하세요", "좋아하셨어요", "좋아하실 거예요"),
    ("읽다", "읽으세요", "읽으셨어요", "읽으실 거예요"),  # consonant-final stem: 으시
    ("찾다", "찾으세요", "찾으셨어요", "찾으실 거예요"),
    ("잡다", "잡으세요", "잡으셨어요", "잡으실 거예요"),
    ("받다", "받으세요", "받으셨어요", "받으실 거예요"),
    ("씻다", "씻으세요", "씻으셨어요", "씻으실 거예요"),
    ("만들다", "만드세요", "만드셨어요", "만드실 거예요"),  # ㄹ-final stem: ㄹ drops
    ("팔다", "파세요", "파셨어요", "파실 거예요"),
    ("열다", "여세요", "여셨어요", "여실 거예요"),
    ("먹다", "드세요", "드셨어요", "드실 거예요"),  # suppletive: 드시다
    ("자다", "주무세요", "주무셨어요", "주무실 거예요"),  # suppletive: 주무시다
]


@pytest.mark.parametrize("verb, present, past, future", HONORIFIC_FORMS)
def test_honorific_forms(verb, present, past, future):
    forms = [conjugate_verb(verb, tense, honorific=True) for tense in TENSES]
    assert forms == [present, past, future]
    assert [conjugate_verb(verb, tense) for tense in TENSES] == [
        conjugate(verb, tense) for tense in TENSES]


def test_every_verb_of_the_grammar_has_its_honorific_form_in_the_table():
    assert {v[3] for v in VERBS} - {row[0] for row in HONORIFIC_FORMS} == {
        "사다", "주문하다", "그리다", "빌리다"}
    for v in VERBS:  # the rest follow the vowel-final rule
        if v[3] in {"사다", "주문하다", "그리다", "빌리다"}:
            assert conjugate_verb(v[3], "past", True) == v[3][:-1] + "셨어요"


def test_honorific_subjects_take_the_honorific_verb(seen):
    assert HONORIFIC_SUBJECTS <= {en for en, _ in SUBJECTS}
    honorific = [s for s in seen if s.honorific]
    assert 0.1 < len(honorific) / len(seen) < 0.3
    for s in seen:
        verb = dict(s.parts("korean"))["verb"]
        assert s.korean.endswith(f" {verb}.")
        assert (verb != conjugate(VERBS[s.verb][3], s.tense)) == s.honorific, s.korean


def test_word_indices_find_the_verb():
    s = sentence("police officer", False, "read", "book", 3, "future", "tomorrow")
    assert s.english == "A police officer will read three books tomorrow."
    assert s.korean == "경찰관이 내일 책을 세 권 읽을 거예요."
    assert s.word_indices("english") == [3, 4] and s.word_indices("korean") == [5, 6]
    assert s.word_indices("english", "subject") == [1, 2]
    assert s.word_indices("korean", "counter") == [4]
    with pytest.raises(ValueError, match="language='german' must be"):
        s.word_indices("german")


def test_word_indices_pick_the_verb_of_every_sentence(seen):
    for s in seen[:500]:
        english, korean = s.english[:-1].split(), s.korean[:-1].split()
        assert " ".join(english[i] for i in s.word_indices("english")) == dict(
            s.parts("english"))["verb"]
        assert [korean[i] for i in s.word_indices("korean")] == korean[
            -len(s.word_indices("korean")):]


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


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_honorific_subjects_meet_held_out_verbs_only_in_the_test_split(seed):
    # Each honorific subject has a held-out verb, whose honorific form training shows only with
    # other honorific subjects: the test asks the model to compose the subject with the verb.
    honorific = {i for i, (en, _) in enumerate(SUBJECTS) if en in HONORIFIC_SUBJECTS}
    held = {(s, v) for s, v in held_out_pairs(seed) if s in honorific}
    assert len(held) == len(honorific) == 5
    train = sample_sentences(6000, held_out=False, seed=seed)
    seen_honorific = {(s.subject, s.verb) for s in train if s.honorific}
    for s, v in held:
        assert (s, v) not in seen_honorific
        assert any(v == verb for _, verb in seen_honorific), VERBS[v][0]


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
    (lambda: conjugate_verb("먹다", "later", honorific=True), "tense='later' must be one of"),
    (lambda: honorific_verb("먹"), "verb='먹' must be a dictionary form"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
