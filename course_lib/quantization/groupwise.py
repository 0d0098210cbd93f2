"""Group-wise quantization from scratch: one scale (and zero point) per group of consecutive weights.

A weight matrix W (out, in) is cut along its INPUT axis into groups of g weights (g = 32, 64, 128);
group (o, j) holds W[o, j g : (j + 1) g] and gets its own scale, so an outlier only spoils its own
g weights. It is per-channel quantization with a block size (torchao's quant_primitives:
block_size = (1, g)): the groups are reshaped into rows and quantized per row by the same primitives
as every other granularity (course_lib.quantization.primitives.qparams / quantize):

    scale_oj = max(|min|, |max|) / ((q_max - q_min) / 2)                  (symmetric, zero point 0)
    scale_oj = (max - min) / (q_max - q_min), z_oj = q_min - round(min / scale_oj)   (asymmetric)
    q = clamp(round(w * (1 / scale_oj)) + z_oj, q_min, q_max),   w_hat = (q - z_oj) scale_oj

with min <= 0 <= max of the group. Storage: b bits per weight plus, per group of g, a scale (16 bits
as fp16/bf16 in practice) and an asymmetric zero point: b + 16 / g (+ b / g) bits per weight, e.g.
4 + 16 / 64 = 4.25 (Frantar et al. 2023, GPTQ, ICLR, sec. 5; Lin et al. 2024, AWQ, MLSys, sec. 4).

Equal bit for bit to torchao 0.18's choose_qparams_affine / quantize_affine / dequantize_affine with
block_size=(1, g) on the CPU (tests/test_groupwise_oracle.py): float32 throughout, round half to even,
q = round(w * (1 / scale)), as primitives' rule="torch". One difference, a documented option: torchao
clamps the scale at eps = finfo(float32).smallest_normal (about 1.2e-38) by default, the course at
float32's eps (about 1.2e-7, as torch's observers); `eps` selects either. It only matters for a group
whose range is below eps (q_max - q_min), e.g. all zeros.
"""
import numpy as np

from ..core.validation import Array, Boolean, Integer, Positive, Real, validate
from . import primitives as P

TORCHAO_EPS = float(np.finfo(np.float32).smallest_normal)  # torchao's default clamp of the scale
W, GROUP_SIZE, SYMMETRIC = Array(ndim=2), Integer(minimum=1), Boolean()  # w (out, in)


def _weights(w, group_size):
    w, g = np.asarray(w), group_size
    if w.shape[1] % g:
        raise ValueError(f"group_size must divide the input size {w.shape[1]}, got {g}")
    return w.astype(np.float32), g


@validate(w=W, group_size=GROUP_SIZE)
def to_groups(w, group_size):
    """Return W (out, in) as rows of one group each: shape (out * in / g, g), row o * in/g + j = group (o, j)."""
    w, g = _weights(w, group_size)
    return w.reshape(-1, g)


@validate(w=W, group_size=GROUP_SIZE, bits=P.SIGNED_BITS, symmetric=SYMMETRIC, eps=Positive())
def groupwise_qparams(w, group_size, bits=4, symmetric=True, eps=P.EPS):
    """Return (scale, zero_point), each (out, in / g): one per group (module docstring's formulas).

    Signed grid [-2^(b-1), 2^(b-1) - 1] if symmetric, unsigned [0, 2^b - 1] otherwise (torchao's
    int4/uint4 ranges); scale >= eps (course: float32 eps; torchao: TORCHAO_EPS).
    """
    w, g = _weights(w, group_size)
    rows = w.reshape(-1, g)
    symmetric = bool(symmetric)
    lo, hi = np.minimum(rows.min(axis=1), 0), np.maximum(rows.max(axis=1), 0)
    q_min, q_max = P.q_range(bits, signed=symmetric)
    if symmetric:
        scale = np.maximum(np.maximum(-lo, hi) / np.float32((q_max - q_min) / 2), np.float32(eps))
        zp = np.zeros(lo.shape, dtype=np.int64)
    else:
        scale = np.maximum((hi - lo) / np.float32(q_max - q_min), np.float32(eps))
        zp = np.clip(q_min - np.rint(lo / scale).astype(np.int64), q_min, q_max)
    return scale.astype(np.float32).reshape(w.shape[0], -1), zp.reshape(w.shape[0], -1)


