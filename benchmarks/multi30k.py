"""German -> English on Multi30k, scored as papers score it: sacreBLEU on test_2016_flickr.

    python benchmarks/multi30k.py --device cuda               # the real run: aims at >= 35 BLEU
                                                             # in under 20 minutes on one GPU
    python benchmarks/multi30k.py --device cpu --max-steps 20 --train-pairs 2000 \\
        --test-lines 50 --vocab-size 1000 --d-model 32 --heads 2 --layers 1 --d-ff 64
                                                             # a smoke run of seconds

The data comes from ``transformer_book.text.datasets.multi30k_files`` (downloaded once, checked
against its SHA-256, cached; ``$TRANSFORMER_BOOK_DATA`` chooses the cache folder). The script
trains on ``train`` (29,000 pairs), validates on ``val`` (1,014) after every epoch, averages the
weights of the last epochs, decodes every line of ``test_2016_flickr`` (1,000) with beam search
and prints:

- sacreBLEU's BLEU and chrF, with their signatures and the set they scored (cased, detokenised
  text, ``13a`` tokenisation: lower than the tokenised, lower-cased BLEU many Multi30k papers
  report, so compare only with sacreBLEU scores of the same set);
- training throughput in real (non-padding) source and target tokens per second;
- wall time of the whole run and peak memory (CUDA's peak allocation on a GPU, the process's
  maximum resident set size on a CPU).

The recipe of the real run, chosen for a small corpus and a 20-minute budget:

- one shared byte-pair vocabulary of 8,000 pieces (SentencePiece BPE, as the paper's shared
  byte-pair vocabulary, scaled down for 29,000 pairs);
- the paper's base shape (d_model 512, 8 heads, 6+6 layers, d_ff 2048) with dropout 0.3
  instead of 0.1, since 29,000 pairs are few for 60 million weights (the paper's big model uses
  0.3 for the same reason on EN-FR, fairseq's small-corpus IWSLT recipe too);
- batches of about 4,096 source and 4,096 target tokens, label smoothing 0.1, Adam with the
  paper's betas, the paper's peak learning rate (7e-4) reached after 2,000 steps instead of
  4,000 (``--lr-factor 0.7 --warmup 2000``), gradient clipping at 1;
- 50 epochs of 126 steps (6,300 steps; the source averages 14.8 pieces, the target 15.3),
  stopped early if ``--max-minutes`` of training run out; the last 5 epochs' weights averaged
  (the paper's section 6.1); beam 4, length penalty 0.6.

``--max-steps N`` stops training after N steps in all (smoke runs and tests).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, too

from transformer_book import Transformer, TransformerConfig, get_device, set_seed  # noqa: E402
from transformer_book._train_corpus import fit_to_length  # noqa: E402
from transformer_book.averaging import LastEpochs  # noqa: E402
from transformer_book.batching import Collate, make_batches  # noqa: E402
from transformer_book.schedule import (  # noqa: E402
    LabelSmoothingLoss,
    make_optimizer,
    warmup_scheduler,
)
from transformer_book.scoring import (  # noqa: E402
    TestSet,
    decoding_description,
    score_test_set,
)
from transformer_book.text.bucketing import token_batches  # noqa: E402
from transformer_book.text.corpus import read_aligned  # noqa: E402
from transformer_book.text.datasets import multi30k_files  # noqa: E402
from transformer_book.text.subword import SubwordTokenizer  # noqa: E402
from transformer_book.training import evaluate, train_epoch  # noqa: E402


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--device", default=None, help="cpu, cuda or mps (default: the best one available)")
    add("--source", default="de", choices=("de", "en"), help="source language (default de)")
    add("--vocab-size", type=int, default=8000, help="shared BPE pieces (default 8000)")
    add("--d-model", type=int, default=512)
    add("--heads", type=int, default=8)
    add("--layers", type=int, default=6)
    add("--d-ff", type=int, default=2048)
    add("--dropout", type=float, default=0.3)
    add("--max-tokens", type=int, default=4096, help="tokens per batch and side (default 4096)")
    add("--warmup", type=int, default=2000)
    add("--lr-factor", type=float, default=0.7, help="times the paper's schedule (default 0.7)")
    add("--label-smoothing", type=float, default=0.1)
    add("--epochs", type=int, default=50)
    add("--average-last", type=int, default=5, help="epochs averaged at the end (default 5)")
    add("--beam", type=int, default=4)
    add("--alpha", type=float, default=0.6)
    add("--max-minutes", type=float, default=18.0,
        help="start no epoch after this many minutes of training (default 18)")
    add("--max-steps", type=int, default=None, help="stop after this many steps (smoke runs)")
    add("--train-pairs", type=int, default=None, help="train on the first N pairs (smoke runs)")
    add("--test-lines", type=int, default=None,
        help="score the first N test lines only (smoke runs; not comparable with the full set)")
    add("--seed", type=int, default=0)
    add("--no-amp", action="store_true", help="float32 on CUDA too")
    return parser.parse_args(argv)


def peak_memory(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB (CUDA peak allocated)"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    rss_bytes = rss if sys.platform == "darwin" else rss * 1024
    return f"{rss_bytes / 2**30:.2f} GiB (max resident set size of the process)"


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    start = time.perf_counter()
    device = get_device(args.device)
    amp = device.type == "cuda" and not args.no_amp
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        torch.backends.cuda.matmul.allow_tf32 = True
    target = "en" if args.source == "de" else "de"
    files = {split: multi30k_files(split, (args.source, target))
             for split in ("train", "val", "test_2016_flickr")}
    train_pairs, val_pairs, test_pairs = (read_aligned(*files[s]) for s in files)
    train_pairs = train_pairs[: args.train_pairs]
    if args.test_lines is not None:
        test_pairs = test_pairs[: args.test_lines]

    set_seed(args.seed)
    tokenizer = SubwordTokenizer.train([text for pair in train_pairs for text in pair],
                                       vocab_size=args.vocab_size, model_type="bpe")
    config = TransformerConfig.base(len(tokenizer), d_model=args.d_model, num_heads=args.heads,
                                    num_layers=args.layers, d_ff=args.d_ff,
                                    dropout=args.dropout, max_len=256)
    model = Transformer(config).to(device)
    train_pairs = fit_to_length(train_pairs, tokenizer, config.max_len)
    val_batches = make_batches(fit_to_length(val_pairs, tokenizer, config.max_len), tokenizer, 128)
    lengths = [(len(tokenizer.encode(s)), len(tokenizer.encode(t)) + 1) for s, t in train_pairs]
    n_params = sum(p.numel() for p in model.parameters())
    print(f"Multi30k {args.source}->{target}: {len(train_pairs)} training pairs, shared BPE "
          f"vocabulary of {len(tokenizer)} pieces; d_model {args.d_model}, {args.heads} heads, "
          f"{args.layers}+{args.layers} layers, d_ff {args.d_ff}, dropout {args.dropout} "
          f"({n_params:,} parameters); device {device}, "
          f"{'bf16 autocast' if amp else 'float32'}", flush=True)

    optimizer = make_optimizer(model)
    scheduler = warmup_scheduler(optimizer, args.d_model, args.warmup, args.lr_factor)
    loss_fn = LabelSmoothingLoss(args.label_smoothing, ignore_index=tokenizer.pad_id)
    val_loss_fn = LabelSmoothingLoss(0.0, ignore_index=tokenizer.pad_id)
    keeper = LastEpochs(model, args.average_last)
    collate = Collate(tokenizer)
    steps = tokens = 0
    train_seconds = 0.0
    for epoch in range(1, args.epochs + 1):
        batches = token_batches(*zip(*lengths, strict=True), args.max_tokens,
                                seed=args.seed * 1000 + epoch)
        if args.max_steps is not None:
            batches = batches[: args.max_steps - steps]
        t0 = time.perf_counter()
        loss = train_epoch(model, [collate([train_pairs[i] for i in b]) for b in batches],
                           optimizer, scheduler, loss_fn, device, amp=amp, epoch=epoch)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        train_seconds += time.perf_counter() - t0
        steps += len(batches)
        tokens += sum(lengths[i][0] + lengths[i][1] for b in batches for i in b)
        val = evaluate(model, val_batches, val_loss_fn, device, amp)
        keeper(epoch)
        print(f"epoch {epoch:3d}  steps {steps:6d}  train loss {loss:.3f}  val loss "
              f"{val['loss']:.3f}  val token acc {val['token_accuracy']:.3f}  "
              f"{time.perf_counter() - start:7.1f} s", flush=True)
        if (args.max_steps is not None and steps >= args.max_steps) \
                or train_seconds > 60 * args.max_minutes:
            break

    keeper.load_average()
    epochs = keeper.epochs
    name = " -> ".join(path.name for path in files["test_2016_flickr"])
    test = test_pairs_set(test_pairs, name, args.test_lines is not None)
    scores = score_test_set(model, tokenizer, test, beam_size=args.beam, alpha=args.alpha)
    print(f"{test.description} ({decoding_description(args.beam, args.alpha)}, weights "
          f"averaged over epochs {epochs[0]}-{epochs[-1]}):")
    print(f"  {scores.bleu_line}  (signature {scores.bleu_signature})")
    print(f"  {scores.chrf_line}  (signature {scores.chrf_signature})")
    print(f"training: {tokens / train_seconds:,.0f} tokens/s (real source and target tokens, "
          f"<eos> included), "
          f"{steps} steps in {train_seconds:.1f} s")
    print(f"wall time {time.perf_counter() - start:.1f} s; peak memory {peak_memory(device)}")
    return 0


def test_pairs_set(pairs: list[tuple[str, str]], name: str, partial: bool) -> TestSet:
    """The test pairs as a ``scoring.TestSet`` named after its files."""
    what = f"the first {len(pairs)} lines of {name} (not the whole set)" if partial \
        else f"{name}, {len(pairs)} lines"
    return TestSet([s for s, _ in pairs], [t for _, t in pairs], what)


if __name__ == "__main__":
    sys.exit(main())
