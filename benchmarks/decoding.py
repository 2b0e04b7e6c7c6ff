"""Greedy decoding with the key/value cache versus recomputing the whole prefix at every step.

    python benchmarks/decoding.py                              # small preset, lengths 16 ... 256
    python benchmarks/decoding.py --device cuda --preset base  # the paper's base model

A randomly initialised Transformer (``--preset``) decodes one batch of random sources greedily,
once with ``use_cache=True`` (each step feeds the decoder the newest token only; the keys and
values of the earlier positions come from the cache) and once with ``use_cache=False`` (each step
re-runs the decoder over the whole prefix). Step ``t`` of the second costs about ``t`` times as
much as the first, so the speed-up grows with the output length.

Every output is forced to the full length: the model below never emits ``<eos>`` (its ``decode``
gives ``<eos>`` the most negative logit; a benchmark device, nothing the package needs). The two
ways are timed alternately (the order flips every round) and each figure is the median over
rounds, so that a machine busy with other work slows both alike. The script prints, per output
length, the milliseconds per sequence of each, the speed-up (recompute / cache) and whether the
two produced the same tokens (it exits with status 1 if not).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
from torch import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, too

from _timing import timed  # noqa: E402  (benchmarks/_timing.py)

from transformer_book import Transformer, TransformerConfig, get_device, set_seed  # noqa: E402
from transformer_book.decoding import greedy_decode  # noqa: E402

BOS, EOS = 1, 2


class NeverEnds(Transformer):
    """A Transformer that never emits ``<eos>``, so that every decoding runs its full length."""

    def decode(self, *args, **kwargs) -> tuple[Tensor, list[Tensor] | None]:
        logits, weights = super().decode(*args, **kwargs)
        eos = torch.tensor([EOS], device=logits.device)
        return logits.index_fill(-1, eos, torch.finfo(logits.dtype).min), weights


def run(model: Transformer, src: Tensor, length: int, use_cache: bool) -> tuple[float, Tensor]:
    """Seconds to decode ``src`` greedily to ``length`` tokens, and the tokens."""
    seconds, (tokens, _) = timed(lambda: greedy_decode(model, src, max_new_tokens=length,
                                                       bos_id=BOS, eos_id=EOS,
                                                       use_cache=use_cache), src.device)
    return seconds, tokens


def measure(model: Transformer, src: Tensor, length: int, repeats: int
            ) -> tuple[float, float, bool]:
    """Median seconds per sequence (cache, recompute) at one output length, and whether the
    two gave the same tokens."""
    seconds: dict[bool, list[float]] = {True: [], False: []}
    tokens: dict[bool, Tensor] = {}
    for r in range(repeats):
        for use_cache in ((True, False) if r % 2 == 0 else (False, True)):
            elapsed, tokens[use_cache] = run(model, src, length, use_cache)
            seconds[use_cache].append(elapsed / src.size(0))
    assert tokens[True].size(1) == length, "decoding stopped before the full length"
    same = torch.equal(tokens[True], tokens[False])
    return statistics.median(seconds[True]), statistics.median(seconds[False]), same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: best there is)")
    parser.add_argument("--preset", default="small", choices=TransformerConfig.SIZES,
                        help="model size (default small)")
    parser.add_argument("--lengths", type=int, nargs="+", default=[16, 64, 128, 256],
                        help="output lengths (default 16 64 128 256)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--src-len", type=int, default=32, help="source length (default 32)")
    parser.add_argument("--vocab", type=int, default=1000, help="vocabulary size (default 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds per length (median)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    for name in ("batch_size", "src_len", "repeats", "threads"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if min(args.lengths) < 1 or args.vocab <= EOS:
        parser.error(f"--lengths must be at least 1 and --vocab more than {EOS}")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = get_device(args.device)
    set_seed(0)
    config = getattr(TransformerConfig, args.preset)(
        args.vocab, max_len=max(max(args.lengths), args.src_len), dropout=0.0)
    model = NeverEnds(config).to(device).eval()
    src = torch.randint(EOS + 1, args.vocab, (args.batch_size, args.src_len), device=device)
    run(model, src, min(args.lengths), True)  # warm up (kernel choice, allocator)
    run(model, src, min(args.lengths), False)

    print(f"device={device.type} preset={args.preset} (d_model {config.d_model}, "
          f"{config.num_layers}+{config.num_layers} layers) vocab={args.vocab} "
          f"batch={args.batch_size} src_len={args.src_len} repeats={args.repeats} "
          f"(median, interleaved); greedy decoding, ms per sequence")
    print(f"{'length':>7} {'cache':>10} {'recompute':>10} {'speed-up':>9} {'same tokens':>12}")
    speedups, all_same = [], True
    for length in args.lengths:
        cached, recomputed, same = measure(model, src, length, args.repeats)
        speedups.append(recomputed / cached)
        all_same &= same
        print(f"{length:>7} {1e3 * cached:>10.2f} {1e3 * recomputed:>10.2f} "
              f"{recomputed / cached:>9.2f} {'yes' if same else 'NO':>12}", flush=True)
    print(f"speed-up ratio recompute / cache: min {min(speedups):.2f}, max {max(speedups):.2f}")
    if not all_same:
        print("the cache changed the tokens", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
