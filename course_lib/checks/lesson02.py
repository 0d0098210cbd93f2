"""Checkers for lesson 02 (sparsity and masks). References come from course_lib.pruning.masks and .sparse_formats."""
import math

import numpy as np

from ..pruning.masks import magnitude_mask, masked_update, structured_mask
from ..coding.sparse_formats import to_csr
from ._core import Case, Mistake, allclose, exact, items, run_checks


def _rng_w(shape, seed):
    return np.random.default_rng(seed).normal(size=shape)


def _prune_k(scores, k, kind="stable"):
    """Keep all but the k smallest scores (a flat bool mask of scores' shape)."""
    keep = np.ones(scores.size, bool)
    keep[np.argsort(scores.ravel(), kind=kind)[:k]] = False
    return keep.reshape(scores.shape)


def _half_up(x):
    return math.floor(x + 0.5)


ELEMENT_MISTAKES = [
    Mistake(lambda w, s: magnitude_mask(w, s, rule="tfmot"),
            "that is tfmot's counting rule (it keeps every weight tied at the threshold, and at least one); "
            "this exercise follows torch: prune exactly round(sparsity * w.size) weights"),
    Mistake(lambda w, s: _prune_k(np.abs(w), int(s * w.size)),
            "int() truncates (int(3.5) = 3): prune round(sparsity * w.size) weights"),
    Mistake(lambda w, s: _prune_k(np.abs(w), _half_up(s * w.size)),
            "you rounded half up; Python's round goes half to even (round(2.5) = 2), as torch does"),
    Mistake(lambda w, s: _prune_k(np.asarray(w), round(s * w.size)),
            "you ranked w, not |w|: a large negative weight is large, not small"),
    Mistake(lambda w, s: _prune_k(np.abs(w), round(s * w.size), kind="quicksort"),
            "np.argsort's default sort is not stable: with kind='stable' equal |w| are pruned lowest index first"),
]


def check_element_mask(fn):
    """Exercise 2.1: element-wise magnitude mask, torch's count rule, True = keep."""
    hint = "prune the round(sparsity * w.size) entries with the smallest |w|; return a bool array shaped like w"
    ties = np.array([0.5, -0.5, 0.5, 2.0, -3.0, 0.1])
    many_ties = np.random.default_rng(15).permutation(np.repeat([0.5, -0.5, 1.0, -2.0], 6))
    cases = [Case("a 4x5 matrix at 50%", (_rng_w((4, 5), 1), 0.5), hint=hint),
             Case("negative weights count by magnitude", (np.array([-3.0, 0.2, -0.1, 1.0]), 0.5),
                  hint="rank by np.abs(w), not by w: -3 is large"),
             Case("round(0.5 * 5) = 2 (half to even)", (_rng_w(5, 2), 0.5),
                  hint="use Python's round(sparsity * w.size) (torch does), not int() or ceil"),
             Case("round(0.5 * 7) = 4", (_rng_w(7, 14), 0.5), hint="round, not int(): int(3.5) = 3 but round(3.5) = 4"),
             Case("30% of 10 weights", (_rng_w(10, 3), 0.3), hint=hint),
             Case("sparsity 0 keeps everything", (_rng_w((3, 3), 4), 0.0), hint="k = 0: nothing to prune"),
             Case("sparsity 1 prunes everything", (_rng_w((2, 3), 5), 1.0), hint=hint),
             Case("ties: lower index pruned first", (ties, 0.5),
                  hint="among equal |w| prune the lower flat index first (a stable sort of |w|)"),
             Case("24 weights, many ties", (many_ties, 0.375),
                  hint="among equal |w| prune the lower flat index first (a stable sort of |w|)"),
             Case("a 3-d tensor", (_rng_w((2, 3, 4), 6), 0.75), hint="work on w.ravel(), then reshape to w.shape")]
    return run_checks(fn, magnitude_mask, cases, "2.1", mistakes=ELEMENT_MISTAKES)


def _channel_mask(w, sparsity):
    return structured_mask(w, sparsity, axis=1, p=1)


def _channel_keep(w, s, count=round, norm=lambda x: np.abs(x).sum(1)):
    scores = norm(np.moveaxis(w, 1, 0).reshape(w.shape[1], -1))
    keep = _prune_k(scores, count(s * w.shape[1]))
    return np.broadcast_to(keep.reshape((1, -1) + (1,) * (w.ndim - 2)), w.shape).copy()


