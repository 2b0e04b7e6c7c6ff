"""The Korean the generated corpus needs, computed from Hangul code points.

Every Hangul syllable block is one code point, ``0xAC00 + (initial * 21 + medial) * 28 +
final``, with 19 initial consonants, 21 vowels and 28 finals (the first final is "none"). So
whether a word ends in a consonant (*batchim*, 받침) is arithmetic, and three rules follow:

- particles: topic 은/는, subject 이/가, object 을/를; the first after a final consonant,
  the second after a vowel (:func:`particle`);
- verb endings in the polite style (-요): present, past and future, by vowel harmony and
  contraction (:func:`conjugate`);
- native Korean numbers before a counter: 한, 두, 세 ... 스무, 스물한 (:func:`native_number`).

>>> [particle(noun, "object") for noun in ("사과", "책", "닭")]
['를', '을', '을']
>>> conjugate("먹다", "past"), conjugate("보다", "present"), conjugate("만들다", "future")
('먹었어요', '봐요', '만들 거예요')
>>> native_number(3) + " 마리", native_number(21) + " 개"
('세 마리', '스물한 개')
"""

from __future__ import annotations

FIRST_SYLLABLE, LAST_SYLLABLE = 0xAC00, 0xD7A3
INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
MEDIALS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
FINALS = ("", *"ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ")
PARTICLES = {"topic": ("은", "는"), "subject": ("이", "가"), "object": ("을", "를")}
"""``kind -> (after a final consonant, after a vowel)``."""
TENSES = ("present", "past", "future")


