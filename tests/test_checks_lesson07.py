"""Lesson 07 checkers pass independently written correct answers and reject realistic wrong answers,
naming the real mistake. The mutants live here (the one home of checker mutants); the checker keeps
only its detectors (course_lib/checks/lesson07.py)."""
import numpy as np

from course_lib.checks import lesson07 as L
from checker_harness import assert_passes, checker_tests


# ------------------------------------------------------------------ 7.1, written from the task text
def _grid(bits):
    return -2 ** (bits - 1), 2 ** (bits - 1) - 1


def qparams_ok(x_min, x_max, bits):
    q_min, q_max = _grid(bits)
    lo, hi = min(x_min, 0.0), max(x_max, 0.0)
    scale = (hi - lo) / (q_max - q_min)
    return scale, int(min(max(q_min - np.rint(lo / scale), q_min), q_max))


def _qp(zp_rule, steps=None, widen=True, signed=True):
    """A 7.1 answer with one thing changed: the zero-point rule, the step count, the widening, the grid."""
    def f(x_min, x_max, bits):
        q_min, q_max = _grid(bits) if signed else (0, 2 ** bits - 1)
        lo, hi = (min(x_min, 0.0), max(x_max, 0.0)) if widen else (x_min, x_max)
        scale = (hi - lo) / (steps(bits) if steps else q_max - q_min)
        return scale, int(np.clip(zp_rule(lo, hi, scale, q_min, q_max), q_min, q_max))
    return f


QPARAMS_MUTANTS = {
    "range without 0": (_qp(lambda lo, hi, s, a, b: a - np.rint(lo / s), widen=False), "widen the range to hold 0"),
    "unsigned grid": (_qp(lambda lo, hi, s, a, b: a - np.rint(lo / s), signed=False), "SIGNED"),
    "zero point sign": (_qp(lambda lo, hi, s, a, b: a + np.rint(lo / s)), "the sign"),
    "2^b levels": (_qp(lambda lo, hi, s, a, b: a - np.rint(lo / s), steps=lambda bits: 2 ** bits), "2^b - 1 STEPS"),
    "Distiller's multiplier": (lambda lo, hi, bits: (1 / qparams_ok(lo, hi, bits)[0], qparams_ok(lo, hi, bits)[1]),
                               "a DIVISOR"),
    "int() truncation": (_qp(lambda lo, hi, s, a, b: a - int(lo / s)), "truncates"),
    "halves up": (_qp(lambda lo, hi, s, a, b: a - np.floor(lo / s + 0.5)), "halves to EVEN"),
    "zero point from the upper end": (_qp(lambda lo, hi, s, a, b: b - np.rint(hi / s)), "from the LOWER end"),
}


# ------------------------------------------------------------------ 7.2
def fake_quantize_ok(x, scale, zero_point, bits):
    q_min, q_max = _grid(bits)
    q = np.minimum(np.maximum(np.rint(np.array(x, dtype=np.float64) / scale) + zero_point, q_min), q_max)
    return (q - zero_point) * scale


def _fq(rnd=np.rint, clamp=True, zp_in_clamp=True, times=False, dequant_zp=True, ints=False):
    def f(x, scale, zero_point, bits):
        q_min, q_max = _grid(bits)
        v = np.asarray(x) * scale if times else np.asarray(x) / scale
        q = rnd(v) + (zero_point if zp_in_clamp else 0)
        q = np.clip(q, q_min, q_max) if clamp else q
        if not zp_in_clamp:
            return q * scale
        if ints:
            return q
        return ((q - zero_point) / scale if times else (q - zero_point) * scale) if dequant_zp else q * scale
    return f


