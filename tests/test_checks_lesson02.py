"""Lesson 02 checkers pass the reference, reject realistic wrong answers with a hint that names the
mistake, and say "not done yet" to a stub."""
import math

import numpy as np

from course_lib.checks import lesson02 as L
from course_lib.pruning.masks import magnitude_mask, masked_update, structured_mask
from course_lib.coding.sparse_formats import to_csr
from checker_harness import assert_passes, checker_tests


def _mask_k(w, k, key, kind="stable"):
    m = np.ones(w.size, bool)
    m[np.argsort(key(w).ravel(), kind=kind)[:k]] = False
    return m.reshape(w.shape)


def _channels(w, s, count=round, norm=lambda x: np.abs(x).sum(1)):
    scores = norm(np.moveaxis(w, 1, 0).reshape(w.shape[1], -1))
    keep = _mask_k(scores, count(s * w.shape[1]), lambda x: x)
    return np.broadcast_to(keep.reshape((1, -1) + (1,) * (w.ndim - 2)), w.shape).copy()


def _in_place_step(w, g, m, lr):
    w -= lr * g * m
    w *= m
    return w


def _csr_lists(w):
    data, indices, indptr = [], [], [0]
    for row in w:
        cols = np.flatnonzero(row)
        data += list(row[cols])
        indices += list(cols)
        indptr.append(len(data))
    return np.array(data, dtype=w.dtype), np.array(indices, dtype=float), np.array(indptr)


def _csr_no_dtype(w):
    """A list-built CSR whose np.array(data) has no dtype: float32 values stay float32, an empty row set is float64."""
    rows, cols = np.nonzero(w)
    return np.array(list(w[rows, cols])), cols.astype(np.int64), np.concatenate([[0], np.cumsum((w != 0).sum(1))])


CHECKERS = {
    "element_mask": (L.check_element_mask, magnitude_mask, {
        "int() instead of round": (lambda w, s: _mask_k(w, int(s * w.size), np.abs), "int() truncates"),
        "half up instead of half to even": (lambda w, s: _mask_k(w, math.floor(s * w.size + 0.5), np.abs), "half up"),
        "ranks w, not |w|": (lambda w, s: _mask_k(w, round(s * w.size), lambda x: x), "not |w|"),
        "a quantile threshold": (lambda w, s: np.abs(w) > np.quantile(np.abs(w), s), None),
        "not a bool mask": (lambda w, s: _mask_k(w, round(s * w.size), np.abs).astype(float), "bool mask"),
        "True marks pruned": (lambda w, s: ~magnitude_mask(w, s), "True must mean KEEP"),
        "tfmot's counting rule": (lambda w, s: magnitude_mask(w, s, rule="tfmot"), "tfmot's counting rule"),
        "default (unstable) argsort": (lambda w, s: _mask_k(w, round(s * w.size), np.abs, kind="quicksort"),
                                       "not stable"),
        "no return": (lambda w, s: None, "did you forget `return`?"),
    }),
    "channel_mask": (L.check_channel_mask, lambda w, s: structured_mask(w, s, axis=1), {
        "wrong axis (filters)": (lambda w, s: structured_mask(w, s, axis=0), "axis 1"),
        "L2 norm": (lambda w, s: structured_mask(w, s, axis=1, p=2), "L2"),
        "signed sums": (lambda w, s: _channels(w, s, norm=lambda x: x.sum(1)), "not |w|"),
        "half-up channel count": (lambda w, s: _channels(w, s, count=lambda x: math.floor(x + 0.5)), "half up"),
        "int() instead of round": (lambda w, s: _channels(w, s, count=int), "int() truncates"),
        "one flag per channel": (lambda w, s: _channels(w, s)[(0, slice(None)) + (0,) * (w.ndim - 2)],
                                 "shaped like w"),
        "True marks pruned": (lambda w, s: ~structured_mask(w, s, axis=1), "True must mean KEEP"),
    }),
    "to_csr": (L.check_to_csr, to_csr, {
        "indptr without leading 0": (lambda w: (w[w != 0], np.nonzero(w)[1], np.cumsum((w != 0).sum(1))),
                                     "indptr starts with 0"),
        "CSC": (lambda w: (w.T[w.T != 0], np.nonzero(w.T)[1], np.concatenate([[0], np.cumsum((w != 0).sum(0))])),
                "CSC"),
        "keeps explicit zeros": (lambda w: (w.ravel(), np.tile(np.arange(w.shape[1]), w.shape[0]),
                                            np.arange(0, w.size + 1, w.shape[1])), "kept the zeros"),
        "float indices": (_csr_lists, "return integers"),
        "data as float64": (lambda w: (to_csr(w)[0].astype(np.float64),) + to_csr(w)[1:], "keep w's dtype"),
        "data built without a dtype": (_csr_no_dtype, "np.array of an empty list is float64"),
        "float32 data for a float64 w": (lambda w: (to_csr(w)[0].astype(np.float32),) + to_csr(w)[1:],
                                         "w's dtype"),
    }),
    "masked_sgd_step": (L.check_masked_sgd_step, masked_update, {
        "result not re-masked": (lambda w, g, m, lr: w - lr * g * m, "not masked"),
        "gradient not masked": (lambda w, g, m, lr: w - lr * g, "pruned weights must come out exactly 0"),
        "masks w, not the step": (lambda w, g, m, lr: w * m - lr * g, "masked w but not the step"),
        "changes w in place": (_in_place_step, "in place"),
        "inverted mask": (lambda w, g, m, lr: (1 - np.asarray(m, float)) * (w - lr * g), "KEEP"),
    }),
}


