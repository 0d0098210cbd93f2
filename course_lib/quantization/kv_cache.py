"""KV-cache quantization from scratch: int8 or FP8 (E4M3) keys and values, per token or per head.

During generation a transformer keeps every past token's keys and values, K and V of shape
(..., heads, seq, head_dim), for each layer: 2 L H d numbers per token, which for long contexts
outweighs the weights. Storing them in 8 bits halves the fp16 cache (Hooper et al. 2024, "KVQuant",
NeurIPS; Liu et al. 2024, "KIVI", ICML; vLLM's fp8 KV cache). Granularities (scales a divisor):

    "per_token":   one scale per (head, token) vector of head_dim numbers (set once, when the token arrives)
    "per_head":    one scale per head over all tokens and channels (needs the whole sequence: calibrated)
    "per_channel": one scale per (head, channel) over the tokens (KIVI's keys: their outliers sit in channels)

    int8: scale = max|v| / 127.5, q = clamp(round(v * (1 / scale)), -128, 127)   (primitives, torch's rule)
    fp8:  scale = max|v| / 448,   q = E4M3(v / scale) with saturation          (minifloat.float_encode)

Equal bit for bit to torchao 0.18's block-size primitives on the CPU (tests/test_kv_cache.py): int8 to
choose_qparams_affine / quantize_affine (symmetric) and fp8 to _choose_scale_float8 /
_quantize_affine_float8 with the matching block_size; one difference: an all-zero block gets scale
float32 eps (int8, as the course's primitives) or finfo(float32).smallest_normal (fp8) instead of
torchao's smallest_normal (int8) and 0 (fp8, which then gives NaN).
"""
import numpy as np

from ..core.validation import Array, Choice, Integer, Optional, Real, validate
from . import primitives as P
from .minifloat import float_decode, float_encode

GRANULARITIES = {"per_token": "head_dim", "per_head": "seq and head_dim", "per_channel": "seq"}  # axes a scale covers
FORMATS = {"int8": 1, "fp8": 1, "fp16": 2, "fp32": 4}  # bytes per element
FP8_MAX = 448.0
TINY = float(np.finfo(np.float32).smallest_normal)
KV = Array(min_ndim=3)  # (..., heads, seq, head_dim)
FMT, GRANULARITY = Choice("int8", "fp8"), Choice(*GRANULARITIES)


def _kv(kv):
    return np.asarray(kv).astype(np.float32)


def _rows(kv, granularity):
    """Return (rows, undo): kv with each block of one scale as a row, and the map back to kv's shape."""
    if granularity == "per_channel":  # (..., H, seq, d) -> (..., H, d, seq): the tokens of a channel last
        t = np.swapaxes(kv, -1, -2)
        return t.reshape(-1, t.shape[-1]), lambda r: np.swapaxes(r.reshape(t.shape), -1, -2)
    n = kv.shape[-1] if granularity == "per_token" else kv.shape[-1] * kv.shape[-2]
    return kv.reshape(-1, n), lambda r: r.reshape(kv.shape)


@validate(kv=KV, fmt=FMT, granularity=GRANULARITY)
def kv_scales(kv, fmt="int8", granularity="per_token"):
    """Return one float32 scale per block (flat, in row order): max|v| / 127.5 (int8) or / 448 (fp8).

    int8: primitives.qparams(-max|v|, max|v|, symmetric=True), scale >= float32 eps.
    """
    rows, _ = _rows(_kv(kv), granularity)
    amax = np.abs(rows).max(axis=1)
    if fmt == "int8":
        return P.qparams(-amax, amax, symmetric=True)[0]
    return np.maximum(amax / np.float32(FP8_MAX), np.float32(TINY))


@validate(kv=KV, fmt=FMT, granularity=GRANULARITY)
def kv_quantize(kv, fmt="int8", granularity="per_token"):
    """Return (q, scale): int8 codes (int8) or E4M3 bit patterns (uint8), shape of kv, and the block scales.

    int8: q = clamp(round(v * (1 / scale)), -128, 127) by primitives.quantize per row (torch's rule);
    fp8: q = E4M3(v / scale), round to nearest even, saturating at +-448.
    """
    kv = _kv(kv)
    scale = kv_scales(kv, fmt, granularity)
    rows, undo = _rows(kv, granularity)
    if fmt == "int8":
        q = P.quantize(rows, scale, np.zeros(scale.shape, np.int64), -128, 127, axis=0, rule="torch")
        return undo(q).astype(np.int8), scale
    return undo(float_encode(rows / scale[:, None], "e4m3", saturate=True)), scale


@validate(q=Array(min_ndim=3, integer=True), scale=P.SCALES, fmt=FMT, granularity=GRANULARITY)
def kv_dequantize(q, scale, fmt="int8", granularity="per_token"):
    """Return v_hat = q * scale (int8) or E4M3 value * scale (fp8), float32, shape of q."""
    rows, undo = _rows(np.asarray(q), granularity)
    scale = np.asarray(scale).astype(np.float32).reshape(-1)
    if scale.shape != (rows.shape[0],):
        raise ValueError(f"scale must hold one scale per block ({rows.shape[0]}), got {scale.size}")
    vals = rows.astype(np.float32) if fmt == "int8" else float_decode(rows, "e4m3")
    return undo(vals * scale[:, None])


@validate(kv=KV, fmt=FMT, granularity=GRANULARITY)
def kv_fake_quantize(kv, fmt="int8", granularity="per_token"):
    """Return the keys or values quantized and back (float32), the cache as attention would read it."""
    q, scale = kv_quantize(kv, fmt, granularity)
    return kv_dequantize(q, scale, fmt, granularity)


@validate(n_layers=Integer(minimum=1), n_heads=Integer(minimum=1), head_dim=Integer(minimum=1), fmt=Choice(*FORMATS),
          granularity=GRANULARITY, seq_len=Optional(Integer(minimum=1)), scale_bytes=Real(low=0.0))
def kv_bytes_per_token(n_layers, n_heads, head_dim, fmt="int8", granularity="per_token", seq_len=None,
                       scale_bytes=4):
    """Return the cache bytes one token adds: 2 L H (d b + scales), K and V of every layer.

    per_token: one scale per head and token; per_head / per_channel: H or H d scales per sequence,
    shared by its seq_len tokens (seq_len needed); fp16/fp32 caches store no scales.
    """
    L, H, d, b, sb = n_layers, n_heads, head_dim, FORMATS[fmt], scale_bytes
    if fmt in ("fp16", "fp32"):
        per_head = 0.0
    elif granularity == "per_token":
        per_head = sb
    else:
        n = seq_len
        if n is None:
            raise ValueError(f"seq_len must be given for granularity {granularity!r} (the sequence shares its scales)")
        per_head = sb * (1 if granularity == "per_head" else d) / n
    return 2 * L * H * (d * b + per_head)
