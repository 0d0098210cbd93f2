"""Checkers for lesson 12 (layer-wise reconstruction: GPTQ, n:m masks, Wanda). References come from
course_lib.pruning.nm_sparsity and course_lib.pruning.wanda; the GPTQ column step is written here in
its OBS form (Frantar et al. 2023, GPTQ, ICLR, eqs. 2-3).

The wrong answers below are the known mistakes the verdicts name; tests/test_checks_lesson12.py uses
the same functions as mutants.
"""
import numpy as np

from ..pruning.nm_sparsity import nm_mask
from ..pruning.wanda import wanda_mask
from ._core import Case, Mistake, allclose, exact, run_checks


# --- 12.1: one GPTQ column step, the OBS update of the quantization error
def _codes(w, scale, zero_point, q_min, q_max):
    return np.clip(np.rint(w / scale).astype(np.int64) + zero_point, q_min, q_max)


def _step(W, H_inv, scale, zero_point, q_min, q_max, codes=_codes, divisor=None, sign=1.0, feedback=True,
          code_units=False):
    W = np.asarray(W, dtype=np.float64)
    q = codes(W[:, 0], scale, zero_point, q_min, q_max)
    w_hat = (q - zero_point) * scale
    e = (W[:, 0] / scale + zero_point - q) if code_units else (W[:, 0] - w_hat)
    d = H_inv[0, 0] if divisor is None else divisor(H_inv)
    rest = W[:, 1:] - sign * np.outer(e / d, H_inv[0, 1:]) if feedback else W[:, 1:].copy()
    return q, rest


def gptq_step(W, H_inv, scale, zero_point, q_min, q_max):
    """Reference: quantize column 0, then W[:, 1:] -= ((w_0 - what_0) / [H^-1]_00) outer H^-1[0, 1:]."""
    return _step(W, H_inv, scale, zero_point, q_min, q_max)


def step_no_feedback(W, H_inv, scale, zero_point, q_min, q_max):       # plain round-to-nearest
    return _step(W, H_inv, scale, zero_point, q_min, q_max, feedback=False)


def step_divide_by_h(W, H_inv, scale, zero_point, q_min, q_max):       # H_00 instead of [H^-1]_00
    return _step(W, H_inv, scale, zero_point, q_min, q_max, divisor=lambda Hi: np.linalg.inv(Hi)[0, 0])


def step_no_divide(W, H_inv, scale, zero_point, q_min, q_max):         # forgot / [H^-1]_00
    return _step(W, H_inv, scale, zero_point, q_min, q_max, divisor=lambda Hi: 1.0)


def step_wrong_sign(W, H_inv, scale, zero_point, q_min, q_max):        # w_F += ... instead of -=
    return _step(W, H_inv, scale, zero_point, q_min, q_max, sign=-1.0)


def step_code_units(W, H_inv, scale, zero_point, q_min, q_max):       # error in code units, not weight units
    return _step(W, H_inv, scale, zero_point, q_min, q_max, code_units=True)


def step_half_up(W, H_inv, scale, zero_point, q_min, q_max):           # floor(x + 0.5), not half to even
    half_up = lambda w, s, z, lo, hi: np.clip(np.floor(w / s + 0.5).astype(np.int64) + z, lo, hi)
    return _step(W, H_inv, scale, zero_point, q_min, q_max, codes=half_up)


def step_no_clamp(W, H_inv, scale, zero_point, q_min, q_max):          # codes outside [q_min, q_max]
    no_clamp = lambda w, s, z, lo, hi: np.rint(w / s).astype(np.int64) + z
    return _step(W, H_inv, scale, zero_point, q_min, q_max, codes=no_clamp)


def _spd(seed, d):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(4 * d, d)) * rng.uniform(0.3, 3.0, d)
    H = 2 * X.T @ X / len(X) + 0.05 * np.eye(d)
    return np.linalg.inv(H)


def _compare_step(expected, got):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return "expected a tuple of 2 items (q, W_rest)"
    why = exact(expected[0], got[0])
    if why:
        return f"q: {why}"
    why = allclose(1e-9)(expected[1], got[1])
    return f"W_rest: {why}" if why else None


