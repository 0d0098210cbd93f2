"""Activation outliers from scratch: SmoothQuant's scale migration and AWQ's activation-aware scale search.

Both rest on one identity for a linear layer y = x W^T (W: (out, in)) and any positive per-input-
channel vector s: y = (x diag(s)^-1) (W diag(s))^T. Dividing channel j of the activations by s_j and
multiplying column j of W by s_j changes nothing in float, but moves quantization difficulty:
- SmoothQuant (Xiao et al. 2023, "SmoothQuant: Accurate and Efficient Post-Training Quantization for
  Large Language Models", ICML, sec. 4, eq. 4) flattens activation outliers for W8A8:
      s_j = max|X_j|^alpha / max|W_j|^(1 - alpha),    alpha = 0.5 by default (0.75-0.85 for some models);
- AWQ (Lin et al. 2024, "AWQ: Activation-aware Weight Quantization for LLM Compression and
  Acceleration", MLSys, sec. 3.2, eqs. 4-5) protects the weights of salient channels (large mean |x|)
  for 3/4-bit group-wise weight-only quantization: s = s_x^alpha, s_x = mean |X_j|, alpha searched on a
  grid over [0, 1) to minimise || Q(W diag(s)) diag(s)^-1 x - W x ||^2 on calibration data.

SmoothQuant is checked against torchao 0.18's prototype (torchao.prototype.smoothquant, which runs on the
CPU): its scale is (max|X_j| + eps)^alpha / (max|W_j| + eps)^(1 - alpha) with eps = float32's eps (the
paper has no eps: eps=0 here), and its runtime multiplies x by the float32 reciprocal 1 / s
(tests/test_outliers.py). llm-compressor's AWQ needs an accelerator, but torchao 0.18's prototype (torchao.prototype.awq, AWQObserver) runs on the CPU with
IntxWeightOnlyConfig (int3/int4, PerGroup): the same choices as the reference code (mit-han-lab/llm-awq,
auto_scale.py: 20 grid points i / 20, s normalised by sqrt(max s min s), mean squared output error, the
first best ratio kept). Given the same candidate s, the quantized weights are equal bit for bit and the
losses to float32 accuracy, and the selected scales are torchao's bit for bit (12 of 12 settings).
From our own candidates (s_x^alpha in float64, rounded once) torch's float32 pow differs in the last
bit, which can flip an int3 rounding of an outlier channel and move the loss by ~1%: the selected
scales agree to 1e-6 in 6 of 6 int4 settings and 3 of 6 int3 ones (tests/test_outliers.py). The
algorithm's own properties are tested too.
AWQ's weight clipping search (auto_clip) is not included.
"""
import numpy as np

from ..core.validation import Array, Boolean, Choice, Fraction, Integer, Optional, Real, validate
from .groupwise import groupwise_fake_quantize
from .primitives import EPS, SCALES, SIGNED_BITS, int_matmul, qparams, quantize

MATRIX, ALPHA, EPS_ = Array(ndim=2), Fraction(), Real(low=0.0)  # X (tokens, in), W (out, in)
ACTIVATIONS = Choice("per_token", "per_tensor")
WEIGHT_GRID = dict(bits=SIGNED_BITS, group_size=Integer(minimum=1), symmetric=Boolean())  # groupwise RTN of AWQ


def _pair(X, W):
    X, W = np.asarray(X).astype(np.float32), np.asarray(W).astype(np.float32)
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"X must be (tokens, in) and W (out, in) with the same in, got {X.shape} and {W.shape}")
    return X, W


def _scales(s, n):
    s = np.asarray(s).astype(np.float32)
    if s.shape != (n,):
        raise ValueError(f"s must hold {n} numbers (one per input channel), got shape {s.shape}")
    return s


# ----------------------------------------------------------------------------- SmoothQuant
@validate(X=MATRIX, W=MATRIX, alpha=ALPHA, eps=EPS_)
def smoothquant_scales(X, W, alpha=0.5, eps=EPS):
    """Return s_j = (max_t |X_tj| + eps)^alpha / (max_o |W_oj| + eps)^(1 - alpha), float32, one per input channel.

    Xiao et al. 2023, SmoothQuant, ICML, eq. 4 (eps = 0); eps = float32 eps is torchao's guard against 0.
    The powers are computed in float64 and rounded once; torch's float32 pow is not correctly rounded
    (it differs from the rounded value in the last bit for about 2-40% of inputs, and between its
    vectorised and scalar paths), so s equals torchao's to 1e-6 relative, not bit for bit.
    """
    X, W = _pair(X, W)
    alpha, eps = float(alpha), np.float32(eps)
    x_max, w_max = (np.abs(X).max(axis=0) + eps).astype(np.float64), (np.abs(W).max(axis=0) + eps).astype(np.float64)
    return (x_max ** alpha / w_max ** (1 - alpha)).astype(np.float32)  # float64, then one rounding


@validate(X=MATRIX, W=MATRIX, s=SCALES)
def smooth(X, W, s):
    """Return (X diag(s)^-1, W diag(s)): the function-preserving migration, X' W'^T = X W^T in exact arithmetic.

    X' = X * (1 / s) with the float32 reciprocal, as torchao's act_pre_scale.
    """
    X, W = _pair(X, W)
    s = _scales(s, X.shape[1])
    return X * (np.float32(1) / s), W * s


