"""Run a command line that receives a real signal at a known moment of its work.

    python tests/signal_at.py PHASE SIGNAL MODULE [ARGS...]

runs ``python -m MODULE ARGS...`` after wrapping the package function that starts ``PHASE`` so
that, when it is called, the process sends itself ``SIGNAL`` (``INT`` for Ctrl-C, ``TERM``).
Python runs the signal's handler before the wrapped function's first line, so the command is
interrupted inside that phase exactly as a user's Ctrl-C there would interrupt it; the command
itself has no hook for tests. The phases:

- ``data``: the first generated task pairs (or the corpus's official sets) are made;
- ``epoch N``: the training pairs of epoch ``N`` are made (epoch ``N - 1`` is saved);
- ``decode``: the trained model decodes the test set (``train``);
- ``translate``: the first texts are translated (``translate``);
- ``evaluate``: the test set is scored (``evaluate``).
"""

from __future__ import annotations

import os
import runpy
import signal
import sys

import transformer_book._train_eval as train_eval
import transformer_book.decoding as decoding
import transformer_book.scoring as scoring
import transformer_book.text.data as data


def signal_at(module: object, name: str, signum: int, nth: int = 1,
              counts: callable = lambda *args, **kwargs: True) -> None:
    """Wrap ``module.name``: its ``nth`` call that ``counts`` sends ``signum`` to this process."""
    original, seen = getattr(module, name), 0

    def wrapper(*args, **kwargs):
        nonlocal seen
        if counts(*args, **kwargs):
            seen += 1
            if seen == nth:
                os.kill(os.getpid(), signum)
        return original(*args, **kwargs)

    setattr(module, name, wrapper)


def main(phase: str, signame: str, module: str, *args: str) -> None:
    signum = getattr(signal, f"SIG{signame}")
    if phase == "data":
        signal_at(data, "task_pairs", signum)
        signal_at(train_eval, "read_official_sets", signum)
    elif phase.startswith("epoch "):
        epoch = int(phase.split()[1])  # the train command seeds epoch e's pairs 1000 * seed + e
        signal_at(data, "task_pairs", signum,
                  counts=lambda task, n, split, seed=0: split == "train" and seed % 1000 == epoch)
    elif phase == "decode":
        signal_at(train_eval, "final_report", signum)
    elif phase == "translate":
        signal_at(decoding, "translate", signum)
    elif phase == "evaluate":
        signal_at(scoring, "score_test_set", signum)
    else:
        raise SystemExit(f"unknown phase {phase!r}")
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
