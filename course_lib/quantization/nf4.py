"""NormalFloat4 (NF4) from scratch: 16 levels at normal quantiles, block-wise absmax, double quantization.

Dettmers et al. 2023, "QLoRA: Efficient Finetuning of Quantized LLMs", NeurIPS, sec. 3 and app. E.
Weights of a trained network are roughly normal, so NF4 puts its 16 levels where a standard normal's
probability mass is, then rescales them to [-1, 1]. With the offset delta = 1 - (1/30 + 1/32) / 2 =
0.9677083 (bitsandbytes' create_normal_map, bitsandbytes/functional.py):

    positive: Phi^-1(p) for the 8 values p in linspace(delta, 1/2, 9)[:-1]
    negative: -Phi^-1(p) for the 7 values p in linspace(delta, 1/2, 8)[:-1]
    plus 0 (exactly representable), all divided by the largest: levels[0] = -1, levels[15] = 1.

Asymmetric on purpose: 8 positive, 7 negative levels and a true zero. A block of B = 64 weights is
stored as 4-bit level indices plus its absmax c_1 = max |w|: w ~ levels[q] c_1, q = the index of the
level nearest to w / c_1. Double quantization (sec. 3, "DQ") stores the c_1 of 256 consecutive
blocks in 8 bits: subtract the mean of all c_1, then absmax-quantize each group of 256 to int8,

    factor = 256 / (2 max |c_1 - mean|),   c_1_q = clamp(round((c_1 - mean) factor), -128, 127)
    c_1 ~ c_1_q / factor + mean,

(the largest positive deviation maps to 128 and is clamped to 127: one step of error, not half),
so a weight costs 4 + 8 / 64 + 32 / (64 256) = 4.127 bits (4.5 without DQ), the paper's numbers.

Equal to torchao 0.18's NF4Tensor (torchao.quantization.NF4Tensor.from_tensor, block 64, scaler block
256) on the CPU bit for bit: codes, int8 scalers, factors, mean and dequantized weights
(tests/test_nf4_oracle.py). Two documented differences, each an option:
- torchao hard-codes bitsandbytes' levels rounded to 4 decimals (-0.6962, ...); nf4_levels() computes
  them as bitsandbytes does (equal to its float32 table bit for bit); `levels=TORCHAO_LEVELS`
  reproduces torchao (the two tables differ by < 5e-5);
- torchao's int8 double quantization differs from the paper's (8-bit floats, bitsandbytes' dynamic
  map); the course follows torchao's, the stated oracle.
The element uses the ORIGINAL c_1 for w / c_1, the dequantization the double-quantized one (torchao).
"""
import numpy as np

from ..core import validation as v
from ..core.lazy import LazyModule
from ..core.validation import Array, Boolean, Integer, Optional, Real, Sequence, validate
from .primitives import INTEGERS

stats = LazyModule("scipy.stats")  # for norm.ppf in nf4_levels only: about 2 s to import, so on first use

DELTA = 0.9677083  # = 1 - (1/30 + 1/32) / 2, as bitsandbytes' create_normal_map writes it (QLoRA app. E)
TORCHAO_LEVELS = np.array([-1.0, -0.6962, -0.5251, -0.3949, -0.2844, -0.1848, -0.0911, 0.0, 0.0796, 0.1609,
                           0.2461, 0.3379, 0.4407, 0.5626, 0.7230, 1.0], dtype=np.float32)


