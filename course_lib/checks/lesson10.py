"""Checkers for lesson 10 (knowledge distillation). References come from course_lib.distillation."""
import numpy as np

from .. import distillation as D
from ._core import Case, allclose, run_checks


def _logits(seed, B=4, K=5, scale=2.0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, scale, (B, K)), rng.normal(0, scale, (B, K)), rng.integers(0, K, B)


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
                  hint="exp(1000) overflows: subtract the row's max before np.exp (it cancels out)")]
    return run_checks(fn, D.softmax, cases, "10.1", compare=allclose(1e-9))


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
                  hint="the soft term is multiplied by T**2 (Hinton et al. 2015)")]
    return run_checks(fn, D.kd_loss, cases, "10.2", compare=allclose(1e-8))


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
             Case("batch of 4, T 1", (s, t, y, 1.0, 0.3), hint="divide by the batch size B")]
    return run_checks(fn, _kd_grad, cases, "10.3", compare=allclose(1e-9))
