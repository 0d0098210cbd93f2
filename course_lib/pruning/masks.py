"""Pruning masks from scratch: which weights to zero, at every granularity.

A mask is a boolean array shaped like the weights: True = keep, False = prune.
Two counting rules exist in the frameworks, and they disagree on some sizes:

    rule="torch"  (torch.nn.utils.prune.l1_unstructured): prune exactly k = round(s * n) entries,
                  Python's round (half to even: round(0.5 * 5) = 2). Ties at the threshold are broken
                  by position here (lower flat index pruned first); torch.topk leaves that unspecified.
    rule="tfmot"  (tfmot prune_low_magnitude, pruning_impl.py `_update_mask`): keep
                  k = max(round(n * (1 - s)), 1) entries in float32 arithmetic (tf.math.round is also
                  half to even), then keep EVERY entry with |w| >= the k-th largest |w|: ties at the
                  threshold all survive, so more than k may be kept, and at least one always is.
"""
import numpy as np

from ..core import validation as v
from ..core.validation import AnyOf, Array, Arrays, Choice, Fraction, Integer, Positive, Real, Seed, Sequence, validate

P_NORM = AnyOf(Positive(), Choice(np.inf), what="a positive number or np.inf")  # the p of an Lp norm
BLOCK = AnyOf(Sequence(Integer(minimum=1), min_len=2), what="a pair of positive integers")
RULE, POOLING = Choice("torch", "tfmot"), Choice("avg", "max")


def _prune_count(sparsity, n):
    """Return k = round(sparsity * n) with Python's half-to-even round (torch's `amount` rule)."""
    return int(round(sparsity * n))


def _smallest_k_mask(scores, k):
    """Keep all but the k smallest scores; among equal scores the lower flat index is pruned first.

    The set a stable argsort's first k would prune, found in O(n) without sorting: np.partition
    (introselect) gives the k-th smallest score t; every score < t is pruned, and of the scores == t
    only the first k - #{score < t} in flat order. torch's L1Unstructured sorts its k smallest (topk,
    sorted=True), O(n + k log k); so this kernel is faster than torch's with the same mask.
    """
    flat = scores.reshape(-1)
    if k <= 0:
        return np.ones(scores.shape, dtype=bool)
    if k >= flat.size:
        return np.zeros(scores.shape, dtype=bool)
    t = np.partition(flat, k - 1)[k - 1]
    keep = flat > t
    ties_kept = (flat.size - k) - int(np.count_nonzero(keep))  # how many scores == t survive: the last ones
    if ties_kept > 0:
        ties = np.flatnonzero(flat == t)
        keep[ties[ties.size - ties_kept:]] = True
    return keep.reshape(scores.shape)


def _tfmot_keep_mask(scores, sparsity):
    """Keep |w| >= the k-th largest, k = max(round(n (1 - s)), 1) in float32 (tfmot `_update_mask`).

    The k-th largest is found by np.partition in O(n) (tfmot sorts with top_k); the comparison is the
    same, so the mask is too.
    """
    scores = np.asarray(scores, dtype=np.float32)
    n = np.float32(scores.size)
    k = int(max(np.round(n * (np.float32(1.0) - np.float32(sparsity))), 1))
    flat = scores.reshape(-1)
    threshold = np.partition(flat, flat.size - k)[flat.size - k]
    return scores >= threshold


@validate(w=Array(), sparsity=Fraction(), rule=RULE)
def magnitude_mask(w, sparsity, rule="torch"):
    """Mask the smallest-|w| entries so that a fraction `sparsity` of them is pruned.

    rule="torch": prune exactly round(sparsity * w.size) entries (l1_unstructured).
    rule="tfmot": keep max(round(w.size * (1 - sparsity)), 1) entries plus all ties (see module doc).
    Han et al. 2015, "Learning both Weights and Connections", magnitude criterion |w|.
    """
    s = sparsity
    if rule == "tfmot":
        return _tfmot_keep_mask(np.abs(w), s)
    return _smallest_k_mask(np.abs(w), _prune_count(s, w.size))