def _linspace32(start, end, steps):
    """torch.linspace in float32: start + i step for the first half, end - (steps - 1 - i) step after."""
    a, b = np.float32(start), np.float32(end)
    step = (b - a) / np.float32(steps - 1)
    i = np.arange(steps, dtype=np.float32)
    return np.where(np.arange(steps) < steps // 2, a + step * i, b - step * (np.float32(steps - 1) - i))


def nf4_levels():
    """Return the 16 NF4 levels (float32, ascending): normal quantiles, 8 positive, 7 negative, and 0.

    q = Phi^-1(linspace(delta, 1/2, 9)[:-1]) and -Phi^-1(linspace(delta, 1/2, 8)[:-1]), divided by the
    largest (Dettmers et al. 2023, QLoRA, NeurIPS, app. E). The probabilities are spaced in float32 as
    bitsandbytes' create_normal_map does (torch.linspace), which makes the table its table bit for bit.
    """
    pos = stats.norm.ppf(_linspace32(DELTA, 0.5, 9)[:-1].astype(np.float64))
    neg = -stats.norm.ppf(_linspace32(DELTA, 0.5, 8)[:-1].astype(np.float64))
    levels = np.sort(np.concatenate([pos, [0.0], neg]).astype(np.float32))
    return levels / levels.max()


class _Levels(v.Constraint):
    """A level table: 16 strictly increasing finite numbers (in float32)."""

    def check(self, x, name):
        lv = v.as_array(x, name).astype(np.float32)
        if lv.shape != (16,) or np.any(np.diff(lv) <= 0):
            raise ValueError(f"{name} must be 16 increasing numbers, got shape {lv.shape}")
        return lv

    def good(self):
        return TORCHAO_LEVELS

    def bad(self):
        return ["abc", np.ones(16), np.arange(15.0), np.full(16, np.nan)]


class _Quantized(v.Constraint):
    """The dict nf4_quantize returns: integer codes, c_q, factor and mean."""

    def check(self, x, name):
        if not isinstance(x, dict) or not {"codes", "c_q", "factor", "mean"} <= set(x):
            raise TypeError(f"{name} must be the dict nf4_quantize returns (codes, c_q, factor, mean), got "
                            f"{type(x).__name__}")
        INTEGERS.check(x["codes"], f"{name}['codes']")
        return x

    def good(self):
        return {"codes": np.zeros(64, np.uint8), "c_q": np.zeros(1, np.int8), "factor": np.ones(1, np.float32),
                "mean": np.float32(1.0)}

    def bad(self):
        return [np.zeros(64), {"codes": np.zeros(64)}, {**self.good(), "codes": np.zeros(64)}]


LEVELS, BLOCK_SIZE = Optional(_Levels()), Integer(minimum=1)


def _levels(levels):
    return nf4_levels() if levels is None else np.asarray(levels).astype(np.float32)


def _flat(w, block_size, scaler_block_size):
    w, B, S = np.asarray(w).astype(np.float32).ravel(), block_size, scaler_block_size
    if w.size % (B * S):
        raise ValueError(f"w must have a multiple of block_size * scaler_block_size = {B * S} entries, got {w.size}")
    return w, B, S


@validate(y=Array(), levels=LEVELS)
def nearest_level(y, levels=None):
    """Return the index of the level nearest to each y (argmin |y - level|; a tie takes the lower level)."""
    lv = _levels(levels)
    y = np.asarray(y).astype(np.float32)
    return np.abs(y[..., None] - lv).argmin(axis=-1).astype(np.uint8)


@validate(absmax=Array(), scaler_block_size=BLOCK_SIZE)
def double_quantize(absmax, scaler_block_size=256):
    """Return (c_q int8, factor float32 per group, mean float32): absmax - mean in int8 per group of 256.

    factor = 256 / (2 max |c - mean|), c_q = clamp(round((c - mean) factor), -128, 127)
    (Dettmers et al. 2023, QLoRA, sec. 3 "Double Quantization"; torchao's double_quantize_scalers).
    """
    c, S = np.asarray(absmax).astype(np.float32).ravel(), scaler_block_size
    if c.size % S:
        raise ValueError(f"scaler_block_size must divide the number of scales {c.size}, got {S}")
    mean = np.float32(c.mean(dtype=np.float32))
    groups = (c - mean).reshape(-1, S)
    with np.errstate(divide="ignore", invalid="ignore"):  # equal scales: factor inf, c_q 0, as torchao
        factor = np.float32(256) / (np.float32(2) * np.abs(groups).max(axis=1))
        c_q = np.nan_to_num(np.clip(np.rint(groups * factor[:, None]), -128, 127)).astype(np.int8)
    return c_q.ravel(), factor.astype(np.float32), mean


@validate(c_q=INTEGERS, factor=Array(), mean=Real())
def dequantize_scales(c_q, factor, mean):
    """Return c ~ c_q / factor + mean (float32), the block scales back from double quantization."""
    c_q, factor = np.asarray(c_q), np.asarray(factor).astype(np.float32)
    if c_q.size % factor.size:
        raise ValueError(f"c_q must hold a whole number of groups per factor, got {c_q.size} scales and "
                         f"{factor.size} factors")
    groups = c_q.reshape(factor.size, -1).astype(np.float32) / factor[:, None]
    return (groups.ravel() + np.float32(mean)).astype(np.float32)


@validate(w=Array(), block_size=BLOCK_SIZE, scaler_block_size=BLOCK_SIZE, levels=LEVELS)
def nf4_quantize(w, block_size=64, scaler_block_size=256, levels=None):
    """Return a dict: codes (uint8 level indices, flattened), c_q, factor, mean (double-quantized absmax).

    codes = nearest_level(w / c_1) per block of 64 with c_1 = max |w| of the block, in float32.
    """
    w, B, S = _flat(w, block_size, scaler_block_size)
    blocks = w.reshape(-1, B)
    absmax = np.abs(blocks).max(axis=1)
    codes = nearest_level(blocks / absmax[:, None], levels).ravel()
    c_q, factor, mean = double_quantize(absmax, S)
    return {"codes": codes, "c_q": c_q, "factor": factor, "mean": mean}


@validate(q=_Quantized(), shape=Sequence(Integer(minimum=0)), block_size=BLOCK_SIZE, levels=LEVELS)
def nf4_dequantize(q, shape, block_size=64, levels=None):
    """Return w_hat = levels[code] (c_q / factor + mean) per block, float32, reshaped to `shape`."""
    lv, codes, B = _levels(levels), np.asarray(q["codes"]), block_size
    if codes.size % B or codes.size != int(np.prod(shape)):
        raise ValueError(f"shape must hold the {codes.size} codes, in whole blocks of {B}, got {shape}")
    c = dequantize_scales(q["c_q"], q["factor"], q["mean"])
    return (lv[codes.astype(np.int64)].reshape(-1, B) * c[:, None]).reshape(shape)


@validate(w=Array(), block_size=BLOCK_SIZE, scaler_block_size=BLOCK_SIZE, levels=LEVELS)
def nf4_fake_quantize(w, block_size=64, scaler_block_size=256, levels=None):
    """Return w quantized to NF4 with double quantization and back (float32, the shape of w)."""
    q = nf4_quantize(w, block_size, scaler_block_size, levels)
    return nf4_dequantize(q, np.shape(w), block_size, levels)


@validate(block_size=BLOCK_SIZE, scaler_block_size=BLOCK_SIZE, double_quant=Boolean())
def nf4_bits_per_weight(block_size=64, scaler_block_size=256, double_quant=True):
    """Return 4 + 8 / B + 32 / (B S) with double quantization, else 4 + 32 / B (QLoRA: 4.127 and 4.5)."""
    B, S = block_size, scaler_block_size
    return 4 + 8 / B + 32 / (B * S) if double_quant else 4 + 32 / B
