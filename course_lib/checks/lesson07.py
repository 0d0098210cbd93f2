"""Checkers for lesson 07 (quantization basics). References come from course_lib.quantization.primitives and
course_lib.quantization.observers.

The functions below the references are DETECTORS: known wrong answers that let a verdict name the
student's real mistake. The mutants that test these checkers are written separately, in
tests/test_checks_lesson07.py.
"""
import numpy as np

from ..quantization import primitives as Q
from ..quantization.observers import MSEObserver
from ._core import Case, Mistake, allclose, run_checks


def _signed(bits):
    return -2 ** (bits - 1), 2 ** (bits - 1) - 1


# ------------------------------------------------------------------------------- 7.1 affine qparams
def affine_qparams(x_min, x_max, bits):
    """The reference: Q.qparams (affine, signed), as a (float, int) pair."""
    scale, zp = Q.qparams(x_min, x_max, bits=bits)
    return float(scale), int(zp)


def qparams_no_zero(x_min, x_max, bits):         # the range is not widened to hold 0
    q_min, q_max = _signed(bits)
    scale = (x_max - x_min) / (q_max - q_min)
    return scale, int(np.clip(q_min - np.rint(x_min / scale), q_min, q_max))


def qparams_unsigned(x_min, x_max, bits):        # [0, 2^b - 1] instead of the signed range
    lo, hi = min(x_min, 0.0), max(x_max, 0.0)
    scale = (hi - lo) / (2 ** bits - 1)
    return scale, int(np.clip(-np.rint(lo / scale), 0, 2 ** bits - 1))


def qparams_zp_sign(x_min, x_max, bits):         # q_min + round(x_min / scale)
    q_min, q_max = _signed(bits)
    lo, hi = min(x_min, 0.0), max(x_max, 0.0)
    scale = (hi - lo) / (q_max - q_min)
    return scale, int(np.clip(q_min + np.rint(lo / scale), q_min, q_max))


def qparams_two_to_b(x_min, x_max, bits):        # divides the range by 2^b levels, not 2^b - 1 steps
    q_min, q_max = _signed(bits)
    lo, hi = min(x_min, 0.0), max(x_max, 0.0)
    scale = (hi - lo) / 2 ** bits
    return scale, int(np.clip(q_min - np.rint(lo / scale), q_min, q_max))


def qparams_multiplier(x_min, x_max, bits):      # Distiller's scale: a multiplier, steps per unit
    q_min, q_max = _signed(bits)
    lo, hi = min(x_min, 0.0), max(x_max, 0.0)
    scale = (hi - lo) / (q_max - q_min)
    return 1.0 / scale, int(np.clip(q_min - np.rint(lo / scale), q_min, q_max))


def qparams_truncated(x_min, x_max, bits):       # int() truncates towards 0 instead of rounding
    q_min, q_max = _signed(bits)
    lo, hi = min(x_min, 0.0), max(x_max, 0.0)
    scale = (hi - lo) / (q_max - q_min)
    return scale, int(np.clip(q_min - int(lo / scale), q_min, q_max))


def qparams_half_up(x_min, x_max, bits):         # floor(v + 0.5): halves up, not to even
    q_min, q_max = _signed(bits)
    lo, hi = min(x_min, 0.0), max(x_max, 0.0)
    scale = (hi - lo) / (q_max - q_min)
    return scale, int(np.clip(q_min - np.floor(lo / scale + 0.5), q_min, q_max))


def qparams_zp_from_max(x_min, x_max, bits):     # the zero point from the upper end of the range
    q_min, q_max = _signed(bits)
    lo, hi = min(x_min, 0.0), max(x_max, 0.0)
    scale = (hi - lo) / (q_max - q_min)
    return scale, int(np.clip(q_max - np.rint(hi / scale), q_min, q_max))


def _compare_qparams(expected, got):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"expected a tuple (scale, zero_point), got {type(got).__name__}"
    # 1e-6 relative: the reference computes the scale in float32 (as torch's observers), a float64 answer is also right
    why = allclose(1e-6 * abs(expected[0]))(expected[0], got[0])
    if why:
        return f"scale: {why}"
    if isinstance(got[1], (bool, np.bool_)) or not isinstance(got[1], (int, np.integer)):
        return f"zero_point: expected an int, got {type(got[1]).__name__}"
    return None if got[1] == expected[1] else f"zero_point: expected {expected[1]}, got {int(got[1])}"


