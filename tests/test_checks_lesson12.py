"""Lesson 12 checkers pass the reference and reject realistic wrong answers, naming the mistake."""
import numpy as np

from course_lib.checks import lesson12 as L
from course_lib.pruning.gptq import gptq
from course_lib.pruning.layerwise import prepare_hessian
from course_lib.pruning.nm_sparsity import nm_mask
from course_lib.pruning.wanda import wanda_mask
from checker_harness import assert_passes, checker_tests

CHECKERS = {
    "gptq_step": (L.check_gptq_step, L.gptq_step, {
        "no feedback": (L.step_no_feedback, "feeds the rounding error"),
        "H_00": (L.step_divide_by_h, "not by H_00"),
        "no division": (L.step_no_divide, "divided by [H^-1]_00"),
        "wrong sign": (L.step_wrong_sign, "sign of the update"),
        "code units": (L.step_code_units, "weight units"),
        "half up": (L.step_half_up, "half to even"),
        "no clamp": (L.step_no_clamp, "clamp the codes")}),
    "nm_mask": (L.check_nm_mask, nm_mask, {
        "ties keep the lower index": (L.nm_keep_lower_on_ties, "LOWER index is pruned first"),
        "whole row": (L.nm_whole_row, "not across the whole row"),
        "first axis": (L.nm_first_axis, "LAST axis"),
        "absolute value": (L.nm_absolute, "no absolute value"),
        "n smallest": (L.nm_smallest, "n LARGEST"),
        "inverted": (lambda s, n, m: ~nm_mask(s, n, m), "True must mean KEEP"),
        "0/1 integers": (lambda s, n, m: nm_mask(s, n, m).astype(int), "dtype bool")}),
    "wanda_mask": (L.check_wanda_mask, lambda W, x, s: wanda_mask(W, x, s), {
        "magnitude only": (L.wanda_magnitude, "input norm is missing"),
        "signed": (L.wanda_signed, "take |W_ij|"),
        "squared norm": (L.wanda_squared_norm, "not its square"),
        "whole matrix": (L.wanda_whole_matrix, "not across the whole matrix"),
        "per column": (L.wanda_per_column, "not within each input column"),
        "round": (L.wanda_round, "not round()"),
        "ties high": (L.wanda_ties_high, "LOWER index is pruned first"),
        "inverted": (lambda W, x, s: ~wanda_mask(W, x, s), "True must mean KEEP")}),
}

test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)


# --- independently written correct answers (loops, no library code) pass
def loop_gptq_step(W, H_inv, scale, zero_point, q_min, q_max):
    out, d = W.shape
    q = np.zeros(out, dtype=np.int64)
    rest = np.array(W[:, 1:], dtype=float)
    for r in range(out):
        q[r] = min(max(int(round(W[r, 0] / scale[r])) + int(zero_point[r]), q_min), q_max)  # round: half to even
        err = (W[r, 0] - (q[r] - zero_point[r]) * scale[r]) / H_inv[0, 0]
        for k in range(1, d):
            rest[r, k - 1] -= err * H_inv[0, k]
    return q, rest


def loop_nm_mask(scores, n, m):
    s = np.asarray(scores, dtype=float)
    keep = np.zeros(s.shape, dtype=bool)
    for idx in np.ndindex(s.shape[:-1]):
        for g in range(0, s.shape[-1], m):
            group = [(s[idx + (g + i,)], i) for i in range(m)]
            for _, i in sorted(group)[m - n:]:         # ascending by (score, index): the lower index first out
                keep[idx + (g + i,)] = True
    return keep


def loop_wanda_mask(W, x_norm, sparsity):
    out, d = W.shape
    k = int(sparsity * d)
    keep = np.ones((out, d), dtype=bool)
    for r in range(out):
        ranked = sorted(range(d), key=lambda j: (abs(W[r, j]) * x_norm[j], j))
        for j in ranked[:k]:
            keep[r, j] = False
    return keep


def test_independent_answers_pass():
    assert_passes(L.check_gptq_step, loop_gptq_step)
    assert_passes(L.check_nm_mask, loop_nm_mask)
    assert_passes(L.check_wanda_mask, loop_wanda_mask)


def test_repeated_steps_are_gptq():
    """Exercise 12.1's step, applied column after column with H_F^-1 shrunk by OBS, gives gptq's codes."""
    rng = np.random.default_rng(5)
    W, X = rng.normal(size=(6, 10)), rng.normal(size=(40, 10)) * rng.uniform(0.2, 3, 10)
    scale, zp = np.full(6, 0.3), np.zeros(6, dtype=np.int64)
    Wp, H = prepare_hessian(W, 2 * X.T @ X / len(X), 0.01)
    H_inv, rest, codes = np.linalg.inv(H), Wp, []
    for _ in range(W.shape[1]):
        q, rest = L.gptq_step(np.column_stack([rest]), H_inv, scale, zp, -4, 3)
        codes.append(q)
        H_inv = (H_inv - np.outer(H_inv[:, 0], H_inv[0]) / H_inv[0, 0])[1:, 1:]   # column 0 leaves F
    assert np.array_equal(np.column_stack(codes), gptq(W, 2 * X.T @ X / len(X), scale, zp, -4, 3, block_size=4))