def check_gptq_step(fn):
    """Exercise 12.1: quantize column 0 on a per-row grid and feed its error into the other columns."""
    rng = np.random.default_rng(12)
    W = np.round(rng.normal(size=(3, 5)), 3)
    s, z = np.array([0.25, 0.5, 0.1]), np.array([0, -1, 2])
    W_half = W.copy()
    W_half[:, 0] = [0.125, -0.75, 0.05 + 0.1 * 2.5]          # w / s = 0.5, -1.5, 3.0: exact halves and a whole
    W_clip = W.copy()
    W_clip[:, 0] = [5.0, -9.0, 0.4]                           # far outside a 3-bit grid
    cases = [Case("a 3 x 5 layer, per-row grid", (W, _spd(0, 5), s, z, -8, 7),
                  hint="q = clamp(round(w_0 / scale) + zero_point), error = w_0 - (q - zero_point) * scale, "
                       "spread over the other columns by H^-1[0, 1:] / [H^-1]_00"),
             Case("exact halves round to even", (W_half, _spd(1, 5), np.array([0.25, 0.5, 0.1]), np.zeros(3, int),
                                                 -8, 7),
                  hint="np.rint rounds .5 to the nearest even integer (0.5 -> 0, -1.5 -> -2)"),
             Case("codes clamp to [q_min, q_max]", (W_clip, _spd(2, 5), s, z, -4, 3),
                  hint="clamp the codes to [q_min, q_max], and feed back the error of the CLAMPED value"),
             Case("a 6 x 9 layer", (rng.normal(size=(6, 9)), _spd(3, 9), rng.uniform(0.05, 0.3, 6),
                                    rng.integers(-3, 4, 6), -8, 7),
                  hint="W_rest has shape (out, in - 1): columns 1, 2, ... after the update"),
             Case("one free column left", (rng.normal(size=(4, 1)), np.array([[0.7]]), np.full(4, 0.2),
                                           np.zeros(4, int), -2, 1),
                  hint="with one column, W_rest is an empty (out, 0) float array")]
    mistakes = [Mistake(step_no_feedback, "the other columns did not change: GPTQ feeds the rounding error of "
                                          "column 0 into them (that is the whole difference from round-to-nearest)"),
                Mistake(step_divide_by_h, "divide by [H^-1]_00, the inverse Hessian's diagonal entry, not by H_00"),
                Mistake(step_no_divide, "the error must be divided by [H^-1]_00 before it is spread by H^-1[0, 1:]"),
                Mistake(step_wrong_sign, "the sign of the update is flipped: w_F <- w_F - error / [H^-1]_00 * "
                                         "H^-1[0, F]"),
                Mistake(step_code_units, "the error is in weight units: w_0 - (q - zero_point) * scale, not in "
                                         "units of the grid"),
                Mistake(step_half_up, "round half to even (np.rint), not half up"),
                Mistake(step_no_clamp, "clamp the codes to [q_min, q_max]")]
    return run_checks(fn, gptq_step, cases, "12.1", compare=_compare_step, mistakes=mistakes)


# --- 12.2: the n:m mask
def nm_keep_lower_on_ties(scores, n, m):                # ties: the higher index pruned first
    s = np.asarray(scores, dtype=np.float64)
    g = s.reshape(s.shape[:-1] + (-1, m))
    order = np.argsort(-g, axis=-1, kind="stable")[..., n:]
    keep = np.ones(g.shape, bool)
    np.put_along_axis(keep, order, False, axis=-1)
    return keep.reshape(s.shape)


def nm_first_axis(scores, n, m):                         # groups along the first axis
    s = np.asarray(scores, dtype=np.float64)
    return np.swapaxes(nm_mask(np.swapaxes(s, 0, -1), n, m), 0, -1)


def nm_absolute(scores, n, m):                           # ranks |scores|
    return nm_mask(np.abs(np.asarray(scores, dtype=np.float64)), n, m)


