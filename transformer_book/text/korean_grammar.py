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
respect            no marking                            -(으)시- in the verb after an honorific
                                                         subject: 읽으세요, 드셨어요 (ate)
time adverb        at the end                            after the subject
=================  ====================================  =========================================

For example ``The cat ate three apples yesterday.`` is ``고양이는 어제 사과를 세 개
먹었어요.``. Particles and verb endings follow the final consonant and vowels of the word
(:mod:`transformer_book.text.hangul`). Which subject particle a sentence takes is a simplification
the grammar makes learnable: "the" (known, the topic) gives 은/는, "a" (new) gives 이/가.

Subject honorification: a sentence about a king, a queen, a teacher, a grandfather or a
grandmother (:data:`HONORIFIC_SUBJECTS`) puts the honorific infix -(으)시- in its verb
(:func:`conjugate_verb`), and 먹다 (eat) becomes 드시다. English marks nothing, so the verb's
Korean form depends on the subject, and the test split below measures that dependency. The
subject keeps its particle (선생님은, 왕이): the honorific particle 께서 is optional in speech, and
without it the verb's ending is the one place where the respect shows, far from the subject.

The test split is built from *combinations never seen in training*: for every subject one verb
is held out, so every word of a test sentence occurs in training, but never that subject with
that verb. Honorific subjects are among them, with verbs whose honorific form the training split
shows only after other honorific subjects. A model passes only if it composes what it learned.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .._checks import check_integer
from .corpus import Splits
from .hangul import TENSES, _with_final, conjugate, final_consonant, native_number, particle

# (English, Korean): a mix of nouns ending in a vowel and in a consonant.
SUBJECTS = (
    ("cat", "고양이"), ("dog", "개"), ("bear", "곰"), ("rabbit", "토끼"), ("elephant", "코끼리"),
    ("owl", "부엉이"), ("horse", "말"), ("fox", "여우"), ("student", "학생"),
    ("teacher", "선생님"), ("doctor", "의사"), ("farmer", "농부"), ("cook", "요리사"),
    ("singer", "가수"), ("artist", "화가"), ("child", "아이"), ("soldier", "군인"),
    ("king", "왕"), ("queen", "여왕"), ("grandfather", "할아버지"), ("neighbor", "이웃"),
    ("engineer", "기술자"), ("police officer", "경찰관"), ("actor", "배우"),
    ("grandmother", "할머니"),
)
HONORIFIC_SUBJECTS = frozenset({"teacher", "king", "queen", "grandfather", "grandmother"})
"""The subjects (English) whose verb takes the honorific -(으)시-."""

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

# Verbs whose honorific form is another word: 먹다 -> 드시다 (자다 -> 주무시다 for completeness; the
# grammar has no 자다). 있다 is left out: it becomes 계시다 ("is, stays") or 있으시다 ("has").
SUPPLETIVE_HONORIFICS = {"먹다": "드시다", "자다": "주무시다"}


def honorific_verb(verb: str) -> str:
    """The honorific dictionary form of ``verb``: the stem plus -(으)시-. A vowel-final stem takes
    시 (던지다 -> 던지시다), a consonant-final one 으시 (읽다 -> 읽으시다), a ㄹ-final one drops its
    ㄹ (만들다 -> 만드시다); :data:`SUPPLETIVE_HONORIFICS` replace the verb (먹다 -> 드시다). Only
    regular verbs (and those) are handled: ㅂ-, ㄷ- and ㅅ-irregular verbs (돕다 -> 도우시다) are
    not in the grammar."""
    if not isinstance(verb, str) or len(verb) < 2 or not verb.endswith("다"):
        raise ValueError(f"verb={verb!r} must be a dictionary form ending in 다, like '먹다'")
    if verb in SUPPLETIVE_HONORIFICS:
        return SUPPLETIVE_HONORIFICS[verb]
    stem = verb[:-1]
    final = final_consonant(stem)
    if final == "ㄹ":
        stem = _with_final(stem, "")
    elif final:
        stem += "으"
    return stem + "시다"