CHANNEL_MISTAKES = [
    Mistake(lambda w, s: structured_mask(w, s, axis=0), "you pruned filters (axis 0): channels are axis 1 (inputs)"),
    Mistake(lambda w, s: _channel_keep(w, s, norm=lambda x: np.sqrt((x ** 2).sum(1))),
            "you ranked channels by the L2 norm: the task asks for L1 = sum of |w|"),
    Mistake(lambda w, s: _channel_keep(w, s, norm=lambda x: x.sum(1)),
            "you summed w, not |w|: negative weights must add to the L1 norm"),
    Mistake(lambda w, s: _channel_keep(w, s, count=_half_up),
            "you rounded half up; Python's round goes half to even (round(2.5) = 2)"),
    Mistake(lambda w, s: _channel_keep(w, s, count=int),
            "int() truncates (int(0.35 * 10) = int(3.5) = 3): prune round(sparsity * channels) with Python's "
            "round (round(3.5) = 4)"),
    Mistake(lambda w, s: _channel_keep(w, s)[(0, slice(None)) + (0,) * (w.ndim - 2)],
            "you returned one flag per channel: return a mask shaped like w (broadcast it to w.shape)"),
]


def check_channel_mask(fn):
    """Exercise 2.2: prune whole input channels of a conv weight by L1 norm (a full-shape mask)."""
    hint = ("channel c of a weight (out, in, k_h, k_w) is w[:, c]; its L1 norm is np.abs(w[:, c]).sum(); "
            "prune the round(sparsity * in) channels with the smallest norm")
    scaled = _rng_w((4, 6, 3, 3), 7) * np.array([1, 5, 0.1, 3, 0.5, 2]).reshape(1, 6, 1, 1)
    signed = np.ones((2, 4, 1, 1)) * np.array([-4.0, 1.0, 3.0, -0.5]).reshape(1, 4, 1, 1)
    tied = np.ones((3, 5, 2, 2)) * np.array([1.0, 2.0, 1.0, 1.0, 3.0]).reshape(1, 5, 1, 1)
    cases = [Case("channels of very different scale, 50%", (scaled, 0.5), hint=hint),
             Case("a weight with more filters than channels", (_rng_w((8, 3, 3, 3), 8), 1 / 3),
                  hint="channels are axis 1 (inputs), filters are axis 0 (outputs)"),
             Case("signed weights: L1 uses |w|", (signed, 0.5), hint="sum np.abs(w), not w: negative weights count"),
             Case("L1, not L2", (np.concatenate([np.full((1, 1, 2, 2), 0.9), np.array([[[[2.0, 0.], [0., 0.]]]])], 1), 0.5),
                  hint="L1 = sum of |w| (3.6 vs 2.0 here); the L2 norm would rank these two channels the other way"),
             Case("round(0.25 * 10) = 2 (half to even)", (_rng_w((4, 10, 3, 3), 16), 0.25),
                  hint="prune round(sparsity * channels) with Python's round, half to even: round(2.5) = 2"),
             Case("round(0.35 * 10) = 4, not int(3.5) = 3", (_rng_w((3, 10, 2, 2), 17), 0.35),
                  hint="prune round(sparsity * channels) with Python's round: round(3.5) = 4, int(3.5) = 3"),
             Case("tied norms: lower channel first", (tied, 0.4),
                  hint="among equal norms prune the lower channel index first"),
             Case("sparsity 0", (_rng_w((3, 4, 2, 2), 9), 0.0), hint="nothing pruned"),
             Case("a dense layer (out, in)", (_rng_w((5, 8), 10), 0.25), hint="for a 2-D weight, channels are columns")]
    return run_checks(fn, _channel_mask, cases, "2.2", mistakes=CHANNEL_MISTAKES)


def _csr_no_leading_zero(w):
    data, indices, indptr = to_csr(w)
    return data, indices, indptr[1:]


def _csc(w):
    data, indices, indptr = to_csr(w.T)
    return data, indices, indptr


def _with_zeros(w):
    return w.ravel(), np.tile(np.arange(w.shape[1]), w.shape[0]), np.arange(0, w.size + 1, w.shape[1])


def _csr_data_as(dtype):
    def wrong(w):
        data, indices, indptr = to_csr(w)
        return data.astype(dtype), indices, indptr
    return wrong


def _csr_compare(expected, got):
    """items() with exact, and data in w's EXACT dtype (float32 stays float32; exact() checks only the kind)."""
    if isinstance(got, (tuple, list)) and len(got) == 3 and isinstance(got[0], np.ndarray) \
            and got[0].dtype.kind == "f" and got[0].dtype != expected[0].dtype:
        return f"data: expected dtype {expected[0].dtype} (w's dtype), got dtype {got[0].dtype}"
    return items(("data", "indices", "indptr"))(expected, got)


