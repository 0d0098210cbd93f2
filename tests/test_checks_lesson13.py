"""Lesson 13 checkers pass the reference and an independently written answer, and reject realistic
wrong answers, naming the mistake."""
import numpy as np

from course_lib.checks import lesson13 as L
from checker_harness import assert_passes, checker_tests

CHECKERS = {
    "e4m3_encode": (L.check_e4m3_encode, L.e4m3_reference, {
        "halves away from zero": (L.e4m3_half_away, "EVEN"),
        "truncation": (L.e4m3_truncate, "NEAREST"),
        "no saturation (NaN)": (L.e4m3_no_saturation, "SATURATE"),
        "subnormals flushed": (L.e4m3_flush_subnormals, "keep subnormals"),
        "IEEE-style max 240": (L.e4m3_ieee_max, "not 240"),
        "sign of -0.0 lost": (L.e4m3_zero_sign, "0x80"),
        "double rounding via float32": (L.e4m3_via_float32, "round once"),
        "int64 codes": (L.e4m3_int64, "uint8")}),
    "shared_exponent": (L.check_shared_exponent, L.shared_exponent_reference, {
        "ceil": (L.exponent_ceil, "FLOOR"),
        "round": (L.exponent_round, "FLOOR"),
        "signed max": (L.exponent_signed_max, "MAGNITUDE"),
        "emax not subtracted": (L.exponent_no_emax, "subtract emax_elem"),
        "emax added": (L.exponent_plus_emax, "SUBTRACT"),
        "no clamp": (L.exponent_no_clamp, "clamp"),
        "float32 log2": (L.exponent_float32_log2, "exactly"),
        "a float": (L.exponent_float, "float")}),
    "smoothquant_scales": (L.check_smoothquant_scales, L.smoothquant_reference, {
        "alpha on the wrong side": (L.sq_alpha_swapped, "wrong side"),
        "W: wrong axis": (L.sq_w_rows, "wrong axis of W"),
        "X: wrong axis": (L.sq_x_rows, "wrong axis of X"),
        "no abs": (L.sq_no_abs, "MAGNITUDES"),
        "mean |X| (AWQ)": (L.sq_mean_abs, "MAXIMUM"),
        "product": (L.sq_product, "do not multiply"),
        "inverse": (L.sq_inverse, "1 / s"),
        "alpha ignored": (L.sq_fixed_half, "given alpha")}),
}

test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)


def e4m3_by_search(x):
    """E4M3 by brute force: the nearest of the 127 non-negative finite values, ties to the even code."""
    codes = np.arange(127)
    mag = np.where(codes >= 8, (1 + (codes & 7) / 8) * 2.0 ** ((codes >> 3) - 7), (codes & 7) / 8 * 2.0 ** -6)
    x = np.asarray(x, dtype=np.float64)
    out = np.empty(x.shape, np.uint8)
    for i, v in np.ndenumerate(x):
        if np.isnan(v):
            out[i] = 0x7F
            continue
        d = np.abs(mag - min(abs(v), 448.0))
        best = codes[d == d.min()]
        c = best[0] if len(best) == 1 else best[best % 2 == 0][0]
        out[i] = c | (0x80 if np.signbit(v) else 0)
    return out


def test_independent_answers_pass():
    """Answers written from the task text alone, without the library, pass every checker."""
    def shared_exponent(block, emax_elem):
        a = float(np.max(np.abs(np.asarray(block, dtype=np.float64))))
        if a == 0:
            return -127
        m, e = np.frexp(a)                       # a = m 2^e, m in [0.5, 1): floor(log2 a) = e - 1
        return int(np.clip(e - 1 - emax_elem, -127, 127))

    def smoothquant_scales(X, W, alpha):
        return np.max(np.abs(X), axis=0) ** alpha / np.max(np.abs(W), axis=0) ** (1 - alpha)

    assert_passes(L.check_e4m3_encode, e4m3_by_search)
    assert_passes(L.check_shared_exponent, shared_exponent)
    assert_passes(L.check_smoothquant_scales, smoothquant_scales)


def test_e4m3_reference_is_ml_dtypes_saturating():
    """The reference equals ml_dtypes' cast after clipping to +-448 (saturation) on every case input."""
    import ml_dtypes
    for case in L._e4m3_cases():
        x = case.args[0]
        clipped = np.where(np.isnan(x), np.nan, np.clip(x, -448.0, 448.0))
        theirs = clipped.astype(ml_dtypes.float8_e4m3fn).view(np.uint8)
        assert np.array_equal(L.e4m3_reference(x), theirs), case.name
