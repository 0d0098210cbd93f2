"""Microscaling (MX) formats from scratch: blocks of 32 elements sharing one power-of-two E8M0 scale.

OCP Microscaling Formats (MX) Specification v1.0 (2023), sec. 5 and 6.3. For each block V of k = 32
consecutive values along the last axis (the input axis of a weight (out, in)):

    shared_exp = clamp(floor(log2(max_i |V_i|)) - emax_elem, -127, 127)    (an all-zero block: -127)
    X          = 2^shared_exp, stored as the E8M0 code shared_exp + 127
    P_i        = element_cast(V_i / X)     (FP: round to nearest even, saturating at +-max)
    V_i ~ P_i X

emax_elem is the exponent of the element format's largest power of two: E4M3 8 (256 <= 448),
E5M2 15, E3M2 4, E2M3 2, E2M1 2, INT8 0. Because X divides max |V| down to [2^emax, 2^(emax+1)),
the largest element lands in the top binade and, for E4M3 (max 1.75 2^8), rounds at most to
1.75 2^8 or saturates: the FLOOR rule can clip the block's largest value by up to 12.5% (E2M1:
max 6 = 1.5 2^2, up to 25%). MXINT8's element is two's complement with an implicit 2^-6
(values q 2^-6, q in [-127, 127] here, symmetric as Microsoft's microxcaling reference; rounding
half to even).

Storage: b bits per element + 8 / 32 for the scale: MXFP8 8.25, MXFP6 6.25, MXFP4 4.25 bits.

Equal bit for bit to torchao 0.18's MXTensor.to_mx (torchao.prototype.mx_formats, default
ScaleCalculationMode.FLOOR, the spec's rule; tests/test_mx_oracle.py): codes, E8M0 scales and
dequantized values. One corner differs, `rule`: for a block whose shared exponent is -127 (max |V|
below about 2^-119), torchao divides by max(X, 2^-126) (float32's smallest normal, a Triton
workaround) but multiplies back by X = 2^-127; rule="torchao" reproduces that, rule="spec" (default)
divides by X. torchao's other modes (CEIL, EVEN: round max|V| to the element's mantissa first,
RCEIL: ceil(log2(max|V| / max_elem)), NVIDIA's cuBLAS rule) change only the scale, never the cast.
torchao has no MXINT8; it is checked against the spec's rules.
"""
import numpy as np

from ..core.validation import Array, Choice, Integer, validate
from .minifloat import float_decode, float_encode
from .primitives import INTEGERS

ELEMENTS = {"mxfp8_e4m3": "e4m3", "mxfp8_e5m2": "e5m2", "mxfp6_e3m2": "e3m2", "mxfp6_e2m3": "e2m3",
            "mxfp4": "e2m1", "mxint8": "int8"}
EMAX = {"e4m3": 8, "e5m2": 15, "e3m2": 4, "e2m3": 2, "e2m1": 2, "int8": 0}
ELEMENT_BITS = {"e4m3": 8, "e5m2": 8, "e3m2": 6, "e2m3": 6, "e2m1": 4, "int8": 8}
BLOCK = 32
FMT, BLOCK_SIZE, RULE = Choice(*ELEMENTS), Integer(minimum=1), Choice("spec", "torchao")
X = Array(min_ndim=1)  # blocks run along the last axis


def _blocks(x, block_size):
    x, k = np.asarray(x).astype(np.float32), block_size
    if x.shape[-1] % k:
        raise ValueError(f"block_size must divide the last axis of x (shape {x.shape}), got {k}")
    return x.reshape(*x.shape[:-1], x.shape[-1] // k, k), k


@validate(x=X, fmt=FMT, block_size=BLOCK_SIZE)
def shared_exponent(x, fmt, block_size=BLOCK):
    """Return the unbiased shared exponent of each block: clamp(floor(log2 max|V|) - emax_elem, -127, 127).

    OCP MX v1.0, sec. 6.3 (the E8M0 code is this + 127); shape x.shape[:-1] + (n_blocks,).
    """
    elem = ELEMENTS[fmt]
    blocks, _ = _blocks(x, block_size)
    amax = np.abs(blocks).max(axis=-1)
    _, E = np.frexp(np.where(amax > 0, amax, 1.0))  # amax = m 2^E, m in [0.5, 1): floor(log2) = E - 1
    e = np.where(amax > 0, E - 1 - EMAX[elem], -127)
    return np.clip(e, -127, 127).astype(np.int64)


def _cast(y, elem):
    """Element codes of the scaled values y = V / X: FP with RNE and saturation, INT8 q = rint(64 y)."""
    if elem == "int8":
        return np.clip(np.rint(y.astype(np.float64) * 64.0), -127, 127).astype(np.int8)
    return float_encode(y, elem, saturate=True)


@validate(x=X, fmt=FMT, block_size=BLOCK_SIZE, rule=RULE)
def mx_quantize(x, fmt, block_size=BLOCK, rule="spec"):
    """Return (codes, scales): element codes (uint8 bit patterns; int8 for "mxint8"), shape of x, and
    the E8M0 scale codes shared_exponent + 127 (uint8), one per block (OCP MX v1.0, sec. 6.3).

    P_i = cast(V_i / 2^shared_exp) in float32; rule="torchao" divides by max(X, 2^-126) (module doc).
    """
    elem = ELEMENTS[fmt]
    blocks, k = _blocks(x, block_size)
    e = shared_exponent(x, fmt, k)
    X = np.ldexp(np.float32(1.0), e).astype(np.float32)[..., None]
    if rule == "torchao":
        X = np.maximum(X, np.float32(2.0 ** -126))
    codes = _cast(blocks / X, elem)
    return codes.reshape(np.shape(x)), (e + 127).astype(np.uint8)


@validate(codes=INTEGERS, scales=INTEGERS, fmt=FMT, block_size=BLOCK_SIZE)
def mx_dequantize(codes, scales, fmt, block_size=BLOCK):
    """Return V_hat = element_value(P_i) * 2^(scale - 127) in float32 (scale code 255: NaN)."""
    elem, k = ELEMENTS[fmt], block_size
    codes, scales = np.asarray(codes), np.asarray(scales)
    if codes.ndim == 0 or codes.shape[-1] % k or scales.shape != codes.shape[:-1] + (codes.shape[-1] // k,):
        raise ValueError(f"scales must have shape codes.shape[:-1] + (n_blocks,) for block_size {k}, got codes "
                         f"{codes.shape} and scales {scales.shape}")
    vals = (codes.astype(np.float32) / np.float32(64.0)) if elem == "int8" else float_decode(codes, elem)
    X = float_decode(scales, "e8m0")[..., None]
    return (vals.reshape(*scales.shape, k) * X).reshape(codes.shape)


@validate(x=X, fmt=FMT, block_size=BLOCK_SIZE, rule=RULE)
def mx_fake_quantize(x, fmt, block_size=BLOCK, rule="spec"):
    """Return x quantized to the MX format and back, float32 (mx_dequantize(mx_quantize(x)))."""
    codes, scales = mx_quantize(x, fmt, block_size, rule)
    return mx_dequantize(codes, scales, fmt, block_size)


@validate(fmt=FMT, block_size=BLOCK_SIZE)
def mx_bits_per_element(fmt, block_size=BLOCK):
    """Return b + 8 / k: the element's bits plus its share of the 8-bit E8M0 scale (MXFP4: 4.25)."""
    return ELEMENT_BITS[ELEMENTS[fmt]] + 8 / block_size