def _group_params(w, scale, zero_point, g):
    n_groups = w.shape[1] // g
    scale = np.asarray(scale).astype(np.float32)
    zp = np.asarray(zero_point)
    for a, name in ((scale, "scale"), (zp, "zero_point")):
        if a.shape != (w.shape[0], n_groups):
            raise ValueError(f"{name} must have shape (out, in / group_size) = {(w.shape[0], n_groups)}, got {a.shape}")
    return scale.reshape(-1), zp.reshape(-1)


@validate(w=W, scale=P.SCALES, zero_point=P.ZERO_POINTS, group_size=GROUP_SIZE, bits=P.SIGNED_BITS, symmetric=SYMMETRIC)
def groupwise_quantize(w, scale, zero_point, group_size, bits=4, symmetric=True):
    """Return q = clamp(round(w * (1 / scale)) + z, q_min, q_max) per group, int64 (out, in).

    One primitive path: the groups become rows and primitives.quantize quantizes them per row
    (axis=0) with torch's float32 rule, as torchao's quantize_affine with block_size (1, g).
    """
    w, g = _weights(w, group_size)
    scale, zp = _group_params(w, scale, zero_point, g)
    q_min, q_max = P.q_range(bits, signed=bool(symmetric))
    q = P.quantize(w.reshape(-1, g), scale, zp, q_min, q_max, axis=0, rule="torch")
    return q.reshape(w.shape)


@validate(q=Array(ndim=2, integer=True), scale=P.SCALES, zero_point=P.ZERO_POINTS, group_size=GROUP_SIZE)
def groupwise_dequantize(q, scale, zero_point, group_size):
    """Return w_hat = (q - z) scale per group in float32, shape (out, in) (torchao's dequantize_affine)."""
    q, g = np.asarray(q), group_size
    if q.shape[1] % g:
        raise ValueError(f"group_size must divide the input size {q.shape[1]}, got {g}")
    scale, zp = _group_params(q, scale, zero_point, g)
    rows = (q.reshape(-1, g) - zp[:, None]).astype(np.float32) * scale[:, None]
    return rows.reshape(q.shape)


@validate(w=W, group_size=GROUP_SIZE, bits=P.SIGNED_BITS, symmetric=SYMMETRIC, eps=Positive())
def groupwise_fake_quantize(w, group_size, bits=4, symmetric=True, eps=P.EPS):
    """Return (w_hat, q, scale, zero_point): W quantized group-wise round-to-nearest (RTN) and back."""
    scale, zp = groupwise_qparams(w, group_size, bits, symmetric, eps)
    q = groupwise_quantize(w, scale, zp, group_size, bits, symmetric)
    return groupwise_dequantize(q, scale, zp, group_size), q, scale, zp


@validate(bits=Positive(), group_size=GROUP_SIZE, scale_bits=Real(low=0.0), zero_point_bits=Real(low=0.0))
def bits_per_weight(bits, group_size, scale_bits=16, zero_point_bits=0):
    """Return the storage per weight including the group's scale and zero point: b + (s + z) / g.

    E.g. int4 with an fp16 scale per 64 weights: 4 + 16 / 64 = 4.25; per 32: 4.5; with a 4-bit zero
    point per 128: 4 + 20 / 128 = 4.16 (Lin et al. 2024, AWQ, MLSys; Dettmers et al. 2023, QLoRA, sec. 3).
    """
    return bits + (scale_bits + zero_point_bits) / group_size
