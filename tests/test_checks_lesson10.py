"""Lesson 10 checkers pass the reference and reject realistic wrong answers."""
import numpy as np

from course_lib import distillation as D
from course_lib.checks import lesson10 as L
from checker_harness import checker_tests


def _softmax_no_T(z, T):                                       # forgot the temperature
    return D.softmax(z, 1.0)


def _softmax_times_T(z, T):                                    # z * T instead of z / T
    return D.softmax(np.asarray(z) * T, 1.0)


def _softmax_unstable(z, T):                                   # no max shift: overflows to nan
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(np.asarray(z) / T)
        return e / e.sum(axis=-1, keepdims=True)


def _softmax_columns(z, T):                                    # normalised over the batch axis
    e = np.exp((z - z.max(axis=0, keepdims=True)) / T)
    return e / e.sum(axis=0, keepdims=True)


def _ce(s, y):
    return -np.mean(D.log_softmax(s)[np.arange(len(s)), y])


def _kl_rows(p, s, T):
    return np.sum(p * (np.log(p) - D.log_softmax(s, T)), axis=1)


def _kd_no_T2(s, t, y, T, a):                                  # the keras-io 2020 form: no T^2
    return (1 - a) * _ce(s, y) + a * np.mean(_kl_rows(D.softmax(t, T), s, T))


def _kd_alpha_swapped(s, t, y, T, a):                          # alpha on the hard term (keras-io's alpha)
    return D.kd_loss(s, t, y, T, 1 - a)


def _kd_reverse_kl(s, t, y, T, a):                             # KL(q || p)
    q = D.softmax(s, T)
    kl = np.mean(np.sum(q * (D.log_softmax(s, T) - D.log_softmax(t, T)), axis=1))
    return (1 - a) * _ce(s, y) + a * T ** 2 * kl


def _kd_sum_over_batch(s, t, y, T, a):                         # summed, not averaged
    return D.kd_loss(s, t, y, T, a) * len(s)


def _kd_hard_at_T(s, t, y, T, a):                              # hard CE computed on z / T
    return (1 - a) * _ce(s / T, y) + a * T ** 2 * np.mean(_kl_rows(D.softmax(t, T), s, T))


def _onehot(y, K):
    return np.eye(K)[y]


def _grad_over_T(s, t, y, T, a):                               # (q - p) / T: the gradient of KL without T^2
    B, K = s.shape
    return ((1 - a) * (D.softmax(s) - _onehot(y, K)) + a * (D.softmax(s, T) - D.softmax(t, T)) / T) / B


def _grad_no_B(s, t, y, T, a):                                 # forgot the batch mean
    return D.kd_loss(s, t, y, T, a, return_grad=True)[1] * len(s)


def _grad_sign(s, t, y, T, a):                                 # p - q
    B, K = s.shape
    return ((1 - a) * (D.softmax(s) - _onehot(y, K)) + a * T * (D.softmax(t, T) - D.softmax(s, T))) / B


def _grad_hard_at_T(s, t, y, T, a):                            # softmax(z / T) in the hard term
    B, K = s.shape
    return ((1 - a) * (D.softmax(s, T) - _onehot(y, K)) + a * T * (D.softmax(s, T) - D.softmax(t, T))) / B


CHECKERS = {
    "softened_probabilities": (L.check_softened_probabilities, D.softmax,
                               {"no T": _softmax_no_T, "times T": _softmax_times_T,
                                "no max shift": _softmax_unstable, "wrong axis": _softmax_columns}),
    "kd_loss": (L.check_kd_loss, D.kd_loss,
                {"no T^2": _kd_no_T2, "alpha swapped": _kd_alpha_swapped, "reverse KL": _kd_reverse_kl,
                 "sum over batch": _kd_sum_over_batch, "hard term at T": _kd_hard_at_T}),
    "kd_grad": (L.check_kd_grad, lambda s, t, y, T, a: D.kd_loss(s, t, y, T, a, return_grad=True)[1],
                {"(q - p) / T": _grad_over_T, "no 1/B": _grad_no_B, "sign": _grad_sign,
                 "hard term at T": _grad_hard_at_T}),
}

test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)
