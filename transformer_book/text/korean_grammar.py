"""A generated English -> Korean parallel corpus from a small grammar (chapter 11).

Each sentence has a subject, a verb in one of three tenses, a number of objects and sometimes
a time adverb, and the two languages put them in different orders with different machinery:

=================  ====================================  =========================================
                   English                               Korean
=================  ====================================  =========================================
word order         subject verb object (SVO)             subject object verb (SOV)
"the" / "a"        articles                              topic 은/는 / subject 이/가 particle
the object         no marking                            object particle 을/를
count              number word + plural noun             noun + native number + counter (세 마리)
tense              eats / ate / will eat                 먹어요 / 먹었어요 / 먹을 거예요
time adverb        at the end                            after the subject
=================  ====================================  =========================================

For example ``The cat ate three apples yesterday.`` is ``고양이는 어제 사과를 세 개
먹었어요.``. Particles and verb endings follow the final consonant and vowels of the word
(:mod:`transformer_book.text.hangul`). Which subject particle a sentence takes is a simplification
the grammar makes learnable: "the" (known, the topic) gives 은/는, "a" (new) gives 이/가.

The test split is built from *combinations never seen in training*: for every subject one verb
is held out, so every word of a test sentence occurs in training, but never that subject with
that verb. A model passes only if it composes what it learned.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .._checks import check_integer
from .corpus import Splits
from .hangul import TENSES, conjugate, native_number, particle

# (English, Korean): a mix of nouns ending in a vowel and in a consonant.
SUBJECTS = (
    ("cat", "고양이"), ("dog", "개"), ("bear", "곰"), ("rabbit", "토끼"), ("elephant", "코끼리"),
    ("owl", "부엉이"), ("horse", "말"), ("fox", "여우"), ("student", "학생"),
    ("teacher", "선생님"), ("doctor", "의사"), ("farmer", "농부"), ("cook", "요리사"),
    ("singer", "가수"), ("artist", "화가"), ("child", "아이"), ("soldier", "군인"),
    ("king", "왕"), ("queen", "여왕"), ("uncle", "삼촌"), ("neighbor", "이웃"),
    ("engineer", "기술자"), ("police officer", "경찰관"), ("actor", "배우"),
)

# (singular, plural, Korean, counter, tags): the tags say which verbs take the object.
OBJECTS = (
    ("apple", "apples", "사과", "개", "food throw wash"),
    ("banana", "bananas", "바나나", "개", "food throw"),
    ("egg", "eggs", "달걀", "개", "food throw"),
    ("cake", "cakes", "케이크", "개", "food make"),
    ("loaf of bread", "loaves of bread", "빵", "개", "food make"),
    ("cup of coffee", "cups of coffee", "커피", "잔", "drink"),
    ("cup of tea", "cups of tea", "차", "잔", "drink"),
    ("glass of milk", "glasses of milk", "우유", "잔", "drink"),
    ("glass of water", "glasses of water", "물", "잔", "drink"),
    ("book", "books", "책", "권", "thing text gift open lend write"),
    ("letter", "letters", "편지", "통", "text gift open write"),
    ("newspaper", "newspapers", "신문", "부", "thing text"),
    ("pencil", "pencils", "연필", "자루", "thing lend"),
    ("pen", "pens", "펜", "자루", "thing lend"),
    ("flower", "flowers", "꽃", "송이", "thing gift draw"),
    ("picture", "pictures", "그림", "장", "thing gift draw"),
    ("ticket", "tickets", "표", "장", "thing gift"),
    ("car", "cars", "자동차", "대", "thing draw lend"),
    ("bicycle", "bicycles", "자전거", "대", "thing lend"),
    ("chair", "chairs", "의자", "개", "thing make"),
    ("hat", "hats", "모자", "개", "thing make draw"),
    ("bag", "bags", "가방", "개", "thing open lend"),
    ("cup", "cups", "컵", "개", "thing wash"),
    ("ball", "balls", "공", "개", "thing throw catch"),
    ("pair of shoes", "pairs of shoes", "신발", "켤레", "thing"),
    ("fish", "fish", "물고기", "마리", "animal catch draw"),
    ("bird", "birds", "새", "마리", "animal catch draw"),
    ("chicken", "chickens", "닭", "마리", "animal catch"),
    ("duck", "ducks", "오리", "마리", "animal catch"),
    ("mouse", "mice", "쥐", "마리", "animal catch"),
)

# (base, third person singular, past, Korean dictionary form, object tags): regular verbs.
VERBS = (
    ("eat", "eats", "ate", "먹다", "food"),
    ("drink", "drinks", "drank", "마시다", "drink"),
    ("buy", "buys", "bought", "사다", "food drink thing animal"),
    ("sell", "sells", "sold", "팔다", "food thing animal"),
    ("see", "sees", "saw", "보다", "thing animal"),
    ("like", "likes", "liked", "좋아하다", "food drink thing animal"),
    ("order", "orders", "ordered", "주문하다", "food drink"),
    ("read", "reads", "read", "읽다", "text"),
    ("write", "writes", "wrote", "쓰다", "write"),
    ("draw", "draws", "drew", "그리다", "draw"),
    ("make", "makes", "made", "만들다", "make"),
    ("find", "finds", "found", "찾다", "thing animal"),
    ("catch", "catches", "caught", "잡다", "catch"),
    ("receive", "receives", "received", "받다", "gift"),
    ("send", "sends", "sent", "보내다", "gift"),
    ("open", "opens", "opened", "열다", "open"),
    ("borrow", "borrows", "borrowed", "빌리다", "lend"),
    ("throw", "throws", "threw", "던지다", "throw"),
    ("wash", "washes", "washed", "씻다", "wash"),
)

# Time adverbs that agree with each tense: (English, Korean); "" is no adverb.
ADVERBS = {
    "present": (("", ""), ("every day", "매일"), ("on weekends", "주말마다")),
    "past": (("", ""), ("yesterday", "어제"), ("last week", "지난주에")),
    "future": (("", ""), ("tomorrow", "내일"), ("next week", "다음 주에")),
}

_ONES = ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def english_number(n: int) -> str:
    """``n`` (1-99) in English words: ``21 -> "twenty-one"``."""
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 99:
        raise ValueError(f"n={n!r} must be an int in [1, 99]")
    if n < 20:
        return _ONES[n]
    return _TENS[n // 10] + (f"-{_ONES[n % 10]}" if n % 10 else "")


@dataclass(frozen=True)
class Sentence:
    """One sentence of the grammar, by indices into ``SUBJECTS``, ``VERBS``, ``OBJECTS`` and
    ``ADVERBS[tense]``; :attr:`english` and :attr:`korean` write it out."""

    subject: int
    definite: bool
    verb: int
    obj: int
    number: int
    tense: str
    adverb: int = 0

    @property
    def english(self) -> str:
        """``The cat ate three apples yesterday.``"""
        subject = SUBJECTS[self.subject][0]
        base, third, past = VERBS[self.verb][:3]
        singular, plural = OBJECTS[self.obj][:2]
        article = "the" if self.definite else "an" if subject[0] in "aeiou" else "a"
        verb = {"present": third, "past": past, "future": f"will {base}"}[self.tense]
        words = [article.capitalize(), subject, verb, english_number(self.number),
                 singular if self.number == 1 else plural, ADVERBS[self.tense][self.adverb][0]]
        return " ".join(w for w in words if w) + "."

    @property
    def korean(self) -> str:
        """``고양이는 어제 사과를 세 개 먹었어요.``"""
        subject = SUBJECTS[self.subject][1]
        _, _, noun, counter, _ = OBJECTS[self.obj]
        words = [subject + particle(subject, "topic" if self.definite else "subject"),
                 ADVERBS[self.tense][self.adverb][1], noun + particle(noun, "object"),
                 native_number(self.number), counter, conjugate(VERBS[self.verb][3], self.tense)]
        return " ".join(w for w in words if w) + "."


def objects_of(verb: int) -> list[int]:
    """Indices of the objects ``VERBS[verb]`` takes (an object shares one of its tags)."""
    tags = set(VERBS[verb][4].split())
    return [i for i, o in enumerate(OBJECTS) if tags & set(o[4].split())]


def held_out_pairs(seed: int = 0) -> set[tuple[int, int]]:
    """The ``(subject, verb)`` index pairs kept for the test split: one verb per subject,
    spread so that every verb is held out for at most two subjects."""
    verbs = list(range(len(VERBS)))
    random.Random(f"held-out-{seed}").shuffle(verbs)
    return {(s, verbs[s % len(verbs)]) for s in range(len(SUBJECTS))}


def sample_sentences(n: int, held_out: bool, seed: int = 0, max_number: int = 99
                     ) -> list[Sentence]:
    """``n`` distinct sentences drawn with ``seed``: with ``held_out=True`` only the subject-
    verb pairs of :func:`held_out_pairs` (``seed``), otherwise only the others. Numbers run
    from 1 to ``max_number``."""
    check_integer("n", n)
    check_integer("max_number", max_number)
    if max_number > 99:
        raise ValueError(f"max_number={max_number} must be at most 99")
    pairs = held_out_pairs(seed)
    allowed = sorted(pairs) if held_out else [
        (s, v) for s in range(len(SUBJECTS)) for v in range(len(VERBS)) if (s, v) not in pairs]
    size = 2 * max_number * sum(len(a) for a in ADVERBS.values()) * sum(
        len(objects_of(v)) for _, v in allowed)
    if n > size:
        raise ValueError(f"n={n} is more than the {size} distinct sentences there are "
                         f"(held_out={held_out}, max_number={max_number})")
    rng = random.Random(f"sentences-{seed}-{held_out}")
    out: dict[Sentence, None] = {}
    for _ in range(100 * n):
        s, v = rng.choice(allowed)
        tense = rng.choice(TENSES)
        sentence = Sentence(s, rng.random() < 0.5, v, rng.choice(objects_of(v)),
                            rng.randint(1, max_number), tense,
                            rng.randrange(len(ADVERBS[tense])))
        out[sentence] = None
        if len(out) == n:
            return list(out)
    raise ValueError(f"n={n} distinct sentences could not be drawn; lower n or raise max_number")


def korean_corpus(num_train: int = 40_000, num_validation: int = 2_000, num_test: int = 2_000,
                  seed: int = 0, max_number: int = 99) -> Splits:
    """English -> Korean ``(source, target)`` pairs: ``Splits(train, validation, test)``.

    Train and validation are distinct sentences of the seen subject-verb pairs; test holds
    ``num_test`` sentences of the held-out pairs (:func:`held_out_pairs`), so none of its
    subject-verb combinations occurs in training. The same arguments give the same corpus.

    >>> korean_corpus(2, 1, 1, seed=0, max_number=5).test
    [('The soldier will draw two cars next week.', '군인은 다음 주에 자동차를 두 대 그릴 거예요.')]
    """
    for name, value in (("num_train", num_train), ("num_validation", num_validation),
                        ("num_test", num_test)):
        check_integer(name, value, minimum=0)
    seen = sample_sentences(num_train + num_validation, False, seed, max_number) \
        if num_train + num_validation else []
    test = sample_sentences(num_test, True, seed, max_number) if num_test else []
    pairs = [[(s.english, s.korean) for s in part]
             for part in (seen[:num_train], seen[num_train:], test)]
    return Splits(*pairs)