FAKE_QUANTIZE_MUTANTS = {
    "no clamp": (_fq(clamp=False), "clamp q"),
    "clamp before the zero point": (_fq(zp_in_clamp=False), "BEFORE clamping"),
    "halves up": (_fq(rnd=lambda v: np.floor(v + 0.5)), "halves to EVEN"),
    "times the scale": (_fq(times=True), "DIVISOR"),
    "dequantize without the zero point": (_fq(dequant_zp=False), "subtract the zero point"),
    "integers returned": (_fq(ints=True), "dequantized floats"),
    "float32 result": (lambda x, s, z, b: _fq()(np.asarray(x, np.float32), np.float32(s), z, b).astype(np.float32),
                       "float64"),
}


# ------------------------------------------------------------------ 7.3
def _mse_answer(rnd=np.rint, clamp=True, power=2, better=lambda e, best: e < best, fractions=None, peak=lambda x: np.max(np.abs(x)), give_fraction=False):
    """A 7.3 answer (narrow-range symmetric grid, first minimum) with one thing changeable."""
    def f(x, bits, grid):
        x = np.asarray(x, dtype=np.float64)
        top = 2 ** (bits - 1) - 1
        amax, best = float(peak(x)), None
        for frac in (fractions(grid) if fractions else [k / grid for k in range(1, grid + 1)]):
            a = frac * amax
            scale = a / top
            with np.errstate(divide="ignore", invalid="ignore"):  # the "grid from 0" mutant divides by 0
                q = rnd(x / scale)
            q = np.clip(q, -top, top) if clamp else q
            err = float(np.mean(np.abs(q * scale - x) ** power))
            if best is None or better(err, best[0]):
                best = (err, frac if give_fraction else a)
        return best[1]
    return f


mse_clip_ok = _mse_answer()

MSE_CLIP_MUTANTS = {
    "argmax": (_mse_answer(better=lambda e, best: e > best), "LARGEST error"),
    "max(x) not max|x|": (_mse_answer(peak=np.max), "max|x|"),
    "the fraction": (_mse_answer(give_fraction=True), "fraction f"),
    "mean absolute error": (_mse_answer(power=1), "ABSOLUTE"),
    "grid from 0": (_mse_answer(fractions=lambda g: [k / g for k in range(g)]), "k = 1..grid"),
    "ties to the largest threshold": (_mse_answer(better=lambda e, best: e <= best), "strictly smaller"),
    "no clamp": (_mse_answer(clamp=False), "without the clamp nothing is ever clipped"),
    "full signed grid, (2^b - 1) / 2": (lambda x, bits, grid: _full_grid_mse(x, bits, grid), "not symmetric"),
}


def _full_grid_mse(x, bits, grid):
    """The grid of the old task: scale = a / ((2^b - 1) / 2), q in [-2^(b-1), 2^(b-1) - 1] (not symmetric)."""
    x, best = np.asarray(x, dtype=float), None
    for k in range(1, grid + 1):
        a = k / grid * np.abs(x).max()
        scale = a / ((2 ** bits - 1) / 2)
        err = np.mean((np.clip(np.rint(x / scale), -2 ** (bits - 1), 2 ** (bits - 1) - 1) * scale - x) ** 2)
        if best is None or err < best[0]:
            best = (err, a)
    return best[1]

CHECKERS = {
    "affine_qparams": (L.check_affine_qparams, qparams_ok, QPARAMS_MUTANTS),
    "fake_quantize": (L.check_fake_quantize, fake_quantize_ok, FAKE_QUANTIZE_MUTANTS),
    "mse_clip": (L.check_mse_clip, mse_clip_ok, MSE_CLIP_MUTANTS),
}

test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)


def test_the_checkers_own_references_pass():
    assert_passes(L.check_affine_qparams, L.affine_qparams)
    assert_passes(L.check_fake_quantize, L.fake_quantize_signed)
    assert_passes(L.check_mse_clip, L.mse_clip)


def test_half_away_rounding_is_a_correct_answer_to_7_3():
    """At an exact half both neighbours are 1/2 step away: the squared error, and so the threshold, is the
    same under any half rule. The task states np.rint, but half-away is not a wrong answer here."""
    assert_passes(L.check_mse_clip, _mse_answer(rnd=lambda v: np.sign(v) * np.floor(np.abs(v) + 0.5)))
