"""Training-step throughput of RNNsearch and the Transformer, by thread count and sequence length.

    python benchmarks/race.py                                   # CPU: 1 and 2 threads
    python benchmarks/race.py --device cuda                     # GPU: bf16 autocast
    python benchmarks/race.py --threads 1 2 4 --lengths 16 64 256 1024

Chapter 9 races the two models on the dates task; this script measures the reason behind the
result: a recurrent network must take its ``n`` steps one after another, while the Transformer
computes all positions of a layer at once, so it can use more threads (or a GPU's thousands of
cores) and longer sequences give it more to do in parallel.

Both models have about the same number of parameters: ``RNNSearch`` with ``d_model`` (64) and
the Transformer's ``small`` preset (``d_model`` 64, 2 + 2 layers, 4 heads). Each training step is
the same for both (forward, label-smoothed loss, backward, gradient clipping, Adam), on the same
random batches of ``--batch-size`` source and target sequences of each length. The two models
are timed alternately (the order flips every round) and each figure is the median over rounds.
Throughput counts source and target tokens per second. On CUDA the steps run under bf16 autocast
and the thread count does not apply (one row per length).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, too

from training import make_batches, run_steps  # noqa: E402  (benchmarks/training.py)

from transformer_book import Transformer, TransformerConfig, get_device, set_seed  # noqa: E402
from transformer_book.models.rnnsearch import RNNSearch, RNNSearchConfig  # noqa: E402
from transformer_book.schedule import LabelSmoothingLoss, make_optimizer  # noqa: E402
from transformer_book.text.data import date_tokenizer  # noqa: E402

MODELS = ("RNNsearch", "Transformer")


def build(name: str, vocab: int, d_model: int, length: int) -> torch.nn.Module:
    if name == "RNNsearch":
        return RNNSearch(RNNSearchConfig(vocab, vocab, d_model=d_model, max_len=length + 1))
    return Transformer(TransformerConfig.small(vocab, d_model=d_model, d_ff=2 * d_model,
                                     max_len=length + 1))


def measure(device: torch.device, threads: int | None, length: int,
            args: argparse.Namespace) -> dict[str, float]:
    """Median tokens/s of each model's training step at one thread count and length."""
    if threads is not None:
        torch.set_num_threads(threads)
    vocab = len(date_tokenizer())
    batches = [b.to(device) for b in make_batches(
        argparse.Namespace(seq_len=length, batch_size=args.batch_size, steps=args.steps), vocab)]
    tokens = sum(int(b.src_padding_mask.sum() + b.tgt_padding_mask.sum()) for b in batches)
    amp = device.type == "cuda"
    loss_fn = LabelSmoothingLoss(0.1, ignore_index=0)
    set_seed(0)
    models = {name: build(name, vocab, args.d_model, length).to(device) for name in MODELS}
    optimizers = {name: make_optimizer(m) for name, m in models.items()}
    for opt in optimizers.values():
        for group in opt.param_groups:
            group["lr"] = 1e-4
    for name in MODELS:  # warm up
        run_steps(models[name], optimizers[name], loss_fn, batches[:1], device, amp)
    seconds: dict[str, list[float]] = {name: [] for name in MODELS}
    for r in range(args.repeats):
        for name in (MODELS if r % 2 == 0 else MODELS[::-1]):
            seconds[name].append(
                run_steps(models[name], optimizers[name], loss_fn, batches, device, amp))
    return {name: tokens / statistics.median(s) for name, s in seconds.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or mps")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="CPU thread counts (default 1 2)")
    parser.add_argument("--lengths", type=int, nargs="+", default=[16, 64, 256],
                        help="source and target lengths (default 16 64 256)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3, help="steps per timing (default 3)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (default 3)")
    args = parser.parse_args(argv)
    for name in ("batch_size", "d_model", "steps", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    device = get_device(args.device)
    threads: list[int | None] = list(args.threads) if device.type == "cpu" else [None]
    results = {(t, n): measure(device, t, n, args) for t in threads for n in args.lengths}

    where = torch.cuda.get_device_name(device) if device.type == "cuda" else str(device)
    print(f"device {where}, {'bf16 autocast' if device.type == 'cuda' else 'float32'}, "
          f"batch {args.batch_size}, d_model {args.d_model}, {args.steps} steps x "
          f"{args.repeats} rounds; training tokens/s (source + target)")
    print(f"{'threads':>7} {'length':>6} {'RNNsearch':>12} {'Transformer':>12} "
          f"{'ratio T/R':>10}")
    for (t, n), r in results.items():
        print(f"{'-' if t is None else t:>7} {n:>6} {r['RNNsearch']:>12,.0f} "
              f"{r['Transformer']:>12,.0f} {r['Transformer'] / r['RNNsearch']:>10.2f}")
    if len(threads) > 1:
        lo, hi = threads[0], threads[-1]
        print(f"thread speed-up, {hi} threads / {lo}:")
        for n in args.lengths:
            speedups = "  ".join(
                f"{m} {results[(hi, n)][m] / results[(lo, n)][m]:.3f}" for m in MODELS)
            print(f"  length {n:>5}: ratio {speedups}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