@validate(X=MATRIX, W=MATRIX, b=Optional(Array()), activations=ACTIVATIONS)
def w8a8_linear(X, W, b=None, activations="per_token"):
    """Return x W^T + b with int8 per-output-channel weights and int8 symmetric activations, float32.

    s = max|v| / 127.5, q = clamp(round(v * (1 / s)), -128, 127) (primitives, torch's rule) for each row
    of W and, activations="per_token", each row of X at run time (torchao's
    Int8DynamicActivationInt8WeightConfig, as ptq.dynamic_int8_linear), or "per_tensor", one scale for
    the whole X (the hardest case, SmoothQuant's O1-O3 settings, Xiao et al. 2023, table 2); then
    y = (float32(q_x q_w^T) s_x) s_w + b, the int32 sums exact.
    """
    X, W = _pair(X, W)
    if activations == "per_token":
        s_x, z_x = qparams(X.min(axis=1), X.max(axis=1), symmetric=True)
        q_x, s_x = quantize(X, s_x, z_x, -128, 127, axis=0, rule="torch"), s_x[:, None]
    else:
        s_x, z_x = qparams(X.min(), X.max(), symmetric=True)
        q_x, s_x = quantize(X, s_x, z_x, -128, 127, rule="torch"), np.float32(s_x)
    s_w, z_w = qparams(W.min(axis=1), W.max(axis=1), symmetric=True)
    q_w = quantize(W, s_w, z_w, -128, 127, axis=0, rule="torch")
    y = (int_matmul(q_x, q_w.T).astype(np.float32) * s_x) * s_w
    return y if b is None else y + np.asarray(b, dtype=np.float32)


@validate(X=MATRIX, W=MATRIX, b=Optional(Array()), alpha=ALPHA, X_calib=Optional(MATRIX), activations=ACTIVATIONS,
          eps=EPS_)
def smoothquant_linear(X, W, b=None, alpha=0.5, X_calib=None, activations="per_token", eps=EPS):
    """Return (y, s): W8A8 output of the smoothed layer, s from calibration data X_calib (default X).

    y = w8a8(X * (1 / s), W diag(s)) + b   (Xiao et al. 2023, sec. 4; torchao's SmoothQuantConfig).
    """
    X, W = _pair(X, W)
    s = smoothquant_scales(X if X_calib is None else X_calib, W, alpha, eps)
    X_s, W_s = smooth(X, W, s)
    return w8a8_linear(X_s, W_s, b, activations), s


# ----------------------------------------------------------------------------- AWQ
@validate(s_x=Array(ndim=1, nonnegative=True), alpha=ALPHA)
def awq_grid_scales(s_x, alpha):
    """Return s = max(s_x^alpha, 1e-4) / sqrt(max s min s): one AWQ candidate (llm-awq auto_scale.py)."""
    s_x = np.asarray(s_x).astype(np.float32)
    s = np.maximum(np.power(s_x.astype(np.float64), alpha).astype(np.float32), np.float32(1e-4))
    return (s / np.sqrt(s.max() * s.min())).astype(np.float32)


@validate(X=MATRIX, W=MATRIX, s=SCALES, **WEIGHT_GRID)
def awq_loss(X, W, s, bits=4, group_size=128, symmetric=False):
    """Return mean ((X diag(s)^-1) Q(W diag(s))^T - X W^T)^2: AWQ's objective for one candidate s (eq. 4)."""
    X, W = _pair(X, W)
    return _awq_loss(X, W, _scales(s, X.shape[1]), X.astype(np.float64) @ W.T.astype(np.float64),
                     bits, group_size, symmetric)


def _awq_loss(X, W, s, y, bits, group_size, symmetric):
    """awq_loss on checked float32 X, W, s, with the float output y = X W^T (float64) computed once."""
    w_q = groupwise_fake_quantize(W * s, group_size, bits, symmetric)[0]
    return float(np.mean(((X * (np.float32(1) / s)).astype(np.float64) @ w_q.T.astype(np.float64) - y) ** 2))


@validate(X=MATRIX, W=MATRIX, bits=WEIGHT_GRID["bits"], group_size=WEIGHT_GRID["group_size"], n_grid=Integer(minimum=1),
          symmetric=WEIGHT_GRID["symmetric"])
def awq_scales(X, W, bits=4, group_size=128, n_grid=20, symmetric=False):
    """Return (s, alpha, losses): AWQ's per-input-channel scales from a grid search.

    s_x = mean_t |X_tj|; for alpha = i / n_grid, i = 0 .. n_grid - 1: s = awq_grid_scales(s_x, alpha),
    loss = awq_loss(X, W, s) with Q the group-wise RTN of `bits` bits; the alpha with the smallest loss
    (the first on ties) wins. alpha = 0 gives s = 1, plain RTN, so the result is never worse than RTN
    on X (Lin et al. 2024, AWQ, MLSys, sec. 3.2, eq. 5; llm-awq auto_scale.py; torchao's AWQObserver).
    """
    X, W = _pair(X, W)
    s_x = np.abs(X).mean(axis=0)
    y = X.astype(np.float64) @ W.T.astype(np.float64)          # the float output: one product per layer
    losses = np.array([_awq_loss(X, W, awq_grid_scales(s_x, i / n_grid), y, bits, group_size, symmetric)
                       for i in range(n_grid)])
    best = int(np.argmin(losses))
    return awq_grid_scales(s_x, best / n_grid), best / n_grid, losses


@validate(W=MATRIX, s=SCALES, **WEIGHT_GRID)
def awq_fake_quantize(W, s, bits=4, group_size=128, symmetric=False):
    """Return Q(W diag(s)) diag(s)^-1: the effective weights of the AWQ layer (x / s feeds Q(W diag(s)))."""
    W = np.asarray(W).astype(np.float32)
    s = _scales(s, W.shape[1])
    return groupwise_fake_quantize(W * s, group_size, bits, symmetric)[0] / s
