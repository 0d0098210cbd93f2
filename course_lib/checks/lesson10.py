"""Checkers for lesson 10 (knowledge distillation). References come from course_lib.distillation.kd.

The wrong answers below are the known mistakes the verdicts name (each detector gives one hint);
tests/test_checks_lesson10.py runs them, and the wrong answers that need no hint of their own, as mutants.
"""
import numpy as np

from ..distillation import kd as D
from ._core import Case, Mistake, allclose, run_checks


def _logits(seed, B=4, K=5, scale=2.0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, scale, (B, K)), rng.normal(0, scale, (B, K)), rng.integers(0, K, B)


def _onehot(y, K):
    return np.eye(K)[np.asarray(y)]


def _ce(s, y):
    return -np.mean(D.log_softmax(s)[np.arange(len(s)), y])


def _kl_rows(p, s, T):
    return np.sum(p * (np.log(p) - D.log_softmax(s, T)), axis=1)


# --- known wrong answers: 10.1
def softmax_no_T(z, T):                      # forgot the temperature
    return D.softmax(z, 1.0)


def softmax_times_T(z, T):                   # z * T instead of z / T
    return D.softmax(np.asarray(z) * T, 1.0)


def softmax_global_max(z, T):               # one max for the whole batch: rows far below it underflow
    z = np.asarray(z) / T
    with np.errstate(invalid="ignore"):
        e = np.exp(z - z.max())
        return e / e.sum(axis=-1, keepdims=True)


def softmax_clipped(z, T):                   # logits clipped to +-50 instead of shifted
    z = np.clip(np.asarray(z) / T, -50, 50)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_float32(z, T):                   # computed (or returned) in float32
    return D.softmax(np.asarray(z, dtype=np.float32), T).astype(np.float32)


def _float64(expected, got):
    """allclose(1e-9), after naming a float32 result (the task asks for float64); two float32 results
    (the float32 detector against a student's) agree within float32's 1e-6."""
    f32 = [isinstance(a, np.ndarray) and a.dtype == np.float32 for a in (expected, got)]
    if f32[1] and not f32[0]:
        return "your result has dtype float32; the task asks for float64"
    return allclose(1e-6 if all(f32) else 1e-9)(expected, got)


def softmax_columns(z, T):                   # normalised over the batch axis
    z = np.asarray(z) / T
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


# --- known wrong answers: 10.2
def kd_no_T2(s, t, y, T, alpha):             # keras-io's 2020 form: no T**2
    return (1 - alpha) * _ce(s, y) + alpha * np.mean(_kl_rows(D.softmax(t, T), s, T))


def kd_alpha_swapped(s, t, y, T, alpha):     # alpha on the hard term (keras-io's alpha)
    return D.kd_loss(s, t, y, T, 1 - alpha)


def kd_reverse_kl(s, t, y, T, alpha):        # KL(q || p)
    kl = np.sum(D.softmax(s, T) * (D.log_softmax(s, T) - D.log_softmax(t, T)), axis=1)
    return (1 - alpha) * _ce(s, y) + alpha * T ** 2 * np.mean(kl)


def kd_summed(s, t, y, T, alpha):            # summed over the batch, not averaged
    return D.kd_loss(s, t, y, T, alpha) * len(s)


def kd_hard_at_T(s, t, y, T, alpha):         # the hard cross-entropy computed on z / T
    return (1 - alpha) * _ce(np.asarray(s) / T, y) + alpha * T ** 2 * np.mean(_kl_rows(D.softmax(t, T), s, T))


# --- known wrong answers: 10.3
def grad_over_T(s, t, y, T, alpha):          # (q - p) / T: the gradient of KL without the T**2
    B, K = s.shape
    return ((1 - alpha) * (D.softmax(s) - _onehot(y, K)) + alpha * (D.softmax(s, T) - D.softmax(t, T)) / T) / B


def grad_no_B(s, t, y, T, alpha):            # forgot the batch mean
    return D.kd_loss(s, t, y, T, alpha, return_grad=True)[1] * len(s)


def grad_sign(s, t, y, T, alpha):            # p - q in the soft term
    B, K = s.shape
    return ((1 - alpha) * (D.softmax(s) - _onehot(y, K)) + alpha * T * (D.softmax(t, T) - D.softmax(s, T))) / B


def grad_hard_at_T(s, t, y, T, alpha):       # softmax(z / T) in the hard term
    B, K = s.shape
    return ((1 - alpha) * (D.softmax(s, T) - _onehot(y, K)) + alpha * T * (D.softmax(s, T) - D.softmax(t, T))) / B


def check_softened_probabilities(fn):
    """Exercise 10.1: softmax(z / T) along the last axis, stable for large logits."""
    z, _, _ = _logits(0)
    hint = "divide the logits by T, subtract each row's max, exponentiate, divide by the row sum"
    cases = [Case("T = 1", (z, 1.0), hint=hint),
             Case("T = 4 softens", (z, 4.0), hint="the temperature divides the logits: softmax(z / T)"),
             Case("T = 0.5 sharpens", (z, 0.5), hint="T < 1 sharpens; still softmax(z / T)"),
             Case("one example, 3 classes", (np.array([[1.0, 2.0, 3.0]]), 2.0),
                  hint="normalise each ROW (axis=-1), not each column"),
             Case("logits of 1000", (np.array([[1000.0, 0.0, -1000.0], [800.0, 800.0, 0.0]]), 1.0),
                  hint="exp(1000) overflows: subtract the row's max before np.exp (it cancels out)"),
             Case("rows far apart", (np.array([[1000.0, 0.0], [-1000.0, -1001.0]]), 1.0),
                  hint="subtract EACH ROW's own max: one max for the whole batch sends the second row's "
                       "exponentials to 0 (0 / 0 = NaN)"),
             Case("large logits close together, T 2", (np.array([[200.0, 190.0, 0.0], [60.0, 55.0, 58.0]]), 2.0),
                  hint="softmax(z / T) depends on the differences of the logits: shift them, never clip them")]
    mistakes = [Mistake(softmax_float32, "compute and return float64 (np.asarray(z, dtype=float)): float32 keeps "
                                         "only about 7 digits, the task asks for float64"),
                Mistake(softmax_global_max, "subtract each ROW's max (axis=-1, keepdims=True), not one max for "
                                            "the whole batch: a row far below it becomes 0 / 0"),
                Mistake(softmax_clipped, "clipping the logits changes the differences between them, hence the "
                                         "result: subtract each row's max instead (exact, and never overflows)"),
                Mistake(softmax_no_T, "T is not used: divide the logits by T before the softmax"),
                Mistake(softmax_times_T, "that multiplies by T; the temperature DIVIDES the logits: z / T"),
                Mistake(softmax_columns, "each row (one example) must sum to 1: normalise along axis=-1")]
    return run_checks(fn, D.softmax, cases, "10.1", compare=_float64, mistakes=mistakes)


