"""Integer-only requantization: the fixed-point multiplier and both TFLite rounding modes, checked
against exact rational arithmetic (Python's Fraction) on random and tie-laden inputs."""
from fractions import Fraction

import numpy as np
import pytest

from course_lib.quantization import primitives as Q


@pytest.mark.parametrize("M", [0.5, 0.75, 1e-3, 0.9999999999, 3.7, 2 ** -20, 1.0 - 2 ** -40, 0.123456789])
def test_quantize_multiplier_is_close_and_normalised(M):
    M_0, shift = Q.quantize_multiplier(M)
    assert 2 ** 30 <= M_0 < 2 ** 31
    assert abs(M_0 * 2.0 ** (shift - 31) - M) <= 2.0 ** (shift - 32)  # within half a unit of the last bit


def test_quantize_multiplier_rounds_a_tie_away_from_zero_as_tflite():
    M = 0.5 + 2.0 ** -32  # frac * 2^31 = 2^30 + 0.5 exactly
    assert Q.quantize_multiplier(M) == (2 ** 30 + 1, 0)


def test_quantize_multiplier_edge_cases():
    assert Q.quantize_multiplier(0.0) == (0, 0)
    assert Q.quantize_multiplier(2.0 ** -40) == (0, 0)  # TFLite flushes multipliers below 2^-31 to zero
    with pytest.raises(ValueError, match=r"M must be in \[0, inf\)"):
        Q.quantize_multiplier(-1.0)


def _exact_double(acc, M_0, shift):
    """gemmlowp by definition: SRDHM rounds 2 a b / 2^32 half up, then RDBPOT rounds half away from 0."""
    left, right = max(shift, 0), max(-shift, 0)
    prod = Fraction(int(acc) * 2 ** left * M_0, 2 ** 31)
    high = int((prod + Fraction(1, 2)).__floor__())
    q = Fraction(high, 2 ** right)
    return int(q + Fraction(1, 2)).__floor__() if q >= 0 else -int((-q + Fraction(1, 2)).__floor__())


def _exact_single(acc, M_0, shift):
    x = Fraction(int(acc) * M_0, 2 ** (31 - shift))
    return int((x + Fraction(1, 2)).__floor__())  # half up


@pytest.mark.parametrize("seed", range(5))
def test_requantization_equals_exact_arithmetic(seed):
    rng = np.random.default_rng(seed)
    acc = rng.integers(-2 ** 20, 2 ** 20, 300)
    M_0, shift = Q.quantize_multiplier(float(rng.uniform(1e-4, 0.9)))
    acc = np.concatenate([acc, [0, 1, -1, 2 ** 20, -(2 ** 20)]])
    double = Q.multiply_by_quantized_multiplier(acc, M_0, shift, "double")
    single = Q.multiply_by_quantized_multiplier(acc, M_0, shift, "single")
    assert double.tolist() == [_exact_double(a, M_0, shift) for a in acc]
    assert single.tolist() == [_exact_single(a, M_0, shift) for a in acc]


def test_the_two_roundings_differ_only_on_ties():
    acc = np.arange(-64, 65)
    M_0, shift = 2 ** 30, -3  # M = 1/16: every 8th accumulator sits on a tie
    d = Q.multiply_by_quantized_multiplier(acc, M_0, shift, "double")
    s = Q.multiply_by_quantized_multiplier(acc, M_0, shift, "single")
    assert np.max(np.abs(d - s)) <= 1 and np.any(d != s)
    assert d[acc == -8].item() == -1 and s[acc == -8].item() == 0  # -0.5: away from zero vs up


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="acc must hold integers"):
        Q.multiply_by_quantized_multiplier(np.array([1.5]), 2 ** 30, 0)
    with pytest.raises(ValueError, match="rounding must be one of"):
        Q.multiply_by_quantized_multiplier(np.array([1]), 2 ** 30, 0, "banker")
    with pytest.raises(ValueError, match="M_0 must be in"):
        Q.multiply_by_quantized_multiplier(np.array([1]), 2 ** 31, 0)
