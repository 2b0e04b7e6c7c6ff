"""The tuning runs behind chapter 9's race: each racer's ``lr_factor`` chosen from 0.5, 1 and 2.

    python benchmarks/race_tuning.py                  # the chapter's budget (a few CPU minutes)
    python benchmarks/race_tuning.py --factors 1 --epochs 1 --race-epochs 1   # a smoke run

Every model gets the same tuning budget: one run of ``--epochs`` epochs (20, more than the race's
15) for each factor, with everything else as in the race (the dates task, 1,000 fresh training
pairs an epoch, batches of 64, 100 warmup steps, 200 validation dates, one CPU thread). A model
races with the factor whose best validation exact match within the race's ``--race-epochs``
epochs is the highest; a tie goes to the factor that reached that score in fewer epochs. The
script prints every run and the chosen factors, which chapter 9's ``RACERS`` use.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, too

from transformer_book import Transformer, TransformerConfig, set_seed  # noqa: E402
from transformer_book.models.rnnsearch import RNNSearch, RNNSearchConfig  # noqa: E402
from transformer_book.text.data import date_pairs, date_tokenizer  # noqa: E402
from transformer_book.training import TrainingConfig, fit  # noqa: E402


def racers(vocab: int) -> dict:
    """The three models of chapter 9's race, as functions that build a fresh one."""
    return {
        "encoder-decoder": lambda: RNNSearch(RNNSearchConfig(vocab, vocab, d_model=64,
                                                             attention=False)),
        "RNNsearch": lambda: RNNSearch(RNNSearchConfig(vocab, vocab, d_model=64)),
        "Transformer": lambda: Transformer(TransformerConfig.small(vocab)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    parser.add_argument("--epochs", type=int, default=20, help="epochs of each tuning run")
    parser.add_argument("--race-epochs", type=int, default=15, help="the race's epoch budget")
    parser.add_argument("--models", nargs="+", default=None, help="default: all three racers")
    args = parser.parse_args(argv)
    if args.race_epochs > args.epochs:
        parser.error(f"--race-epochs ({args.race_epochs}) must not exceed --epochs ({args.epochs})")
    torch.set_num_threads(1)
    tok = date_tokenizer()
    models = racers(len(tok))
    names = args.models or list(models)
    val = date_pairs(200, "validation")
    print(f"{'model':<16}{'lr_factor':>10}{'best exact (race epochs)':>26}{'epoch':>7}")
    for name in names:
        results = []
        for factor in args.factors:
            set_seed(0)
            model = models[name]()
            config = TrainingConfig(epochs=args.epochs, batch_size=64, warmup=100,
                                    lr_factor=factor, progress=False, eval_size=len(val))
            history = fit(model, tok, lambda epoch: date_pairs(1000, "train", seed=epoch), val,
                          config, device="cpu", log=None)
            within = history.val_exact_match[:args.race_epochs]
            best = max(within)
            epoch = within.index(best) + 1
            results.append((best, -epoch, factor))
            print(f"{name:<16}{factor:>10g}{best:>26.3f}{epoch:>7}")
        best, _, factor = max(results)
        print(f"{name}: races with lr_factor {factor:g} (best exact match {best:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