CSR_MISTAKES = [
    Mistake(_csr_no_leading_zero, "indptr starts with 0 and has rows + 1 entries: row r is data[indptr[r]:indptr[r + 1]]"),
    Mistake(_csc, "you went column by column (that is CSC): CSR stores the matrix row by row"),
    Mistake(_with_zeros, "you kept the zeros: CSR stores only the non-zero entries"),
    *[Mistake(_csr_data_as(t), "data must keep w's dtype: a float32 w gives float32 data, a float64 w float64 "
                               "(e.g. `np.array(values, dtype=w.dtype)`; np.array of an empty list is float64)")
      for t in (np.float64, np.float32)],
]


def check_to_csr(fn):
    """Exercise 2.3: CSR arrays (data, indices, indptr): data in w's dtype, indices and indptr integers."""
    hint = "walk the rows in order; indptr starts at 0 and has rows + 1 entries; skip zeros"
    w = np.where(np.random.default_rng(11).random((5, 6)) < 0.4, _rng_w((5, 6), 12), 0.0)
    cases = [Case("a 5x6 matrix, 40% dense", (w,), hint=hint),
             Case("an empty row in the middle", (np.array([[1.0, 0, 2], [0, 0, 0], [0, 3.0, 0]]),),
                  hint="an empty row repeats the previous indptr value"),
             Case("all zeros", (np.zeros((3, 2)),), hint="data and indices are empty; indptr is [0, 0, 0, 0]"),
             Case("row-major, not column-major", (np.array([[0.0, 5.0], [7.0, 0.0], [1.0, 2.0]]),),
                  hint="CSR stores row by row (CSC would go column by column)"),
             Case("a single row", (np.array([[0.0, -1.0, 0.0, 4.0]]),), hint=hint),
             Case("float32: data stays float32", (w.astype(np.float32),),
                  hint="data in w's dtype: build it with dtype=w.dtype (a float32 w gives float32 data)"),
             Case("float32, all zeros: empty data is still float32", (np.zeros((2, 3), np.float32),),
                  hint="np.array([]) is float64: give the empty data w's dtype (dtype=w.dtype)")]
    return run_checks(fn, to_csr, cases, "2.3", compare=_csr_compare, mistakes=CSR_MISTAKES)


def _as_keep(mask):
    return np.asarray(mask).astype(bool)


MASKED_STEP_MISTAKES = [
    Mistake(lambda w, g, m, lr: w - lr * g * _as_keep(m),
            "your result is not masked: a pruned weight must come out exactly 0 even where w was not 0; "
            "W' = m * (W - lr * m * g)"),
    Mistake(lambda w, g, m, lr: w - lr * g,
            "nothing is masked: pruned weights must come out exactly 0; W' = m * (W - lr * m * g)"),
    Mistake(lambda w, g, m, lr: w * _as_keep(m) - lr * g,
            "you masked w but not the step: the gradient reaches the pruned weights; W' = m * (W - lr * m * g)"),
    Mistake(lambda w, g, m, lr: ~_as_keep(m) * (w - lr * g),
            "your mask is inverted: True (or 1) must mean KEEP the weight"),
]


def check_masked_sgd_step(fn):
    """Exercise 2.4: one SGD step W' = m * (W - lr * m * g): pruned weights come out exactly 0."""
    hint = "mask the gradient, step, and mask the result, so that pruned weights are exactly 0: m * (w - lr * m * grad)"
    rng = np.random.default_rng(13)
    m = rng.random((4, 5)) > 0.5
    w = rng.normal(size=(4, 5))
    g = rng.normal(size=(4, 5))
    cases = [Case("a 4x5 layer, half pruned, w already 0 where pruned", (w * m, g, m, 0.1), hint=hint),
             Case("w NOT yet 0 where the mask is False", (w, g, m, 0.1),
                  hint="the result must be 0 wherever the mask is False, whatever w was there"),
             Case("a mask of 0/1 floats", (w, g, m.astype(float), 0.5), hint="treat the mask as numbers or as bools"),
             Case("nothing pruned: plain SGD", (w, g, np.ones_like(m), 0.1), hint="w - lr * grad"),
             Case("lr = 0 only applies the mask", (w, g, m, 0.0), hint=hint)]
    return run_checks(fn, masked_update, cases, "2.4", compare=allclose(1e-12), mistakes=MASKED_STEP_MISTAKES)