def nm_smallest(scores, n, m):                           # keeps the n smallest
    return nm_mask(-np.asarray(scores, dtype=np.float64), n, m)


def nm_whole_row(scores, n, m):                          # n/m of each row, not of each group
    s = np.asarray(scores, dtype=np.float64)
    k = s.shape[-1] - s.shape[-1] * n // m
    keep = np.ones(s.shape, bool)
    np.put_along_axis(keep, np.argsort(s, axis=-1, kind="stable")[..., :k], False, axis=-1)
    return keep


def check_nm_mask(fn):
    """Exercise 12.2: keep the n largest of every m consecutive scores along the last axis."""
    rng = np.random.default_rng(22)
    skew = np.array([[9.0, 8.0, 7.0, 6.0, 0.1, 0.2, 0.3, 0.4]])   # a whole-row top-half keeps group 1 only
    cases = [Case("2:4 on a 4 x 8 matrix", (rng.normal(size=(4, 8)), 2, 4),
                  hint="groups are inputs 0-3, 4-7 of each row; keep the 2 largest scores of each group"),
             Case("groups, not whole rows", (skew, 2, 4),
                  hint="every group of m keeps exactly n, even if another group holds all the large scores"),
             Case("ties prune the lower index", (np.array([[1.0, 1.0, 1.0, 1.0, 2.0, 5.0, 2.0, 2.0]]), 2, 4),
                  hint="among equal scores the LOWER index is pruned first (a stable ascending sort)"),
             Case("scores are signed", (np.array([[-5.0, 0.5, -0.1, 0.2]]), 2, 4),
                  hint="rank the scores as given (the largest kept), not their absolute values"),
             Case("a non-square 4 x 12, 1:4", (rng.normal(size=(4, 12)), 1, 4),
                  hint="groups run along the LAST axis (the inputs), not the first"),
             Case("a 3-d input, 2:4", (rng.normal(size=(2, 3, 8)), 2, 4),
                  hint="groups along the last axis; the mask has the shape of scores"),
             Case("n = m keeps all", (rng.normal(size=(2, 6)), 3, 3),
                  hint="n = m keeps everything"),
             Case("n = 0", (rng.normal(size=(2, 6)), 0, 3), hint="n = 0 prunes everything"),
             Case("many ties, 20 inputs", (np.ones((3, 20)), 2, 4),
                  hint="all scores equal: each group keeps its two HIGHEST indices")]
    mistakes = [Mistake(nm_keep_lower_on_ties, "on ties the LOWER index is pruned first (keep the higher ones)"),
                Mistake(nm_whole_row, "compare within each group of m consecutive scores, not across the "
                                      "whole row"),
                Mistake(nm_first_axis, "groups run along the LAST axis (the inputs of a row), not the first"),
                Mistake(nm_absolute, "rank the scores as given: the task passes scores, not weights "
                                     "(no absolute value)"),
                Mistake(nm_smallest, "keep the n LARGEST scores of each group")]
    return run_checks(fn, nm_mask, cases, "12.2", compare=exact, mistakes=mistakes)


# --- 12.3: the Wanda mask
def _row_mask(S, k):
    keep = np.ones(S.shape, bool)
    np.put_along_axis(keep, np.argsort(S, axis=1, kind="stable")[:, :k], False, axis=1)
    return keep


def wanda_whole_matrix(W, x_norm, sparsity):            # one threshold over the whole matrix
    S = np.abs(W) * x_norm
    keep = np.ones(S.size, bool)
    keep[np.argsort(S, axis=None, kind="stable")[:int(S.size * sparsity)]] = False
    return keep.reshape(S.shape)


def wanda_per_column(W, x_norm, sparsity):              # compared within each input column
    S = np.abs(W) * x_norm
    return _row_mask(S.T, int(S.shape[0] * sparsity)).T


def wanda_magnitude(W, x_norm, sparsity):                # forgot the input norm
    return _row_mask(np.abs(W), int(W.shape[1] * sparsity))


def wanda_signed(W, x_norm, sparsity):                   # W_ij * x_j without the absolute value
    return _row_mask(W * x_norm, int(W.shape[1] * sparsity))


