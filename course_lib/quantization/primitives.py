"""Uniform (affine) quantization from scratch: ranges, scale and zero point, quantize, fake-quantize.

One notation for the whole course (Jacob et al. 2018, "Quantization and Training of Neural Networks
for Efficient Integer-Arithmetic-Only Inference", CVPR, eqs. 1-2). The scale is a DIVISOR:

    q = clamp(round(x / scale) + zero_point, q_min, q_max),     x ~ (q - zero_point) * scale

`round` is half to even (np.rint), as torch's kernels. The frameworks' rules, each matched bit for bit
by an option and checked in tests/test_quantization_oracle.py:
- rule="torch": torch's `fake_quantize_per_tensor_affine` and `..._per_channel_affine` (pinned 2.13)
  compute in float32 and MULTIPLY by the float32 reciprocal 1 / scale, which can move a value across
  a half: q = round(x * (1 / scale)) + zero_point;
- rule="fbgemm": torch's `quantize_per_tensor` (FBGEMM's AVX2 kernel) rounds once after a fused
  multiply-add, q = round(fma(x, 1 / scale, zero_point)), so adding the zero point can move a value
  across a half too;
- TensorFlow's `fake_quant_with_min_max_vars` nudges the range so that 0 is representable and rounds
  halves UP (floor(v + 0.5)): `fake_quant_with_min_max`.
"""
import numpy as np

from ..core import validation as v
from ..core.validation import Array, Bits, Boolean, Choice, Integer, Optional, Real, validate
from ..core.ops import conv_output_size, im2col

EPS = float(np.finfo(np.float32).eps)  # PyTorch's observers keep scale >= eps (torch/ao/quantization/observer.py)
BITS_RANGE = (2, v.MAX_BITS)  # the one range of signed-grid bit widths (core.validation.MAX_BITS)


class _Scales(v.Constraint):
    """A scale or one per channel: finite numbers > 0 (the scale is a divisor); returns the array, dtype kept."""

    def check(self, x, name):
        arr = v.as_array(x, name)
        if np.any(~(arr > 0)):
            raise ValueError(f"{name} must be > 0, got {arr.tolist()}")
        return arr

    def good(self):
        return 0.1

    def bad(self):
        return ["abc", float("nan"), 0.0, [0.1, -1.0]]


class _ZeroPoints(v.Constraint):
    """A zero point or one per channel: integer(s) (the range relation to q_min, q_max is checked in the body)."""

    def check(self, x, name):
        zp = np.asarray(x)
        if zp.dtype.kind not in "iu":
            raise ValueError(f"{name} must be integer(s), got {zp.tolist()!r:.80}")
        return zp

    def good(self):
        return 0

    def bad(self):
        return [0.5, "abc", True]


class _Integers(v.Constraint):
    """An integer array-like (int8 values, int32 accumulators); returns it as a numpy array, dtype kept."""

    def check(self, x, name):
        try:
            arr = np.asarray(x)
        except Exception as e:  # ragged lists and the like
            raise TypeError(f"{name} must be array-like of integers, got {type(x).__name__}") from e
        if arr.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
        return arr

    def good(self):
        return np.ones((2, 2), dtype=np.int64)

    def bad(self):
        return ["a", [1.5], [True, False]]


SCALES, ZERO_POINTS, INTEGERS = _Scales(), _ZeroPoints(), _Integers()
SIGNED_BITS, ROUNDING = Bits(minimum=BITS_RANGE[0]), Choice("double", "single", "fp32")


def _bits(bits, name="bits"):
    """Return bits as an int in BITS_RANGE, or raise a ValueError naming the argument."""
    return v.bits(bits, name, minimum=BITS_RANGE[0])


@validate(bits=SIGNED_BITS, signed=Boolean(), narrow_range=Boolean())
def q_range(bits=8, signed=True, narrow_range=False):
    """Return (q_min, q_max): [-2^(b-1), 2^(b-1) - 1] signed or [0, 2^b - 1] unsigned; narrow_range
    drops the lowest value (e.g. int8 [-127, 127], symmetric around 0)."""
    bits = _bits(bits)
    q_min, q_max = (-2 ** (bits - 1), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)
    return q_min + bool(narrow_range), q_max