def check_affine_qparams(fn):
    """Exercise 7.1: scale and zero point of an affine, signed b-bit grid for [x_min, x_max]."""
    hint = ("widen the range to hold 0, scale = (x_max - x_min) / (q_max - q_min), "
            "zero_point = q_min - round(x_min / scale), clamped to [q_min, q_max]")
    cases = [Case("int8, [-0.37, 1.21]", (-0.37, 1.21, 8), hint=hint),
             Case("int4, x_min / scale = -2.5 exactly", (-0.625, 3.125, 4),
                  hint="round half to EVEN (np.rint): round(-2.5) = -2"),
             Case("int4, x_min / scale = -3.5 exactly", (-0.875, 2.875, 4),
                  hint="round half to EVEN (np.rint): round(-3.5) = -4"),
             Case("int8, x_min / scale = -38.7", (-0.387, 2.163, 8),
                  hint="round x_min / scale to the nearest integer; int() truncates towards 0"),
             Case("int8, all positive [0.5, 2.0]", (0.5, 2.0, 8),
                  hint="the range must hold 0, so that 0 is exactly representable: use [min(x_min, 0), max(x_max, 0)]"),
             Case("int6, all negative [-3, -1]", (-3.0, -1.0, 6),
                  hint="the range must hold 0: x_max becomes 0, and the zero point is q_max"),
             Case("int2, [-1, 2]", (-1.0, 2.0, 2), hint="b = 2 bits: q in [-2, 1]")]
    mistakes = [Mistake(qparams_no_zero, "widen the range to hold 0 first: [min(x_min, 0), max(x_max, 0)] "
                                         "(otherwise 0, e.g. a ReLU's output or zero padding, is not exactly representable)"),
                Mistake(qparams_unsigned, "that is the unsigned grid [0, 2^b - 1]; this exercise uses the SIGNED one, "
                                          "[-2^(b-1), 2^(b-1) - 1]"),
                Mistake(qparams_zp_sign, "the sign: zero_point = q_min - round(x_min / scale), so that x_min maps to q_min"),
                Mistake(qparams_two_to_b, "a b-bit grid has 2^b levels but 2^b - 1 STEPS: divide by q_max - q_min"),
                Mistake(qparams_multiplier, "that is Distiller's scale (a multiplier, 1 / ours); the course's scale is "
                                            "the step size, a DIVISOR: q = round(x / scale) + zero_point"),
                Mistake(qparams_truncated, "int() truncates towards 0; round to the nearest integer (np.rint)"),
                Mistake(qparams_half_up, "that rounds halves up; np.rint rounds halves to EVEN (round(-3.5) = -4)"),
                Mistake(qparams_zp_from_max, "compute the zero point from the LOWER end, q_min - round(x_min / scale); "
                                             "q_max - round(x_max / scale) differs from it when x_min / scale is an exact half")]
    return run_checks(fn, affine_qparams, cases, "7.1", compare=_compare_qparams, mistakes=mistakes)


# ---------------------------------------------------------------------------- 7.2 fake quantization
def fake_quantize_signed(x, scale, zero_point, bits):
    """The reference: Q.fake_quantize on the signed b-bit grid (course rule, float64)."""
    return Q.fake_quantize(x, scale, zero_point, *_signed(bits))


def fq_no_clamp(x, scale, zero_point, bits):
    return (np.rint(np.asarray(x) / scale) + zero_point - zero_point) * scale


def fq_clamp_before_zp(x, scale, zero_point, bits):      # clamp(round(x / s)) + zp: the zero point skipped the clamp
    q_min, q_max = _signed(bits)
    return np.clip(np.rint(np.asarray(x) / scale), q_min, q_max) * scale


def fq_half_up(x, scale, zero_point, bits):
    q_min, q_max = _signed(bits)
    q = np.clip(np.floor(np.asarray(x) / scale + 0.5) + zero_point, q_min, q_max)
    return (q - zero_point) * scale


def fq_times_scale(x, scale, zero_point, bits):          # multiplies by the scale to quantize
    q_min, q_max = _signed(bits)
    q = np.clip(np.rint(np.asarray(x) * scale) + zero_point, q_min, q_max)
    return (q - zero_point) / scale


def fq_dequant_without_zp(x, scale, zero_point, bits):   # dequantizes q * scale
    q_min, q_max = _signed(bits)
    return np.clip(np.rint(np.asarray(x) / scale) + zero_point, q_min, q_max) * scale


def fq_integers(x, scale, zero_point, bits):             # returns q, not the dequantized value
    q_min, q_max = _signed(bits)
    return np.clip(np.rint(np.asarray(x) / scale) + zero_point, q_min, q_max)


def fq_float32(x, scale, zero_point, bits):             # right values, computed or returned in float32
    return fake_quantize_signed(x, scale, zero_point, bits).astype(np.float32)


def _compare_float64(expected, got):
    """Same dtype as the reference (float64; a float32 reference, from a detector, to 1e-6), values to 1e-12."""
    if isinstance(got, np.ndarray) and isinstance(expected, np.ndarray) and got.dtype != expected.dtype \
            and got.dtype.kind == "f":
        return f"expected dtype {expected.dtype}, got dtype {got.dtype}"
    # 1e-12: the same float64 operations in any order give the same values up to round-off
    return allclose(1e-6 if getattr(expected, "dtype", None) == np.float32 else 1e-12)(expected, got)


