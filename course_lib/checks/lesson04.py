"""Checkers for lesson 04 (Optimal Brain Surgeon). References come from course_lib.pruning.second_order."""
import numpy as np

from ..pruning import second_order as so
from ._core import Case, Mistake, allclose, run_checks


def _spd(n, seed):
    A = np.random.default_rng(seed).normal(size=(n, n))
    return A @ A.T / n + 0.1 * np.eye(n)


def check_obs_saliency(fn):
    """Check `fn(w, h_inv)` == w_q**2 / (2 [H^-1]_qq), +inf where [H^-1]_qq == 0 (Hassibi & Stork 1993)."""
    w = np.array([1.0, -2.0, 0.5, 0.0])
    h_inv = np.linalg.inv(_spd(4, 1))
    _, h_removed = so.obs_update(w, h_inv, 1)
    cases = [
        Case("four weights", (w, h_inv), hint="L_q = w_q**2 / (2 * h_inv[q, q]): the DIAGONAL of the INVERSE."),
        Case("a diagonal Hessian", (np.array([1.0, 2.0]), np.diag([0.5, 0.25])),
             hint="with H = diag(h), [H^-1]_qq = 1 / h_qq and OBS equals OBD."),
        Case("one weight", (np.array([3.0]), np.array([[2.0]])), hint="works for one weight too."),
        Case("a weight already removed", (so.obs_update(w, h_inv, 1)[0], h_removed),
             hint="[H^-1]_qq = 0 marks a removed weight: give it saliency np.inf, it cannot be removed again."),
        Case("random, 12 weights", (np.random.default_rng(2).normal(size=12), np.linalg.inv(_spd(12, 3))),
             hint="square w, divide by twice the diagonal of h_inv."),
    ]
    no_two = Mistake(lambda w, hi: np.where(np.diag(hi) > 0, np.asarray(w, float) ** 2 / np.where(np.diag(hi) > 0, np.diag(hi), 1.0), np.inf),
                     "you divided by [H^-1]_qq, not by 2 [H^-1]_qq: the factor 2 of the quadratic model is missing.")
    return run_checks(fn, so.obs_saliency, cases, "4.1", compare=allclose(1e-9), mistakes=(no_two,))


def _pair_close(expected, got):
    """Compare a (w_new, h_inv_new) pair within 1e-9, and the removed weight's zeros EXACTLY."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return "expected a tuple (w_new, h_inv_new)"
    for name, e, g in zip(("w_new", "h_inv_new"), expected, got):
        why = allclose(1e-9)(e, g)
        if why:
            return f"{name}: {why}"
    (w_e, h_e), (w_g, h_g) = expected, (np.asarray(got[0], float), np.asarray(got[1], float))
    gone = np.flatnonzero((w_e == 0) & np.all(h_e == 0, axis=0))  # removed weights: zero weight, zero row/col
    if np.any(w_g[gone] != 0):
        return f"w_new[{int(gone[0])}] must be exactly 0 (the removed weight), got {w_g[gone][w_g[gone] != 0][0]:.3g}"
    if np.any(h_g[gone, :] != 0) or np.any(h_g[:, gone] != 0):
        return "row and column q of h_inv_new must be exactly 0 (they mark the removed weight), not just close to 0"
    return None


def _leftover_case():
    """Return (w, h_inv, q) where the formulas alone leave round-off at w_new[q] and in row/column q."""
    for seed in range(1000):
        rng = np.random.default_rng(seed)
        w, h_inv, q = rng.normal(size=6), np.linalg.inv(_spd(6, seed + 100)), int(rng.integers(6))
        col = h_inv[:, q]
        w_raw = w - w[q] / h_inv[q, q] * col
        h_raw = h_inv - np.outer(col, h_inv[q, :]) / h_inv[q, q]
        if w_raw[q] != 0 and np.any(h_raw[q] != 0) and np.any(h_raw[:, q] != 0):
            return w, h_inv, q
    raise RuntimeError("no leftover case found")


def check_obs_update(fn):
    """Check `fn(w, h_inv, q)` returns (w + dw, reduced h_inv) as in Hassibi & Stork 1993, eq. 5."""
    w = np.array([1.0, -2.0, 0.5, 0.3])
    h_inv = np.linalg.inv(_spd(4, 1))
    w1, h1 = so.obs_update(w, h_inv, 2)
    cases = [
        Case("remove weight 0", (w, h_inv, 0),
             hint="dw = -(w_q / h_inv[q, q]) * h_inv[:, q]; afterwards w[q] is exactly 0."),
        Case("remove the last weight", (w, h_inv, 3), hint="q indexes the weight vector; the last is q = n - 1."),
        Case("a second removal after a first", (w1, h1, 0),
             hint="new h_inv = h_inv - outer(h_inv[:, q], h_inv[q, :]) / h_inv[q, q], with row and column q zero."),
        Case("a diagonal Hessian", (np.array([1.0, 2.0, 3.0]), np.diag([1.0, 2.0, 0.5]), 1),
             hint="with a diagonal H no other weight moves."),
        Case("random, 10 weights", (np.random.default_rng(4).normal(size=10), np.linalg.inv(_spd(10, 5)), 6),
             hint="return a tuple (w_new, h_inv_new); do not change the inputs in place."),
        Case("round-off leftovers must not survive", _leftover_case(),
             hint="the formulas leave tiny round-off at w_new[q] and in row/column q: set them to exactly 0."),
    ]
    return run_checks(fn, so.obs_update, cases, "4.2", compare=_pair_close)


def check_woodbury_update(fn):
    """Check `fn(h_inv, x, n_samples)` == H^-1 - H^-1 x x^T H^-1 / (n + x^T H^-1 x) (Hassibi & Stork 1993, eq. 8)."""
    rng = np.random.default_rng(6)
    cases = [
        Case("the first step from H_0^-1 = I / alpha", (np.eye(3) / 1e-2, np.array([1.0, 0.5, -1.0]), 10),
             hint="H_0^-1 = I / alpha; the denominator is n_samples + x @ h_inv @ x."),
        Case("a general inverse", (np.linalg.inv(_spd(4, 1)), np.array([0.3, -1.0, 2.0, 0.1]), 5),
             hint="the numerator is the outer product of (h_inv @ x) with itself."),
        Case("one parameter", (np.array([[2.0]]), np.array([3.0]), 1), hint="works with n = 1."),
        Case("many samples (n_samples = 1000)", (np.linalg.inv(_spd(5, 2)), rng.normal(size=5), 1000),
             hint="n_samples sits in the denominator: each sample adds x x^T / n_samples to H."),
        Case("a zero gradient changes nothing", (np.linalg.inv(_spd(3, 3)), np.zeros(3), 7),
             hint="x = 0 adds nothing to H."),
    ]
    return run_checks(fn, so.woodbury_update, cases, "4.3", compare=allclose(1e-9))
