"""Scoring as the field does: whole official test sets, beam search, sacreBLEU with signatures,
averaged weights; and the command lines that use it, run in process on a tiny model (the
subprocess runs are in test_cli.py)."""

from __future__ import annotations

import pytest
import torch

from transformer_book import _train_eval, evaluate, train
from transformer_book.averaging import LastEpochs
from transformer_book.checkpoints import load_checkpoint
from transformer_book.scoring import TestSet, read_test_set, score_test_set
from transformer_book.text.data import date_tokenizer
from transformer_book.text.datasets import tatoeba_eng_kor


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_read_test_set_keeps_every_line_and_names_the_files(tmp_path):
    src = write_lines(tmp_path / "t.de", ["ein Hund", "", "zwei Katzen"])
    ref = write_lines(tmp_path / "t.en", ["a dog", "", "two cats"])
    test = read_test_set(src, ref)
    assert test.sources == ["ein Hund", "", "zwei Katzen"]
    assert test.description == f"{src} -> {ref}, 3 lines"
    write_lines(ref, ["a dog", ""])
    with pytest.raises(ValueError, match="t.en ends after 2 lines, but .*t.de has a line 3"):
        read_test_set(src, ref)
    src.write_bytes(b"gut\n\xff\xfe\n")
    with pytest.raises(ValueError, match=r"t.de, line 2: byte 1 cannot be read as UTF-8"):
        read_test_set(src, ref)


def test_score_test_set_translates_every_line_in_order(tiny_model):
    tokenizer = date_tokenizer()
    model = tiny_model(len(tokenizer), max_len=12)
    sources = ["24 Nov 2026", "", "1 Jan 2000", "3 Mar 1999 and far too long for max_len"]
    test = TestSet(sources, ["2026-11-24", "", "2000-01-01", "1999-03-03"], "four dates")
    scores = score_test_set(model, tokenizer, test, beam_size=2, max_new_tokens=5, batch_size=2)
    assert len(scores.hypotheses) == 4 and scores.hypotheses[1] == ""
    assert all(len(h) <= 5 for h in scores.hypotheses)
    assert scores.truncated == 1 and 0 <= scores.bleu <= 100 and 0 <= scores.chrf <= 100
    assert "tok:13a" in scores.bleu_signature and scores.bleu_line.startswith("BLEU = ")
    # one by one, in order, greedily: the same translations as the batched, sorted decode
    greedy = score_test_set(model, tokenizer, test, beam_size=1, max_new_tokens=5)
    alone = [score_test_set(model, tokenizer, TestSet([s], [r], "one"), beam_size=1,
                            max_new_tokens=5).hypotheses[0]
             for s, r in zip(test.sources, test.references, strict=True)]
    assert greedy.hypotheses == alone


def test_last_epochs_averages_the_kept_weights():
    model = torch.nn.Linear(2, 1)
    keep = LastEpochs(model, k=3)
    for epoch in range(1, 6):
        model.weight.data.fill_(float(epoch))
        keep(epoch)
    assert keep.epochs == [3, 4, 5]
    assert torch.equal(keep.load_average().weight, torch.full((1, 2), 4.0))
    with pytest.raises(ValueError, match="k=0"):
        LastEpochs(model, 0)


def test_averaged_path():
    assert str(_train_eval.averaged_path("runs/model.pt")) == "runs/model.avg.pt"
    assert str(_train_eval.averaged_path("model")) == "model.avg"


# The train command with official sets, in process.