def check_fake_quantize(fn):
    """Exercise 7.2: x rounded to the signed b-bit grid (scale, zero_point) and mapped back to floats."""
    hint = "q = clamp(round(x / scale) + zero_point, q_min, q_max), then return (q - zero_point) * scale"
    rng = np.random.default_rng(7)
    cases = [Case("int8, zero point 0", (rng.normal(0, 1, 12), 0.05, 0, 8), hint=hint),
             Case("exact halves", (np.array([0.125, 0.375, -0.125, -0.375, 0.625]), 0.25, 0, 8),
                  hint="round half to EVEN (np.rint): 0.125 / 0.25 = 0.5 rounds to 0"),
             Case("outside the range", (np.array([-5.0, -1.0, 0.3, 1.0, 9.0]), 0.25, 0, 4),
                  hint="clamp q to [q_min, q_max] = [-2^(b-1), 2^(b-1) - 1]: far values are clipped to the ends"),
             Case("zero point 5, values at the top", (np.array([0.0, 0.5, 0.75, 1.0, -2.0]), 0.25, 5, 4),
                  hint="clamp AFTER adding the zero point: the grid ends are q_min and q_max, not q_min - zero_point"),
             Case("a 2-d array, int2", (rng.normal(0, 1, (3, 4)), 0.7, -1, 2), hint=hint)]
    mistakes = [Mistake(fq_no_clamp, "clamp q to [q_min, q_max]: values beyond the range must be clipped"),
                Mistake(fq_clamp_before_zp, "add the zero point BEFORE clamping: q = clamp(round(x / scale) + "
                                            "zero_point, q_min, q_max)"),
                Mistake(fq_half_up, "that rounds halves up; np.rint rounds halves to EVEN"),
                Mistake(fq_times_scale, "the scale is a DIVISOR: q = round(x / scale) + zero_point, x_hat = (q - "
                                        "zero_point) * scale"),
                Mistake(fq_dequant_without_zp, "subtract the zero point when mapping back: (q - zero_point) * scale"),
                Mistake(fq_integers, "those are the integers q; return the dequantized floats (q - zero_point) * scale"),
                Mistake(fq_float32, "your result is float32: the task asks for float64 (x and scale are float64; "
                                    "do not cast to np.float32)")]
    return run_checks(fn, fake_quantize_signed, cases, "7.2", compare=_compare_float64, mistakes=mistakes)


# ---------------------------------------------------------------------------- 7.3 MSE-optimal clipping
def _narrow(bits):
    return -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1


def mse_clip(x, bits, grid):
    """The reference: the threshold a of MSEObserver on the narrow-range symmetric grid (lesson 07's one
    weight grid: q in [-(2^(b-1) - 1), 2^(b-1) - 1], scale = a / (2^(b-1) - 1)), a = f max|x|, f = k / grid."""
    obs = MSEObserver(bits=bits, symmetric=True, narrow_range=True, grid=grid)
    obs.observe(x)
    lo, hi = obs.range()
    return float(max(-lo, hi))


def _errors(x, bits, fs, amax, rnd=np.rint, clamp=True, power=2):
    x, (q_min, q_max) = np.asarray(x, dtype=float), _narrow(bits)
    out = []
    for f in fs:
        scale = f * amax / q_max
        with np.errstate(divide="ignore", invalid="ignore"):  # f = 0 (a detector's grid from 0)
            q = rnd(x / scale)
        q = np.clip(q, q_min, q_max) if clamp else q
        out.append(np.mean(np.abs(q * scale - x) ** power))
    return np.array(out)


def _fs(grid):
    return np.arange(1, grid + 1) / grid


def _first_min(fs, errors):
    return fs[int(np.argmin(errors))]


def clip_argmax(x, bits, grid):                  # the largest error, not the smallest
    amax = np.abs(x).max()
    return float(_fs(grid)[np.argmax(_errors(x, bits, _fs(grid), amax))] * amax)


def clip_positive_max(x, bits, grid):            # f * max(x) instead of f * max|x|
    amax = float(np.max(x))
    return float(_first_min(_fs(grid), _errors(x, bits, _fs(grid), amax)) * amax)


def clip_fraction(x, bits, grid):                # returns f, not the threshold a = f max|x|
    amax = np.abs(x).max()
    return float(_first_min(_fs(grid), _errors(x, bits, _fs(grid), amax)))


def clip_l1(x, bits, grid):                      # mean |error| instead of mean squared error
    amax = np.abs(x).max()
    return float(_first_min(_fs(grid), _errors(x, bits, _fs(grid), amax, power=1)) * amax)


