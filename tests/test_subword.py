import inspect
import io
import os
import pickle

import pytest
import torch

from transformer_book.text.subword import SubwordTokenizer
from transformer_book.text.tokenizers import SPECIAL_TOKENS

PAIRS = [
    ("the cat ate three apples", "고양이는 사과를 세 개 먹었어요"),
    ("a dog saw two books", "개가 책을 두 권 봤어요"),
    ("the student will read a letter", "학생은 편지를 한 통 읽을 거예요"),
    ("a bear bought five flowers", "곰이 꽃을 다섯 송이 샀어요"),
    ("the teacher likes the cat", "선생님은 고양이를 좋아해요"),
]
TEXTS = [s for pair in PAIRS for s in pair] * 20


@pytest.fixture(scope="module", params=["unigram", "bpe"])
def tok(request):
    return SubwordTokenizer.train(TEXTS, vocab_size=80, model_type=request.param)


def test_specials_and_vocabulary(tok):
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id) == (0, 1, 2, 3)
    assert tuple(tok.vocab[:4]) == SPECIAL_TOKENS
    assert len(tok) == len(tok.vocab) == 80
    assert len(set(tok.vocab)) == 80
    assert repr(tok) == "SubwordTokenizer(80 pieces)"


def test_same_interface_as_the_character_tokenizer(tok):
    params = inspect.signature(tok.encode).parameters
    assert list(params) == ["text", "add_bos", "add_eos", "strict"]
    assert [p.default for p in list(params.values())[1:]] == [False, False, False]
    assert list(inspect.signature(tok.decode).parameters) == ["ids", "stop_at_eos"]


def test_encode_decode_round_trip_on_both_languages(tok):
    for en, ko in PAIRS:
        for text in (en, ko):
            ids = tok.encode(text)
            assert tok.unk_id not in ids
            assert tok.decode(ids) == text
    ids = tok.encode("고양이는 사과를 먹었어요", add_bos=True, add_eos=True)
    assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id
    assert tok.bos_id not in ids[1:-1] and tok.eos_id not in ids[1:-1]
    assert tok.decode(torch.tensor(ids + [tok.pad_id] * 3)) == "고양이는 사과를 먹었어요"


def test_pieces_spell_the_text(tok):
    text = "고양이는 사과를 세 개 먹었어요"
    assert "".join(tok.pieces(text)).replace("▁", " ").strip() == text
    assert len(tok.pieces(text)) == len(tok.encode(text))


def test_a_larger_vocabulary_gives_shorter_sequences():
    text = "고양이는 사과를 세 개 먹었어요"
    lengths = [len(SubwordTokenizer.train(TEXTS, vocab_size=v, model_type="bpe").encode(text))
               for v in (70, 150, 300)]
    assert lengths[0] > lengths[1] > lengths[2]
    assert lengths[2] < len(text.split()) + 2


def test_decode_stops_at_eos_unless_told_not_to(tok):
    a, b = tok.encode("the cat"), tok.encode("a dog")
    ids = [tok.bos_id, *a, tok.eos_id, *b, tok.eos_id]
    assert tok.decode(ids) == "the cat"
    assert tok.decode(ids, stop_at_eos=False) == "the cat a dog"


def test_nfd_input_encodes_as_nfc(tok):
    nfc = "고양이"
    nfd = "\u1100\u1169\u110b\u1163\u11bc\u110b\u1175"
    assert nfd != nfc and tok.encode(nfd) == tok.encode(nfc)


def test_unknown_characters(tok):
    text = "the cat ☃ ate 🍎"
    ids = tok.encode(text)
    assert ids.count(tok.unk_id) == 2
    assert tok.unknown_chars(text) == ["☃", "🍎"]
    assert tok.unknown_chars("the cat") == []
    assert "?" in tok.decode(ids)
    with pytest.raises(ValueError, match="does not know: '☃🍎'"):
        tok.encode(text, strict=True)


def test_training_is_deterministic_and_settings_matter():
    a = SubwordTokenizer.train(TEXTS, vocab_size=72)
    assert SubwordTokenizer.train(TEXTS, vocab_size=72) == a
    assert SubwordTokenizer.train(TEXTS, vocab_size=72, model_type="bpe") != a
    assert SubwordTokenizer.train(TEXTS, vocab_size=76) != a


def test_training_leaves_no_file_behind(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    SubwordTokenizer.train(TEXTS, vocab_size=70)
    assert os.listdir(tmp_path) == []


def test_checkpoint_round_trip_with_weights_only(tok):
    model = torch.nn.Embedding(len(tok), 4)
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "tokenizer": tok.to_dict()}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=True)
    restored = SubwordTokenizer.from_dict(checkpoint["tokenizer"])
    assert restored == tok and restored.vocab == tok.vocab
    for text in ("고양이는 사과를 세 개 먹었어요", "the cat ☃"):
        assert restored.encode(text) == tok.encode(text)
    assert torch.equal(checkpoint["model"]["weight"], model.weight)


def test_pickles_as_its_model(tok):
    copy = pickle.loads(pickle.dumps(tok))
    assert copy == tok and copy is not tok
    text = "고양이는 사과를 세 개 먹었어요"
    assert copy.encode(text) == tok.encode(text)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"vocab_size": 4}, ValueError, "vocab_size=4 must be an int >= 5"),
    ({"vocab_size": 5000}, ValueError, "vocab_size=5000 cannot be trained .* <= "),
    ({"model_type": "word"}, ValueError, "model_type='word' must be one of"),
    ({"character_coverage": 0.5}, ValueError, "character_coverage=0.5 must be"),
    ({"texts": "one string"}, TypeError, "texts must be an iterable of sentences"),
    ({"texts": ["", "  "]}, ValueError, "at least one non-empty sentence"),
    ({"texts": ["a b", ("a", "b")]}, TypeError, r"texts\[1\] must be a str, got tuple"),
])
def test_train_rejects_bad_arguments(kwargs, error, match):
    kwargs = {"texts": TEXTS, "vocab_size": 70, **kwargs}
    with pytest.raises(error, match=match):
        SubwordTokenizer.train(**kwargs)


def test_bad_models_states_and_ids(tok):
    with pytest.raises(TypeError, match="model must be bytes"):
        SubwordTokenizer("model.spm")
    with pytest.raises(ValueError, match="is not a SentencePiece model"):
        SubwordTokenizer(b"not a model")
    with pytest.raises(ValueError, match="kind='sentencepiece', got a dict with keys"):
        SubwordTokenizer.from_dict({"vocab": ["<pad>"]})
    with pytest.raises(ValueError, match=r"ids has 80, expected ints in \[0, 80\)"):
        tok.decode([5, 80])
    with pytest.raises(TypeError, match="text must be a str"):
        tok.encode(["the", "cat"])


def test_sentences_too_long_for_sentencepiece_are_counted_in_the_error():
    from transformer_book.text.subword import MAX_SENTENCE_BYTES

    with pytest.raises(ValueError, match=f"3 longer sentences left out: SentencePiece learns "
                                         f"from sentences of at most {MAX_SENTENCE_BYTES} bytes"):
        SubwordTokenizer.train(["word " * 1000] * 3, vocab_size=50)
