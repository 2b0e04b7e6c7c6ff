"""Counting the cost of a layer (Vaswani et al., 2017, section 4 and Table 1).

Table 1 of the paper compares four kinds of layer that map a sequence of ``n`` vectors of
width ``d`` to another such sequence:

=============================  ====================  ===============  ===================
layer                          FLOPs (this module)   sequential ops   maximum path length
=============================  ====================  ===============  ===================
``"self_attention"``           ``4 n^2 d``           1                1
``"recurrent"``                ``4 n d^2``           n                n
``"convolutional"`` (kernel k) ``2 k n d^2``         1                ceil((n-1)/(k-1))
``"dilated_convolutional"``    ``2 k n d^2``         1                ceil(log_k n)
``"restricted_self_attention"````4 r n d``           1                ceil((n-1)/((r-1)/2))
=============================  ====================  ===============  ===================

FLOPs count multiply-adds of matrix products as two operations, the convention of
``torch.utils.flop_counter.FlopCounterMode``, so :func:`layer_flops` can be checked against it:
the recurrent layer is ``torch.nn.RNN`` (``h_t = tanh(x_t W_ih + h_{t-1} W_hh + b)``), the
convolutions are ``torch.nn.functional.conv1d``, self-attention is the core
``softmax(Q K^T / sqrt(d)) V`` (without the four projections, as in Table 1; pass
``projections=True`` to add their ``8 n d^2``), and restricted self-attention is
:func:`local_attention`.

Sequential operations and path lengths are not given by formulas here: they are *measured* by
searching the dependency graph of each layer (:func:`dependency_graph`, :func:`successors`).
Convolutions are causal as in ByteNet's decoder (output ``i`` reads inputs ``<= i``); the
dilated stack uses dilations ``1, k, k^2, ...``. Restricted self-attention reads a window of
``r`` positions (``r`` odd) centred on the output position.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator

import torch
from torch import Tensor

from .._checks import check_integer

__all__ = [
    "LAYER_TYPES", "layer_flops", "successors", "dependency_graph", "sequential_operations",
    "max_path_length", "attention_matrix_bytes", "saved_tensor_bytes", "local_attention",
]

LAYER_TYPES = ("self_attention", "recurrent", "convolutional", "dilated_convolutional",
               "restricted_self_attention")

Node = tuple[int, int]  # (layer, position); layer 0 holds the inputs


def _check_layer(layer: object, k: int | None, r: int | None) -> None:
    if layer not in LAYER_TYPES:
        raise ValueError(f"layer={layer!r} is not one of {LAYER_TYPES}")
    if layer in ("convolutional", "dilated_convolutional"):
        check_integer("k", k, 2)
    if layer == "restricted_self_attention":
        check_integer("r", r, 3)
        if r % 2 == 0:
            raise ValueError(f"r={r} must be odd (a window centred on the output position)")


def layer_flops(layer: str, n: int, d: int, *, k: int | None = None, r: int | None = None,
                batch: int = 1, projections: bool = False) -> int:
    """FLOPs of one layer on ``(batch, n, d)`` inputs, counted as ``FlopCounterMode`` counts them.

    ``k`` is the kernel width of the convolutions, ``r`` the window of restricted self-attention.
    ``projections=True`` adds the ``8 n d^2`` of the query, key, value and output projections
    to the two attention layers (Table 1 leaves them out).

    >>> layer_flops("self_attention", n=10, d=4), layer_flops("recurrent", n=10, d=4)
    (1600, 640)
    """
    _check_layer(layer, k, r)
    for name, value in (("n", n), ("d", d), ("batch", batch)):
        check_integer(name, value, 1)
    flops = {
        "self_attention": lambda: 4 * n * n * d,  # Q K^T and weights @ V
        "recurrent": lambda: 4 * n * d * d,  # x_t W_ih and h_{t-1} W_hh at each step
        "convolutional": lambda: 2 * k * n * d * d,  # k taps, each a d x d product
        "dilated_convolutional": lambda: 2 * k * n * d * d,  # dilation moves taps, not cost
        "restricted_self_attention": lambda: 4 * r * n * d,  # r keys per query
    }[layer]()
    if projections and layer in ("self_attention", "restricted_self_attention"):
        flops += 8 * n * d * d
    return batch * flops


def successors(layer: str, n: int, node: Node, *, k: int | None = None,
               r: int | None = None) -> Iterator[Node]:
    """The nodes that read ``node`` directly, in a stack of layers of one type.

    Nodes are ``(layer_index, position)``; layer 0 holds the inputs, layer ``l >= 1`` the
    outputs of the ``l``-th layer. In a recurrent layer, ``(l, t)`` is the hidden state
    ``h_t``: it is read by ``h_{t+1}`` of the same layer and by the next layer.
    """
    depth, i = node
    if layer == "recurrent":
        if depth >= 1 and i + 1 < n:
            yield (depth, i + 1)
        yield (depth + 1, i)
    elif layer == "self_attention":
        yield from ((depth + 1, j) for j in range(n))
    elif layer == "restricted_self_attention":
        half = (r - 1) // 2
        yield from ((depth + 1, j) for j in range(max(0, i - half), min(n, i + half + 1)))
    else:  # causal convolutions: output j reads inputs j, j - s, ..., j - (k - 1) s
        stride = k**depth if layer == "dilated_convolutional" else 1
        yield from ((depth + 1, i + a * stride) for a in range(k) if i + a * stride < n)


def dependency_graph(layer: str, n: int, num_layers: int = 1, *, k: int | None = None,
                     r: int | None = None) -> dict[Node, list[Node]]:
    """The dependency graph of ``num_layers`` stacked layers: each node -> the nodes reading it.

    >>> dependency_graph("recurrent", 2)
    {(0, 0): [(1, 0)], (0, 1): [(1, 1)], (1, 0): [(1, 1)], (1, 1): []}
    """
    _check_layer(layer, k, r)
    check_integer("n", n, 1)
    check_integer("num_layers", num_layers, 1)
    graph = {}
    for depth in range(num_layers + 1):
        for i in range(n):
            graph[(depth, i)] = [s for s in successors(layer, n, (depth, i), k=k, r=r)
                                 if s[0] <= num_layers]
    return graph


def sequential_operations(layer: str, n: int, *, k: int | None = None,
                          r: int | None = None) -> int:
    """The longest chain of operations that must run one after another inside ONE layer.

    Found as the longest path (in edges) of the one-layer dependency graph; nodes sorted by
    ``(layer, position)`` are in topological order, so one pass of dynamic programming does it.
    """
    graph = dependency_graph(layer, n, 1, k=k, r=r)
    longest = dict.fromkeys(graph, 0)
    for node in sorted(graph):
        for nxt in graph[node]:
            longest[nxt] = max(longest[nxt], longest[node] + 1)
    return max(longest.values())


def max_path_length(layer: str, n: int, *, k: int | None = None, r: int | None = None,
                    max_layers: int | None = None) -> int:
    """The longest of the shortest paths from an input position to an output position.

    A breadth-first search from every input ``(0, s)`` through as many stacked layers as it
    needs (at most ``max_layers``, default ``n``) finds, for every position ``j``, the fewest
    edges from input ``s`` to some node ``(l, j)`` with ``l >= 1``. The result is the maximum
    over all pairs ``(s, j)`` that are connected (causal layers never connect ``j < s``).
    """
    _check_layer(layer, k, r)
    check_integer("n", n, 1)
    max_layers = n if max_layers is None else check_integer("max_layers", max_layers, 1)
    longest = 0
    for s in range(n):
        dist = {(0, s): 0}
        found: dict[int, int] = {}
        queue = deque([(0, s)])
        while queue and len(found) < n:
            node = queue.popleft()
            for nxt in successors(layer, n, node, k=k, r=r):
                if nxt[0] <= max_layers and nxt not in dist:
                    dist[nxt] = dist[node] + 1
                    found.setdefault(nxt[1], dist[nxt])
                    queue.append(nxt)
        longest = max(longest, *found.values())
    return longest


def attention_matrix_bytes(n: int, *, batch: int = 1, heads: int = 1,
                           dtype: torch.dtype = torch.float32) -> int:
    """Bytes of the ``(batch, heads, n, n)`` attention matrix: it grows as ``n^2``.

    >>> attention_matrix_bytes(1024)  # one float32 head: 4 MiB
    4194304
    """
    for name, value in (("n", n), ("batch", batch), ("heads", heads)):
        check_integer(name, value, 1)
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype, got {type(dtype).__name__}")
    return batch * heads * n * n * torch.empty((), dtype=dtype).element_size()


def saved_tensor_bytes(fn: Callable[..., object], *args: object, **kwargs: object) -> int:
    """Bytes of the tensors that autograd saves for the backward pass while ``fn`` runs.

    This is the memory a training step must keep from the forward to the backward pass, and
    unlike a memory profiler it is exact and repeatable on any device. Tensors that share
    storage are counted once (by the largest view of the storage).
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    storages: dict[tuple[str, int], int] = {}

    def pack(t: Tensor) -> Tensor:
        key = (str(t.device), t.untyped_storage().data_ptr())
        storages[key] = max(storages.get(key, 0), t.untyped_storage().nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(*args, **kwargs)
    return sum(storages.values())


def local_attention(q: Tensor, k: Tensor, v: Tensor, r: int) -> Tensor:
    """Restricted self-attention: each query attends to the ``r`` positions centred on it.

    ``q``, ``k``, ``v``: ``(..., n, d)``; returns ``(..., n, d)``. Keys are gathered into
    windows ``(..., n, r, d)``, so the cost is ``4 r n d`` FLOPs instead of ``4 n^2 d``.
    Equal to full attention with the band mask ``|i - j| <= (r - 1) / 2``.
    """
    check_integer("r", r, 1)
    if r % 2 == 0:
        raise ValueError(f"r={r} must be odd (a window centred on the query)")
    for name, x in (("q", q), ("k", k), ("v", v)):
        if not isinstance(x, Tensor) or x.dim() < 2 or not x.dtype.is_floating_point:
            raise TypeError(f"{name} must be a floating-point tensor of shape (..., n, d)")
    if not (q.shape == k.shape == v.shape):
        raise ValueError(f"q, k, v must share one shape, got {tuple(q.shape)}, "
                         f"{tuple(k.shape)}, {tuple(v.shape)}")
    n, half = q.size(-2), (r - 1) // 2
    pad = [0, 0, half, half]  # pad the sequence dimension on both sides

    def windows(x: Tensor) -> Tensor:  # (..., n, d) -> (..., n, r, d)
        return torch.nn.functional.pad(x, pad).unfold(-2, r, 1).transpose(-1, -2)

    scores = torch.einsum("...nd,...nrd->...nr", q, windows(k)) / math.sqrt(q.size(-1))
    offsets = torch.arange(n, device=q.device)[:, None] + torch.arange(-half, half + 1,
                                                                       device=q.device)
    inside = (offsets >= 0) & (offsets < n)  # (n, r): window slots that hold a real position
    scores = scores.masked_fill(~inside, torch.finfo(scores.dtype).min)
    return torch.einsum("...nr,...nrd->...nd", scores.softmax(dim=-1), windows(v))