def clip_grid_from_zero(x, bits, grid):          # f = 0, 1/grid, ..., (grid - 1)/grid: misses f = 1
    amax = np.abs(x).max()
    fs = np.arange(grid) / grid
    return float(_first_min(fs, _errors(x, bits, fs, amax)) * amax)


def clip_ties_largest(x, bits, grid):            # `<=`: ties go to the LARGEST threshold
    amax, fs = np.abs(x).max(), _fs(grid)
    e = _errors(x, bits, fs, amax)
    return float(fs[len(e) - 1 - int(np.argmin(e[::-1]))] * amax)


def clip_no_clamp(x, bits, grid):                # q never clamped: nothing is ever clipped
    amax = np.abs(x).max()
    return float(_first_min(_fs(grid), _errors(x, bits, _fs(grid), amax, clamp=False)) * amax)


def clip_full_range_grid(x, bits, grid):         # scale = a / ((2^b - 1) / 2) on [-2^(b-1), 2^(b-1) - 1]
    amax, x = np.abs(x).max(), np.asarray(x, dtype=float)
    errs = []
    for f in _fs(grid):
        scale = f * amax / ((2 ** bits - 1) / 2)
        q = np.clip(np.rint(x / scale), *_signed(bits))
        errs.append(np.mean((q * scale - x) ** 2))
    return float(_first_min(_fs(grid), errs) * amax)


def check_mse_clip(fn):
    """Exercise 7.3: the clipping threshold with the least mean squared error over a grid."""
    hint = ("for k = 1..grid: a = k / grid * max|x|, scale = a / (2^(b-1) - 1), q = clamp(round(x / scale), "
            "-(2^(b-1) - 1), 2^(b-1) - 1) (np.rint: halves to even), error = mean((q * scale - x)^2); return the "
            "a of the smallest error (the first, i.e. the smallest a, on ties)")
    rng = np.random.default_rng(11)
    heavy = rng.standard_t(2, 2000)                        # heavy tails: clipping pays
    skew = np.concatenate([rng.normal(0, 0.3, 1000), [-6.0, 1.5]])   # the largest |x| is negative
    cases = [Case("heavy tails, 4 bits", (heavy, 4, 50), hint=hint),
             Case("the largest |x| is negative", (skew, 4, 40),
                  hint="the threshold scales max|x| (both signs), not max(x)"),
             Case("uniform data, 8 bits (no outlier)", (rng.uniform(-1, 1, 1000), 8, 20),
                  hint="the grid ends at f = 1 (the full range): f = k / grid for k = 1..grid"),
             Case("3 bits", (rng.laplace(0, 1, 1500), 3, 30), hint=hint),
             Case("the LARGEST error is at the full range", (np.array([1.0, 0.45, 0.45, 0.45, 0.45]), 2, 2),
                  hint="take the threshold with the SMALLEST error (here a = 0.5; a = 1 rounds every 0.45 to 0)"),
             Case("a tie: a = 1 and a = 2 give the same error", (np.array([2.0, -2.0, 1.0, -1.0]), 2, 2),
                  hint="on a tie keep the FIRST (smallest) threshold: update only when the error is strictly smaller")]
    mistakes = [Mistake(clip_no_clamp, "clamp q to [-(2^(b-1) - 1), 2^(b-1) - 1]: without the clamp nothing is "
                                       "ever clipped, so the smallest threshold always looks best"),
                Mistake(clip_argmax, "that is the range with the LARGEST error; take the smallest (argmin)"),
                Mistake(clip_positive_max, "use max|x| (the largest magnitude of either sign), not max(x)"),
                Mistake(clip_fraction, "that is the fraction f; return the threshold a = f * max|x|"),
                Mistake(clip_l1, "that minimises the mean ABSOLUTE error; minimise the mean SQUARED error"),
                Mistake(clip_grid_from_zero, "the grid is f = k / grid for k = 1..grid: it starts at 1/grid and "
                                             "includes f = 1"),
                Mistake(clip_ties_largest, "on a tie your answer keeps the LARGEST threshold (`<=`); keep the first, "
                                           "smallest one: update only when the error is strictly smaller (`<`)"),
                Mistake(clip_full_range_grid, "that is the full signed grid with scale a / ((2^b - 1) / 2), which is "
                                              "not symmetric; use the narrow range: scale = a / (2^(b-1) - 1), q in "
                                              "[-(2^(b-1) - 1), 2^(b-1) - 1]")]
    # No exact-half case: at x / scale = k + 1/2 both neighbours are 1/2 step away, so any half rule gives
    # the same squared error and the same threshold (tests/test_checks_lesson07.py shows half-away passes).
    # 1e-5: the reference returns the threshold in float32 (as the observer stores it); thresholds here are < 50
    return run_checks(fn, mse_clip, cases, "7.3", compare=allclose(1e-5), mistakes=mistakes)
