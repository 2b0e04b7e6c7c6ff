"""Training-step throughput of our Transformer versus one built on torch.nn.Transformer.

    python benchmarks/training.py                                  # CPU, small preset, dates
    python benchmarks/training.py --device cuda --preset base      # GPU: bf16, tokens/s and MFU

Both models have the same configuration and the same parts around the encoder-decoder stacks
(scaled, tied embeddings, sinusoidal positions, the output projection); only the stacks differ:
ours (``transformer_book.Transformer``) versus ``torch.nn.Transformer`` (``batch_first=True``).
Each training step is the same for both: forward, label-smoothed loss, backward, gradient
clipping, Adam. The two are timed alternately on the same batches (the order flips every round)
and the ratio ours / built-in is the median over rounds, so a machine busy with other work slows
both alike. A ratio >= 0.9 is the target.

Throughput counts real (non-padding) source and target tokens per second. On CUDA the step runs
under bf16 autocast and the script also prints the model FLOPs utilisation (MFU): the matrix
multiplications of one step (forward, and twice that for the backward pass, counted on the
padded shapes that are actually computed) per second, divided by the GPU's peak dense bf16 rate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, too

from _timing import timed  # noqa: E402  (benchmarks/_timing.py)

from transformer_book import (  # noqa: E402
    Transformer,
    TransformerConfig,
    get_device,
    set_seed,
)
from transformer_book.batching import Batch, Collate  # noqa: E402
from transformer_book.schedule import LabelSmoothingLoss, make_optimizer  # noqa: E402
from transformer_book.text.data import date_pairs, date_tokenizer  # noqa: E402

# Peak dense bf16 tensor-core rates (FLOP/s), vendors' data sheets (SXM parts for H100/H200).
PEAK_BF16 = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "L4": 121e12,
             "A10": 125e12, "RTX 4090": 165e12, "RTX 3090": 71e12}


class TorchTransformer(Transformer):
    """Our embeddings, positions and tied generator around ``torch.nn.Transformer``'s body."""

    def __init__(self, config: TransformerConfig):
        super().__init__(config)
        del self.encoder, self.decoder  # replaced by PyTorch's stacks
        c = config
        self.transformer = nn.Transformer(
            d_model=c.d_model, nhead=c.num_heads, num_encoder_layers=c.num_layers,
            num_decoder_layers=c.num_layers, dim_feedforward=c.d_ff, dropout=c.dropout,
            batch_first=True, norm_first=c.norm_first)
        if not c.norm_first:  # post-LN stacks have no final norm in ours either
            self.transformer.encoder.norm = None
            self.transformer.decoder.norm = None
        for p in self.transformer.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, src: Tensor, tgt: Tensor, src_padding_mask: Tensor | None = None,
                tgt_padding_mask: Tensor | None = None) -> Tensor:
        x = self._embed(src, self.src_embed)
        y = self._embed(tgt, self.tgt_embed)
        causal = torch.ones(tgt.size(1), tgt.size(1), dtype=torch.bool, device=tgt.device).triu(1)
        # nn.Transformer's masks say True = "ignore", the opposite of ours.
        src_pad = None if src_padding_mask is None else ~src_padding_mask
        tgt_pad = None if tgt_padding_mask is None else ~tgt_padding_mask
        out = self.transformer(x, y, tgt_mask=causal, src_key_padding_mask=src_pad,
                               tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad,
                               tgt_is_causal=True)
        return self.generator(out)


def make_batches(args: argparse.Namespace, vocab_size: int) -> list[Batch]:
    """Date batches (chapter 8's data), or random ones of a fixed length (``--seq-len``)."""
    if args.seq_len is None:
        collate = Collate(date_tokenizer())
        pairs = date_pairs(args.batch_size * args.steps, seed=1)
        return [collate(pairs[i: i + args.batch_size])
                for i in range(0, len(pairs), args.batch_size)]
    g = torch.Generator().manual_seed(1)
    batches = []
    for _ in range(args.steps):
        src = torch.randint(4, vocab_size, (args.batch_size, args.seq_len), generator=g)
        tgt = torch.randint(4, vocab_size, (args.batch_size, args.seq_len + 1), generator=g)
        ones = torch.ones(args.batch_size, args.seq_len, dtype=torch.bool)
        batches.append(Batch(src, tgt[:, :-1], tgt[:, 1:], ones, ones.clone()))
    return batches


def step_flops(config: TransformerConfig, batch: Batch) -> float:
    """Matrix-multiplication FLOPs of one training step (forward x 3) on the padded shapes."""
    b, s = batch.src.shape
    t = batch.tgt_in.size(1)
    d, f, n, v = config.d_model, config.d_ff, config.num_layers, config.tgt_vocab_size
    encoder = n * (8 * b * s * d * d + 4 * b * s * s * d + 4 * b * s * d * f)
    decoder = n * (8 * b * t * d * d + 4 * b * t * t * d          # masked self-attention
                   + 4 * b * t * d * d + 4 * b * s * d * d        # cross: Q, O on tgt; K, V on src
                   + 4 * b * t * s * d                            # cross: scores and mixing
                   + 4 * b * t * d * f)                           # feed-forward
    generator = 2 * b * t * d * v
    return 3.0 * (encoder + decoder + generator)


