"""Floating-point number formats from scratch: range, spacing and round-to-nearest for fp32, fp16, bf16.

A binary float with e exponent bits and m mantissa (fraction) bits stores x = (-1)^s 1.f 2^E with
E in [E_min, E_max], E_max = 2^(e-1) - 1, E_min = 1 - E_max, and subnormals 0.f 2^E_min below
(IEEE 754-2019, sec. 3.3). Neighbouring numbers in [2^E, 2^(E+1)) are 2^(E - m) apart: the spacing
grows with |x|, so the RELATIVE step is about 2^-m everywhere. An integer grid (int8, int4) is the
opposite: one absolute step, the scale, over a short range (course_lib.quantization.primitives).

bfloat16 keeps float32's 8 exponent bits (same range) and 7 mantissa bits (Kalamkar et al. 2019,
"A Study of BFLOAT16 for Deep Learning Training", arXiv:1905.12322); float16 has 5 and 10.
"""
from typing import NamedTuple

import numpy as np

from ..core.validation import Array, Choice, validate

FORMATS = {"fp32": (8, 23), "fp16": (5, 10), "bf16": (8, 7)}  # name -> (exponent bits, mantissa bits)
NAME = Choice(*FORMATS)


class FloatFormat(NamedTuple):
    """A binary floating-point format and the numbers that describe it (as np.finfo names them)."""

    name: str
    exp_bits: int
    man_bits: int
    max: float                 # largest finite number, (2 - 2^-m) 2^E_max
    smallest_normal: float     # 2^E_min
    smallest_subnormal: float  # 2^(E_min - m)
    eps: float                 # spacing at 1.0, 2^-m

    @property
    def bits(self):
        return 1 + self.exp_bits + self.man_bits


@validate(name=NAME)
def float_format(name):
    """Return the FloatFormat of 'fp32', 'fp16' or 'bf16' (IEEE 754-2019, sec. 3.3; bf16: Kalamkar et al. 2019)."""
    e, m = FORMATS[name]
    e_max = 2 ** (e - 1) - 1
    e_min = 1 - e_max
    return FloatFormat(name, e, m, float((2.0 - 2.0 ** -m) * 2.0 ** e_max), float(2.0 ** e_min),
                       float(2.0 ** (e_min - m)), float(2.0 ** -m))


def _exponent(a, f):
    """Return floor(log2 a) for a > 0, at least E_min (subnormals share E_min's spacing); exact via frexp."""
    _, E = np.frexp(a)
    return np.maximum(E - 1, int(np.log2(f.smallest_normal)))


@validate(x=Array(), name=NAME)
def round_to_format(x, name):
    """Return x rounded to the nearest number of the format (halves to even), beyond the range +-inf.

    r = rint(x / u) u with u = 2^(floor(log2|x|) - m) the spacing at |x| (IEEE 754's roundTiesToEven);
    equal to numpy's float16 and float32 casts and torch's bfloat16 cast. Returned as float64.
    """
    f = float_format(name)
    x = np.asarray(x).astype(np.float64)
    a = np.abs(x)
    u = np.ldexp(1.0, _exponent(np.where(a > 0, a, f.smallest_normal), f) - f.man_bits)
    r = np.rint(a / u) * u  # a / u is exact (u is a power of two), so only rint rounds
    r = np.where(r > f.max, np.inf, r)
    return np.copysign(r, x)


@validate(x=Array(), name=NAME)
def spacing(x, name):
    """Return the gap from |x| to the next larger number of the format: 2^(floor(log2|r|) - m), r = |x|
    rounded to the format (np.spacing's convention: 2^(E_min - m) at 0, inf at the largest number)."""
    f = float_format(name)
    r = np.abs(round_to_format(x, name))
    u = np.ldexp(1.0, _exponent(np.where(r > 0, np.minimum(r, f.max), f.smallest_normal), f) - f.man_bits)
    return np.where(r >= f.max, np.inf, u)
