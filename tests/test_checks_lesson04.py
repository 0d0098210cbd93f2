"""Lesson 04 checkers: pass the reference, reject realistic mistakes, answer a stub with 'not done yet'."""
import numpy as np

from course_lib.pruning import second_order as so
from checker_harness import assert_passes, checker_tests
from course_lib.checks import lesson04 as chk


def _safe(d):
    return np.where(d > 0, d, 1.0)


SAL_MUTANTS = {
    "diagonal of H^-1 inverted (OBD-like)": lambda w, hi: w ** 2 * np.diag(hi) / 2,
    "forgets the 2": (lambda w, hi: np.where(np.diag(hi) > 0, w ** 2 / _safe(np.diag(hi)), np.inf), "factor 2"),
    "|w| instead of w^2": lambda w, hi: np.where(np.diag(hi) > 0, np.abs(w) / (2 * _safe(np.diag(hi))), np.inf),
    "removed weights get 0, not inf": lambda w, hi: np.where(np.diag(hi) > 0, w ** 2 / (2 * _safe(np.diag(hi))), 0.0),
    "row sums instead of the diagonal": lambda w, hi: np.where(np.diag(hi) > 0, w ** 2 / (2 * _safe(hi.sum(1))), np.inf),
}


def _upd(w, hi, q, sign=-1.0, schur=True):
    col = hi[:, q].copy()
    w_new = w + sign * w[q] / hi[q, q] * col
    w_new[q] = 0.0
    h_new = hi - np.outer(col, hi[q, :]) / hi[q, q] if schur else hi.copy()
    h_new[q, :] = 0.0
    h_new[:, q] = 0.0
    return w_new, h_new


def _in_place_update(w, hi, q):
    w_new, h_new = _upd(w, hi, q)
    w[:] = w_new
    return w, h_new


UPD_MUTANTS = {
    "wrong sign of dw": lambda w, hi, q: _upd(w, hi, q, sign=+1.0),
    "H^-1 not updated": lambda w, hi, q: _upd(w, hi, q, schur=False),
    "only w_q set to zero (no compensation)": lambda w, hi, q: (np.where(np.arange(len(w)) == q, 0.0, w),
                                                                _upd(w, hi, q)[1]),
    "dw scaled by w_q**2, not w_q": lambda w, hi, q: _upd(w * np.where(np.arange(len(w)) == q, w, 1.0), hi, q),
    "changes w in place": _in_place_update,
    "no exact zeros (formulas only)": (lambda w, hi, q: (w - w[q] / hi[q, q] * hi[:, q],
                                                         hi - np.outer(hi[:, q], hi[q, :]) / hi[q, q]), "exactly 0"),
    "zeros w_new[q] but not row/column q": (lambda w, hi, q: (_upd(w, hi, q)[0],
                                                              hi - np.outer(hi[:, q], hi[q, :]) / hi[q, q]), "exactly 0"),
}


def _wb(h, x, P, denom_P=True, add=False, P_scale=1.0):
    hx = h @ x
    d = (P if denom_P else 1.0) * P_scale + x @ hx
    return h + np.outer(hx, hx) / d if add else h - np.outer(hx, hx) / d


WB_MUTANTS = {
    "forgets P in the denominator": lambda h, x, P: _wb(h, x, P, denom_P=False),
    "adds instead of subtracts": lambda h, x, P: _wb(h, x, P, add=True),
    "outer(x, x) instead of H^-1 x x^T H^-1": lambda h, x, P: h - np.outer(x, x) / (P + x @ h @ x),
    "forgets x^T H^-1 x": lambda h, x, P: h - np.outer(h @ x, h @ x) / P,
}

CHECKS = [(chk.check_obs_saliency, so.obs_saliency, SAL_MUTANTS),
          (chk.check_obs_update, so.obs_update, UPD_MUTANTS),
          (chk.check_woodbury_update, so.woodbury_update, WB_MUTANTS)]


test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(
    {check.__name__: (check, ref, mutants) for check, ref, mutants in CHECKS}, in_place_ok=True)


# --- independently written correct answers (from the task text; no library code)
def loop_obs_saliency(w, h_inv):
    """4.1: L_q = w_q**2 / (2 [H^-1]_qq) weight by weight; np.inf where [H^-1]_qq == 0 (already removed)."""
    out = np.empty(len(w), dtype=float)
    for q in range(len(w)):
        d = float(h_inv[q][q])
        out[q] = np.inf if d == 0.0 else float(w[q]) ** 2 / (2.0 * d)
    return out


def loop_obs_update(w, h_inv, q):
    """4.2: dw = -(w_q / [H^-1]_qq) H^-1 e_q; Schur step on H^-1; w_new[q], row and column q exactly 0."""
    n = len(w)
    hqq = float(h_inv[q][q])
    w_new = np.array([0.0 if i == q else float(w[i]) - float(w[q]) / hqq * float(h_inv[i][q]) for i in range(n)])
    h_new = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != q and j != q:
                h_new[i, j] = float(h_inv[i][j]) - float(h_inv[i][q]) * float(h_inv[q][j]) / hqq
    return w_new, h_new


def direct_woodbury_update(h_inv, x, n_samples):
    """4.3: the text's definition itself, the inverse of H + x x^T / n_samples, by inverting twice
    (not the rank-one formula; the checker's cases are well conditioned, so 1e-9 holds)."""
    H = np.linalg.inv(np.asarray(h_inv, dtype=float))
    x = np.asarray(x, dtype=float)
    return np.linalg.inv(H + np.outer(x, x) / n_samples)


def test_independent_answers_pass():
    assert_passes(chk.check_obs_saliency, loop_obs_saliency)
    assert_passes(chk.check_obs_update, loop_obs_update)
    assert_passes(chk.check_woodbury_update, direct_woodbury_update)