TINY = ["--preset", "tiny", "--device", "cpu", "--vocab-size", "500", "--max-tokens", "400",
        "--warmup", "10", "--no-progress", "--beam", "2"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A Tatoeba slice: 240 training pairs, and 20 + 20 official validation and test pairs."""
    folder = tmp_path_factory.mktemp("tatoeba")
    pairs = tatoeba_eng_kor(attribution=True)
    write_lines(folder / "train.tsv", ["\t".join(p) for p in pairs[:240]])
    for name, part in (("valid", pairs[240:260]), ("test", pairs[260:280])):
        write_lines(folder / f"{name}.en", [en for en, _, _ in part])
        write_lines(folder / f"{name}.ko", [ko for _, ko, _ in part])
    return folder


def official(folder, valid=True):
    flags = ["--test-src", str(folder / "test.en"), "--test-tgt", str(folder / "test.ko")]
    if valid:
        flags += ["--valid-src", str(folder / "valid.en"), "--valid-tgt", str(folder / "valid.ko")]
    return flags


def test_train_scores_the_official_test_set_with_a_beam_and_averages(corpus, tmp_path, capsys):
    out = tmp_path / "m.pt"
    argv = ["--data", str(corpus / "train.tsv"), *official(corpus), *TINY, "--epochs", "2",
            "--average-last", "2", "--d-model", "24", "--heads", "3", "--layers", "2",
            "--out", str(out)]
    assert train.main(argv) == 0
    stdout = capsys.readouterr().out
    report = stdout.splitlines()[-1]
    # the whole training file is trained on: the official sets replace the hash split's parts
    assert "240 training pairs" in stdout
    assert report.startswith("test exact match ") and ", BLEU " in report
    assert f"on {corpus / 'test.en'} -> {corpus / 'test.ko'}, 20 lines (beam 2, alpha 0.6, " \
           f"weights averaged over epochs 1-2; BLEU nrefs:1|" in report
    assert report.endswith(f"saved {out} and the averaged model {tmp_path / 'm.avg.pt'}")
    averaged, last = load_checkpoint(tmp_path / "m.avg.pt"), load_checkpoint(out)
    assert averaged.model.config.d_model == 24 and averaged.model.config.num_layers == 2
    assert averaged.extra["averaged_epochs"] == [1, 2] and averaged.optimizer_state is None
    assert last.extra["test_src"] == str(corpus / "test.en")
    # evaluate scores the same set the same way
    assert evaluate.main([str(tmp_path / "m.avg.pt"), "--src", str(corpus / "test.en"),
                          "--ref", str(corpus / "test.ko"), "--beam", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"set: {corpus / 'test.en'} -> {corpus / 'test.ko'}, 20 lines; "
                               f"checkpoint {tmp_path / 'm.avg.pt'} (epoch 2); beam 2, alpha 0.6")
    bleu = report.split(", BLEU ")[1].split(",")[0]
    assert lines[1].startswith(f"BLEU = {float(bleu):.2f}"[:9]) and "tok:13a" in lines[1]
    assert lines[2].startswith("chrF2 = ") and "nc:6" in lines[2]
    # resuming without the official validation set is refused: the split depends on it
    assert train.main([*argv[:2], "--test-src", str(corpus / "valid.en"), "--test-tgt",
                       str(corpus / "valid.ko"), *TINY, "--epochs", "3", "--resume",
                       "--out", str(out)]) == 2
    assert "--valid-src --valid-tgt: give them again" in capsys.readouterr().err
    # ... and so is resuming without them: a checkpoint's recorded paths are never opened
    assert train.main([*argv[:2], *TINY, "--epochs", "3", "--resume", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "give them again to resume" in err and "--valid-src" in err and "--test-tgt" in err, err


def test_the_hash_split_report_says_it_is_not_an_official_set(corpus, tmp_path, capsys):
    out = tmp_path / "m.pt"
    assert train.main(["--data", str(corpus / "train.tsv"), *TINY, "--epochs", "1",
                       "--beam", "1", "--out", str(out)]) == 0
    report = capsys.readouterr().out.splitlines()[-1]
    assert "pairs of the test part that the hash split held out of" in report
    assert "(not an official test set) (greedy; BLEU nrefs" in report


def bad_input(capsys, argv, tmp_path, *fragments):
    assert train.main([*argv, "--out", str(tmp_path / "x.pt")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured
    for fragment in fragments:
        assert fragment in captured.err, captured.err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_bad_official_sets_stop_the_run_before_anything_is_written(corpus, tmp_path, capsys):
    data = ["--data", str(corpus / "train.tsv"), *TINY, "--epochs", "1"]
    work = tmp_path / "work"
    work.mkdir()
    short = write_lines(tmp_path / "short.ko", ["하나"])
    bad = tmp_path / "bad.en"
    bad.write_bytes(b"fine\nnot \xc3(utf-8\n")
    bad_input(capsys, [*data, "--test-src", str(corpus / "test.en"), "--test-tgt", str(short)],
              work, "short.ko ends after 1 lines", "has a line 2")
    bad_input(capsys, [*data, "--valid-src", str(bad), "--valid-tgt", str(corpus / "test.ko")],
              work, "bad.en, line 2: byte 5 cannot be read as UTF-8")
    bad_input(capsys, [*data, "--valid-src", str(corpus / "valid.en")], work,
              "give --valid-src and --valid-tgt together")
    bad_input(capsys, ["--task", "copy", *official(corpus, valid=False), "--epochs", "1"], work,
              "--test-src and --test-tgt apply to a corpus only, and the task is 'copy'")
    tsv = write_lines(tmp_path / "cols.tsv", ["Hi.\t안녕.", "one column only"])
    bad_input(capsys, ["--data", str(tsv), *TINY, "--epochs", "1"], work,
              "cols.tsv, line 2: expected at least 2 tab-separated columns, got 1")
    bad_input(capsys, [*data, "--d-model", "10", "--heads", "4"], work,
              "d_model=10 is not divisible by num_heads=4")
    (work / "x.avg.pt").write_bytes(b"keep me")
    assert train.main([*data, "--average-last", "2", "--out", str(work / "x.pt")]) == 2
    assert "x.avg.pt (where --average-last writes" in capsys.readouterr().err
    assert (work / "x.avg.pt").read_bytes() == b"keep me" and not (work / "x.pt").exists()


def test_evaluate_refuses_bad_input_in_one_line(corpus, tmp_path, capsys):
    short = write_lines(tmp_path / "short.ko", ["하나"])
    assert evaluate.main([str(tmp_path / "none.pt"), "--src", str(corpus / "test.en"),
                          "--ref", str(short)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "short.ko ends after 1 lines" in err
    assert evaluate.main([str(tmp_path / "none.pt"), "--src", str(corpus / "test.en"),
                          "--ref", str(corpus / "test.ko")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert evaluate.main([str(tmp_path / "none.pt"), "--src", str(tmp_path / "nope.en"),
                          "--ref", str(corpus / "test.ko")]) == 2
    assert "nope.en" in capsys.readouterr().err
