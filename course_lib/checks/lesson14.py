"""Checkers for lesson 14 (low rank and adapters). References come from course_lib.lowrank.

The wrong answers below are the known mistakes the verdicts name; tests/test_checks_lesson14.py runs
them as mutants.
"""
import math

import numpy as np

from ..lowrank import lora, svd
from ._core import Case, Mistake, allclose, exact, run_checks


# --- 14.1: the rank for an energy budget
def _rank_for_energy(s, keep):
    e = np.cumsum(np.asarray(s, float) ** 2)
    return int(np.argmax(e >= keep * e[-1]) + 1)


def energy_of_s_not_s2(s, keep):                          # energy measured by s, not s^2
    e = np.cumsum(np.asarray(s, float))
    return int(np.argmax(e >= keep * e[-1]) + 1)


def energy_strict(s, keep):                               # > instead of >=
    e = np.cumsum(np.asarray(s, float) ** 2)
    return int(min(np.argmax(e > keep * e[-1]) + 1 if np.any(e > keep * e[-1]) else len(e), len(e)))


def energy_index(s, keep):                                # the index of the singular value, not the count
    return _rank_for_energy(s, keep) - 1


def check_rank_for_energy(fn):
    """Exercise 14.1: the smallest rank r whose first r singular values keep >= `keep` of the energy."""
    hint = "energy of rank r = (s_1^2 + ... + s_r^2) / (s_1^2 + ... + s_n^2); return the smallest r with energy >= keep"
    cases = [Case("a spectrum with a knee", (np.array([10.0, 6.0, 1.0, 0.5, 0.1]), 0.9), hint=hint),
             Case("exactly on the budget counts as reached", (np.array([1.0, 1.0, 1.0, 1.0]), 0.5),
                  hint="energy >= keep, not >: two of four equal values keep exactly 0.5"),
             Case("keep everything", (np.array([3.0, 2.0, 1.0]), 1.0), hint="keep = 1 needs every non-zero value"),
             Case("one value", (np.array([2.0]), 0.3), hint="the rank is at least 1"),
             Case("trailing zeros are never needed", (np.array([2.0, 1.0, 0.0, 0.0]), 1.0),
                  hint="zero singular values add no energy: r stops at the last non-zero one"),
             Case("squares weigh large values more", (np.array([4.0, 3.0, 2.0, 1.0]), 0.8),
                  hint="energies use s^2: 16 + 9 of 30 is 0.83 >= 0.8 at r = 2"),
             Case("a flat spectrum needs most values", (np.linspace(1.0, 0.9, 10), 0.95), hint=hint)]
    mistakes = [Mistake(energy_of_s_not_s2, "the energy is the sum of SQUARED singular values (Frobenius norm^2)"),
                Mistake(energy_strict, "a rank that keeps exactly `keep` of the energy is enough: use >="),
                Mistake(energy_index, "return the rank r (a count, starting at 1), not the index of s_r")]
    return run_checks(fn, _rank_for_energy, cases, "14.1", compare=exact, mistakes=mistakes)


# --- 14.2: the break-even rank
def _break_even(n_out, n_in):
    return (n_out * n_in - 1) // (n_out + n_in)


def break_even_not_strict(n_out, n_in):                   # equal weights counted as a saving
    return n_out * n_in // (n_out + n_in)


def break_even_float(n_out, n_in):                        # no rounding down
    return n_out * n_in / (n_out + n_in)


def break_even_half(n_out, n_in):                         # min(m, n) / 2, a rule of thumb
    return min(n_out, n_in) // 2


def break_even_product(n_out, n_in):                      # compares r * m * n with m * n
    return 0


