"""Lesson 10 checkers pass the reference and an independently written answer, and reject realistic wrong
answers, naming the mistake. The mutants that need no hint of their own live here, not in the checker."""
import math

import numpy as np

from course_lib.distillation import kd as D
from course_lib.checks import lesson10 as L
from checker_harness import assert_passes, checker_tests


# --- answers written from the task text alone, row by row with Python's math
def _log_softmax_row(row, T):
    z = [x / T for x in row]
    top = max(z)
    lse = top + math.log(sum(math.exp(x - top) for x in z))
    return [x - lse for x in z]


def softened_indep(z, T):
    return np.array([[math.exp(v) for v in _log_softmax_row(row, T)] for row in np.asarray(z, dtype=float)])


def kd_loss_indep(s, t, y, T, alpha):
    total = 0.0
    for s_row, t_row, label in zip(s, t, y):
        log_q, log_p = _log_softmax_row(s_row, T), _log_softmax_row(t_row, T)
        kl = sum(math.exp(lp) * (lp - lq) for lp, lq in zip(log_p, log_q))
        total += (1 - alpha) * -_log_softmax_row(s_row, 1.0)[label] + alpha * T * T * kl
    return total / len(s)


def kd_grad_indep(s, t, y, T, alpha):
    B, K = np.shape(s)
    g = np.empty((B, K))
    for i in range(B):
        q1 = [math.exp(v) for v in _log_softmax_row(s[i], 1.0)]
        qT, pT = ([math.exp(v) for v in _log_softmax_row(r, T)] for r in (s[i], t[i]))
        for k in range(K):
            g[i, k] = ((1 - alpha) * (q1[k] - (k == y[i])) + alpha * T * (qT[k] - pT[k])) / B
    return g


# --- wrong answers that need no detector of their own
def softmax_unstable(z, T):                  # no max shift: exp overflows to inf, then nan
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(np.asarray(z) / T)
        return e / e.sum(axis=-1, keepdims=True)


def _naive_softmax(z, T=1.0):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(np.asarray(z) / T)
        return e / e.sum(axis=1, keepdims=True)


def kd_naive_softmax(s, t, y, T, alpha):     # probabilities without the max shift, then their log
    with np.errstate(divide="ignore", invalid="ignore"):
        q1, qT, pT = _naive_softmax(s), _naive_softmax(s, T), _naive_softmax(t, T)
        hard = -np.mean(np.log(q1[np.arange(len(s)), y]))
        return (1 - alpha) * hard + alpha * T ** 2 * np.mean(np.sum(pT * (np.log(pT) - np.log(qT)), axis=1))


def kd_log_of_softmax(s, t, y, T, alpha):    # stable softmax, but log(softmax) underflows to log(0) = -inf
    with np.errstate(divide="ignore", invalid="ignore"):
        q1, qT, pT = D.softmax(s), D.softmax(s, T), D.softmax(t, T)
        hard = -np.mean(np.log(q1[np.arange(len(s)), y]))
        return (1 - alpha) * hard + alpha * T ** 2 * np.mean(np.sum(pT * (np.log(pT) - np.log(qT)), axis=1))


def grad_naive_softmax(s, t, y, T, alpha):   # the right formula on a softmax without the max shift
    B, K = np.shape(s)
    return ((1 - alpha) * (_naive_softmax(s) - np.eye(K)[y]) + alpha * T * (_naive_softmax(s, T) - _naive_softmax(t, T))) / B


CHECKERS = {
    "softened_probabilities": (L.check_softened_probabilities, D.softmax, {
        "no T": (L.softmax_no_T, "divide the logits by T"),
        "times T": (L.softmax_times_T, "DIVIDES the logits"),
        "no max shift": (softmax_unstable, "subtract the row's max"),
        "global max": (L.softmax_global_max, "EACH ROW"),
        "clipped to +-50": (L.softmax_clipped, "clipping the logits"),
        "float32": (L.softmax_float32, "float64"),
        "wrong axis": (L.softmax_columns, "axis=-1")}),
    "kd_loss": (L.check_kd_loss, D.kd_loss, {
        "no T^2": (L.kd_no_T2, "lacks the factor T**2"),
        "alpha swapped": (L.kd_alpha_swapped, "alpha weights the SOFT"),
        "reverse KL": (L.kd_reverse_kl, "that is KL(q || p)"),
        "sum over batch": (L.kd_summed, "MEAN over the B examples"),
        "hard term at T": (L.kd_hard_at_T, "plain logits (T = 1)"),
        "naive softmax": (kd_naive_softmax, "log-softmax"),
        "log(softmax)": (kd_log_of_softmax, "log-softmax")}),
    "kd_grad": (L.check_kd_grad, lambda s, t, y, T, a: D.kd_loss(s, t, y, T, a, return_grad=True)[1], {
        "(q - p) / T": (L.grad_over_T, "T * (q - p) / B"),
        "no 1/B": (L.grad_no_B, "divide the gradient by B"),
        "sign": (L.grad_sign, "student minus teacher"),
        "hard term at T": (L.grad_hard_at_T, "at T = 1"),
        "naive softmax": (grad_naive_softmax, "subtracts each row's max")}),
}

test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)


def test_independent_answers_pass():
    assert_passes(L.check_softened_probabilities, softened_indep)
    assert_passes(L.check_kd_loss, kd_loss_indep)
    assert_passes(L.check_kd_grad, kd_grad_indep)


def test_extreme_case_breaks_the_naive_loss():
    s, t, y = L._extreme(3)
    assert np.isfinite(D.kd_loss(s, t, y, 2.0, 0.5)) and not np.isfinite(kd_naive_softmax(s, t, y, 2.0, 0.5))