def conjugate_verb(verb: str, tense: str, honorific: bool = False) -> str:
    """``verb`` (dictionary form) in the polite style, with -(으)시- if ``honorific``: present
    -(으)세요 (던지세요, 읽으세요, 드세요), past -(으)셨어요 (던지셨어요, 읽으셨어요), future
    -(으)실 거예요 (던지실 거예요, 읽으실 거예요); without, :func:`~.hangul.conjugate`."""
    if not honorific:
        return conjugate(verb, tense)
    if tense not in TENSES:
        raise ValueError(f"tense={tense!r} must be one of {list(TENSES)}")
    raised = honorific_verb(verb)
    if tense == "present":  # 시 + 어요 is said 세요 (셔요 is rare)
        return raised[:-2] + "세요"
    return conjugate(raised, tense)  # 시 + 었어요 -> 셨어요, 시 + ㄹ 거예요 -> 실 거예요


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
    ``ADVERBS[tense]``; :attr:`english` and :attr:`korean` write it out, and
    :meth:`word_indices` says which of their words are the verb (or another part)."""

    subject: int
    definite: bool
    verb: int
    obj: int
    number: int
    tense: str
    adverb: int = 0

    @property
    def honorific(self) -> bool:
        """Whether the subject is honorific (:data:`HONORIFIC_SUBJECTS`): -(으)시- in the verb."""
        return SUBJECTS[self.subject][0] in HONORIFIC_SUBJECTS

    def parts(self, language: str) -> list[tuple[str, str]]:
        """The sentence's ``(part, words)`` in order, without the final full stop: parts
        ``"article"`` (English only), ``"subject"``, ``"verb"``, ``"number"``, ``"object"``,
        ``"counter"`` (Korean only) and ``"adverb"`` (left out when there is none)."""
        if language == "english":
            subject = SUBJECTS[self.subject][0]
            base, third, past = VERBS[self.verb][:3]
            singular, plural = OBJECTS[self.obj][:2]
            article = "the" if self.definite else "an" if subject[0] in "aeiou" else "a"
            parts = [("article", article.capitalize()), ("subject", subject),
                     ("verb", {"present": third, "past": past, "future": f"will {base}"}[
                         self.tense]), ("number", english_number(self.number)),
                     ("object", singular if self.number == 1 else plural),
                     ("adverb", ADVERBS[self.tense][self.adverb][0])]
        elif language == "korean":
            subject = SUBJECTS[self.subject][1]
            _, _, noun, counter, _ = OBJECTS[self.obj]
            parts = [("subject", subject + particle(subject, "topic" if self.definite
                                                    else "subject")),
                     ("adverb", ADVERBS[self.tense][self.adverb][1]),
                     ("object", noun + particle(noun, "object")),
                     ("number", native_number(self.number)), ("counter", counter),
                     ("verb", conjugate_verb(VERBS[self.verb][3], self.tense, self.honorific))]
        else:
            raise ValueError(f"language={language!r} must be 'english' or 'korean'")
        return [(part, words) for part, words in parts if words]

    @property
    def english(self) -> str:
        """``The cat ate three apples yesterday.``"""
        return " ".join(words for _, words in self.parts("english")) + "."

    @property
    def korean(self) -> str:
        """``고양이는 어제 사과를 세 개 먹었어요.``"""
        return " ".join(words for _, words in self.parts("korean")) + "."

    def word_indices(self, language: str, part: str = "verb") -> list[int]:
        """Which words of the sentence, split at spaces, are ``part``: for ``The cat will eat
        three apples.`` and ``고양이는 사과를 세 개 먹을 거예요.`` the verb is words ``[2, 3]``
        and ``[4, 5]`` (the full stop sticks to the last word)."""
        indices, start = [], 0
        for name, words in self.parts(language):
            size = len(words.split())
            if name == part:
                indices += range(start, start + size)
            start += size
        return indices


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
