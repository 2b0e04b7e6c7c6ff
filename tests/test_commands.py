"""The command lines' pieces, in process and fast: their tasks, vocabularies and model sizes.
(tests/test_cli.py runs the commands themselves, as a user would.)"""

from __future__ import annotations

import pytest

from transformer_book import TransformerConfig
from transformer_book._cli import fail, positive_int
from transformer_book.train import TASKS, build_parser, task_pairs, task_tokenizer


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
