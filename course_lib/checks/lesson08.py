"""Checkers for lesson 08 (post-training quantization). References come from course_lib.quantization.primitives
and course_lib.quantization.ptq. The functions below the references are DETECTORS: known wrong answers that
let a verdict name the student's real mistake. The mutants that test these checkers are written
separately, in tests/test_checks_lesson08.py.
"""
import numpy as np

from ..quantization import ptq
from ..quantization import primitives as Q
from ._core import Case, Mistake, allclose, exact, run_checks


# --- known wrong answers: 8.1 (the fixed-point multiplier)
def multiplier_half_even(M):                 # np.rint: halves to even, TFLite rounds them away from 0
    frac, shift = np.frexp(M)
    M_0 = int(np.rint(frac * 2 ** 31))
    return (M_0 // 2, int(shift) + 1) if M_0 == 2 ** 31 else (M_0, int(shift))


def multiplier_no_fold(M):                   # forgot the case round(frac 2^31) = 2^31
    frac, shift = np.frexp(M)
    return int(np.floor(frac * 2 ** 31 + 0.5)), int(shift)


def multiplier_fold_no_shift(M):             # folds 2^31 to 2^30 but forgets shift + 1
    frac, shift = np.frexp(M)
    M_0 = int(np.floor(frac * 2 ** 31 + 0.5))
    return (M_0 // 2 if M_0 == 2 ** 31 else M_0), int(shift)


def multiplier_saturated(M):                 # min(M_0, 2^31 - 1) instead of folding
    frac, shift = np.frexp(M)
    return min(int(np.floor(frac * 2 ** 31 + 0.5)), 2 ** 31 - 1), int(shift)


def multiplier_truncated(M):                 # int() truncates
    frac, shift = np.frexp(M)
    return int(frac * 2 ** 31), int(shift)


def multiplier_2_30(M):                      # scaled by 2^30: M_0 not in [2^30, 2^31)
    frac, shift = np.frexp(M)
    return int(np.floor(frac * 2 ** 30 + 0.5)), int(shift)


def multiplier_neg_shift(M):                 # the shift with the opposite sign
    M_0, shift = Q.quantize_multiplier(M)
    return M_0, -shift


# --- known wrong answers: 8.2 (one requantization step)
def _single(acc, M_0, shift):
    return Q.multiply_by_quantized_multiplier(np.asarray(acc, dtype=np.int64), M_0, shift, "single")


def requantize_reference(acc, M_0, shift, y_zero_point):
    """The reference of exercise 8.2: clamp(y_zero_point + round(acc M_0 2^(shift - 31)), -128, 127)."""
    return np.clip(_single(acc, M_0, shift) + y_zero_point, -128, 127)


def requantize_float_rint(acc, M_0, shift, y_zero_point):    # float and half-to-even rounding
    M = M_0 * 2.0 ** (shift - 31)
    return np.clip(np.rint(np.asarray(acc) * M).astype(np.int64) + y_zero_point, -128, 127)


def requantize_floor(acc, M_0, shift, y_zero_point):         # >> without adding half: floor
    return np.clip((np.asarray(acc, dtype=np.int64) * M_0 >> (31 - shift)) + y_zero_point, -128, 127)


def requantize_no_widening(acc, M_0, shift, y_zero_point):   # acc * M_0 in acc's own int32: it wraps
    a = np.asarray(acc)
    with np.errstate(over="ignore"):
        prod = (a * a.dtype.type(M_0)).astype(np.int64)
    right = 31 - shift
    return np.clip(((prod + (1 << (right - 1))) >> right) + y_zero_point, -128, 127)


def requantize_double_rounding(acc, M_0, shift, y_zero_point):   # rounds the high product, then the shift
    a, right = np.asarray(acc, dtype=np.int64), -shift
    high = (a * M_0 + (1 << 30)) >> 31
    return np.clip(((high + (1 << (right - 1))) >> right if right else high) + y_zero_point, -128, 127)


def requantize_float_half_up(acc, M_0, shift, y_zero_point):     # floor(acc * M + 0.5) in float64
    M = M_0 * 2.0 ** (shift - 31)
    return np.clip(np.floor(np.asarray(acc) * M + 0.5).astype(np.int64) + y_zero_point, -128, 127)


def requantize_narrow_clamp(acc, M_0, shift, y_zero_point):      # [-127, 127]: the weights' range
    return np.clip(_single(acc, M_0, shift) + y_zero_point, -127, 127)


def requantize_no_zero_point(acc, M_0, shift, y_zero_point):
    return np.clip(_single(acc, M_0, shift), -128, 127)


def requantize_no_clamp(acc, M_0, shift, y_zero_point):
    return _single(acc, M_0, shift) + y_zero_point


# --- known wrong answers: 8.3 (the int32 bias)
def bias_x_scale_only(b, x_scale, w_scale):
    return np.rint(np.asarray(b) / x_scale).astype(np.int64)


def bias_w_scale_only(b, x_scale, w_scale):
    return np.rint(np.asarray(b) / np.asarray(w_scale)).astype(np.int64)


def bias_truncated(b, x_scale, w_scale):
    return np.trunc(np.asarray(b) / (x_scale * np.asarray(w_scale))).astype(np.int64)


def bias_half_away(b, x_scale, w_scale):
    v = np.asarray(b) / (x_scale * np.asarray(w_scale))
    return np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5), -2 ** 31, 2 ** 31 - 1).astype(np.int64)