def wanda_squared_norm(W, x_norm, sparsity):             # |W| * ||x||^2
    return _row_mask(np.abs(W) * x_norm ** 2, int(W.shape[1] * sparsity))


def wanda_round(W, x_norm, sparsity):                    # round(s * in), not floor
    return _row_mask(np.abs(W) * x_norm, round(W.shape[1] * sparsity))


def wanda_ties_high(W, x_norm, sparsity):                # ties: the higher index pruned first
    S = (np.abs(W) * x_norm)[:, ::-1]
    k, d = int(W.shape[1] * sparsity), W.shape[1]
    keep = np.ones(S.shape, bool)
    np.put_along_axis(keep, d - 1 - np.argsort(S, axis=1, kind="stable")[:, :k], False, axis=1)
    return keep


def _wanda(W, x_norm, sparsity):
    return wanda_mask(W, x_norm, sparsity)


def check_wanda_mask(fn):
    """Exercise 12.3: Wanda's keep-mask, |W_ij| * x_norm_j compared within each output row."""
    rng = np.random.default_rng(32)
    W_rank = np.array([[1.0, -4.0, 2.0, 0.5], [3.0, 1.0, -0.2, 2.0]])
    x_rank = np.array([4.0, 0.5, 1.0, 3.0])                 # |W| alone and |W| * x rank differently
    W_sq = np.array([[1.0, 2.0, 3.5, 0.1]])
    x_sq = np.array([3.0, 2.0, 1.0, 1.0])                   # |W| x: 3, 4, 3.5, .1;  |W| x^2: 9, 8, 3.5, .1
    W_tie = np.array([[2.0, 1.0, 1.0, 1.0, 3.0, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]])
    cases = [Case("the input norm matters", (W_rank, x_rank, 0.5),
                  hint="the score is |W_ij| * x_norm_j: a small weight on a large input can matter"),
             Case("signed weights", (np.array([[-3.0, 0.2, 1.0, -0.1]]), np.ones(4), 0.5),
                  hint="the score uses |W_ij|: a large negative weight is important"),
             Case("the norm, not its square", (W_sq, x_sq, 0.5),
                  hint="multiply by ||x_j|| as given, not by its square"),
             Case("per row, not per matrix", (np.array([[10.0, 20.0, 30.0, 40.0], [0.1, 0.2, 0.3, 0.4]]),
                                               np.ones(4), 0.5),
                  hint="every ROW loses floor(sparsity * in) weights, even a row of small weights"),
             Case("floor, not round", (rng.normal(size=(3, 7)), rng.uniform(0.5, 2, 7), 0.5),
                  hint="prune floor(0.5 * 7) = 3 weights per row"),
             Case("ties prune the lower index", (W_tie, np.ones(6), 0.5),
                  hint="among equal scores the LOWER index is pruned first"),
             Case("a 5 x 20 layer at 70 %", (rng.normal(size=(5, 20)), rng.uniform(0.1, 3, 20), 0.7),
                  hint="floor(0.7 * 20) = 14 pruned per row"),
             Case("sparsity 0 keeps all", (rng.normal(size=(2, 5)), np.ones(5), 0.0), hint="nothing to prune")]
    mistakes = [Mistake(wanda_magnitude, "the input norm is missing: the score is |W_ij| * x_norm_j"),
                Mistake(wanda_signed, "take |W_ij|: a large negative weight scores high"),
                Mistake(wanda_squared_norm, "multiply by x_norm_j, not its square"),
                Mistake(wanda_whole_matrix, "compare within each output ROW (Wanda's 'per output'), not across "
                                            "the whole matrix"),
                Mistake(wanda_per_column, "compare within each output row (axis 1), not within each input column"),
                Mistake(wanda_round, "prune floor(sparsity * in) per row (int()), not round()"),
                Mistake(wanda_ties_high, "on ties the LOWER index is pruned first (a stable ascending sort)")]
    return run_checks(fn, _wanda, cases, "12.3", compare=exact, mistakes=mistakes)
