"""Low-bit floating-point formats from scratch: FP8 (E4M3, E5M2), FP6 (E3M2, E2M3), FP4 (E2M1), E8M0.

A code of 1 sign, e exponent and m mantissa bits with biased exponent field E_f and fraction field F is

    normal     (E_f > 0):  (-1)^s 2^(E_f - bias) (1 + F / 2^m)
    subnormal  (E_f = 0):  (-1)^s 2^(1 - bias)   (F / 2^m)

(OCP 8-bit Floating Point Specification (OFP8) rev. 1.0, 2023; OCP Microscaling Formats (MX) v1.0
spec, 2023, sec. 5.3). The formats differ in what the all-ones exponent means:

    fmt    bias  max        inf  NaN codes             ml_dtypes / torch dtype
    e4m3   7     448        no   S.1111.111            float8_e4m3fn  / torch.float8_e4m3fn
    e5m2   15    57344      yes  S.11111.{01,10,11}    float8_e5m2    / torch.float8_e5m2
    e3m2   3     28         no   none                  float6_e3m2fn
    e2m3   1     7.5        no   none                  float6_e2m3fn
    e2m1   1     6          no   none                  float4_e2m1fn
    e8m0   127   2^127      no   0xFF                  float8_e8m0fnu / torch.float8_e8m0fnu

E8M0 (the MX block scale) has no sign and no mantissa: code e means 2^(e - 127), 0xFF is NaN, there
is no zero. The rules of float_encode, each checked bit for bit in tests/test_minifloat_oracle.py:
- rounding: to nearest, ties to even (the code with an even last mantissa bit), straight from the
  input's own precision (one rounding, no double rounding through float32 under rule "ml_dtypes");
  subnormals are kept (no flush to zero); -0.0 keeps its sign;
- E8M0 rounds to the nearer power of two, a tie (1.5 2^k) goes UP, because its implicit mantissa bit
  is the odd "last bit" (ml_dtypes and torch agree on normal inputs);
- overflow (|x| rounds above max) depends on the library, hence `rule`:
    rule="ml_dtypes" (the course's default: ml_dtypes defines all six formats):
        e5m2 -> +-inf, e4m3 -> NaN (S.1111.111), FP6/FP4 saturate to +-max (they have no inf/NaN),
        e8m0 -> NaN; NaN -> the canonical NaN (e5m2: S.11111.10), and FP6/FP4, which have no NaN,
        give the code 0x20 / 0x08 with its sign bit flipped by the input's sign (ml_dtypes 0.7);
        e8m0: zero, negative numbers and NaN -> 0xFF; below 2^-127 -> code 0 (2^-127).
    rule="torch" (torch 2.13's `Tensor.to`): float8_e4m3fn SATURATES, +-inf included, to +-448;
        e5m2 -> +-inf; NaN -> S.1111.111 / S.11111.11; the input is first rounded to float32 (torch
        converts float64 through float). e8m0 works on the float32 bits: the sign is ignored, 0 -> 0,
        inf/NaN -> 0xFF, and a float32 SUBNORMAL input rounds up whenever any bit below its first
        one is set (c10/util/Float8_e8m0fnu-inl.h: the implicit bit is taken as 0, guard = bit 22).
  saturate=True: every overflow and +-inf -> +-max (the MX spec's element conversion, sec. 6.3, and
  torchao's to_mx); NaN stays NaN where the format has one.
"""
from typing import NamedTuple

import numpy as np

from ..core import validation as v
from ..core.validation import Boolean, Choice, validate
from .primitives import INTEGERS


class MiniFloat(NamedTuple):
    """A low-bit float format: field widths, bias, largest finite value and its special codes."""

    name: str
    exp_bits: int
    man_bits: int
    bias: int
    signed: bool
    max: float
    has_inf: bool
    nan_code: int  # the canonical NaN ml_dtypes returns (for FP6/FP4, which have none: its -0)

    @property
    def bits(self):
        return int(self.signed) + self.exp_bits + self.man_bits

    @property
    def e_min(self):
        return 1 - self.bias