def _extreme(seed):
    """Student logits of +-1000 (B 3, K 4; the teacher's moderate): exp overflows, a naive softmax underflows to 0."""
    rng = np.random.default_rng(seed)
    return rng.choice([-1000.0, 0.0, 1000.0], (3, 4)), rng.normal(0, 2, (3, 4)), rng.integers(0, 4, 3)


def check_kd_loss(fn):
    """Exercise 10.2: the KD loss value (1 - alpha) CE + alpha T^2 KL(p_T || q_T), batch mean."""
    s, t, y = _logits(1)
    hint = "L = mean over the batch of (1 - alpha) * CE(softmax(z), y) + alpha * T**2 * KL(p || q)"
    cases = [Case("alpha 0.5, T 2", (s, t, y, 2.0, 0.5), hint=hint),
             Case("soft term only (alpha 1), T 4", (s, t, y, 4.0, 1.0),
                  hint="KL(p || q) = sum_k p_k (log p_k - log q_k), p = teacher at T, q = student at T; "
                       "then multiply by T**2"),
             Case("hard term only (alpha 0)", (s, t, y, 3.0, 0.0),
                  hint="alpha weights the SOFT term: alpha = 0 is plain cross-entropy at T = 1"),
             Case("PyTorch tutorial: T 2, alpha 0.25", (s[:2], t[:2], y[:2], 2.0, 0.25),
                  hint="average over the batch (divide by B), do not sum"),
             Case("high temperature", (s, t, y, 10.0, 0.9),
                  hint="the soft term is multiplied by T**2 (Hinton et al. 2015)"),
             Case("logits of +-1000", (*_extreme(3), 2.0, 0.5),
                  hint="exp(1000) overflows and softmax underflows to 0, whose log is -inf: compute "
                       "log-probabilities as z - max - log(sum(exp(z - max))) per row (a log-softmax)")]
    mistakes = [Mistake(kd_no_T2, "the soft term lacks the factor T**2"),
                Mistake(kd_alpha_swapped, "alpha weights the SOFT (teacher) term here, 1 - alpha the labels "
                                          "(keras-io's alpha is the other way round)"),
                Mistake(kd_reverse_kl, "that is KL(q || p); use KL(p || q) = sum p (log p - log q), "
                                       "p = the teacher's softened probabilities"),
                Mistake(kd_summed, "sum over the batch: take the MEAN over the B examples"),
                Mistake(kd_hard_at_T, "the hard cross-entropy uses the plain logits (T = 1), not z / T")]
    return run_checks(fn, D.kd_loss, cases, "10.2", compare=allclose(1e-8), mistakes=mistakes)


def _kd_grad(s, t, y, T, alpha):
    return D.kd_loss(s, t, y, T, alpha, return_grad=True)[1]


def check_kd_grad(fn):
    """Exercise 10.3: dL/dz = ((1 - alpha)(softmax(z) - onehot(y)) + alpha T (q - p)) / B."""
    s, t, y = _logits(2)
    hint = "dL/dz = ((1 - alpha) * (softmax(z) - onehot(y)) + alpha * T * (q - p)) / B"
    cases = [Case("alpha 0.5, T 2", (s, t, y, 2.0, 0.5), hint=hint),
             Case("soft term only, T 5", (s, t, y, 5.0, 1.0),
                  hint="the soft gradient is T * (q - p) / B: T**2 from the loss times 1/T from z / T"),
             Case("hard term only", (s, t, y, 3.0, 0.0),
                  hint="the hard term uses softmax(z) at T = 1, whatever T is"),
             Case("batch of one", (s[:1], t[:1], y[:1], 2.0, 0.7), hint=hint),
             Case("batch of 4, T 1", (s, t, y, 1.0, 0.3), hint="divide by the batch size B"),
             Case("logits of +-1000", (*_extreme(4), 2.0, 0.5),
                  hint="exp(1000) overflows (inf / inf = NaN): use a softmax that subtracts each row's max")]
    mistakes = [Mistake(grad_over_T, "(q - p) / T is the gradient of KL alone; the loss has T**2 in front, "
                                     "so the soft gradient is T * (q - p) / B"),
                Mistake(grad_no_B, "the loss is a batch MEAN: divide the gradient by B"),
                Mistake(grad_sign, "the sign of the soft term: d KL / dz = (q - p) / T, student minus teacher"),
                Mistake(grad_hard_at_T, "the hard term's gradient is softmax(z) - onehot(y) at T = 1")]
    return run_checks(fn, _kd_grad, cases, "10.3", compare=allclose(1e-9), mistakes=mistakes)
