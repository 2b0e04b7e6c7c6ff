"""The command lines' pieces, in process and fast: their tasks, vocabularies and model sizes.
(tests/test_cli.py runs the commands themselves, as a user would.)"""

from __future__ import annotations

import pytest

from transformer_book import TransformerConfig
from transformer_book import translate as translate_command
from transformer_book._cli import fail, positive_int
from transformer_book.text.data import TASKS, task_pairs, task_tokenizer
from transformer_book.train import build_parser


@pytest.mark.parametrize("task", TASKS)
def test_every_task_has_repeatable_pairs_the_tokenizer_knows(task):
    pairs = task_pairs(task, 50, "train", seed=3)
    assert len(pairs) == 50 and pairs == task_pairs(task, 50, "train", seed=3)
    assert pairs != task_pairs(task, 50, "train", seed=4)
    tok = task_tokenizer(task)
    for source, target in pairs:
        assert source and target
        assert not tok.unknown_chars(source) and not tok.unknown_chars(target)
    if task == "copy":
        assert all(s == t for s, t in pairs)
    if task == "reverse":
        assert all(s[::-1] == t for s, t in pairs)


@pytest.mark.parametrize("task", ["copy", "reverse"])
def test_copy_tasks_draw_each_split_apart(task):
    train, val = task_pairs(task, 50, "train"), task_pairs(task, 50, "validation")
    assert train != val


def test_unknown_tasks_and_splits_are_refused():
    with pytest.raises(ValueError, match="task='nope' must be one of"):
        task_pairs("nope", 5, "train")
    with pytest.raises(ValueError, match="split='dev' must be one of"):
        task_pairs("copy", 5, "dev")
    with pytest.raises(ValueError, match="task='nope'"):
        task_tokenizer("nope")


def test_the_presets_are_the_model_sizes_of_the_config():
    parser = build_parser()
    preset = next(a for a in parser._actions if a.dest == "preset")
    assert tuple(preset.choices) == TransformerConfig.SIZES and preset.default == "small"
    for name in TransformerConfig.SIZES:
        assert parser.parse_args(["--preset", name]).preset == name


def test_shared_helpers(capsys):
    assert fail("bad --beam") == 2
    assert capsys.readouterr().err == "error: bad --beam\n"
    assert positive_int("3") == 3
    with pytest.raises(Exception, match="0 is not a positive integer"):
        positive_int("0")


# --- translate with a subword checkpoint: what a corpus model is given is read as it was trained

@pytest.fixture(scope="module")
def subword_checkpoint(tmp_path_factory):
    from transformer_book import Transformer, set_seed
    from transformer_book.checkpoints import save_checkpoint
    from transformer_book.text.korean_grammar import korean_corpus
    from transformer_book.text.subword import SubwordTokenizer

    pairs = [pair for part in korean_corpus(200, 10, 10, seed=0) for pair in part]
    tok = SubwordTokenizer.train([s for pair in pairs for s in pair], vocab_size=300)
    set_seed(0)
    path = tmp_path_factory.mktemp("subword") / "ko.pt"
    save_checkpoint(path, Transformer(TransformerConfig.tiny(len(tok))), tok, epoch=1)
    return path


@pytest.mark.parametrize("texts, lines", [
    (["   ", "A cat"], 2),  # a blank text gives an empty line
    (["A bear\tcaught", "A bear\u3000caught", "A bear caught"], 3),  # whitespace as in training
])
def test_translate_reads_texts_as_the_corpus_was_read(subword_checkpoint, capsys, texts, lines):
    assert translate_command.main([str(subword_checkpoint), *texts, "--max-len", "4"]) == 0
    out = capsys.readouterr().out.split("\n")[:-1]
    assert len(out) == lines
    if texts[0].isspace():
        assert out[0] == "" and out[1] != ""
    else:
        assert out[0] == out[1] == out[2]


def test_translate_names_a_byte_that_is_not_utf8_in_an_argument(subword_checkpoint, capsys):
    # Python passes such a byte of argv as a lone surrogate, which SentencePiece cannot take.
    assert translate_command.main([str(subword_checkpoint), "A bear\udcff"]) == 2
    assert capsys.readouterr().err == ("error: text 1 is not UTF-8 text (byte 0xff at position "
                                       "7)\n")


def test_tokenizers_refuse_what_they_cannot_read(subword_checkpoint):
    from transformer_book.checkpoints import load_checkpoint
    from transformer_book.text.tokenizers import CharTokenizer

    tok = CharTokenizer("abc")
    for ids in ([1000], [-1, 4], [-5], [4.0]):
        with pytest.raises(ValueError, match=r"expected ints in \[0, 7\)"):
            tok.decode(ids)
    subword = load_checkpoint(subword_checkpoint).tokenizer
    with pytest.raises(ValueError, match="'\\\\ud800' at position 2, which is not a Unicode"):
        subword.encode("a\ud800b")
    assert subword.unknown_chars("a\tb\u3000c d") == ["\t", "\u3000"]