FORMATS = {
    "e4m3": MiniFloat("e4m3", 4, 3, 7, True, 448.0, False, 0x7F),
    "e5m2": MiniFloat("e5m2", 5, 2, 15, True, 57344.0, True, 0x7E),
    "e3m2": MiniFloat("e3m2", 3, 2, 3, True, 28.0, False, 0x20),
    "e2m3": MiniFloat("e2m3", 2, 3, 1, True, 7.5, False, 0x20),
    "e2m1": MiniFloat("e2m1", 2, 1, 1, True, 6.0, False, 0x08),
    "e8m0": MiniFloat("e8m0", 8, 0, 127, False, 2.0 ** 127, False, 0xFF),
}
RULES = {"ml_dtypes", "torch"}
FMT = Choice(*FORMATS)


@validate(fmt=FMT)
def float_format(fmt):
    """Return the MiniFloat description of `fmt` ("e4m3", "e5m2", "e3m2", "e2m3", "e2m1", "e8m0")."""
    return FORMATS[fmt]


def _floats(x):
    """Return `x` as a float32 or float64 array (other dtypes as float64)."""
    arr = np.asarray(x)
    return arr.astype(np.float64) if arr.dtype not in (np.float32, np.float64) else arr


class _Reals(v.Constraint):
    """Real numbers, NaN and infinities included (they have codes); empty allowed."""

    def check(self, x, name):
        arr = np.asarray(x)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) \
                or np.iscomplexobj(arr):
            raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
        return _floats(arr)

    def good(self):
        return np.array([1.0, np.nan, np.inf])

    def bad(self):
        return [["a"], "abc", None, np.ones(2) * 1j]


def _round(a, f):
    """Return |x| rounded to the format's grid, ties to even, on an unbounded exponent range above.

    r = rint(a / u) u with u = 2^(max(floor(log2 a), E_min) - m): a / u is exact (u is a power of
    two), so rint is the only rounding and its ties-to-even is the format's (IEEE 754-2019, 4.3.1).
    """
    _, E = np.frexp(np.where(a > 0, a, 1.0))
    u = np.ldexp(1.0, np.maximum(E - 1, f.e_min) - f.man_bits)
    return np.rint(a / u) * u


def _fields(r, f):
    """Return the unsigned code (exponent and fraction fields) of grid values 0 <= r <= max."""
    _, E = np.frexp(np.where(r > 0, r, 1.0))
    E = np.maximum(E - 1, f.e_min)
    normal = r >= 2.0 ** f.e_min
    frac = np.where(normal, r / np.ldexp(1.0, E) - 1.0, r / 2.0 ** f.e_min)
    man = np.rint(frac * 2 ** f.man_bits).astype(np.int64)
    exp = np.where(normal, E + f.bias, 0).astype(np.int64)
    return (exp << f.man_bits) | man


def _encode_signed(x, f, saturate, rule):
    if rule == "torch":
        x = x.astype(np.float32)
    x = x.astype(np.float64)
    sign = np.signbit(x).astype(np.int64) << (f.bits - 1)
    a = np.abs(x)
    nan, inf = np.isnan(a), np.isinf(a)
    r = np.where(inf, np.inf, _round(np.where(nan | inf, 0.0, a), f))
    over = inf | (r > f.max)
    code = _fields(np.minimum(r, f.max), f) | sign  # saturated codes for now
    clamp = saturate or f.name in ("e3m2", "e2m3", "e2m1")  # FP6/FP4 have no inf/NaN: always saturate
    if not clamp and not (rule == "torch" and f.name == "e4m3"):
        over_code = (0x7C if f.has_inf else 0x7F) | sign  # e5m2 -> inf, e4m3 -> NaN
        code = np.where(over, over_code, code)
    nan_code = 0x7F if rule == "torch" else f.nan_code
    return np.where(nan, nan_code ^ sign, code)


def _encode_e8m0(x, rule):
    """E8M0: nearest power of two 2^(e - 127), ties up; NaN 0xFF (rule: module docstring)."""
    if rule == "torch":
        bits = x.astype(np.float32).view(np.uint32).astype(np.int64)
        exp = (bits >> 23) & 0xFF
        g, rest = (bits >> 22) & 1, bits & 0x3FFFFF
        up = (g == 1) & ((rest > 0) | (exp > 0))  # RNE with the implicit bit as the LSB; 2^127 -> NaN
        return np.where(exp == 0xFF, 0xFF, exp + up)
    x = x.astype(np.float64)
    a = np.where(np.isnan(x) | (x <= 0), 1.0, x)
    m, E = np.frexp(a)  # a = m 2^E, m in [0.5, 1): a in [2^(E-1), 2^E)
    e = (E - 1) + (m >= 0.75)  # >= 1.5 2^(E-1) rounds up (a tie goes up)
    code = np.clip(e + 127, 0, 0xFF)  # below 2^-127 -> code 0; 2^128 and beyond -> NaN
    return np.where(np.isnan(x) | (x <= 0) | np.isinf(x), 0xFF, code)


