import random

import pytest

from transformer_book.text.bucketing import padded_tokens, shard, token_batches


def lengths(n=2000, seed=0):
    rng = random.Random(seed)
    src = [rng.randint(3, 60) for _ in range(n)]
    tgt = [max(1, s + rng.randint(-5, 10)) for s in src]
    return src, tgt


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("max_tokens", [64, 500, 4096])
def test_every_batch_keeps_the_budget_and_every_example_appears_once(max_tokens, shuffle):
    src, tgt = lengths()
    batches = token_batches(src, tgt, max_tokens, shuffle=shuffle, seed=1)
    assert sorted(i for b in batches for i in b) == list(range(len(src)))
    for b in batches:
        longest = max(max(src[i], tgt[i]) for i in b)
        assert len(b) * longest <= max_tokens or (len(b) == 1 and longest > max_tokens)
    oversized = [b for b in batches if len(b) * max(max(src[i], tgt[i]) for i in b) > max_tokens]
    assert bool(oversized) == (max(src + tgt) > max_tokens)


def test_batches_are_full_shortest_first_without_shuffle():
    src, tgt = lengths()
    batches = token_batches(src, tgt, 1000, shuffle=False)
    keys = [(src[i], tgt[i]) for b in batches for i in b]
    assert keys == sorted(keys)
    for b, following in zip(batches[:-1], batches[1:], strict=True):
        grown = b + following[:1]  # one more example would break the budget
        assert len(grown) * max(max(src[i], tgt[i]) for i in grown) > 1000


def test_an_example_longer_than_the_budget_gets_its_own_batch():
    batches = token_batches([4, 100, 5, 6], [4, 3, 5, 6], max_tokens=20, shuffle=False)
    assert batches == [[0, 2, 3], [1]]  # 3 x 6 = 18 tokens, then 100 tokens alone


def test_shuffling_is_deterministic_by_seed():
    src, tgt = lengths()
    a = token_batches(src, tgt, 800, seed=3)
    assert token_batches(src, tgt, 800, seed=3) == a
    b = token_batches(src, tgt, 800, seed=4)
    assert b != a
    assert sorted(map(sorted, a)) != sorted(map(sorted, b))  # ties are mixed differently too


def test_length_bucketing_wastes_far_less_than_random_batches():
    src, tgt = lengths()
    bucketed = token_batches(src, tgt, 1200, seed=0)
    order = list(range(len(src)))
    random.Random(0).shuffle(order)
    size = len(src) // len(bucketed) + 1
    unsorted = [order[k:k + size] for k in range(0, len(order), size)]
    real, padded = padded_tokens(bucketed, src)
    real_random, padded_random = padded_tokens(unsorted, src)
    assert real == real_random == sum(src)
    assert real / padded > 0.9 > 0.7 > real_random / padded_random


def test_padded_tokens_counts_by_hand():
    assert padded_tokens([[0, 1], [2]], [3, 5, 4]) == (3 + 5 + 4, 2 * 5 + 1 * 4)
    with pytest.raises(ValueError, match="empty batch"):
        padded_tokens([[0], []], [1])


def test_shard_gives_every_process_the_same_number_of_distinct_batches():
    batches = [[i] for i in range(11)]
    shards = [shard(batches, r, 3) for r in range(3)]
    assert [len(s) for s in shards] == [3, 3, 3]
    assert sorted(b for s in shards for b in s) == batches[:9]
    assert shard(batches, 0, 1) == batches


@pytest.mark.parametrize("call, error, match", [
    (lambda: token_batches([1, 2], [1], 10), ValueError,
     "src_lengths has 2 lengths and tgt_lengths 1"),
    (lambda: token_batches([1, 0], [1, 1], 10), ValueError, r"src_lengths\[1\]=0 must be"),
    (lambda: token_batches([1], [2.5], 10), ValueError, r"tgt_lengths\[0\]=2.5 must be"),
    (lambda: token_batches([1], [1], 0), ValueError, "max_tokens=0 must be an int >= 1"),
    (lambda: token_batches([1], [1], 5, seed=1.5), TypeError, "seed=1.5 must be an int"),
    (lambda: shard([[0]], 2, 2), ValueError, "rank=2 must be less than world_size=2"),
    (lambda: shard([[0]], -1, 2), ValueError, "rank=-1 must be an int >= 0"),
    (lambda: shard([[0]], 0, 0), ValueError, "world_size=0 must be an int >= 1"),
])
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()
