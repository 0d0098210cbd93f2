"""Checkers for lesson 02 (sparsity and masks). References come from course_lib.masks and .sparse_formats."""
import numpy as np

from ..masks import magnitude_mask, masked_update, structured_mask
from ..sparse_formats import to_csr
from ._core import Case, allclose, exact, run_checks


def _rng_w(shape, seed):
    return np.random.default_rng(seed).normal(size=shape)


def check_element_mask(fn):
    """Exercise 2.1: element-wise magnitude mask, torch's count rule."""
    hint = "prune the round(sparsity * w.size) entries with the smallest |w|; return a bool array shaped like w"
    ties = np.array([0.5, -0.5, 0.5, 2.0, -3.0, 0.1])
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
                  hint="use np.argsort(np.abs(w).ravel(), kind='stable') so equal |w| are pruned in index order"),
             Case("a 3-d tensor", (_rng_w((2, 3, 4), 6), 0.75), hint="work on w.ravel(), then reshape to w.shape")]
    return run_checks(fn, magnitude_mask, cases, "2.1")


def _channel_mask(w, sparsity):
    return structured_mask(w, sparsity, axis=1, p=1)


def check_channel_mask(fn):
    """Exercise 2.2: prune whole input channels of a conv weight by L1 norm."""
    hint = ("channel c of a weight (out, in, k_h, k_w) is w[:, c]; its L1 norm is np.abs(w[:, c]).sum(); "
            "prune the round(sparsity * in) channels with the smallest norm")
    scaled = _rng_w((4, 6, 3, 3), 7) * np.array([1, 5, 0.1, 3, 0.5, 2]).reshape(1, 6, 1, 1)
    signed = np.ones((2, 4, 1, 1)) * np.array([-4.0, 1.0, 3.0, -0.5]).reshape(1, 4, 1, 1)
    cases = [Case("channels of very different scale, 50%", (scaled, 0.5), hint=hint),
             Case("a weight with more filters than channels", (_rng_w((8, 3, 3, 3), 8), 1 / 3),
                  hint="channels are axis 1 (inputs), filters are axis 0 (outputs)"),
             Case("signed weights: L1 uses |w|", (signed, 0.5), hint="sum np.abs(w), not w: negative weights count"),
             Case("L1, not L2", (np.concatenate([np.full((1, 1, 2, 2), 0.9), np.array([[[[2.0, 0.], [0., 0.]]]])], 1), 0.5),
                  hint="L1 = sum of |w| (3.6 vs 2.0 here); the L2 norm would rank these two channels the other way"),
             Case("sparsity 0", (_rng_w((3, 4, 2, 2), 9), 0.0), hint="nothing pruned"),
             Case("a dense layer (out, in)", (_rng_w((5, 8), 10), 0.25), hint="for a 2-D weight, channels are columns")]
    return run_checks(fn, _channel_mask, cases, "2.2")


def check_to_csr(fn):
    """Exercise 2.3: CSR arrays (data, indices, indptr)."""
    hint = "walk the rows in order; indptr starts at 0 and has rows + 1 entries; skip zeros"
    w = np.where(np.random.default_rng(11).random((5, 6)) < 0.4, _rng_w((5, 6), 12), 0.0)
    cases = [Case("a 5x6 matrix, 40% dense", (w,), hint=hint),
             Case("an empty row in the middle", (np.array([[1.0, 0, 2], [0, 0, 0], [0, 3.0, 0]]),),
                  hint="an empty row repeats the previous indptr value"),
             Case("all zeros", (np.zeros((3, 2)),), hint="data and indices are empty; indptr is [0, 0, 0, 0]"),
             Case("row-major, not column-major", (np.array([[0.0, 5.0], [7.0, 0.0], [1.0, 2.0]]),),
                  hint="CSR stores row by row (CSC would go column by column)"),
             Case("a single row", (np.array([[0.0, -1.0, 0.0, 4.0]]),), hint=hint)]

    def compare(expected, got):
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            return "expected a tuple (data, indices, indptr)"
        for name, e, g in zip(("data", "indices", "indptr"), expected, got):
            g = np.asarray(g)
            if g.shape != e.shape or not np.array_equal(g, e):
                return f"{name} is {np.array2string(g)}, expected {np.array2string(e)}"
        return None
    return run_checks(fn, to_csr, cases, "2.3", compare=compare)


def check_masked_sgd_step(fn):
    """Exercise 2.4: one SGD step that keeps pruned weights at zero."""
    hint = "mask the gradient, step, and make sure pruned weights are exactly 0: m * (w - lr * m * grad)"
    rng = np.random.default_rng(13)
    m = rng.random((4, 5)) > 0.5
    w = rng.normal(size=(4, 5)) * m
    g = rng.normal(size=(4, 5))
    cases = [Case("a 4x5 layer, half pruned", (w, g, m, 0.1), hint=hint),
             Case("a mask of 0/1 floats", (w, g, m.astype(float), 0.5), hint="treat the mask as numbers or as bools"),
             Case("nothing pruned: plain SGD", (w, g, np.ones_like(m), 0.1), hint="w - lr * grad"),
             Case("lr = 0 leaves w unchanged", (w, g, m, 0.0), hint=hint)]
    return run_checks(fn, masked_update, cases, "2.4", compare=allclose(1e-12))