def check_break_even_rank(fn):
    """Exercise 14.2: the largest rank at which A (out x r) and B (r x in) hold FEWER weights than W."""
    hint = "the factors hold r (n_out + n_in) weights; find the largest integer r with r (n_out + n_in) < n_out n_in"
    cases = [Case("a 128 x 64 layer", (128, 64), hint=hint),
             Case("a tie is not a saving", (4, 4), hint="at r = 2 the factors hold 16 = 4 x 4 weights: no saving, so r = 1"),
             Case("a layer that never pays", (2, 2), hint="r = 1 already needs 4 = 2 x 2 weights: the answer is 0"),
             Case("a column vector", (10, 1), hint="r (10 + 1) < 10 has no solution r >= 1: return 0"),
             Case("a wide layer", (10, 1000), hint=hint),
             Case("a transformer MLP", (512, 128), hint=hint)]
    mistakes = [Mistake(break_even_not_strict, "equal weight counts save nothing: the inequality is strict, "
                                               "r (n_out + n_in) < n_out n_in"),
                Mistake(break_even_float, "a rank is a whole number: round DOWN to an int"),
                Mistake(break_even_half, "min(n_out, n_in) / 2 is a rule of thumb, not the break-even rank"),
                Mistake(break_even_product, "the factored layer holds r (n_out + n_in) weights, not r n_out n_in")]
    return run_checks(fn, _break_even, cases, "14.2", compare=exact, mistakes=mistakes)


# --- 14.3: a LoRA forward pass
def lora_alpha_not_over_r(x, W, b, A, B, alpha):           # scaling alpha, not alpha / r
    return x @ W.T + b + alpha * (x @ A.T) @ B.T


def lora_r_over_alpha(x, W, b, A, B, alpha):               # scaling inverted
    return x @ W.T + b + (A.shape[0] / alpha) * (x @ A.T) @ B.T


def lora_no_bias(x, W, b, A, B, alpha):                    # frozen bias dropped
    return x @ W.T + (alpha / A.shape[0]) * (x @ A.T) @ B.T


def lora_scaled_all(x, W, b, A, B, alpha):                 # the scaling applied to the frozen path too
    return (alpha / A.shape[0]) * (x @ W.T + b + (x @ A.T) @ B.T)


def lora_no_scaling(x, W, b, A, B, alpha):                 # alpha / r forgotten
    return x @ W.T + b + (x @ A.T) @ B.T


def _case_args(seed, lead, n_out, n_in, r, alpha, zero_B=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=lead + (n_in,))
    W, b = rng.normal(size=(n_out, n_in)), rng.normal(size=n_out)
    A, B = rng.normal(size=(r, n_in)), (np.zeros((n_out, r)) if zero_B else rng.normal(size=(n_out, r)))
    return x, W, b, A, B, float(alpha)


def check_lora_forward(fn):
    """Exercise 14.3: h = x W^T + b + (alpha / r) (x A^T) B^T, for inputs x of shape (..., in)."""
    hint = "h = x W^T + b + (alpha / r) * (x A^T) B^T, with r = A.shape[0]; the frozen path is not scaled"
    cases = [Case("a batch of vectors, alpha = 2r (float64 in, float64 out)", _case_args(0, (4,), 5, 6, 2, 4.0), hint=hint),
             Case("B = 0: the adapter starts switched off", _case_args(1, (3,), 4, 4, 2, 8.0, zero_B=True),
                  hint="with B = 0 the output is exactly the frozen layer's x W^T + b"),
             Case("rank 1, alpha 1", _case_args(2, (2,), 3, 5, 1, 1.0), hint=hint),
             Case("(batch, time, in) inputs", _case_args(3, (2, 3), 4, 6, 3, 6.0),
                  hint="x may have several leading axes: use x @ W.T (and x @ A.T), which act on the last axis"),
             Case("alpha smaller than r", _case_args(4, (5,), 6, 4, 4, 1.0), hint=hint)]
    mistakes = [Mistake(lora_alpha_not_over_r, "the update is scaled by alpha / r (r = A.shape[0]), not by alpha"),
                Mistake(lora_r_over_alpha, "the scaling is alpha / r, not r / alpha"),
                Mistake(lora_no_bias, "keep the frozen layer's bias b"),
                Mistake(lora_scaled_all, "only the adapter's term is scaled; x W^T + b stays as it is"),
                Mistake(lora_no_scaling, "the adapter's term is multiplied by alpha / r")]
    return run_checks(fn, lambda x, W, b, A, B, alpha: lora.lora_forward(x, W, b, A, B, alpha), cases, "14.3",
                      compare=allclose(1e-9), mistakes=mistakes)