@validate(w=Array(), sparsity=Fraction(), seed=Seed())
def random_mask(w, sparsity, seed=0):
    """Return a keep-mask that prunes round(sparsity * n) entries chosen uniformly at random.

    The baseline every pruning criterion must beat; the count follows torch's rule, as
    torch.nn.utils.prune.random_unstructured does (its choice of entries uses torch's own generator).
    """
    rng = np.random.default_rng(seed)
    return _smallest_k_mask(rng.random(w.shape), _prune_count(sparsity, w.size))


@validate(w=Array(), threshold=Real(low=0.0))
def threshold_mask(w, threshold):
    """Keep the entries with |w| > threshold (strict, as tf.contrib.model_pruning and Distiller)."""
    return np.abs(w) > threshold


@validate(weights=Arrays(keep_mapping=True), sparsity=Fraction())
def global_magnitude_masks(weights, sparsity):
    """Rank |w| of all tensors together and prune round(sparsity * total) of the smallest.

    Same rule as torch.nn.utils.prune.global_unstructured(..., pruning_method=L1Unstructured):
    one threshold for the whole model, so layers with small weights lose more.
    `weights` is a mapping name -> array (masks come back under the same names) or a list.
    """
    is_map = hasattr(weights, "items")
    items = list(weights.items()) if is_map else list(enumerate(weights))
    if not items:
        raise ValueError("weights must hold at least one array")
    arrays = [x for _, x in items]
    s = sparsity
    flat = np.empty(sum(a.size for a in arrays), dtype=np.result_type(*arrays))
    ends = np.cumsum([a.size for a in arrays])
    for a, end in zip(arrays, ends):
        np.abs(a.reshape(-1), out=flat[end - a.size:end])  # |w| written once, straight into the buffer
    mask = _smallest_k_mask(flat, _prune_count(s, flat.size))
    pieces = np.split(mask, ends[:-1])
    masks = [p.reshape(a.shape) for p, a in zip(pieces, arrays)]
    return {k: m for (k, _), m in zip(items, masks)} if is_map else masks


@validate(w=Array(), axis=Integer(), p=P_NORM)
def slice_norms(w, axis=0, p=1):
    """Return the Lp norm of every slice w[..., i, ...] along `axis`: (sum_j |w_ij|^p)^(1/p)."""
    ax = v.axis(axis, w.ndim)
    rows = np.moveaxis(w, ax, 0).reshape(w.shape[ax], -1).astype(np.float64)
    return np.linalg.norm(rows, ord=p, axis=1)


@validate(w=Array(), sparsity=Fraction(), axis=Integer(), p=P_NORM)
def structured_mask(w, sparsity, axis=0, p=1):
    """Prune whole slices along `axis`: the round(sparsity * w.shape[axis]) with smallest Lp norm.

    Same rule as torch.nn.utils.prune.ln_structured(amount=sparsity, n=p, dim=axis)
    (Li et al. 2017, "Pruning Filters for Efficient ConvNets", ranks filters by L1 norm).
    axis=0 of a (out, in) Dense/Linear weight removes neurons; of a conv weight, filters.
    """
    if w.ndim < 2:
        raise ValueError(f"w must have at least 2 dimensions for structured pruning, got shape {w.shape}")
    norms = slice_norms(w, axis, p)
    ax = v.axis(axis, w.ndim)
    keep = _smallest_k_mask(norms, _prune_count(sparsity, norms.size))
    shape = [1] * w.ndim
    shape[ax] = -1
    return np.broadcast_to(keep.reshape(shape), w.shape).copy()