def run_steps(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: nn.Module,
              batches: list[Batch], device: torch.device, amp: bool) -> float:
    """Seconds for one training step on every batch."""
    model.train()

    def steps() -> None:
        for b in batches:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                logits = model(b.src, b.tgt_in, b.src_padding_mask, b.tgt_padding_mask)
            loss = loss_fn(logits, b.tgt_out)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()

    return timed(steps, device)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: best)")
    parser.add_argument("--preset", choices=TransformerConfig.SIZES, default="small")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="default 64 (small/tiny) or 128 (base)")
    parser.add_argument("--seq-len", type=int, default=None,
                        help="random batches of this length instead of dates "
                             "(default: dates; 128 for the base preset)")
    parser.add_argument("--steps", type=int, default=8, help="steps per timing (default 8)")
    parser.add_argument("--repeats", type=int, default=7, help="rounds (default 7)")
    parser.add_argument("--compile", action="store_true", help="torch.compile both models")
    parser.add_argument("--no-amp", action="store_true", help="float32 on CUDA too")
    parser.add_argument("--peak-tflops", type=float, default=None,
                        help="the GPU's peak dense bf16 TFLOP/s, if not in the built-in table")
    args = parser.parse_args(argv)
    device = get_device(args.device)
    if args.batch_size is None:
        args.batch_size = 128 if args.preset == "base" else 64
    if args.seq_len is None and args.preset == "base":
        args.seq_len = 128
    amp = device.type == "cuda" and not args.no_amp
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    vocab = len(date_tokenizer()) if args.seq_len is None else 37000 if args.preset == "base" \
        else 1000
    preset = getattr(TransformerConfig, args.preset)
    config = preset(vocab, dropout=0.1, max_len=max(preset(vocab).max_len, (args.seq_len or 0) + 1))
    set_seed(0)
    models = {"ours": Transformer(config).to(device),
              "nn.Transformer": TorchTransformer(config).to(device)}
    n_params = {k: sum(p.numel() for p in m.parameters()) for k, m in models.items()}
    assert n_params["ours"] == n_params["nn.Transformer"], n_params
    runners = {k: torch.compile(m) if args.compile else m for k, m in models.items()}
    optimizers = {k: make_optimizer(m) for k, m in models.items()}
    for opt in optimizers.values():
        for group in opt.param_groups:
            group["lr"] = 1e-4
    loss_fn = LabelSmoothingLoss(0.1, ignore_index=0)
    batches = [b.to(device) for b in make_batches(args, vocab)]
    tokens = sum(int(b.src_padding_mask.sum() + b.tgt_padding_mask.sum()) for b in batches)
    flops = sum(step_flops(config, b) for b in batches)

    for name in runners:  # warm up (allocator, kernels, compilation)
        run_steps(runners[name], optimizers[name], loss_fn, batches[:2], device, amp)
    seconds: dict[str, list[float]] = {name: [] for name in runners}
    ratios = []
    for r in range(args.repeats):
        order = list(runners) if r % 2 == 0 else list(reversed(list(runners)))
        for name in order:
            seconds[name].append(
                run_steps(runners[name], optimizers[name], loss_fn, batches, device, amp))
        ratios.append(seconds["nn.Transformer"][-1] / seconds["ours"][-1])

    print(f"device {device}, preset {args.preset} ({n_params['ours']:,} parameters), "
          f"{'bf16 autocast' if amp else 'float32'}, batch {args.batch_size}, "
          f"{'dates' if args.seq_len is None else f'length {args.seq_len}'}, "
          f"{args.steps} steps x {args.repeats} rounds{', compiled' if args.compile else ''}")
    peak = None
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        peak = args.peak_tflops * 1e12 if args.peak_tflops else next(
            (v for k, v in PEAK_BF16.items() if k in name), None)
        print(f"GPU {name}; peak bf16 "
              f"{'unknown (pass --peak-tflops)' if peak is None else f'{peak / 1e12:.0f} TFLOP/s'}")
    for name in runners:
        median = statistics.median(seconds[name])
        line = f"{name:>15}: {tokens / median:12,.0f} tokens/s"
        if device.type == "cuda":
            line += f", {flops / median / 1e12:7.1f} TFLOP/s"
            if peak is not None:
                line += f", MFU {flops / median / peak:6.1%}"
        print(line)
    ratio = statistics.median(ratios)
    print(f"throughput ratio ours / nn.Transformer: {ratio:.2f} (median of {args.repeats}; "
          f"target >= 0.9)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
