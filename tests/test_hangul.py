import pytest

from transformer_book.text.hangul import (
    TENSES,
    compose,
    conjugate,
    decompose,
    final_consonant,
    native_number,
    particle,
)

# noun, final consonant, topic, subject, object: checked against a grammar of Korean.
NOUNS = [
    ("사과", "", "는", "가", "를"),
    ("고양이", "", "는", "가", "를"),
    ("의자", "", "는", "가", "를"),
    ("책", "ㄱ", "은", "이", "을"),
    ("학생", "ㅇ", "은", "이", "을"),
    ("선생님", "ㅁ", "은", "이", "을"),
    ("물", "ㄹ", "은", "이", "을"),
    ("꽃", "ㅊ", "은", "이", "을"),
    ("닭", "ㄺ", "은", "이", "을"),
    ("이웃", "ㅅ", "은", "이", "을"),
    ("컵", "ㅂ", "은", "이", "을"),
    ("군인", "ㄴ", "은", "이", "을"),
]


@pytest.mark.parametrize("noun, final, topic, subject, obj", NOUNS)
def test_particles_follow_the_final_consonant(noun, final, topic, subject, obj):
    assert final_consonant(noun) == final
    assert (particle(noun, "topic"), particle(noun, "subject"), particle(noun, "object")) == (
        topic, subject, obj)


def test_decompose_and_compose_are_inverse_over_all_syllables():
    syllables = [chr(c) for c in range(0xAC00, 0xD7A4)]
    assert len(syllables) == 19 * 21 * 28
    assert all(compose(*decompose(s)) == s for s in syllables)
    assert decompose("가") == ("ㄱ", "ㅏ", "") and decompose("힣") == ("ㅎ", "ㅣ", "ㅎ")
    assert compose("ㅂ", "ㅘ", "ㅆ") == "봤"


@pytest.mark.parametrize("call, match", [
    (lambda: decompose("a"), "syllable='a' must be one Hangul syllable"),
    (lambda: decompose("가나"), "syllable='가나'"),
    (lambda: decompose("ㄱ"), "syllable='ㄱ'"),
    (lambda: compose("ㅏ", "ㅏ"), "initial='ㅏ' must be one of"),
    (lambda: compose("ㄱ", "ㅏㅏ"), "medial='ㅏㅏ'"),
    (lambda: compose("ㄱ", "ㅏ", "ㄸ"), "final='ㄸ'"),
    (lambda: final_consonant(""), "word='' must be a non-empty str"),
    (lambda: final_consonant("TV"), "word='TV' must end in a Hangul syllable"),
    (lambda: particle("책", "genitive"), "kind='genitive' must be one of"),
    (lambda: conjugate("먹", "past"), "verb='먹' must be a dictionary form"),
    (lambda: conjugate("먹다", "perfect"), "tense='perfect' must be one of"),
    (lambda: native_number(0), r"n=0 must be an int in \[1, 99\]"),
    (lambda: native_number(100), "n=100"),
    (lambda: native_number(True), "n=True"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# verb, present, past, future (polite style), each rule of conjugate() at least once.
VERBS = [
    ("먹다", "먹어요", "먹었어요", "먹을 거예요"),        # consonant, dark vowel: 어
    ("찾다", "찾아요", "찾았어요", "찾을 거예요"),        # consonant, bright vowel: 아
    ("읽다", "읽어요", "읽었어요", "읽을 거예요"),        # double final ㄺ
    ("팔다", "팔아요", "팔았어요", "팔 거예요"),          # ㄹ stem: no 을 in the future
    ("만들다", "만들어요", "만들었어요", "만들 거예요"),
    ("사다", "사요", "샀어요", "살 거예요"),              # ㅏ absorbs 아
    ("보내다", "보내요", "보냈어요", "보낼 거예요"),      # ㅐ absorbs 어
    ("보다", "봐요", "봤어요", "볼 거예요"),              # ㅗ + 아 -> ㅘ
    ("주다", "줘요", "줬어요", "줄 거예요"),              # ㅜ + 어 -> ㅝ
    ("마시다", "마셔요", "마셨어요", "마실 거예요"),      # ㅣ + 어 -> ㅕ
    ("던지다", "던져요", "던졌어요", "던질 거예요"),
    ("되다", "돼요", "됐어요", "될 거예요"),              # ㅚ + 어 -> ㅙ
    ("쓰다", "써요", "썼어요", "쓸 거예요"),              # ㅡ drops
    ("바쁘다", "바빠요", "바빴어요", "바쁠 거예요"),      # ㅡ drops, harmony from 바
    ("쉬다", "쉬어요", "쉬었어요", "쉴 거예요"),          # ㅟ takes 어 unchanged
    ("좋아하다", "좋아해요", "좋아했어요", "좋아할 거예요"),  # 하 -> 해
]


@pytest.mark.parametrize("verb, present, past, future", VERBS)
def test_conjugation_in_the_polite_style(verb, present, past, future):
    assert [conjugate(verb, t) for t in TENSES] == [present, past, future]


@pytest.mark.parametrize("n, before_counter, counting", [
    (1, "한", "하나"), (2, "두", "둘"), (3, "세", "셋"), (4, "네", "넷"), (5, "다섯", "다섯"),
    (10, "열", "열"), (11, "열한", "열하나"), (14, "열네", "열넷"), (20, "스무", "스물"),
    (21, "스물한", "스물하나"), (30, "서른", "서른"), (42, "마흔두", "마흔둘"),
    (99, "아흔아홉", "아흔아홉")])
def test_native_numbers(n, before_counter, counting):
    assert native_number(n) == before_counter
    assert native_number(n, before_counter=False) == counting