def bias_half_up(b, x_scale, w_scale):
    v = np.asarray(b) / (x_scale * np.asarray(w_scale))
    return np.clip(np.floor(v + 0.5), -2 ** 31, 2 ** 31 - 1).astype(np.int64)


def bias_no_saturation(b, x_scale, w_scale):
    return np.rint(np.asarray(b) / (x_scale * np.asarray(w_scale))).astype(np.int64)


# --- known wrong answers: 8.4 (activation qparams from calibration data)
def act_qparams_reference(x):
    """The reference of exercise 8.4: asymmetric int8 qparams for the range of the data (with 0)."""
    x = np.asarray(x)
    return Q.qparams(x.min(), x.max(), bits=8)


def act_qparams_no_zero(x):                  # the range not widened to hold 0
    lo, hi = float(np.min(x)), float(np.max(x))
    scale = (hi - lo) / 255
    return scale, int(np.clip(-128 - round(lo / scale), -128, 127))


def act_qparams_256(x):                      # 256 levels, but 255 steps between them
    lo, hi = min(float(np.min(x)), 0.0), max(float(np.max(x)), 0.0)
    scale = (hi - lo) / 256
    return scale, int(np.clip(-128 - round(lo / scale), -128, 127))


def act_qparams_zp_sign(x):                  # + round(x_min / scale)
    lo, hi = min(float(np.min(x)), 0.0), max(float(np.max(x)), 0.0)
    scale = (hi - lo) / 255
    return scale, int(np.clip(-128 + round(lo / scale), -128, 127))


def act_qparams_half_away(x):                # zero point rounded half away from zero, not Python's round
    lo, hi = min(float(np.min(x)), 0.0), max(float(np.max(x)), 0.0)
    scale = (hi - lo) / 255
    v = lo / scale
    return scale, int(np.clip(-128 - np.sign(v) * np.floor(abs(v) + 0.5), -128, 127))


def act_qparams_half_up(x):                  # floor(v + 0.5): halves up
    lo, hi = min(float(np.min(x)), 0.0), max(float(np.max(x)), 0.0)
    scale = (hi - lo) / 255
    return scale, int(np.clip(-128 - np.floor(lo / scale + 0.5), -128, 127))


def act_qparams_symmetric(x):                # symmetric: wastes half the levels after a ReLU
    return Q.qparams(np.min(x), np.max(x), bits=8, symmetric=True)