def _range(x_min, x_max):
    lo, hi = v.as_array(x_min, "x_min").astype(np.float32), v.as_array(x_max, "x_max").astype(np.float32)
    if lo.shape != hi.shape:
        raise ValueError(f"x_min and x_max must have the same shape, got {lo.shape} and {hi.shape}")
    if np.any(lo > hi):
        raise ValueError(f"x_min must be <= x_max, got x_min={lo.tolist()} and x_max={hi.tolist()}")
    return np.minimum(lo, 0), np.maximum(hi, 0)  # the range always holds 0, so 0 is exactly representable


@validate(x_min=Array(), x_max=Array(), bits=SIGNED_BITS, symmetric=Boolean(), signed=Boolean(), narrow_range=Boolean())
def qparams(x_min, x_max, bits=8, symmetric=False, signed=True, narrow_range=False):
    """Return (scale, zero_point) for the range [x_min, x_max], per tensor or per channel (arrays).

    affine:    scale = (x_max - x_min) / (q_max - q_min),  zero_point = q_min - round(x_min / scale)
    symmetric: scale = max(|x_min|, |x_max|) / ((q_max - q_min) / 2),  zero_point = 0 (signed) or
               the middle (q_min + q_max + 1) // 2 (unsigned), as torch's observers.
    The range is first widened to hold 0 (so that zero padding is exact, Jacob et al. 2018, sec. 2.1),
    and scale >= float32 eps (PyTorch's observer rule: a constant tensor cannot divide by 0).
    Computed in float32, as torch's observers do.
    """
    lo, hi = _range(x_min, x_max)
    q_min, q_max = q_range(bits, signed, narrow_range)
    if symmetric:
        scale = np.maximum(np.maximum(-lo, hi) / np.float32((q_max - q_min) / 2), np.float32(EPS))
        zp = np.full(lo.shape, 0 if signed else (q_min + q_max + 1) // 2, dtype=np.int64)
    else:
        scale = np.maximum((hi - lo) / np.float32(q_max - q_min), np.float32(EPS))
        zp = np.clip(q_min - np.rint(lo / scale).astype(np.int64), q_min, q_max)
    if scale.ndim == 0:
        return float(scale), int(zp)
    return scale.astype(np.float32), zp


def _per_channel(x, a, name, axis):
    """Return `a` shaped to broadcast along `axis` of x (a scalar stays a scalar)."""
    a = np.asarray(a)
    if axis is None:
        if a.ndim:
            raise ValueError(f"{name} must be a scalar when axis is None, got shape {a.shape}")
        return a
    ax = v.axis(axis, x.ndim)
    if a.shape != (x.shape[ax],):
        raise ValueError(f"{name} must have one entry per channel along axis {axis} ({x.shape[ax]}), got shape {a.shape}")
    shape = [1] * x.ndim
    shape[ax] = -1
    return a.reshape(shape)


def _check(x, scale, zero_point, q_min, q_max, axis):
    x = v.as_array(x, "x")
    scale = v.as_array(scale, "scale")
    if np.any(scale <= 0):
        raise ValueError(f"scale must be > 0, got {scale.tolist()}")
    q_min, q_max = v.integer(q_min, "q_min"), v.integer(q_max, "q_max")
    if q_min >= q_max:
        raise ValueError(f"q_min must be < q_max, got q_min={q_min}, q_max={q_max}")
    zp = np.asarray(zero_point)
    if zp.dtype.kind not in "iu" or np.any(zp < q_min) or np.any(zp > q_max):
        raise ValueError(f"zero_point must be integer(s) in [q_min, q_max] = [{q_min}, {q_max}], got {zp.tolist()}")
    return x, _per_channel(x, scale, "scale", axis), _per_channel(x, zp, "zero_point", axis), q_min, q_max


RULES = {"course", "torch", "fbgemm"}
RULE = Choice(*sorted(RULES))


@validate(x=Array(), scale=SCALES, zero_point=ZERO_POINTS, q_min=Integer(), q_max=Integer(), axis=Optional(Integer()),
          rule=RULE)
def quantize(x, scale, zero_point, q_min, q_max, axis=None, rule="course"):
    """Return q = clamp(round(x / scale) + zero_point, q_min, q_max) as int64 (round: half to even).

    axis=None: one scale and zero point; axis=k: arrays with one entry per channel along axis k.
    rule: "course" (x / scale in float64), or a framework's float32 rule ("torch", "fbgemm"; module doc).
    """
    x, scale, zp, q_min, q_max = _check(x, scale, zero_point, q_min, q_max, axis)
    if rule == "course":
        q = np.rint(x / scale).astype(np.int64) + zp
    else:
        inv = np.float32(1.0) / scale.astype(np.float32)
        x32 = x.astype(np.float32)
        if rule == "torch":
            q = np.rint(x32 * inv).astype(np.int64) + zp
        else:  # one rounding of the exact x * inv + zp (a float64 product of two float32 is exact)
            q = np.rint((x32.astype(np.float64) * inv.astype(np.float64) + zp).astype(np.float32)).astype(np.int64)
    return np.clip(q, q_min, q_max)


@validate(q=INTEGERS, scale=SCALES, zero_point=ZERO_POINTS, axis=Optional(Integer()))
def dequantize(q, scale, zero_point, axis=None):
    """Return x_hat = (q - zero_point) * scale (Jacob et al. 2018, eq. 1)."""
    q = v.as_array(q, "q")
    if q.dtype.kind not in "iu":
        raise TypeError(f"q must hold integers, got dtype {q.dtype}")
    scale = v.as_array(scale, "scale")
    if np.any(~(scale > 0)):
        raise ValueError(f"scale must be > 0, got {scale.tolist()}")
    zp = np.asarray(zero_point)
    if zp.dtype.kind not in "iu":
        raise ValueError(f"zero_point must be integer(s), got {zp.tolist()}")
    scale = _per_channel(q, scale, "scale", axis)
    return (q - _per_channel(q, zp, "zero_point", axis)) * scale


@validate(x=Array(), scale=SCALES, zero_point=ZERO_POINTS, q_min=Integer(), q_max=Integer(), axis=Optional(Integer()),
          rule=RULE)
def fake_quantize(x, scale, zero_point, q_min, q_max, axis=None, rule="course"):
    """Return dequantize(quantize(x)): x rounded to the nearest representable value, in float.

    rule="torch" reproduces torch's fake_quantize_per_{tensor,channel}_affine bit for bit (float32).
    """
    if rule == "torch":
        return _fake_quantize_float32(*_check(x, scale, zero_point, q_min, q_max, axis))
    q = quantize(x, scale, zero_point, q_min, q_max, axis, rule)
    if rule != "course":
        s = _per_channel(q, np.asarray(scale, dtype=np.float32), "scale", axis)
        return ((q - _per_channel(q, np.asarray(zero_point), "zero_point", axis)).astype(np.float32) * s)
    return dequantize(q, scale, zero_point, axis)


def _fake_quantize_float32(x, scale, zp, q_min, q_max):
    """Return torch's fake-quant, (clamp(rint(x * inv) + zp, q_min, q_max) - zp) * scale, inv = 1 / scale,
    in five float32 passes over one output buffer (no int64 temporaries, as fast as torch's kernel).

    Exact rewrite: clamp(r + zp, q_min, q_max) - zp = clamp(r, q_min - zp, q_max - zp) for the integer
    r = rint(x * inv), since integers below 2^24 are exact in float32 and a larger r clamps to the same
    bound; the final + 0 turns the -0.0 of a negative value rounded to 0 into torch's +0.0. (Where
    |x * inv| >= 2^63 torch's int64 cast is undefined; here such a value clamps to q_min or q_max.)
    """
    s32 = scale.astype(np.float32)
    out = np.multiply(x, np.float32(1.0) / s32, dtype=np.float32)
    np.rint(out, out=out)
    np.clip(out, (q_min - zp).astype(np.float32), (q_max - zp).astype(np.float32), out=out)
    out *= s32
    out += np.float32(0.0)
    return out


@validate(x_min=Real(), x_max=Real(), bits=SIGNED_BITS, narrow_range=Boolean())
def nudge(x_min, x_max, bits=8, narrow_range=False):
    """Return TensorFlow's (nudged_min, nudged_max, scale, inv_scale): the range moved so that 0 is a grid point.

    q_min = 1 if narrow_range else 0, q_max = 2^bits - 1 (TF's unsigned grid),
    scale = (x_max - x_min) / (q_max - q_min), inv_scale = (q_max - q_min) / (x_max - x_min) (computed
    again, not 1 / scale), zero_point = round(q_min - x_min / scale) clamped to [q_min, q_max] (halves
    away from 0: std::round), nudged_min = (q_min - zero_point) scale, nudged_max = (q_max - zero_point) scale;
    all in float32 (Nudge in tensorflow/core/kernels/fake_quant_ops_functor.h). Needs x_min < x_max.
    """
    lo, hi = (np.float32(v.real(a, n)) for a, n in ((x_min, "x_min"), (x_max, "x_max")))
    if not lo < hi:
        raise ValueError(f"x_min must be < x_max, got {lo} and {hi}")
    bits = _bits(bits)
    q_min, q_max = np.float32(1 if narrow_range else 0), np.float32(2 ** bits - 1)
    scale, inv = (hi - lo) / (q_max - q_min), (q_max - q_min) / (hi - lo)
    zp_from_min = q_min - lo / scale
    zp = q_min if zp_from_min < q_min else q_max if zp_from_min > q_max else np.float32(np.floor(zp_from_min + np.float32(0.5)))
    return (q_min - zp) * scale, (q_max - zp) * scale, scale, inv


def _tf_range(x_min, x_max):
    lo, hi = (np.float32(v.real(a, n)) for a, n in ((x_min, "x_min"), (x_max, "x_max")))
    if lo > hi:
        raise ValueError(f"x_min must be <= x_max, got {lo} and {hi}")
    return lo, hi


def _tf_fake_quant(x, lo, hi, bits, narrow_range, multiply):
    """TF's fake quant of float32 x on one range; multiply=True uses x * inv_scale, else x / scale."""
    if lo == hi:  # TF returns zeros for [0, 0]; any other constant range gives x_min here
        return np.full_like(x, lo)
    n_min, n_max, scale, inv = nudge(lo, hi, bits, narrow_range)
    q_0 = np.floor(-n_min * inv + np.float32(0.5))
    shifted = np.clip(x, n_min, n_max) - n_min
    return np.floor((shifted * inv if multiply else shifted / scale) - q_0 + np.float32(0.5)) * scale


@validate(x=Array(), x_min=Real(), x_max=Real(), bits=SIGNED_BITS, narrow_range=Boolean())
def fake_quant_with_min_max(x, x_min, x_max, bits=8, narrow_range=False):
    """Return TensorFlow's fake_quant_with_min_max_vars(x, x_min, x_max, num_bits, narrow_range).

    With the nudged range of `nudge` and q_0 = floor(-nudged_min inv_scale + 0.5):
        out = floor((clamp(x, nudged_min, nudged_max) - nudged_min) / scale - q_0 + 0.5) scale
    in float32, as TF's FakeQuantWithMinMaxVarsFunctor: it DIVIDES by the scale, and halves round UP.
    A range of exactly [0, 0] returns zeros, as TF; any other constant range returns x_min.
    """
    x = v.as_array(x, "x").astype(np.float32)
    lo, hi = _tf_range(x_min, x_max)
    return _tf_fake_quant(x, lo, hi, _bits(bits), narrow_range, multiply=False)


@validate(x=Array(), x_min=Array(), x_max=Array(), bits=SIGNED_BITS, narrow_range=Boolean())
def fake_quant_with_min_max_per_channel(x, x_min, x_max, bits=8, narrow_range=False):
    """Return TensorFlow's fake_quant_with_min_max_vars_per_channel: one range per entry of the LAST axis.

    The same as fake_quant_with_min_max on each channel, except that TF's per-channel functor
    (FakeQuantWithMinMaxVarsPerChannelFunctor) MULTIPLIES by inv_scale = (q_max - q_min) / (x_max - x_min)
    instead of dividing by scale: (clamp(x) - nudged_min) * inv_scale - q_0 + 0.5, floored, times scale.
    The two round differently on a few inputs in 10^7 (tests/test_quantization_oracle.py).
    """
    x = v.as_array(x, "x").astype(np.float32)
    lo, hi = v.as_array(x_min, "x_min").astype(np.float32), v.as_array(x_max, "x_max").astype(np.float32)
    if x.ndim == 0 or lo.shape != (x.shape[-1],) or hi.shape != lo.shape:
        raise ValueError(f"x_min and x_max must have one entry per channel (last axis of x), got {lo.shape}, "
                         f"{hi.shape} for x of shape {x.shape}")
    bits, out = _bits(bits), np.empty_like(x)
    for c in range(len(lo)):
        out[..., c] = _tf_fake_quant(x[..., c], *_tf_range(lo[c], hi[c]), bits, narrow_range, multiply=True)
    return out


# ----------------------------------------------------------------------------- the one weight grid
@validate(w=Array(), bits=SIGNED_BITS, per_channel=Boolean())
def symmetric_weight_scale(w, bits=8, per_channel=False):
    """Return the scale of the course's one weight grid: symmetric, narrow range, zero point 0,
    scale = max(max|w| / (2^(b-1) - 1), eps) in float32, per tensor (a float) or per output channel
    (axis 0, a float32 array). Krishnamoorthi 2018, "Quantizing deep convolutional networks for
    efficient inference: A whitepaper", sec. 2.2 eq. 10 (symmetric) and sec. 2.6 (per channel);
    TFLite's int8 weights [-127, 127]. Equal to qparams(-a, a, bits, symmetric=True, narrow_range=True)."""
    w = v.as_array(w, "w")
    q_max = np.float32(q_range(bits)[1])
    a = np.abs(w.astype(np.float32))
    amax = a.reshape(len(a), -1).max(axis=1) if per_channel and w.ndim else a.max()
    scale = np.maximum(amax / q_max, np.float32(EPS)).astype(np.float32)
    return scale if per_channel else float(scale)


@validate(w=Array(), bits=SIGNED_BITS, per_channel=Boolean())
def quantize_weights(w, bits=8, per_channel=False):
    """Return (q_w, scale): w on the one weight grid, q_w = clamp(round(w / scale), -q_max, q_max)
    (int64, q_max = 2^(b-1) - 1; w / scale in float32, as TFLite's converter: bit for bit with LiteRT)."""
    scale = symmetric_weight_scale(w, bits, per_channel)
    q_max = q_range(bits)[1]
    s = np.asarray(scale, dtype=np.float32).reshape((-1,) + (1,) * (np.ndim(w) - 1) if per_channel else ())
    return np.clip(np.rint(np.asarray(w, dtype=np.float32) / s), -q_max, q_max).astype(np.int64), scale


# ----------------------------------------------------------------------------- integer-only arithmetic
INT32_MIN, INT32_MAX = -2 ** 31, 2 ** 31 - 1


@validate(M=Real(low=0.0))
def quantize_multiplier(M):
    """Return (M_0, shift) with M ~ M_0 * 2^(shift - 31) and M_0 in [2^30, 2^31): a real multiplier
    as a 31-bit fixed-point integer and a power of two (TFLite's QuantizeMultiplier; Jacob et al. 2018,
    sec. 2.2). M = 0 gives (0, 0); a multiplier below 2^-31 flushes to (0, 0) as TFLite does."""
    M_0, shift = _quantize_multipliers(np.array([v.real(M, "M", low=0.0)]))
    return int(M_0[0]), int(shift[0])


def _quantize_multipliers(M):
    """quantize_multiplier for an array of M >= 0 at once (int64 arrays M_0 and shift)."""
    frac, shift = np.frexp(M)  # M = frac * 2^shift, frac in [0.5, 1)
    M_0 = np.floor(frac * 2.0 ** 31 + 0.5).astype(np.int64)  # TfLiteRound: halves away from 0; exact in float64
    carry = M_0 == 2 ** 31
    M_0, shift = np.where(carry, M_0 // 2, M_0), np.where(carry, shift + 1, shift).astype(np.int64)
    flush = (M == 0.0) | (shift < -31)
    return np.where(flush, 0, M_0), np.where(flush, 0, shift)


def _int_array(x, name):
    x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers, got dtype {x.dtype}")
    return x.astype(np.int64)


@validate(a=INTEGERS, b=INTEGERS)
def saturating_rounding_doubling_high_mul(a, b):
    """Return the high 32 bits of 2 a b, rounded to nearest, halves towards +inf (gemmlowp's SRDHM)."""
    a, b = _int_array(a, "a"), _int_array(b, "b")
    ab = a * b
    out = (ab + (1 << 30)) >> 31  # floor((ab + 2^30) / 2^31): ties go up
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, out)


@validate(x=INTEGERS, exponent=Integer(minimum=0, maximum=31))
def rounding_divide_by_pot(x, exponent):
    """Return x / 2^exponent rounded to nearest, halves away from zero (gemmlowp's RoundingDivideByPOT)."""
    x = _int_array(x, "x")
    exponent = v.integer(exponent, "exponent")
    if not 0 <= exponent <= 31:
        raise ValueError(f"exponent must be in [0, 31], got {exponent}")
    mask = (1 << exponent) - 1
    remainder, threshold = x & mask, (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


@validate(acc=INTEGERS, M_0=Integer(minimum=0, maximum=2 ** 31 - 1), shift=Integer(minimum=-31, maximum=30),
          rounding=Choice("double", "single"))
def multiply_by_quantized_multiplier(acc, M_0, shift, rounding="double"):
    """Return round(acc * M_0 * 2^(shift - 31)) in integer arithmetic, as TFLite requantizes int32 sums.

    rounding="double": gemmlowp's two roundings, RDBPOT(SRDHM(acc * 2^max(shift, 0), M_0), max(-shift, 0));
    rounding="single": TFLITE_SINGLE_ROUNDING's one, (acc M_0 + 2^(30 - shift)) >> (31 - shift).
    """
    acc = v.as_array(acc, "acc")
    if acc.dtype.kind not in "iu":
        raise TypeError(f"acc must hold integers (int32 accumulators), got dtype {acc.dtype}")
    M_0, shift = v.integer(M_0, "M_0", minimum=0), v.integer(shift, "shift")
    if M_0 >= 2 ** 31 or not -31 <= shift <= 30:
        raise ValueError(f"M_0 must be in [0, 2^31) and shift in [-31, 30], got M_0={M_0}, shift={shift}")
    return _multiply(acc.astype(np.int64), np.int64(M_0), np.int64(shift), rounding)


def _multiply(acc, M_0, shift, rounding):
    """multiply_by_quantized_multiplier on int64 arrays; M_0 and shift broadcast (one per output channel)."""
    if rounding == "single":
        right = 31 - shift
        return (acc * M_0 + np.left_shift(np.int64(1), right - 1)) >> right
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
    x = saturating_rounding_doubling_high_mul(acc << left, M_0)
    mask = np.left_shift(np.int64(1), right) - 1
    remainder, threshold = x & mask, (mask >> 1) + (x < 0)  # rounding_divide_by_pot, per-channel exponent
    return (x >> right) + (remainder > threshold)


@validate(acc=INTEGERS, M=Array(), y_zero_point=Integer(), q_min=Integer(), q_max=Integer(), rounding=ROUNDING)
def requantize(acc, M, y_zero_point, q_min=-128, q_max=127, rounding="single"):
    """Return clamp(y_zero_point + round(acc * M), q_min, q_max): an int32 sum scaled to the output's
    integers with one multiplier per output channel (M: a number or one per column of acc).

    rounding="single" / "double": M as a fixed-point M_0 and shift (multiply_by_quantized_multiplier),
    all channels at once (M_0 and shift are arrays that broadcast along the last axis of acc);
    rounding="fp32": XNNPACK's float requantization, rint(float32(acc) * float32(M)) (halves to even).
    """
    acc = _int_array(v.as_array(acc, "acc"), "acc")
    M = np.broadcast_to(np.asarray(M, dtype=float), acc.shape[-1:])
    if not np.all(np.isfinite(M) & (M >= 0)):
        raise ValueError(f"M must be finite and >= 0, got {M.tolist()[:5]}")
    q_min, q_max = v.integer(q_min, "q_min"), v.integer(q_max, "q_max")
    if q_min > q_max:
        raise ValueError(f"q_min must be <= q_max, got q_min={q_min}, q_max={q_max}")
    y_zero_point = v.integer(y_zero_point, "y_zero_point")  # a fractional zero point is not a grid point
    if rounding == "fp32":
        scaled = acc.astype(np.float32) * M.astype(np.float32)  # one float32 rounding, then rint
        return np.clip(np.rint(scaled).astype(np.int64) + y_zero_point, q_min, q_max)
    M_0, shift = _quantize_multipliers(M)
    out = _multiply(acc, M_0, shift, rounding)
    return np.clip(out + y_zero_point, q_min, q_max)


def _max_abs(a):
    return max(-int(a.min()), int(a.max())) if a.size else 0


@validate(a=INTEGERS, b=INTEGERS)
def int_matmul(a, b):
    """Return a @ b of integer matrices exactly, as int64, with a float BLAS product.

    Every product and partial sum is an integer of magnitude <= K max|a| max|b|; below 2^24 float32
    holds it exactly, so sgemm is exact in any summation order. K is split into chunks that stay below
    2^24 and the chunks' sums are added in int64 (numpy's own integer matmul uses no BLAS: 100x slower).
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind not in "iu" or b.dtype.kind not in "iu":
        raise TypeError(f"a and b must hold integers, got dtypes {a.dtype} and {b.dtype}")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"a must be (n, k) and b (k, m), got {a.shape} and {b.shape}")
    peak = max(_max_abs(a) * _max_abs(b), 1)
    if peak >= 2 ** 24:
        return a.astype(np.int64) @ b.astype(np.int64)  # products too large for float32: numpy's int64 loop
    K = a.shape[1]
    chunks = -(-K * peak // (2 ** 24 - 1))  # so that chunk * peak < 2^24
    step = -(-K // max(chunks, 1))
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    if step >= K:
        return (a32 @ b32).astype(np.int64)
    acc = np.zeros((a.shape[0], b.shape[1]), dtype=np.int64)
    for k in range(0, K, step):
        acc += (a32[:, k:k + step] @ b32[k:k + step]).astype(np.int64)
    return acc


@validate(x_scale=SCALES, w_scale=SCALES, y_scale=SCALES, rounding=ROUNDING)
def requantization_multiplier(x_scale, w_scale, y_scale, rounding="single"):
    """Return M = x_scale * w_scale / y_scale (Jacob et al. 2018, eq. 5), per output channel if w_scale
    is an array: in double from the float32 scales as TFLite, or in float32, left to right, as XNNPACK
    (rounding="fp32": (x_scale * w_scale) / y_scale, each step rounded to float32)."""
    f = np.float32 if rounding == "fp32" else np.float64
    s_x, s_w, s_y = (np.asarray(s, dtype=np.float32).astype(f) for s in (x_scale, w_scale, y_scale))
    if np.any(s_x <= 0) or np.any(s_w <= 0) or np.any(s_y <= 0):
        raise ValueError("x_scale, w_scale and y_scale must be > 0")
    return s_x * s_w / s_y


@validate(q_x=INTEGERS, x_scale=SCALES, x_zero_point=Integer(), q_w=INTEGERS, w_scale=SCALES, y_scale=SCALES,
          y_zero_point=Integer(), q_bias=Optional(INTEGERS), relu=Boolean(), rounding=ROUNDING)
def int8_dense(q_x, x_scale, x_zero_point, q_w, w_scale, y_scale, y_zero_point, q_bias=None, relu=False,
               rounding="single"):
    """Return the int8 output of y = x W^T + b with the integer arithmetic of Jacob et al. 2018, eqs. 7-9.

    acc = sum_k (q_x - x_zero_point) q_w (int32; weights symmetric, zero point 0) + q_bias (int32,
    scale x_scale * w_scale), then requantize with M = x_scale w_scale / y_scale, per output channel
    when w_scale is an array; a fused ReLU clamps at y_zero_point, as TFLite's int8 FULLY_CONNECTED.
    The sums are EXACT integers but numpy has no integer matrix product: `int_matmul` computes them
    with a float32 BLAS product (sgemm) on integer-valued floats. A model of the arithmetic, not a
    fast integer kernel.
    """
    q_x, q_w = np.asarray(q_x), np.asarray(q_w)  # kept in their own integer dtype: no int64 copies
    for a, name in ((q_x, "q_x"), (q_w, "q_w")):
        if a.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integers, got dtype {a.dtype}")
        if a.size and (a.min() < -128 or a.max() > 127):
            raise ValueError(f"{name} must hold int8 values in [-128, 127], got [{a.min()}, {a.max()}]")
    if q_x.ndim != 2 or q_w.ndim != 2 or q_x.shape[1] != q_w.shape[1]:
        raise ValueError(f"q_x must be (n, in) and q_w (out, in) with the same in, got {q_x.shape} and {q_w.shape}")
    acc = int_matmul(q_x.astype(np.int32) - int(x_zero_point), q_w.T)  # exact int32 sums via float32 BLAS
    if q_bias is not None:
        acc = acc + _int_array(q_bias, "q_bias")
    M = requantization_multiplier(x_scale, w_scale, y_scale, rounding)
    return requantize(acc, M, y_zero_point, int(y_zero_point) if relu else -128, 127, rounding)


@validate(q_x=INTEGERS, x_scale=SCALES, x_zero_point=Integer(), q_w=INTEGERS, w_scale=SCALES, y_scale=SCALES,
          y_zero_point=Integer(), q_bias=Optional(INTEGERS), stride=Integer(minimum=1), padding=Integer(minimum=0),
          relu=Boolean(), rounding=ROUNDING)
def int8_conv2d(q_x, x_scale, x_zero_point, q_w, w_scale, y_scale, y_zero_point, q_bias=None, stride=1,
                padding=0, relu=False, rounding="single"):
    """Return the int8 output of a convolution computed with integers only (TFLite's int8 CONV_2D).

    acc[o, l] = sum_k q_w[o, k] (cols(q_x - x_zero_point))[k, l] + q_bias[o]   (int32, im2col)
    then requantize per output channel with M_o = x_scale w_scale[o] / y_scale. Padding adds real
    zeros, i.e. the integer x_zero_point (0 must be exactly representable: Jacob et al. 2018, sec. 2.1).
    The sums are an int64 einsum (exact, slow). NCHW in, NCHW out.
    """
    q_x, q_w = _int_array(q_x, "q_x"), _int_array(q_w, "q_w")
    if q_x.ndim != 4 or q_w.ndim != 4 or q_x.shape[1] != q_w.shape[1] or q_w.shape[2] != q_w.shape[3]:
        raise ValueError(f"q_x must be (n, c, h, w) and q_w (out, c, k, k) with the same c, got {q_x.shape} "
                         f"and {q_w.shape}")
    n, (c_out, _, k, _) = len(q_x), q_w.shape
    stride, padding = v.integer(stride, "stride", minimum=1), v.integer(padding, "padding", minimum=0)
    cols = im2col(q_x - int(x_zero_point), k, k, stride, padding)  # (n, c k k, l): zero padding = real 0
    acc = np.einsum("ok,nkl->nlo", q_w.reshape(c_out, -1), cols)  # int64, exact
    if q_bias is not None:
        acc = acc + _int_array(q_bias, "q_bias")
    M = requantization_multiplier(x_scale, w_scale, y_scale, rounding)
    q_y = requantize(acc, M, y_zero_point, int(y_zero_point) if relu else -128, 127, rounding)
    h_out, w_out = (conv_output_size(s, k, stride, padding) for s in q_x.shape[2:])
    return q_y.transpose(0, 2, 1).reshape(n, c_out, h_out, w_out)


@validate(q_x=INTEGERS, kernel_size=Integer(minimum=1), stride=Optional(Integer(minimum=1)))
def int8_max_pool2d(q_x, kernel_size=2, stride=None):
    """Return the k x k window maxima of an int8 tensor (n, c, h, w): max commutes with the monotone
    map q -> (q - zero_point) scale, so the output keeps the input's scale and zero point (TFLite)."""
    q_x = _int_array(q_x, "q_x")
    if q_x.ndim != 4:
        raise ValueError(f"q_x must be (n, c, h, w), got shape {q_x.shape}")
    k = v.integer(kernel_size, "kernel_size", minimum=1)
    stride = k if stride is None else v.integer(stride, "stride", minimum=1)
    n, c, h, w = q_x.shape
    cols = im2col(q_x.reshape(n * c, 1, h, w), k, k, stride)
    return cols.max(axis=1).reshape(n, c, conv_output_size(h, k, stride), conv_output_size(w, k, stride))
