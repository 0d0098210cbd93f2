"""Checkers for lesson 09 (quantization-aware training). References come from course_lib.quantization.qat.

The wrong answers below are the known mistakes the verdicts name (each detector gives one hint);
tests/test_checks_lesson09.py runs them, and the wrong answers that need no hint of their own, as mutants.
"""
import numpy as np

from ..quantization import qat
from ._core import Case, Mistake, allclose, items, run_checks


# --- the reference answers, written with the core
def ste_grad(dy, x, scale, zero_point, q_min, q_max):
    return dy * qat.ste_mask(x, scale, zero_point, q_min, q_max)


def lsq_step_grad(dy, v, s, Q_N, Q_P):
    return qat.lsq_grads(dy, v, s, Q_N, Q_P, qat.lsq_grad_scale(np.size(v), Q_P))[1]


# --- known wrong answers: 9.1
def ste_real_domain(dy, x, scale, zero_point, q_min, q_max):     # TF's test on the unrounded value
    r = np.asarray(x) / scale + zero_point
    return dy * ((r >= q_min) & (r <= q_max))


def ste_strict(dy, x, scale, zero_point, q_min, q_max):          # < for <=: the ends blocked
    q = np.rint(np.asarray(x) / scale) + zero_point
    return dy * ((q > q_min) & (q < q_max))


def ste_no_mask(dy, x, scale, zero_point, q_min, q_max):         # identity: the clamp ignored
    return np.array(dy, dtype=float)


def ste_half_up(dy, x, scale, zero_point, q_min, q_max):         # floor(v + 0.5): halves rounded up
    q = np.floor(np.asarray(x) / scale + 0.5) + zero_point
    return dy * ((q >= q_min) & (q <= q_max))


def ste_half_away(dy, x, scale, zero_point, q_min, q_max):       # halves rounded away from zero
    r = np.asarray(x) / scale
    q = np.sign(r) * np.floor(np.abs(r) + 0.5) + zero_point
    return dy * ((q >= q_min) & (q <= q_max))


# --- known wrong answers: 9.2
def lsq_len_not_size(dy, v, s, Q_N, Q_P):                        # N = len(v): the first axis only
    return qat.lsq_grads(dy, v, s, Q_N, Q_P, qat.lsq_grad_scale(len(v), Q_P))[1]



def lsq_no_g(dy, v, s, Q_N, Q_P):                                # the gradient scale forgotten
    return qat.lsq_grads(dy, v, s, Q_N, Q_P, 1.0)[1]


def lsq_g_without_QP(dy, v, s, Q_N, Q_P):                        # g = 1 / sqrt(N)
    return qat.lsq_grads(dy, v, s, Q_N, Q_P, 1.0 / np.sqrt(np.size(v)))[1]


def lsq_inside_sign(dy, v, s, Q_N, Q_P):                         # v / s - round(v / s) inside
    r = np.asarray(v) / s
    d = np.where(r <= -Q_N, -Q_N, np.where(r >= Q_P, Q_P, r - np.rint(r)))
    return qat.lsq_grad_scale(np.size(v), Q_P) * float(np.sum(dy * d))


def lsq_inside_zero(dy, v, s, Q_N, Q_P):                         # only the clipped values count
    r = np.asarray(v) / s
    d = np.where(r <= -Q_N, -Q_N, np.where(r >= Q_P, Q_P, 0.0))
    return qat.lsq_grad_scale(np.size(v), Q_P) * float(np.sum(dy * d))


def lsq_outside_zero(dy, v, s, Q_N, Q_P):                        # the clipped values give 0
    r = np.asarray(v) / s
    d = np.where((r <= -Q_N) | (r >= Q_P), 0.0, np.rint(r) - r)
    return qat.lsq_grad_scale(np.size(v), Q_P) * float(np.sum(dy * d))


# --- known wrong answers: 9.3
def _k(gamma, var, eps):
    return np.asarray(gamma) / np.sqrt(np.asarray(var) + eps)


def fold_no_eps(W, b, gamma, beta, mean, var, eps):                  # sqrt(var), eps forgotten
    return qat.fold_batch_norm(W, b, gamma, beta, mean, var, 1e-300)