def _same_windows(n, b):
    """Yield the [start, stop) of each stride-b window of TF 'SAME' padding (pad_before = pad // 2)."""
    n_out = -(-n // b)
    pad_before = (n_out * b - n) // 2
    for i in range(n_out):
        start = i * b - pad_before
        yield max(start, 0), min(start + b, n)


def _pool_1d(x, b, pooling):
    """Pool the rows of x (axis 0) in float32 windows, as tf.nn.pool with SAME padding."""
    windows = [x[a:z] for a, z in _same_windows(x.shape[0], b)]
    pooled = [win.mean(axis=0, dtype=np.float32) if pooling == "avg" else win.max(axis=0) for win in windows]
    return np.stack(pooled).astype(np.float32)


@validate(w=Array(ndim=2), block_shape=BLOCK, pooling=POOLING)
def block_pool(w, block_shape, pooling="avg"):
    """Pool |w| over blocks as tfmot's `factorized_pool` does: first along rows, then along columns.

    Note (read from tfmot's pruning_utils): windows use TF 'SAME' padding, which pads BEFORE the
    first block when a dimension leaves a remainder of 2 or more, while the mask is expanded from
    index 0. So with ragged shapes the pooled windows and the masked blocks do not line up exactly.
    """
    bh, bw = _block_shape(block_shape)
    a = np.abs(w).astype(np.float32)
    return _pool_1d(_pool_1d(a, bh, pooling).T, bw, pooling).T


def _block_shape(block_shape):
    try:
        bh, bw = (int(b) for b in block_shape)
    except Exception as e:
        raise TypeError(f"block_shape must be a pair of positive integers, got {block_shape!r}") from e
    if bh < 1 or bw < 1:
        raise ValueError(f"block_shape must be a pair of positive integers, got {block_shape!r}")
    return bh, bw


@validate(w=Array(ndim=2), sparsity=Fraction(), block_shape=BLOCK, pooling=POOLING)
def block_mask(w, sparsity, block_shape, pooling="avg"):
    """Prune whole blocks of a 2-D weight, ranked by their pooled |w| (tfmot `block_size`).

    Rule (tfmot pruning_impl.py `_maybe_update_block_mask`): pool |w| per block (avg or max),
    apply the tfmot keep rule to the pooled scores, expand each block's decision back with a
    Kronecker product and cut it to w's shape. block_shape=(1, 1) is element-wise tfmot pruning.
    """
    pooled = block_pool(w, block_shape, pooling)
    bh, bw = _block_shape(block_shape)
    keep = _tfmot_keep_mask(pooled, sparsity)
    return np.kron(keep, np.ones((bh, bw), dtype=bool))[: w.shape[0], : w.shape[1]].astype(bool)


@validate(w=Array(), mask=Array())
def apply_mask(w, mask):
    """Return w with the pruned entries set to 0: w * m (a new array; w is not changed)."""
    m = mask
    if m.shape != w.shape:
        raise ValueError(f"mask must have the shape of w {w.shape}, got {m.shape}")
    if m.dtype != bool and not np.isin(m, (0, 1)).all():
        raise ValueError("mask must be boolean or hold only 0 and 1")
    return np.where(m.astype(bool), w, np.zeros((), dtype=w.dtype))


GRANULARITIES = ("element", "vector", "kernel", "channel", "filter")


@validate(w=Array(ndim=4), sparsity=Fraction(), granularity=Choice(*GRANULARITIES))
def granularity_mask(w, sparsity, granularity):
    """Prune a conv weight (out, in, k_h, k_w) at one granularity, ranking groups by their L1 norm.

    element: single weights; vector: rows of a kernel (1 x k_w); kernel: whole k_h x k_w kernels;
    channel: an input channel of every filter (axis 1); filter: whole output filters (axis 0).
    Mao et al. 2017, "Exploring the Granularity of Sparsity in CNNs", Fig. 1.
    """
    s = sparsity
    if granularity == "element":
        return magnitude_mask(w, s)
    if granularity in ("filter", "channel"):
        return structured_mask(w, s, axis=0 if granularity == "filter" else 1, p=1)
    groups = w.reshape(-1, w.shape[-1]) if granularity == "vector" else w.reshape(-1, w.shape[-2] * w.shape[-1])
    return structured_mask(groups, s, axis=0, p=1).reshape(w.shape)


@validate(w=Array(), grad=Array(), mask=Array(), lr=Real(low=0.0))
def masked_update(w, grad, mask, lr):
    """Take one SGD step that keeps pruned weights at zero: w' = m * (w - lr * (m * grad)).

    Masking the gradient is what torch.nn.utils.prune gets by construction (weight = weight_orig * mask);
    re-masking the weight after the step is what tfmot does before every forward pass.
    """
    if grad.shape != w.shape:
        raise ValueError(f"grad must have the shape of w {w.shape}, got {grad.shape}")
    return apply_mask(w - lr * apply_mask(grad, mask), mask)
