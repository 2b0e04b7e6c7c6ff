"""Score a checkpoint on a test set as the field does: sacreBLEU's BLEU and chrF, with their
signatures, after beam search (size 4, length penalty 0.6, the paper's section 6.1).

    python -m transformer_book.evaluate model.pt --src test_2016_flickr.de \\
        --ref test_2016_flickr.en --beam 4 --device cuda

``--src`` holds the source sentences and ``--ref`` their references, one per line, line ``i``
of one translating line ``i`` of the other (UTF-8). Every line is translated and scored, so
the score is the set's, not a filtered part of it. The report names the set (the two files and
their line count), the checkpoint and the decoding, then prints sacreBLEU's summary lines and
signatures: two scores are comparable only on the same set, with the same signature.

A missing or damaged checkpoint, a file that is not UTF-8 or two files of different lengths end
the program with exit code 2 and one line naming the file (and line) before anything is
decoded; Ctrl-C with one line and exit code 130.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ._cli import (
    EXIT_FAULT,
    ArgumentParser,
    emit,
    fail,
    finite_float,
    interrupted,
    positive_int,
    silence_stdout,
    stop_on_sigterm,
)
from .checkpoints import CheckpointError, load_checkpoint
from .scoring import ALPHA, BEAM, decoding_description, read_test_set, score_test_set
from .text.metrics import OPTIONAL_TOKENIZERS, TOKENIZERS, signatures

MAX_BEAM = 64


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="python -m transformer_book.evaluate",
        description="Score a checkpoint on a test set: sacreBLEU's BLEU and chrF, beam search.",
    )
    parser.add_argument("checkpoint", help="a .pt file from python -m transformer_book.train")
    parser.add_argument("--src", required=True, metavar="FILE",
                        help="the test set's source sentences, one per line")
    parser.add_argument("--ref", required=True, metavar="FILE",
                        help="their references, line by line")
    parser.add_argument("--beam", type=positive_int, default=BEAM,
                        help=f"beam size, 1 (greedy) to {MAX_BEAM} (default {BEAM})")
    parser.add_argument("--alpha", type=finite_float, default=ALPHA,
                        help=f"beam's length penalty, >= 0 (default {ALPHA})")
    parser.add_argument("--max-len", type=positive_int, default=None,
                        help="most tokens per translation (default: the model's max_len - 1)")
    parser.add_argument("--tokenize", default="13a", choices=TOKENIZERS + OPTIONAL_TOKENIZERS,
                        help="sacreBLEU's tokenisation for BLEU (default 13a; ko-mecab needs "
                             "pip install 'sacrebleu[ko]')")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or mps")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stop_on_sigterm()
    if args.beam > MAX_BEAM:
        return fail(f"--beam={args.beam} must be between 1 and {MAX_BEAM}")
    if args.alpha < 0:
        return fail(f"--alpha={args.alpha} must be >= 0")
    try:
        try:
            signatures(args.tokenize)  # a tokenisation whose package is missing fails here
            test = read_test_set(args.src, args.ref)
            checkpoint = load_checkpoint(args.checkpoint, args.device)
        except (CheckpointError, ValueError) as exc:
            return fail(str(exc))
        except OSError as exc:
            return fail(f"cannot read {exc.filename or args.src}: {exc.strerror or exc}")
        scores = score_test_set(checkpoint.model, checkpoint.tokenizer, test,
                                beam_size=args.beam, alpha=args.alpha, max_new_tokens=args.max_len,
                                tokenize=args.tokenize)
        cut = (f"; {scores.truncated} sources longer than the model's max_len were cut"
               if scores.truncated else "")
        emit([f"set: {test.description}; checkpoint {os.fspath(args.checkpoint)} (epoch "
              f"{checkpoint.epoch}); {decoding_description(args.beam, args.alpha)}{cut}",
              f"{scores.bleu_line}  (signature {scores.bleu_signature})",
              f"{scores.chrf_line}  (signature {scores.chrf_signature})"])
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Terminated)
        return interrupted("before the scores were printed", exc)
    except BrokenPipeError:
        silence_stdout()
        return 0
    except OSError as exc:
        silence_stdout()
        return fail(f"cannot write the scores: {exc.strerror or exc}", EXIT_FAULT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
