"""Lesson 03 checkers: pass the reference, reject realistic mistakes, answer a stub with 'not done yet'."""
import numpy as np

from course_lib.pruning import second_order as so
from checker_harness import assert_passes, checker_tests
from course_lib.checks import lesson03 as chk


def _in_place_obd(w, h_diag):
    w **= 2
    return h_diag * w / 2


OBD_MUTANTS = {
    "forgets the 1/2": lambda w, h: h * w ** 2,
    "uses |w| instead of w^2": lambda w, h: h * np.abs(w) / 2,
    "uses w, not w^2": lambda w, h: h * w / 2,
    "ignores the curvature (magnitude)": lambda w, h: w ** 2 / 2,
    "divides by the curvature": lambda w, h: w ** 2 / (2 * np.where(h == 0, 1, h)),
    "squares in place": _in_place_obd,
}

QUAD_MUTANTS = {
    "forgets the 1/2": lambda w, H, r: float(np.where(r, -w, 0) @ H @ np.where(r, -w, 0)),
    "diagonal only (OBD)": lambda w, H, r: float(np.sum(np.diag(H)[r] * w[r] ** 2) / 2),
    "the kept weights instead of the removed": lambda w, H, r: float(np.where(~r, w, 0) @ H @ np.where(~r, w, 0) / 2),
    "the whole weight vector": lambda w, H, r: float(w @ H @ w / 2),
}

MASK_MUTANTS = {
    "removes the largest": lambda s, k: ~np.isin(np.arange(len(s)), np.argsort(-s, kind="stable")[:k]),
    "off by one": lambda s, k: ~np.isin(np.arange(len(s)), np.argsort(s, kind="stable")[:k + 1]),
    "ints, not bools": lambda s, k: (~np.isin(np.arange(len(s)), np.argsort(s, kind="stable")[:k])).astype(int),
    "ties: later first": lambda s, k: ~np.isin(np.arange(len(s)),
                                              (len(s) - 1 - np.argsort(s[::-1], kind="stable"))[:k]),
    "True marks removed": lambda s, k: np.isin(np.arange(len(s)), np.argsort(s, kind="stable")[:k]),
    "unstable argsort": (lambda s, k: ~np.isin(np.arange(len(s)), np.argsort(s)[:k]), "not stable"),
}

QUAD = np.array([[0.05, 0.052, 0.06], [0.03, 0.031, 0.02], [0.08, 0.07, 0.09]])  # full quadratic is closer
QUAD_DIAG = QUAD[:, [0, 2, 1]]  # the same numbers with the two predictions swapped: diagonal is closer


def _predictor_check(quad):
    def check(fn):
        return chk.check_better_predictor(fn, quad)
    check.__name__ = "check_better_predictor"
    return check


PREDICTOR_MUTANTS = {
    "the other prediction": (lambda q: "diagonal", "the other one"),
    "compares mean predictions, not errors": lambda q: "full quadratic" if abs(q[:, 1].mean() - q[:, 0].mean())
    > abs(q[:, 2].mean() - q[:, 0].mean()) else "diagonal",
    "not one of the two answers": lambda q: "OBD",
}

CHECKS = [(chk.check_obd_saliency, so.obd_saliency, OBD_MUTANTS),
          (chk.check_quadratic_loss_change, so.quadratic_loss_change, QUAD_MUTANTS),
          (chk.check_lowest_saliency_mask, so.lowest_saliency_mask, MASK_MUTANTS),
          (_predictor_check(QUAD), chk.better_predictor, PREDICTOR_MUTANTS)]


def test_the_interpretation_follows_the_measurements():
    assert chk.better_predictor(QUAD) == "full quadratic" and chk.better_predictor(QUAD_DIAG) == "diagonal"
    assert chk.check_better_predictor(lambda q: "diagonal", QUAD_DIAG).passed
    assert not chk.check_better_predictor(lambda q: "full quadratic", QUAD_DIAG).passed


test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(
    {check.__name__: (check, ref, mutants) for check, ref, mutants in CHECKS}, in_place_ok=True)


# --- independently written correct answers (from the task text; no library code)
def loop_obd_saliency(w, h_diag):
    return np.array([0.5 * float(h) * float(x) * float(x) for x, h in zip(w, h_diag)])   # s_k = h_kk w_k^2 / 2


def loop_quadratic_loss_change(w, H, removed):
    dw = [-float(x) if r else 0.0 for x, r in zip(w, removed)]      # the removed weights go to zero
    total = 0.0
    for i in range(len(dw)):
        for j in range(len(dw)):
            total += dw[i] * float(H[i][j]) * dw[j]
    return total / 2                                                 # 1/2 dw^T H dw, a Python float


def loop_lowest_saliency_mask(s, k):
    keep = np.ones(len(s), dtype=bool)
    for i in sorted(range(len(s)), key=lambda i: (s[i], i))[:k]:     # ties: the earlier position first
        keep[i] = False
    return keep


def loop_better_predictor(quad):
    err_full = sum(abs(row[1] - row[0]) for row in quad) / len(quad)
    err_diag = sum(abs(row[2] - row[0]) for row in quad) / len(quad)
    return "full quadratic" if err_full < err_diag else "diagonal"


def test_independent_answers_pass():
    assert_passes(chk.check_obd_saliency, loop_obd_saliency)
    assert_passes(chk.check_quadratic_loss_change, loop_quadratic_loss_change)
    assert_passes(chk.check_lowest_saliency_mask, loop_lowest_saliency_mask)
    assert_passes(_predictor_check(QUAD), loop_better_predictor)
    assert_passes(_predictor_check(QUAD_DIAG), loop_better_predictor)