def fold_by_variance(W, b, gamma, beta, mean, var, eps):             # divided by var + eps, not its root
    k = np.asarray(gamma) / (np.asarray(var) + eps)
    return W * k.reshape((-1,) + (1,) * (np.ndim(W) - 1)), beta + (b - mean) * k


def fold_mean_not_subtracted(W, b, gamma, beta, mean, var, eps):     # b_fold = beta + b k
    W_f, _ = qat.fold_batch_norm(W, b, gamma, beta, mean, var, eps)
    return W_f, beta + b * _k(gamma, var, eps)


def fold_wrong_axis(W, b, gamma, beta, mean, var, eps):              # scaled along the input axis
    k = _k(gamma, var, eps)
    return W * k.reshape((1, -1) + (1,) * (np.ndim(W) - 2)), beta + (b - mean) * k


def fold_bias_unscaled(W, b, gamma, beta, mean, var, eps):           # beta + b - mean k
    W_f, _ = qat.fold_batch_norm(W, b, gamma, beta, mean, var, eps)
    return W_f, beta + b - mean * _k(gamma, var, eps)


# --- the checkers
def check_ste_grad(fn):
    """Exercise 9.1: torch's straight-through gradient, dy where q_min <= round(x / scale) + zp <= q_max."""
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1.5, 40)
    dy = rng.normal(size=40)
    halves = np.array([7.5, -8.5, 6.5, -7.5, 0.5, 8.5])                  # scale 1: exact halves
    hint = "dL/dx = dy where q = round(x / scale) + zero_point lies in [q_min, q_max], else 0"
    cases = [Case("random x, 4-bit signed", (dy, x, 0.25, 0, -8, 7), hint=hint),
             Case("just outside the real range", (np.ones(4), np.array([1.8, 1.9, -2.05, -2.2]), 0.25, 0, -8, 7),
                  hint="1.8 / 0.25 = 7.2 rounds to 7 = q_max: INSIDE (torch tests the rounded q, not x)"),
             Case("exactly on the ends", (np.ones(2), np.array([1.75, -2.0]), 0.25, 0, -8, 7),
                  hint="q = q_max and q = q_min are inside the range: use <=, not <"),
             Case("exact halves (round half to even)", (np.ones(6), halves, 1.0, 0, -8, 7),
                  hint="np.rint rounds halves to even: 7.5 -> 8 (outside), -8.5 -> -8 (inside)"),
             Case("exact halves with zero point 1", (np.ones(4), np.array([6.5, -9.5, 5.5, -8.5]), 1.0, 1, -8, 7),
                  hint="round first (halves to even: 6.5 -> 6, -9.5 -> -10), THEN add the zero point"),
             Case("unsigned with a zero point", (dy[:10], x[:10], 0.1, 10, 0, 15),
                  hint="add the zero point after rounding: q = round(x / scale) + zero_point")]
    mistakes = [Mistake(ste_real_domain, "that tests x / scale + zero_point BEFORE rounding (TensorFlow's real-"
                                         "domain rule); torch's STE tests the rounded q = round(x / scale) + zp"),
                Mistake(ste_strict, "the ends q_min and q_max are representable: test q_min <= q <= q_max"),
                Mistake(ste_no_mask, "the gradient passes through the rounding but NOT through the clamp: "
                                     "zero it where q falls outside [q_min, q_max]"),
                Mistake(ste_half_up, "round halves to even (np.rint), as torch does, not up"),
                Mistake(ste_half_away, "that rounds halves AWAY from zero (-8.5 -> -9); torch rounds them to "
                                       "even (np.rint: -8.5 -> -8)")]
    return run_checks(fn, ste_grad, cases, "9.1", compare=allclose(0.0), mistakes=mistakes)