@validate(x=_Reals(), fmt=FMT, saturate=Boolean(), rule=Choice(*sorted(RULES)))
def float_encode(x, fmt, saturate=False, rule="ml_dtypes"):
    """Return the uint8 bit patterns of x rounded to `fmt` (round to nearest, ties to even).

    code = s << (e + m) | E_f << m | F for the nearest value (-1)^s 2^(E_f - bias) (1 + F / 2^m)
    (subnormal: E_f = 0, value 2^(1 - bias) F / 2^m); overflow, NaN and E8M0: see the module
    docstring (OCP OFP8 rev. 1.0; OCP MX v1.0, sec. 5.3 and 6.3). Equal to
    `x.astype(ml_dtypes.<dtype>).view(uint8)` (rule="ml_dtypes") and to torch's `x.to(torch.<dtype>)`
    (rule="torch", FP8 and E8M0) bit for bit. FP6 and FP4 codes sit in the low 6 and 4 bits.
    """
    f, x = FORMATS[fmt], _floats(x)
    if rule == "torch" and f.name not in ("e4m3", "e5m2", "e8m0"):
        raise ValueError(f"rule='torch' covers e4m3, e5m2 and e8m0 (torch has no {fmt} cast), got fmt={fmt!r}")
    with np.errstate(over="ignore", invalid="ignore"):  # float64 -> float32 overflow and NaN are handled
        code = _encode_e8m0(x, rule) if f.name == "e8m0" else _encode_signed(x, f, bool(saturate), rule)
    return np.asarray(code, dtype=np.int64).astype(np.uint8)


@validate(fmt=FMT)
def code_table(fmt):
    """Return the float32 value of every code 0 .. 2^bits - 1 of `fmt` (NaN where the code is NaN)."""
    f = FORMATS[fmt]
    codes = np.arange(2 ** f.bits, dtype=np.int64)
    if f.name == "e8m0":
        return np.where(codes == 0xFF, np.nan, np.ldexp(1.0, codes - 127)).astype(np.float32)
    man = codes & (2 ** f.man_bits - 1)
    exp = (codes >> f.man_bits) & (2 ** f.exp_bits - 1)
    sign = np.where(codes >> (f.bits - 1), -1.0, 1.0)
    mag = np.where(exp > 0, np.ldexp(1.0 + man / 2 ** f.man_bits, exp - f.bias),
                   np.ldexp(man / 2 ** f.man_bits, f.e_min))
    top = exp == 2 ** f.exp_bits - 1
    if f.has_inf:  # e5m2: IEEE-style, all-ones exponent is inf (F = 0) or NaN
        mag = np.where(top & (man == 0), np.inf, np.where(top, np.nan, mag))
    elif f.name == "e4m3":  # only S.1111.111 is NaN; S.1111.110 = 448 is the largest number
        mag = np.where(top & (man == 2 ** f.man_bits - 1), np.nan, mag)
    return (sign * mag).astype(np.float32)


@validate(codes=INTEGERS, fmt=FMT)
def float_decode(codes, fmt):
    """Return the float32 values of the bit patterns `codes` of `fmt` (a table look-up).

    value = (-1)^s 2^(E_f - bias) (1 + F / 2^m), subnormal 2^(1 - bias) F / 2^m, specials as the
    module docstring (OCP OFP8 rev. 1.0; OCP MX v1.0, sec. 5.3); equal to ml_dtypes' and torch's
    `.view(<dtype>)` then cast to float32.
    """
    f, c = FORMATS[fmt], np.asarray(codes)
    if c.size and (c.min() < 0 or c.max() >= 2 ** f.bits):
        raise ValueError(f"codes must be in [0, {2 ** f.bits - 1}] for {fmt}, got values in [{c.min()}, {c.max()}]")
    return code_table(fmt)[c.astype(np.int64)]
