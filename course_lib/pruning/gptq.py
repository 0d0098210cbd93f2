"""GPTQ from scratch: quantize a layer column by column, each rounding error fed forward (numpy only).

Frantar, Ashkboos, Hoefler & Alistarh 2023, "GPTQ: Accurate Post-Training Quantization for Generative
Pre-trained Transformers", ICLR, Algorithm 1. For every row w of W (all rows at once) and columns
j = 0, 1, ..., in - 1 in a FIXED order:

    q_j = clamp(round(w_j / scale) + zero_point, q_min, q_max)        (course notation, scale a divisor)
    err = (w_j - (q_j - zero_point) * scale) / U_jj
    w_k <- w_k - err * U_jk           for k > j

with U the upper Cholesky factor of H^-1 (`layerwise.inverse_cholesky_upper`). This is OBS's update
dw = -(w_j - what_j) / [H_F^-1]_jj H_F^-1 e_j with F = the columns not yet quantized: row j of U is
H_F^-1 e_j / sqrt([H_F^-1]_jj), so the Cholesky factor holds every step's inverse at once. Lazy block
updates (sec. 3, step 2): inside a block of `block_size` columns the updates go only to the block; the
accumulated errors reach the later columns in one matrix product at the end of the block. The result is
the same up to float rounding.

Options (the reference's `act_order` and `groupsize`): activation order quantizes the columns by
decreasing H_jj (the inputs with the largest mean square first; ties keep the lower index first);
group-wise grids give each run of `group_size` consecutive inputs its own scale and zero point, a group
being fixed by a column's ORIGINAL index (so with act_order too, as llm-compressor's "weight" order).
"""
import numpy as np

from ..core.validation import Array, Boolean, Integer, Optional, validate
from .layerwise import DAMP, HESSIAN, MATRIX, inverse_cholesky_upper, prepare_hessian

GRID = dict(scale=Array(), zero_point=Array(), q_min=Integer(), q_max=Integer())  # shapes and ranges: in the body
GROUP_SIZE = Optional(Integer(minimum=1))


def _expand_grid(shape, scale, zero_point, group_size):
    """Return (scale, zero_point) expanded to one entry per weight of a layer of `shape` (out, in)."""
    out, d = shape
    grid = (out,) if group_size is None else (out, -(-d // group_size))
    scale = np.asarray(scale).astype(np.float64)
    if scale.shape != grid:
        raise ValueError(f"scale must have shape {grid} (one per output row"
                         f"{'' if group_size is None else ' and group'}), got {scale.shape}")
    if np.any(scale <= 0):
        raise ValueError("scale must be > 0 everywhere (it is a divisor)")
    zp = np.asarray(zero_point)
    if zp.shape != grid or np.any(zp != np.round(zp)):
        raise ValueError(f"zero_point must be integers of shape {grid}, got {zp.dtype} of shape {zp.shape}")
    group = np.zeros(d, int) if group_size is None else np.arange(d) // group_size
    return scale.reshape(out, -1)[:, group], zp.astype(np.int64).reshape(out, -1)[:, group]


def _check_grid(W, scale, zero_point, q_min, q_max, group_size):
    """Return (scale, zero_point, q_min, q_max) expanded to one entry per weight (out, in)."""
    if q_min >= q_max:
        raise ValueError(f"q_min must be < q_max, got q_min={q_min} and q_max={q_max}")
    S, Z = _expand_grid(W.shape, scale, zero_point, group_size)
    if np.any((Z < q_min) | (Z > q_max)):
        raise ValueError(f"zero_point must be in [q_min, q_max] = [{q_min}, {q_max}]")
    return S, Z, q_min, q_max


def _quantize(w, scale, zero_point, q_min, q_max):
    """Return q = clamp(round(w / scale) + zero_point, q_min, q_max) (round half to even), int64."""
    return np.clip(np.rint(w / scale).astype(np.int64) + zero_point, q_min, q_max)


@validate(H=HESSIAN, act_order=Boolean())
def column_order(H, act_order=False):
    """Return the quantization order: natural, or by decreasing H_jj (stable: ties keep index order)."""
    H = np.asarray(H)
    if not act_order:
        return np.arange(len(H))
    return np.argsort(-np.diag(H), kind="stable")


@validate(W=MATRIX, H=HESSIAN, **GRID, block_size=Integer(minimum=1), damp=DAMP, act_order=Boolean(),
          group_size=GROUP_SIZE)
def gptq(W, H, scale, zero_point, q_min, q_max, block_size=128, damp=0.01, act_order=False,
         group_size=None):
    """Return the integer codes (out, in) of W quantized by GPTQ on the layer Hessian H.

    Frantar et al. 2023, GPTQ, ICLR, Algorithm 1 (see the module docstring for the update rule).
    Dead inputs and damping as `layerwise.prepare_hessian`; scale and zero_point are per output row
    (shape (out,)), or per row and group (shape (out, ceil(in / group_size))) when group_size is set.
    """
    W, H = prepare_hessian(W, H, damp)
    S, Z, q_min, q_max = _check_grid(W, scale, zero_point, q_min, q_max, group_size)
    perm = column_order(H, act_order)
    W, H, S, Z = W[:, perm], H[np.ix_(perm, perm)], S[:, perm], Z[:, perm]
    U = inverse_cholesky_upper(H)
    Q = np.zeros(W.shape, np.int64)
    for i1 in range(0, W.shape[1], block_size):
        i2 = min(i1 + block_size, W.shape[1])
        W1, Err1 = W[:, i1:i2].copy(), np.zeros((W.shape[0], i2 - i1))
        for i in range(i2 - i1):
            j = i1 + i
            Q[:, j] = _quantize(W1[:, i], S[:, j], Z[:, j], q_min, q_max)
            Err1[:, i] = (W1[:, i] - (Q[:, j] - Z[:, j]) * S[:, j]) / U[j, j]
            W1[:, i:] -= np.outer(Err1[:, i], U[j, j:i2])
        W[:, i2:] -= Err1 @ U[i1:i2, i2:]  # the lazy batch update of all later columns
    out = np.empty_like(Q)
    out[:, perm] = Q
    return out


@validate(W=MATRIX, **GRID, group_size=GROUP_SIZE)
def rtn(W, scale, zero_point, q_min, q_max, group_size=None):
    """Return round-to-nearest codes clamp(round(W / scale) + zero_point, q_min, q_max) on the same grid.

    The baseline GPTQ is measured against: GPTQ with H = I gives exactly these codes.
    """
    W = np.asarray(W).astype(np.float64)
    S, Z, q_min, q_max = _check_grid(W, scale, zero_point, q_min, q_max, group_size)
    return _quantize(W, S, Z, q_min, q_max)


@validate(Q=Array(ndim=2, integer=True), scale=GRID["scale"], zero_point=GRID["zero_point"], group_size=GROUP_SIZE)
def dequantize_codes(Q, scale, zero_point, group_size=None):
    """Return What = (Q - zero_point) * scale on the grid `gptq` used (per row, or per row and group)."""
    Q = np.asarray(Q)
    S, Z = _expand_grid(Q.shape, scale, zero_point, group_size)
    return (Q - Z) * S
