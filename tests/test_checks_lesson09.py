"""Lesson 09 checkers pass the reference and an independently written answer, and reject realistic wrong
answers, naming the mistake. The mutants that need no hint of their own live here, not in the checker."""
import numpy as np

from course_lib.quantization import qat
from course_lib.checks import lesson09 as L
from checker_harness import assert_passes, checker_tests


# --- answers written from the task text alone, without the course's code
def ste_grad_indep(dy, x, scale, zero_point, q_min, q_max):
    out = np.zeros(np.shape(x))
    for i, xi in np.ndenumerate(np.asarray(x, dtype=float)):
        q = round(xi / scale) + zero_point            # Python's round: halves to even, like np.rint
        out[i] = np.asarray(dy)[i] if q_min <= q <= q_max else 0.0
    return out


def lsq_step_grad_indep(dy, v, s, Q_N, Q_P):
    total = 0.0
    for g_up, vi in zip(np.ravel(dy), np.ravel(v)):
        r = vi / s
        total += g_up * (-Q_N if r <= -Q_N else Q_P if r >= Q_P else round(r) - r)
    return total / (np.size(v) * Q_P) ** 0.5


def fold_bn_indep(W, b, gamma, beta, mean, var, eps):
    W_f = np.array(W, dtype=float)
    b_f = np.empty(len(b))
    for o in range(len(b)):
        k = gamma[o] / (var[o] + eps) ** 0.5
        W_f[o] = W_f[o] * k
        b_f[o] = (b[o] - mean[o]) * k + beta[o]
    return W_f, b_f


# --- wrong answers that need no detector of their own
def ste_x_not_rounded(dy, x, scale, zero_point, q_min, q_max):   # tests x / scale, no zero point, no rounding
    r = np.asarray(x) / scale
    return dy * ((r >= q_min) & (r <= q_max))


def lsq_all_inside(dy, v, s, Q_N, Q_P):                          # the clip forgotten: rounding error everywhere
    r = np.asarray(v) / s
    return float(np.sum(dy * (np.rint(r) - r))) / np.sqrt(np.size(v) * Q_P)


CHECKERS = {
    "ste_grad": (L.check_ste_grad, L.ste_grad, {
        "real domain": (L.ste_real_domain, "BEFORE rounding"),
        "strict": (L.ste_strict, "q_min <= q <= q_max"),
        "no mask": (L.ste_no_mask, "NOT through the clamp"),
        "half up": (L.ste_half_up, "halves to even"),
        "half away from zero": (L.ste_half_away, "AWAY from zero"),
        "x not rounded, no zero point": (ste_x_not_rounded, "Hint:")}),
    "lsq_step_grad": (L.check_lsq_step_grad, L.lsq_step_grad, {
        "N = len(v)": (L.lsq_len_not_size, "v.size"),
        "no g": (L.lsq_no_g, "gradient scale g"),
        "g without Q_P": (L.lsq_g_without_QP, "Q_P is missing"),
        "inside sign": (L.lsq_inside_sign, "the sign inside"),
        "inside zero": (L.lsq_inside_zero, "not 0"),
        "outside zero": (L.lsq_outside_zero, "-Q_N (below) or Q_P (above)"),
        "clip forgotten": (lsq_all_inside, "Hint:")}),
    "fold_batch_norm": (L.check_fold_batch_norm, qat.fold_batch_norm, {
        "no eps": (L.fold_no_eps, "eps is missing"),
        "by variance": (L.fold_by_variance, "standard deviation"),
        "mean kept": (L.fold_mean_not_subtracted, "subtract the running mean"),
        "wrong axis": (L.fold_wrong_axis, "OUTPUT channel"),
        "bias unscaled": (L.fold_bias_unscaled, "(b - mean) * k")}),
}

test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)


def test_independent_answers_pass():
    assert_passes(L.check_ste_grad, ste_grad_indep)
    assert_passes(L.check_lsq_step_grad, lsq_step_grad_indep)
    assert_passes(L.check_fold_batch_norm, fold_bn_indep)
