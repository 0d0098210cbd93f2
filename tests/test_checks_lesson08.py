"""Lesson 08 checkers pass independently written correct answers and reject realistic wrong answers,
naming the real mistake. The mutants live here (the one home of checker mutants); the checker keeps
only its detectors (course_lib/checks/lesson08.py)."""
import math

import numpy as np

from course_lib.checks import lesson08 as L
from course_lib.quantization import ptq, primitives as Q
from checker_harness import assert_passes, checker_tests


# ------------------------------------------------------------------ 8.1, written from the task text
def multiplier_ok(M):
    frac, shift = math.frexp(M)
    M_0 = math.floor(frac * 2 ** 31 + 0.5)
    return (2 ** 30, shift + 1) if M_0 == 2 ** 31 else (M_0, shift)


def _mult(round_=lambda v: math.floor(v + 0.5), scale=2 ** 31, fold="fold"):
    def f(M):
        frac, shift = math.frexp(M)
        M_0 = int(round_(frac * scale))
        if M_0 == 2 ** 31:
            return {"fold": (2 ** 30, shift + 1), "none": (M_0, shift), "no shift": (2 ** 30, shift),
                    "min": (2 ** 31 - 1, shift)}[fold]
        return M_0, shift
    return f


MULTIPLIER_MUTANTS = {
    "half to even": (_mult(round_=round), "away from zero"),
    "no fold": (_mult(fold="none"), "fold it to 2**30"),
    "fold without shift + 1": (_mult(fold="no shift"), "add 1 to shift as well"),
    "min(M_0, 2**31 - 1)": (_mult(fold="min"), "fold it instead"),
    "truncated": (_mult(round_=int), "round to nearest"),
    "2^30": (_mult(scale=2 ** 30), "multiply frac by 2**31"),
    "shift sign": (lambda M: (multiplier_ok(M)[0], -multiplier_ok(M)[1]), "the sign of shift"),
}


# ------------------------------------------------------------------ 8.2
def requantize_ok(acc, M_0, shift, y_zero_point):
    a = np.array(acc).astype(np.int64)
    n = 31 - shift
    y = (a * np.int64(M_0) + np.int64(2) ** (n - 1)) // np.int64(2) ** n   # floor division = >> for int64
    return np.minimum(np.maximum(y + y_zero_point, -128), 127)


def _req(widen=True, clamp=(-128, 127), zp=True, add_half=True):
    def f(acc, M_0, shift, y_zero_point):
        a = np.asarray(acc, dtype=np.int64) if widen else np.asarray(acc)
        right = 31 - shift
        y = ((a * M_0 + np.int64(1 << (right - 1))) if add_half else a * M_0) >> right
        y = y + y_zero_point if zp else y
        return np.clip(y, *clamp) if clamp else y
    return f


def _double_rounding(acc, M_0, shift, y_zero_point):
    high = (np.asarray(acc, dtype=np.int64) * M_0 + (1 << 30)) >> 31
    return np.clip(((high + (1 << (-shift - 1))) >> -shift) + y_zero_point, -128, 127)


REQUANTIZE_MUTANTS = {
    "float rint": (lambda acc, M_0, shift, z: np.clip(np.rint(np.asarray(acc) * (M_0 * 2.0 ** (shift - 31))).astype(int) + z,
                                                      -128, 127), "halves round up"),
    "float floor(acc * M + 0.5)": (lambda acc, M_0, shift, z: np.clip(
        np.floor(np.asarray(acc) * (M_0 * 2.0 ** (shift - 31)) + 0.5).astype(np.int64) + z, -128, 127), "integers only"),
    "floor": (_req(add_half=False), "add half"),
    "no zero point": (_req(zp=False), "zero point"),
    "no clamp": (_req(clamp=None), "clamp"),
    "clamp to [-127, 127]": (_req(clamp=(-127, 127)), "full int8 range [-128, 127]"),
    "no widening to int64": (_req(widen=False), "widen acc to int64"),
    "double rounding": (_double_rounding, "round once"),
}


# ------------------------------------------------------------------ 8.3
def bias_ok(b, x_scale, w_scale):
    acc_scale = np.multiply(x_scale, w_scale, dtype=np.float64)
    return np.clip(np.round(np.asarray(b, np.float64) / acc_scale), -2.0 ** 31, 2.0 ** 31 - 1).astype(np.int64)


def _bias(rnd=np.rint, divisor=lambda xs, ws: xs * np.asarray(ws), saturate=True):
    def f(b, x_scale, w_scale):
        q = rnd(np.asarray(b) / divisor(x_scale, w_scale))
        return (np.clip(q, -2 ** 31, 2 ** 31 - 1) if saturate else q).astype(np.int64)
    return f


BIAS_MUTANTS = {
    "x_scale only": (_bias(divisor=lambda xs, ws: xs), "not by x_scale alone"),
    "w_scale only": (_bias(divisor=lambda xs, ws: np.asarray(ws)), "not by w_scale alone"),
    "truncated": (_bias(rnd=np.trunc), "truncates"),
    "no saturation": (_bias(saturate=False), "saturate"),
    "half away from zero": (_bias(rnd=lambda v: np.sign(v) * np.floor(np.abs(v) + 0.5)), "away from zero"),
    "half up": (_bias(rnd=lambda v: np.floor(v + 0.5)), "halves up"),
}


# ------------------------------------------------------------------ 8.4
def act_ok(x):
    lo, hi = min(float(np.min(x)), 0.0), max(float(np.max(x)), 0.0)
    scale = (hi - lo) / 255
    return scale, max(-128, min(127, -128 - round(lo / scale)))


def _act(rnd=round, widen=True, steps=255, sign=-1):
    def f(x):
        lo, hi = float(np.min(x)), float(np.max(x))
        lo, hi = (min(lo, 0.0), max(hi, 0.0)) if widen else (lo, hi)
        scale = (hi - lo) / steps
        return scale, int(np.clip(-128 + sign * rnd(lo / scale), -128, 127))
    return f


ACT_MUTANTS = {
    "range without 0": (_act(widen=False), "must hold 0"),
    "/256": (_act(steps=256), "divide by 255"),
    "zero point sign": (_act(sign=1), "sign"),
    "symmetric": (lambda x: (float(np.max(np.abs(x))) / 127.5, 0), "asymmetric"),
    "half away from zero": (_act(rnd=lambda v: float(np.sign(v) * np.floor(abs(v) + 0.5))), "away from zero"),
    "half up": (_act(rnd=lambda v: float(np.floor(v + 0.5))), "halves up"),
}

CHECKERS = {
    "quantize_multiplier": (L.check_quantize_multiplier, multiplier_ok, MULTIPLIER_MUTANTS),
    "requantize": (L.check_requantize, requantize_ok, REQUANTIZE_MUTANTS),
    "quantize_bias": (L.check_quantize_bias, bias_ok, BIAS_MUTANTS),
    "activation_qparams": (L.check_activation_qparams, act_ok, ACT_MUTANTS),
}

test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)


def test_the_checkers_own_references_pass():
    assert_passes(L.check_quantize_multiplier, Q.quantize_multiplier)
    assert_passes(L.check_requantize, L.requantize_reference)
    assert_passes(L.check_quantize_bias, ptq.quantize_bias)
    assert_passes(L.check_activation_qparams, L.act_qparams_reference)