def _qparams_compare(expected, got):
    """scale to 1e-6 relative (float32 vs float64 arithmetic), zero point exactly, as an int."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return "expected a tuple (scale, zero_point)"
    (s, z), (s_got, z_got) = expected, got
    if isinstance(z_got, (bool, np.bool_)) or not isinstance(z_got, (int, np.integer)):
        return f"zero_point: expected an integer (int), got {type(z_got).__name__}"
    if not isinstance(s_got, (float, np.floating)) or abs(float(s_got) / s - 1) > 1e-6:
        return f"scale: expected {s:.6g}, got {s_got!r}"
    return None if z_got == z else f"zero_point: expected {z}, got {z_got}"


def check_quantize_multiplier(fn):
    """Exercise 8.1: M ~ M_0 2^(shift - 31), M_0 in [2^30, 2^31), as TFLite's QuantizeMultiplier."""
    hint = "write M = frac * 2**shift with frac in [0.5, 1) (np.frexp), then M_0 = round(frac * 2**31)"
    cases = [Case("M = 0.5", (0.5,), hint=hint),
             Case("a typical M = s_x s_w / s_y", (0.0123,), hint=hint),
             Case("M = 0.75", (0.75,), hint=hint),
             Case("M just below 1: frac * 2^31 rounds up to 2^31", (1.0 - 2.0 ** -40,),
                  hint="round(frac * 2**31) can reach 2**31, which does not fit: use 2**30 and shift + 1"),
             Case("a tie: frac * 2^31 = 2^30 + 1/2", (0.5 + 2.0 ** -32,), hint="halves round AWAY from zero"),
             Case("M > 1 (positive shift)", (3.7,), hint=hint)]
    mistakes = [Mistake(multiplier_half_even, "np.rint rounds halves to even; TFLite rounds them away from zero"),
                Mistake(multiplier_no_fold, "M_0 = 2**31 does not fit in 31 bits: fold it to 2**30 and add 1 to shift"),
                Mistake(multiplier_fold_no_shift, "halving M_0 to 2**30 halves M: add 1 to shift as well, so that "
                                                  "M = M_0 * 2**(shift - 31) is unchanged"),
                Mistake(multiplier_saturated, "min(M_0, 2**31 - 1) keeps M_0 out of [2**30, 2**31) only by luck; fold "
                                              "it instead: M_0 = 2**30 and shift + 1 (exactly M)"),
                Mistake(multiplier_truncated, "int() truncates: round to nearest"),
                Mistake(multiplier_2_30, "M_0 must lie in [2**30, 2**31): multiply frac by 2**31"),
                Mistake(multiplier_neg_shift, "the sign of shift: M = M_0 * 2**(shift - 31), so M = 0.5 has shift 0 "
                                              "and smaller M have negative shifts")]
    return run_checks(fn, Q.quantize_multiplier, cases, "8.1", compare=exact, mistakes=mistakes)


def check_requantize(fn):
    """Exercise 8.2: clamp(y_zero_point + round_half_up(acc M_0 2^(shift - 31)), -128, 127) in integers."""
    rng = np.random.default_rng(8)
    M_0, shift = Q.quantize_multiplier(0.0123)
    acc = rng.integers(-9000, 9000, 20)
    hint = "q = clamp(y_zero_point + round(acc * M_0 * 2**(shift - 31)), -128, 127), halves rounded up, in integers"
    near_half = 2 ** 61 - 8   # = 2147483644 * 1073741826: acc * M = 1/2 - 2^-59, which float64 rounds to 1/2
    cases = [Case("random accumulators", (acc, M_0, shift, 5), hint=hint),
             Case("int32 accumulators", (acc.astype(np.int32), M_0, shift, 5),
                  hint="acc * M_0 overflows int32: widen acc to int64 first (np.asarray(acc, dtype=np.int64))"),
             Case("acc = -10366, M = 0.0123: round once", (np.array([-10366, -10365, 10366]), M_0, shift, 0),
                  hint="round ONCE: (acc * M_0 + 2**(30 - shift)) >> (31 - shift); rounding acc * M_0 / 2**31 "
                       "first and then the shift rounds twice"),
             Case("acc * M_0 needs 61 bits", (np.array([2147483644]), 1073741826, -31, 0),
                  hint="compute with integers only: acc * M in float64 keeps 53 bits and rounds 1/2 - 2**-59 to 1/2"),
             Case("exact halves (M = 1/16)", (np.arange(-24, 25, 8), 2 ** 30, -3, 0),
                  hint="acc * M = k + 1/2 exactly: halves round UP (towards +infinity)"),
             Case("zero point -128 (after a ReLU)", (acc, M_0, shift, -128), hint="add the output zero point"),
             Case("saturation", (np.array([10 ** 6, -10 ** 6, 0]), M_0, shift, 3),
                  hint="clamp the result to [-128, 127]"),
             Case("one accumulator", (np.array([1234]), M_0, shift, -7), hint=hint)]
    mistakes = [Mistake(requantize_no_widening, "acc * M_0 overflowed acc's int32: widen acc to int64 before "
                                                "multiplying (np.asarray(acc, dtype=np.int64))"),
                Mistake(requantize_double_rounding, "that rounds twice (first acc * M_0 / 2**31, then the shift); "
                                                    "round once: (acc * M_0 + 2**(30 - shift)) >> (31 - shift)"),
                Mistake(requantize_float_half_up, "floor(acc * M + 0.5) in float64 loses the low bits of acc * M_0 "
                                                  "(up to 62 bits): use integers only, (acc * M_0 + 2**(30 - shift)) "
                                                  ">> (31 - shift)"),
                Mistake(requantize_narrow_clamp, "clamp to the full int8 range [-128, 127]; [-127, 127] is the "
                                                 "weights' narrow range"),
                Mistake(requantize_float_rint, "that is float rounding with halves to even; TFLite's single "
                                               "rounding adds 2**(30 - shift) and shifts right: halves round up"),
                Mistake(requantize_floor, "a right shift alone floors: add half (2**(30 - shift)) before shifting"),
                Mistake(requantize_no_zero_point, "add the output zero point y_zero_point"),
                Mistake(requantize_no_clamp, "clamp to the int8 range [-128, 127]")]
    return run_checks(fn, requantize_reference, cases, "8.2", compare=exact, mistakes=mistakes)


