"""Forward+backward throughput of our MultiHeadAttention versus torch.nn.MultiheadAttention.

    python benchmarks/attention.py                      # CPU, lengths 64 256 1024
    python benchmarks/attention.py --device cuda --dtype bfloat16

Both modules get the same weights (copied), the same self-attention input, ``batch_first=True``
and ``need_weights=False``, so each uses the fused scaled-dot-product kernel. The two are timed
alternately (the order flips every round) and each ratio is the median of several rounds, so
that a machine busy with other work slows both alike. The script prints, for each sequence
length, the throughput of each (tokens per second, forward + backward) and the ratio
ours / built-in; a ratio >= 0.9 is the target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, too

from _timing import timed  # noqa: E402  (benchmarks/_timing.py)

from transformer_book import MultiHeadAttention, get_device, set_seed  # noqa: E402
from transformer_book.torch_parity import copy_torch_weights  # noqa: E402

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def step(module: nn.Module, x: torch.Tensor) -> None:
    """One forward and backward pass of self-attention."""
    out, _ = module(x, x, x, need_weights=False)  # same call for both modules
    out.sum().backward()


def seconds_per_step(module: nn.Module, x: torch.Tensor, iters: int) -> float:
    seconds, _ = timed(lambda: [step(module, x) for _ in range(iters)], x.device)
    return seconds / iters


def measure(length: int, args: argparse.Namespace, device: torch.device) -> tuple[float, float]:
    """Median tokens/s of (ours, built-in) at one sequence length."""
    set_seed(0)
    dtype = DTYPES[args.dtype]
    batch = max(1, args.tokens // length)
    ours = MultiHeadAttention(args.d_model, args.heads).to(device, dtype)
    builtin = nn.MultiheadAttention(args.d_model, args.heads, batch_first=True).to(device, dtype)
    copy_torch_weights(ours, builtin)  # the same weights in both
    x = torch.randn(batch, length, args.d_model, device=device, dtype=dtype, requires_grad=True)
    for module in (ours, builtin):  # warm up (kernel choice, allocator, caches)
        for _ in range(args.warmup):
            step(module, x)
    # Enough iterations per round that one round lasts about --round-seconds.
    iters = max(1, round(args.round_seconds / seconds_per_step(ours, x, 1)))
    times: dict[str, list[float]] = {"ours": [], "builtin": []}
    for r in range(args.repeats):
        order = [("ours", ours), ("builtin", builtin)]
        for name, module in order if r % 2 == 0 else order[::-1]:
            times[name].append(seconds_per_step(module, x, iters))
    tokens = batch * length
    return tokens / statistics.median(times["ours"]), tokens / statistics.median(times["builtin"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: best there is)")
    parser.add_argument("--dtype", default="float32", choices=sorted(DTYPES))
    parser.add_argument("--lengths", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--d-model", type=int, default=512)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=4096,
                        help="tokens per batch; batch = tokens // length (default 4096)")
    parser.add_argument("--repeats", type=int, default=7, help="rounds per length (median)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--round-seconds", type=float, default=0.3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = get_device(args.device)
    print(f"device={device.type} dtype={args.dtype} d_model={args.d_model} heads={args.heads} "
          f"tokens/batch={args.tokens} repeats={args.repeats} (median, interleaved)")
    print(f"{'seq_len':>8} {'batch':>6} {'ours tok/s':>12} {'builtin tok/s':>14} {'ratio':>7}")
    ratios = []
    for length in args.lengths:
        ours, builtin = measure(length, args, device)
        ratios.append(ours / builtin)
        print(f"{length:>8} {max(1, args.tokens // length):>6} {ours:>12.0f} {builtin:>14.0f} "
              f"{ours / builtin:>7.2f}", flush=True)
    print(f"ratio ours/builtin (throughput): min {min(ratios):.2f}, "
          f"median {statistics.median(ratios):.2f} (target >= 0.90)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