test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS, in_place_ok=True)


def test_checker_does_not_mutate_the_callers_arrays():
    w = np.arange(6.0).reshape(2, 3)
    before = w.copy()
    L.check_element_mask(lambda x, s: magnitude_mask(x, s))
    assert np.array_equal(w, before)


def test_any_integer_dtype_is_accepted_for_csr():
    assert_passes(L.check_to_csr, lambda w: tuple(a.astype(np.int32) if i else a for i, a in enumerate(to_csr(w))))


def test_a_large_failure_is_summarised():
    v = L.check_channel_mask(lambda w, s: structured_mask(w, s, axis=0))
    assert len(repr(v).splitlines()) <= 6, repr(v)


# --- independently written correct answers (from the task text; no library code)
def loop_element_mask(w, sparsity):
    flat = np.asarray(w).ravel()
    k = round(sparsity * flat.size)                                  # Python's round: half to even
    order = sorted(range(flat.size), key=lambda i: (abs(flat[i]), i))  # equal |w|: the lower flat index first
    keep = [True] * flat.size
    for i in order[:k]:
        keep[i] = False
    return np.array(keep, dtype=bool).reshape(np.shape(w))


def loop_channel_mask(w, sparsity):
    n_in = w.shape[1]
    norms = []
    for c in range(n_in):
        total = 0.0
        for v in np.asarray(w[:, c]).ravel():                        # L1 norm of w[:, c], summed in a plain loop
            total += abs(float(v))
        norms.append(total)
    k = round(sparsity * n_in)
    pruned = sorted(range(n_in), key=lambda c: (norms[c], c))[:k]   # equal norms: the lower channel first
    keep = np.ones(w.shape, dtype=bool)
    for c in pruned:
        keep[:, c] = False
    return keep


def loop_to_csr(w):
    data, indices, indptr = [], [], [0]
    for r in range(w.shape[0]):
        for c in range(w.shape[1]):
            if w[r, c] != 0:
                data.append(w[r, c])
                indices.append(c)
        indptr.append(len(data))
    return np.array(data, dtype=w.dtype), np.array(indices, dtype=np.int32), np.array(indptr, dtype=np.int32)


def loop_masked_sgd_step(w, grad, mask, lr):
    w, grad, mask = np.asarray(w), np.asarray(grad), np.asarray(mask)
    out = np.zeros(w.shape, dtype=float)
    for idx in np.ndindex(w.shape):
        m = 1.0 if mask[idx] else 0.0
        out[idx] = m * (w[idx] - lr * m * grad[idx])                 # W' = m * (W - lr * m * g)
    return out


def test_independent_answers_pass():
    assert_passes(L.check_element_mask, loop_element_mask)
    assert_passes(L.check_channel_mask, loop_channel_mask)
    assert_passes(L.check_to_csr, loop_to_csr)
    assert_passes(L.check_masked_sgd_step, loop_masked_sgd_step)