def check_quantize_bias(fn):
    """Exercise 8.3: q_b = round(b / (x_scale * w_scale)) as int32 (saturated), per output channel."""
    rng = np.random.default_rng(3)
    w_s = np.array([0.0078125, 0.001953125, 0.375, 0.015625])      # powers of two: exact in float32
    hint = "the bias joins the int32 accumulator, whose scale is x_scale * w_scale: q_b = round(b / (x_scale * w_scale))"
    cases = [Case("per channel", (rng.normal(0, 0.3, 4), 0.03125, w_s), hint=hint),
             Case("negative biases", (np.array([-0.7, -0.01, -1.3, -0.2]), 0.0625, w_s),
                  hint="round to nearest (np.rint), not towards zero"),
             Case("one scale for all", (np.array([0.1, -0.2, 0.3]), 0.25, 0.125), hint=hint),
             Case("too large for int32", (np.array([1e6, -1e6]), 2.0 ** -10, np.array([2.0 ** -10, 2.0 ** -10])),
                  hint="saturate to the int32 range [-2**31, 2**31 - 1]"),
             Case("exact halves", (np.array([0.5, 1.5, 2.5, -0.5, -2.5]) * 0.25 * 0.125, 0.25, 0.125),
                  hint="round halves to EVEN (np.rint): 0.5 -> 0, 2.5 -> 2, -2.5 -> -2")]
    mistakes = [Mistake(bias_half_away, "that rounds halves away from zero; np.rint rounds them to EVEN (2.5 -> 2)"),
                Mistake(bias_half_up, "that rounds halves up (floor(v + 0.5)); np.rint rounds them to EVEN (-2.5 -> -2)"),
                Mistake(bias_x_scale_only, "divide by x_scale * w_scale, not by x_scale alone"),
                Mistake(bias_w_scale_only, "divide by x_scale * w_scale, not by w_scale alone"),
                Mistake(bias_truncated, "that truncates towards zero: round to nearest"),
                Mistake(bias_no_saturation, "saturate to the int32 range [-2**31, 2**31 - 1]")]
    return run_checks(fn, ptq.quantize_bias, cases, "8.3", compare=exact, mistakes=mistakes)


def check_activation_qparams(fn):
    """Exercise 8.4: asymmetric int8 (scale, zero_point) from the range of calibration data, with 0."""
    rng = np.random.default_rng(4)
    hint = "widen [min, max] to hold 0, scale = (max - min) / 255, zero_point = -128 - round(min / scale)"
    cases = [Case("both signs", (rng.normal(0.5, 1.0, 200),), hint=hint),
             Case("after a ReLU, min > 0", (rng.uniform(0.5, 3.0, 100),),
                  hint="the range must hold 0 (so zero is exact): widen it to [0, max]"),
             Case("all negative", (rng.uniform(-4.0, -1.0, 50),), hint="widen the range to [min, 0]"),
             Case("a 2-d batch", (rng.normal(0.0, 2.0, (8, 16)),), hint=hint),
             Case("min / scale = -2.5 exactly", (np.array([-2.5, 0.3, 252.5]),),
                  hint="Python's round rounds halves to EVEN: round(-2.5) = -2"),
             Case("min / scale = -3.5 exactly", (np.array([-3.5, 1.0, 251.5]),),
                  hint="Python's round rounds halves to EVEN: round(-3.5) = -4")]
    mistakes = [Mistake(act_qparams_half_away, "that rounds halves away from zero; Python's round rounds them to "
                                               "EVEN (round(-2.5) = -2)"),
                Mistake(act_qparams_half_up, "that rounds halves up (floor(v + 0.5)); Python's round rounds them to "
                                             "EVEN (round(-3.5) = -4)"),
                Mistake(act_qparams_no_zero, "the range must hold 0: use min(x_min, 0) and max(x_max, 0)"),
                Mistake(act_qparams_256, "int8 has 256 levels but 255 steps between them: divide by 255"),
                Mistake(act_qparams_zp_sign, "the zero point's sign: zero_point = -128 - round(x_min / scale)"),
                Mistake(act_qparams_symmetric, "activations here are asymmetric: scale = (max - min) / 255, "
                                               "not max|x| / 127.5")]
    return run_checks(fn, act_qparams_reference, cases, "8.4", compare=_qparams_compare, mistakes=mistakes)
