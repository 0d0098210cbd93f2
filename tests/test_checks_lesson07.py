"""Lesson 07 checkers pass the reference and reject realistic wrong answers, naming the mistake."""
import numpy as np

from course_lib.checks import lesson07 as L
from checker_harness import assert_passes, checker_tests

CHECKERS = {
    "affine_qparams": (L.check_affine_qparams, L.affine_qparams, {
        "range without 0": (L.qparams_no_zero, "widen the range to hold 0"),
        "unsigned grid": (L.qparams_unsigned, "SIGNED"),
        "zero point sign": (L.qparams_zp_sign, "the sign"),
        "2^b levels": (L.qparams_two_to_b, "2^b - 1 STEPS"),
        "Distiller's multiplier": (L.qparams_multiplier, "a DIVISOR"),
        "int() truncation": (L.qparams_truncated, "truncates"),
        "halves up": (L.qparams_half_up, "halves to EVEN")}),
    "fake_quantize": (L.check_fake_quantize, L.fake_quantize_signed, {
        "no clamp": (L.fq_no_clamp, "clamp q"),
        "clamp before the zero point": (L.fq_clamp_before_zp, "BEFORE clamping"),
        "halves up": (L.fq_half_up, "halves to EVEN"),
        "times the scale": (L.fq_times_scale, "DIVISOR"),
        "dequantize without the zero point": (L.fq_dequant_without_zp, "subtract the zero point"),
        "integers returned": (L.fq_integers, "dequantized floats")}),
    "mse_clip": (L.check_mse_clip, L.mse_clip, {
        "argmax": (L.clip_argmax, "LARGEST error"),
        "max(x) not max|x|": (L.clip_positive_max, "max|x|"),
        "the fraction": (L.clip_fraction, "fraction f"),
        "mean absolute error": (L.clip_l1, "ABSOLUTE"),
        "grid from 0": (L.clip_grid_from_zero, "k = 1..grid")}),
}

test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)


def test_plain_float64_solutions_pass():
    """What a student writes from the task text (float64, no library call) passes every checker."""
    def qparams(x_min, x_max, bits):
        q_min, q_max = -2 ** (bits - 1), 2 ** (bits - 1) - 1
        lo, hi = min(x_min, 0.0), max(x_max, 0.0)
        scale = (hi - lo) / (q_max - q_min)
        return scale, int(np.clip(q_min - np.rint(lo / scale), q_min, q_max))

    def fake_quantize(x, scale, zero_point, bits):
        q = np.clip(np.rint(np.asarray(x) / scale) + zero_point, -2 ** (bits - 1), 2 ** (bits - 1) - 1)
        return (q - zero_point) * scale

    def mse_clip(x, bits, grid):
        x, amax, best = np.asarray(x, dtype=float), float(np.max(np.abs(x))), None
        for k in range(1, grid + 1):
            a = k / grid * amax
            scale = a / ((2 ** bits - 1) / 2)   # the symmetric grid: (q_max - q_min) / 2 steps per side
            err = np.mean((fake_quantize(x, scale, 0, bits) - x) ** 2)
            if best is None or err < best[0]:
                best = (err, a)
        return best[1]

    assert_passes(L.check_affine_qparams, qparams)
    assert_passes(L.check_fake_quantize, fake_quantize)
    assert_passes(L.check_mse_clip, mse_clip)