def check_lsq_step_grad(fn):
    """Exercise 9.2: LSQ's step-size gradient, g sum(dy d v_hat / d s), g = 1 / sqrt(N Q_P)."""
    rng = np.random.default_rng(1)
    v = rng.normal(0, 1, 30)
    dy = rng.normal(size=30)
    hint = ("d v_hat / d s = round(v / s) - v / s inside, -Q_N below, Q_P above; sum dy times it over "
            "the tensor, times g = 1 / sqrt(N * Q_P)")
    cases = [Case("4-bit signed (Q_N 8, Q_P 7)", (dy, v, 0.2, 8, 7), hint=hint),
             Case("2-bit: most values clipped", (dy, v, 0.5, 2, 1),
                  hint="clipped values give -Q_N (below) or Q_P (above), not 0"),
             Case("8-bit: all inside", (dy[:8], v[:8] * 0.1, 0.01, 128, 127),
                  hint="inside the range: round(v / s) - v / s (the rounding error over s)"),
             Case("unsigned (Q_N 0, Q_P 15)", (dy, np.abs(v), 0.1, 0, 15),
                  hint="g = 1 / sqrt(N * Q_P), N = v.size"),
             Case("a 2-D tensor (5, 6)", (dy.reshape(5, 6), v.reshape(5, 6), 0.2, 8, 7),
                  hint="N counts every element of v (v.size), and the sum runs over all of them")]
    mistakes = [Mistake(lsq_len_not_size, "N is the number of ELEMENTS of v (v.size); len(v) counts only the "
                                          "first axis of a 2-D tensor"),
                Mistake(lsq_no_g, "multiply the sum by the gradient scale g = 1 / sqrt(N * Q_P)"),
                Mistake(lsq_g_without_QP, "the gradient scale is g = 1 / sqrt(N * Q_P): Q_P is missing"),
                Mistake(lsq_inside_sign, "the sign inside the range: d v_hat / d s = round(v / s) - v / s"),
                Mistake(lsq_inside_zero, "values inside the range contribute round(v / s) - v / s, not 0: "
                                         "that term is what makes LSQ sensitive to the rounding"),
                Mistake(lsq_outside_zero, "clipped values contribute -Q_N (below) or Q_P (above): v_hat = "
                                          "-Q_N s or Q_P s there, and its derivative in s is that constant")]
    return run_checks(fn, lsq_step_grad, cases, "9.2", compare=allclose(1e-9), mistakes=mistakes)


def check_fold_batch_norm(fn):
    """Exercise 9.3: fold batch norm into the preceding layer (Jacob et al. 2018, sec. 3.2)."""
    rng = np.random.default_rng(2)
    def bn(n, small=False):
        var = rng.uniform(1e-4, 3e-4, n) if small else rng.uniform(0.2, 3.0, n)
        return rng.uniform(0.5, 2, n), rng.normal(size=n), rng.normal(size=n), var
    W4 = rng.normal(size=(3, 2, 3, 3))
    Wd = rng.normal(size=(4, 6))
    hint = "W_fold = W * k per OUTPUT channel (axis 0), b_fold = beta + (b - mean) * k, k = gamma / sqrt(var + eps)"
    cases = [Case("conv (3, 2, 3, 3)", (W4, rng.normal(size=3), *bn(3), 1e-5), hint=hint),
             Case("dense (4, 6)", (Wd, rng.normal(size=4), *bn(4), 1e-5),
                  hint="scale the ROWS of W (one per output channel), not the columns"),
             Case("square dense (4, 4)", (Wd[:, :4], rng.normal(size=4), *bn(4), 1e-5),
                  hint="scale the ROWS of W (one per output channel), not the columns"),
             Case("tiny variance: eps matters", (Wd, rng.normal(size=4), *bn(4, small=True), 1e-3),
                  hint="k = gamma / sqrt(var + eps): the eps inside the root"),
             Case("a non-zero mean", (Wd, np.zeros(4), np.ones(4), np.zeros(4), np.full(4, 3.0), np.ones(4), 1e-5),
                  hint="batch norm subtracts the running mean: b_fold = beta + (b - mean) * k")]
    mistakes = [Mistake(fold_no_eps, "eps is missing: k = gamma / sqrt(var + eps)"),
                Mistake(fold_by_variance, "divide by the standard deviation sqrt(var + eps), not by the variance"),
                Mistake(fold_mean_not_subtracted, "subtract the running mean: b_fold = beta + (b - mean) * k"),
                Mistake(fold_wrong_axis, "k scales each OUTPUT channel, i.e. axis 0 of W (rows of a dense W)"),
                Mistake(fold_bias_unscaled, "the bias passes through the batch norm too: (b - mean) * k, not b - mean * k")]
    return run_checks(fn, qat.fold_batch_norm, cases, "9.3", compare=items(("W_fold", "b_fold"), allclose(1e-9)),
                      mistakes=mistakes)