def decompose(syllable: str) -> tuple[str, str, str]:
    """A Hangul syllable -> ``(initial, medial, final)`` jamo; ``final`` is ``""`` if none.

    >>> decompose("닭")
    ('ㄷ', 'ㅏ', 'ㄺ')
    """
    if not isinstance(syllable, str) or len(syllable) != 1 or not (
            FIRST_SYLLABLE <= ord(syllable) <= LAST_SYLLABLE):
        raise ValueError(f"syllable={syllable!r} must be one Hangul syllable (U+AC00..U+D7A3)")
    index = ord(syllable) - FIRST_SYLLABLE
    return INITIALS[index // (21 * 28)], MEDIALS[index // 28 % 21], FINALS[index % 28]


def compose(initial: str, medial: str, final: str = "") -> str:
    """``(initial, medial, final)`` jamo -> the syllable: ``compose("ㅂ", "ㅘ", "ㅆ") == "봤"``."""
    for name, value, table in (("initial", initial, tuple(INITIALS)),
                               ("medial", medial, tuple(MEDIALS)), ("final", final, FINALS)):
        if value not in table:
            raise ValueError(f"{name}={value!r} must be one of {''.join(table)!r}"
                             + (" or ''" if name == "final" else ""))
    code = (INITIALS.index(initial) * 21 + MEDIALS.index(medial)) * 28 + FINALS.index(final)
    return chr(FIRST_SYLLABLE + code)


def final_consonant(word: str) -> str:
    """The final consonant (batchim) of the word's last syllable, ``""`` if it ends in a vowel.

    >>> final_consonant("학생"), final_consonant("고양이")
    ('ㅇ', '')
    """
    if not isinstance(word, str) or not word:
        raise ValueError(f"word={word!r} must be a non-empty str")
    try:
        return decompose(word[-1])[2]
    except ValueError:
        raise ValueError(f"word={word!r} must end in a Hangul syllable") from None


def particle(noun: str, kind: str) -> str:
    """The particle of ``kind`` (``"topic"``, ``"subject"`` or ``"object"``) after ``noun``:
    은/이/을 after a final consonant, 는/가/를 after a vowel."""
    if kind not in PARTICLES:
        raise ValueError(f"kind={kind!r} must be one of {list(PARTICLES)}")
    after_consonant, after_vowel = PARTICLES[kind]
    return after_consonant if final_consonant(noun) else after_vowel


def _with_final(syllables: str, final: str) -> str:
    """``syllables`` with the final consonant of the last one set to ``final``."""
    initial, medial, _ = decompose(syllables[-1])
    return syllables[:-1] + compose(initial, medial, final)


# A vowel-ending stem joins the ending 아/어 by contraction: 보+아 -> 봐, 마시+어 -> 마셔.
_CONTRACTED = {"ㅗ": "ㅘ", "ㅜ": "ㅝ", "ㅣ": "ㅕ", "ㅚ": "ㅙ"}
_ABSORBING = set("ㅏㅓㅐㅔㅕ")  # 사+아 -> 사, 서+어 -> 서, 보내+어 -> 보내


def _infinitive(stem: str) -> str:
    """The stem plus 아/어 (the form before -요 and -ㅆ어요), for regular verbs."""
    if stem.endswith("하"):
        return stem[:-1] + "해"
    initial, medial, final = decompose(stem[-1])
    if final:  # vowel harmony: 아 after ㅏ/ㅗ, else 어 (찾아, 먹어, 만들어)
        return stem + ("아" if medial in "ㅏㅗ" else "어")
    if medial in _ABSORBING:
        return stem
    if medial in _CONTRACTED:
        return stem[:-1] + compose(initial, _CONTRACTED[medial])
    if medial == "ㅡ":  # ㅡ drops out; the vowel before decides: 쓰 -> 써, 바쁘 -> 바빠
        bright = len(stem) > 1 and decompose(stem[-2])[1] in "ㅏㅗ"
        return stem[:-1] + compose(initial, "ㅏ" if bright else "ㅓ")
    return stem + "어"


def conjugate(verb: str, tense: str) -> str:
    """A regular verb in its dictionary form (``"먹다"``) in the polite style (해요체).

    - present: stem + 아요/어요, contracted after a vowel (먹어요, 봐요, 마셔요, 써요, 해요);
    - past: the same form with ㅆ as final consonant, + 어요 (먹었어요, 봤어요, 했어요);
    - future: stem + ㄹ 거예요 after a vowel or ㄹ, + 을 거예요 after another consonant
      (볼 거예요, 만들 거예요, 먹을 거예요).

    Irregular verbs (듣다 -> 들어요, 돕다 -> 도와요, 부르다 -> 불러요) are not handled: the
    corpus uses regular ones only.
    """
    if not isinstance(verb, str) or len(verb) < 2 or not verb.endswith("다"):
        raise ValueError(f"verb={verb!r} must be a dictionary form ending in 다, like '먹다'")
    if tense not in TENSES:
        raise ValueError(f"tense={tense!r} must be one of {list(TENSES)}")
    stem = verb[:-1]
    final = final_consonant(stem)
    if tense == "present":
        return _infinitive(stem) + "요"
    if tense == "past":
        return _with_final(_infinitive(stem), "ㅆ") + "어요"
    if final in ("", "ㄹ"):
        return _with_final(stem, "ㄹ") + " 거예요"
    return stem + "을 거예요"


_UNITS = ("", "하나", "둘", "셋", "넷", "다섯", "여섯", "일곱", "여덟", "아홉")
_TENS = ("", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔")
_BEFORE_COUNTER = {"하나": "한", "둘": "두", "셋": "세", "넷": "네", "스물": "스무"}


def native_number(n: int, before_counter: bool = True) -> str:
    """The native Korean number ``n`` (1-99), as said before a counter (한 개, 두 권, 스무
    마리, 스물한 잔) or, with ``before_counter=False``, when counting (하나, 둘, 스물)."""
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 99:
        raise ValueError(f"n={n!r} must be an int in [1, 99]")
    tens, units = _TENS[n // 10], _UNITS[n % 10]
    if before_counter:
        if units:
            units = _BEFORE_COUNTER.get(units, units)
        else:
            tens = _BEFORE_COUNTER.get(tens, tens)
    return tens + units
