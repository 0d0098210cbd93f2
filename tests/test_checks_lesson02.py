"""Lesson 02 checkers pass the reference and reject realistic wrong answers."""
import numpy as np

from course_lib.checks import lesson02 as L
from course_lib.masks import magnitude_mask, masked_update, structured_mask
from course_lib.sparse_formats import to_csr
from checker_harness import checker_tests


def _mask_k(w, k, key):
    m = np.ones(w.size, bool)
    m[np.argsort(key(w).ravel(), kind="stable")[:k]] = False
    return m.reshape(w.shape)


def _in_place_step(w, g, m, lr):
    w -= lr * g * m
    return w


CHECKERS = {
    "element_mask": (L.check_element_mask, magnitude_mask, [
        lambda w, s: _mask_k(w, int(s * w.size), np.abs),                         # int() instead of round
        lambda w, s: _mask_k(w, round(s * w.size), lambda x: x),                  # ranks w, not |w|
        lambda w, s: np.abs(w) > np.quantile(np.abs(w), s),                       # a quantile threshold
        lambda w, s: _mask_k(w, round(s * w.size), np.abs).astype(float),         # not a bool mask
    ]),
    "channel_mask": (L.check_channel_mask, lambda w, s: structured_mask(w, s, axis=1), [
        lambda w, s: structured_mask(w, s, axis=0),                               # wrong axis (filters)
        lambda w, s: structured_mask(w, s, axis=1, p=2),                          # L2 norm
        lambda w, s: np.broadcast_to(_mask_k(np.moveaxis(w, 1, 0).reshape(w.shape[1], -1).sum(1), round(s * w.shape[1]),
                                lambda x: x).reshape((1, -1) + (1,) * (w.ndim - 2)), w.shape).copy(),  # signed sums
    ]),
    "to_csr": (L.check_to_csr, to_csr, [
        lambda w: (w[w != 0], np.nonzero(w)[1], np.cumsum((w != 0).sum(1))),     # indptr without leading 0
        lambda w: (w.T[w.T != 0], np.nonzero(w.T)[1], np.concatenate([[0], np.cumsum((w != 0).sum(0))])),  # CSC
        lambda w: (w.ravel(), np.tile(np.arange(w.shape[1]), w.shape[0]),
                   np.arange(0, w.size + 1, w.shape[1])),                         # keeps explicit zeros
    ]),
    "masked_sgd_step": (L.check_masked_sgd_step, masked_update, [
        lambda w, g, m, lr: w - lr * g,                                           # gradient not masked
        _in_place_step,                                                           # changes w in place
        lambda w, g, m, lr: w - lr * g * np.asarray(m, bool) if lr else w + 1,    # lr = 0 edge wrong
    ]),
}


test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS, in_place_ok=True)


def test_checker_does_not_mutate_the_callers_arrays():
    w = np.arange(6.0).reshape(2, 3)
    before = w.copy()
    L.check_element_mask(lambda x, s: magnitude_mask(x, s))
    assert np.array_equal(w, before)
