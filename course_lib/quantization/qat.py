"""Quantization-aware training from scratch: fake quantization with a straight-through backward pass,
learned step sizes (LSQ), batch-norm folding, and fake-quantized numpy networks trained by `nn.train`.

Rounding has a zero derivative almost everywhere, so a network that rounds in its forward pass learns
nothing by plain back-propagation. The straight-through estimator (STE) treats the rounding as the
identity in the backward pass (Bengio, Leonard & Courville 2013, "Estimating or Propagating Gradients
Through Stochastic Neurons", arXiv:1308.3432: the plain identity); QAT's version also keeps the clamp, a
zero gradient where the input is clipped (the saturated STE 1[|x| <= 1] of Hubara, Courbariaux et al.
2016, "Binarized Neural Networks", NIPS):

    forward:  x_hat = (clamp(round(x / scale) + zero_point, q_min, q_max) - zero_point) * scale
    backward: dL/dx = dL/dx_hat * mask

The frameworks disagree on where the mask ends (docs/framework-semantics.md):
- torch (fake_quantize_per_tensor_affine, FakeQuantize): in the INTEGER domain,
  mask = q_min <= round(x / scale) + zero_point <= q_max, so x up to half a step outside passes;
- TensorFlow (fake_quant_with_min_max_vars): in the REAL domain, nudged_min <= x <= nudged_max,
  and the range itself gets the gradient of what fell outside it.
Notation as everywhere in the course: the scale is a divisor, q = round(x / scale) + zero_point.
"""
import numpy as np

from ..core import validation as v
from ..core.nn import NETWORK
from ..core.validation import AnyOf, Array, Boolean, Integer, Optional, Positive, Real, Sequence, validate
from .observers import MinMaxObserver, MovingAverageObserver
from .primitives import (RULE, SCALES, SIGNED_BITS, ZERO_POINTS, _bits, dequantize, fake_quantize, nudge, q_range,
                         quantize, symmetric_weight_scale)

GRID = dict(x=Array(), scale=SCALES, zero_point=ZERO_POINTS, q_min=Integer(), q_max=Integer(), axis=Optional(Integer()),
            rule=RULE)  # the arguments of primitives.quantize, checked as it checks them
PER_LAYER_BITS = AnyOf(Optional(SIGNED_BITS), Sequence(Optional(SIGNED_BITS)),
                       what="a bit width in [2, 16] (or None), or one per layer")

_WIDE = 2 ** 62  # a clamp range no rounded value reaches: quantize() then returns the unclamped q


# --------------------------------------------------------------------------- the straight-through estimator
def _unclamped(x, scale, zero_point, q_min, q_max, axis, rule):
    q_min, q_max = v.integer(q_min, "q_min"), v.integer(q_max, "q_max")
    if q_min >= q_max:
        raise ValueError(f"q_min must be < q_max, got q_min={q_min}, q_max={q_max}")
    return quantize(x, scale, zero_point, -_WIDE, _WIDE, axis, rule), q_min, q_max


@validate(**GRID)
def ste_mask(x, scale, zero_point, q_min, q_max, axis=None, rule="course"):
    """Return torch's STE mask: True where q_min <= round(x / scale) + zero_point <= q_max (before the clamp).

    The integer-domain test of torch's fake_quantize_*_affine_cachemask kernels; rule as in
    `quantization.quantize` ("torch" = float32 x * (1 / scale), bit for bit).
    """
    q, q_min, q_max = _unclamped(x, scale, zero_point, q_min, q_max, axis, rule)
    return (q >= q_min) & (q <= q_max)


@validate(**GRID)
def fake_quantize_ste(x, scale, zero_point, q_min, q_max, axis=None, rule="course"):
    """Return (x_hat, mask): x fake-quantized and its STE mask; the backward pass is dL/dx = dL/dx_hat * mask.

    x_hat = (clamp(round(x / scale) + zero_point, q_min, q_max) - zero_point) scale  (Jacob et al. 2018, sec. 3;
    the gradient is torch's fake_quantize_per_tensor_affine_cachemask_backward: dY * mask).
    """
    q, q_min, q_max = _unclamped(x, scale, zero_point, q_min, q_max, axis, rule)
    mask = (q >= q_min) & (q <= q_max)
    if rule != "course":  # the framework's float32 dequantization, bit for bit
        return fake_quantize(x, scale, zero_point, q_min, q_max, axis, rule), mask
    return dequantize(np.clip(q, q_min, q_max), scale, zero_point, axis), mask


@validate(x_min=Real(), x_max=Real(), bits=SIGNED_BITS, narrow_range=Boolean())
def nudged_range(x_min, x_max, bits=8, narrow_range=False):
    """Return TensorFlow's (nudged_min, nudged_max, scale): the range moved so that 0 is a grid point
    (primitives.nudge, TF's Nudge in tensorflow/core/kernels/fake_quant_ops_functor.h, float32)."""
    return nudge(x_min, x_max, bits, narrow_range)[:3]


@validate(dy=Array(), x=Array(), x_min=Real(), x_max=Real(), bits=SIGNED_BITS, narrow_range=Boolean())
def fake_quant_with_min_max_grad(dy, x, x_min, x_max, bits=8, narrow_range=False):
    """Return (dx, dx_min, dx_max), the gradients of TensorFlow's fake_quant_with_min_max_vars.

    dx = dy * [nudged_min <= x <= nudged_max]   (the REAL-domain STE)
    dx_min = sum(dy * [x < nudged_min]),  dx_max = sum(dy * [x > nudged_max])
    (FakeQuantWithMinMaxVarsGradientFunctor; a range of exactly [0, 0] passes dy to x and 0 to the range.)
    """
    x, dy = np.asarray(x).astype(np.float32), np.asarray(dy).astype(np.float32)
    if dy.shape != x.shape:
        raise ValueError(f"dy must have the shape of x {x.shape}, got {dy.shape}")
    if float(x_min) == 0.0 and float(x_max) == 0.0:
        return dy.copy(), np.float32(0.0), np.float32(0.0)
    n_min, n_max, _ = nudged_range(x_min, x_max, bits, narrow_range)
    below, above = x < n_min, x > n_max
    return dy * ~(below | above), dy[below].sum(dtype=np.float32), dy[above].sum(dtype=np.float32)


# --------------------------------------------------------------------------- LSQ: a learned step size
@validate(n=Integer(minimum=1), Q_P=Integer(minimum=1))
def lsq_grad_scale(n, Q_P):
    """Return LSQ's gradient scale g = 1 / sqrt(N Q_P) (Esser et al. 2020, sec. 2.2), N = number of weights
    (or of activations per layer and sample) and Q_P the largest positive level."""
    return 1.0 / np.sqrt(n * Q_P)


@validate(w=Array(), Q_P=Integer(minimum=1))
def lsq_init_step(w, Q_P):
    """Return LSQ's initial step size s_0 = 2 mean(|w|) / sqrt(Q_P) (Esser et al. 2020, sec. 2.1)."""
    return 2.0 * float(np.mean(np.abs(w))) / np.sqrt(Q_P)


LSQ = dict(v_=Array(), s=Positive(), Q_N=Integer(minimum=0), Q_P=Integer(minimum=1))


def _lsq_args(v_, s, Q_N, Q_P):
    return np.asarray(v_).astype(float), float(s), Q_N, Q_P


@validate(**LSQ)
def lsq_quantize(v_, s, Q_N, Q_P):
    """Return v_hat = round(clip(v / s, -Q_N, Q_P)) s (Esser et al. 2020, eqs. 1-2; round half to even)."""
    v_, s, Q_N, Q_P = _lsq_args(v_, s, Q_N, Q_P)
    return np.rint(np.clip(v_ / s, -Q_N, Q_P)) * s


@validate(dy=Array(), **LSQ, g=Real(low=0.0))
def lsq_grads(dy, v_, s, Q_N, Q_P, g=1.0):
    """Return (dv, ds) of L through v_hat = lsq_quantize(v, s): the STE for v and LSQ's step-size gradient.

    dv = dy * [-Q_N < v / s < Q_P]                                       (Esser et al. 2020, sec. 2: the STE)
    ds = g * sum(dy * d v_hat / d s),  d v_hat / d s = -v / s + round(v / s) inside,
         -Q_N if v / s <= -Q_N, Q_P if v / s >= Q_P                      (eq. 3; g from lsq_grad_scale)
    """
    v_, s, Q_N, Q_P = _lsq_args(v_, s, Q_N, Q_P)
    dy = np.asarray(dy).astype(float)
    if dy.shape != v_.shape:
        raise ValueError(f"dy must have the shape of v {v_.shape}, got {dy.shape}")
    r = v_ / s
    low, high = r <= -Q_N, r >= Q_P
    dvhat_ds = np.where(low, -Q_N, np.where(high, Q_P, np.rint(r) - r))
    return dy * ~(low | high), float(g) * float(np.sum(dy * dvhat_ds))


# --------------------------------------------------------------------------- batch-norm folding
@validate(x=Array(), gamma=Array(), beta=Array(), mean=Array(), var=Array(), eps=Positive(), axis=Integer())
def batch_norm(x, gamma, beta, mean, var, eps=1e-5, axis=1):
    """Return gamma (x - mean) / sqrt(var + eps) + beta along `axis` (Ioffe & Szegedy 2015, Alg. 2; inference)."""
    x = np.asarray(x).astype(float)
    ax = v.axis(axis, x.ndim)
    shape = [1] * x.ndim
    shape[ax] = -1
    p = [_channel_vector(a, n, x.shape[ax]).reshape(shape) for a, n in
         ((gamma, "gamma"), (beta, "beta"), (mean, "mean"), (var, "var"))]
    return p[0] * (x - p[2]) / np.sqrt(p[3] + eps) + p[1]


def _channel_vector(a, name, n):
    a = np.asarray(a).astype(float)
    if a.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) (one entry per channel), got {a.shape}")
    return a


@validate(W=Array(), b=Optional(Array()), gamma=Array(), beta=Array(), mean=Array(), var=Array(), eps=Positive())
def fold_batch_norm(W, b, gamma, beta, mean, var, eps=1e-5):
    """Return (W_fold, b_fold): a conv or dense layer followed by batch norm, as ONE layer.

    W_fold = gamma W / sqrt(var + eps) (per output channel, axis 0),
    b_fold = beta + (b - mean) gamma / sqrt(var + eps)     (Jacob et al. 2018, sec. 3.2; b = None means 0)
    """
    W = np.asarray(W).astype(float)
    n = W.shape[0]
    b = np.zeros(n) if b is None else _channel_vector(b, "b", n)
    gamma, beta, mean, var = (_channel_vector(a, nm, n) for a, nm in
                              ((gamma, "gamma"), (beta, "beta"), (mean, "mean"), (var, "var")))
    if np.any(var < 0):
        raise ValueError("var must be >= 0 (a variance)")
    k = gamma / np.sqrt(var + eps)
    return W * k.reshape((-1,) + (1,) * (W.ndim - 1)), beta + (b - mean) * k


# --------------------------------------------------------------------------- fake-quantized numpy networks
class FakeQuant:
    """A fake quantizer for one tensor: an observer chooses the range, q(x, observe) -> (x_hat, mask).

    Weights: symmetric, signed, narrow range (int8: [-127, 127], as TFLite's weights), min/max of the
    current tensor (per tensor, or per output channel with axis=0). The narrow range puts the largest
    |w| ON a level (|w| / scale = q_max); torch's full-range symmetric scale puts it on a half (127.5), where
    the last bits of |w| decide its rounding and its gradient. Activations: affine, unsigned, a moving
    average of each batch's min and max (c = 0.01, the first batch sets it: torch's MovingAverageMinMaxObserver). The observer updates only when `observe`
    is True (training and calibration passes); evaluation passes use the range as it stands.
    rule: how to round, as in `quantization.quantize` ("torch" = torch's float32 fake quant, bit for bit).
    """

    @validate(bits=SIGNED_BITS, symmetric=Boolean(), signed=Boolean(), narrow_range=Boolean(), axis=Optional(Integer()),
              averaging_constant=Optional(Real(low=0.0, high=1.0, low_inclusive=False)), rule=RULE)
    def __init__(self, bits=8, symmetric=True, signed=True, narrow_range=False, axis=None, averaging_constant=None,
                 rule="course"):
        self.bits, self.axis, self.c, self.rule = _bits(bits), axis, averaging_constant, rule
        self.kw = dict(bits=bits, symmetric=symmetric, signed=signed, narrow_range=narrow_range, axis=axis)
        self.q_min, self.q_max = q_range(bits, signed, narrow_range)
        self._weights = symmetric and signed and narrow_range and averaging_constant is None and axis in (None, 0)
        self.observer = None
        self._new_observer()

    def _new_observer(self):
        if self.c is None:
            self.observer = MinMaxObserver(**self.kw)
        else:
            self.observer = MovingAverageObserver(averaging_constant=self.c, **self.kw)

    def __call__(self, x, observe=True):
        if self.c is None and observe:
            self._new_observer()  # min/max of the CURRENT tensor, not of its history
        if observe or self.observer.x_min is None:
            self.observer.observe(x)
        if self._weights:  # the course's one weight grid (primitives.symmetric_weight_scale)
            lo, hi = self.observer.range()
            a = np.maximum(-np.asarray(lo), np.asarray(hi))
            scale, zp = symmetric_weight_scale(a, self.bits, self.axis is not None), np.zeros(np.shape(a), np.int64)
            zp = zp if self.axis is not None else 0
        else:
            scale, zp = self.observer.qparams()
        return fake_quantize_ste(x, scale, zp, self.q_min, self.q_max, self.axis, self.rule)

    def __repr__(self):
        return f"FakeQuant({self.kw})"


def _per_layer(value, n, name):
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} must have one entry per layer ({n}), got {len(value)}")
        return list(value)
    return [value] * n


@validate(model=NETWORK, w_bits=PER_LAYER_BITS, a_bits=PER_LAYER_BITS, per_channel=Boolean(), rule=RULE)
def attach_fake_quant(model, w_bits=8, a_bits=8, per_channel=False, rule="course"):
    """Fake-quantize `model`'s weights (w_bits) and the input of every layer (a_bits), in place; return model.

    w_bits, a_bits: an int for all layers, or one per parametrised layer (None = leave it in float).
    Weights: symmetric signed narrow-range (2 bits: ternary {-s, 0, s}), per tensor or per output channel;
    activations: affine unsigned with a moving-average range. Train it with `nn.train` (QAT) or only calibrate it (PTQ, `calibrate`).
    rule: the rounding rule of `quantization.quantize` ("torch" matches torch's fake quant bit for bit).
    """
    n = len(model.W)
    w_bits, a_bits = _per_layer(w_bits, n, "w_bits"), _per_layer(a_bits, n, "a_bits")
    weights = [None if b is None else FakeQuant(b, symmetric=True, signed=True, narrow_range=True, axis=0 if per_channel else None, rule=rule)
               for b in w_bits]
    inputs = [None if b is None else FakeQuant(b, symmetric=False, signed=False, averaging_constant=0.01, rule=rule)
              for b in a_bits]
    model.set_fake_quant(weights, inputs)
    return model


@validate(model=NETWORK, X=Array())
def calibrate(model, X):
    """Let every activation observer see the batch X once (a forward pass with keep=True); return model."""
    model.forward(X, keep=True)
    return model


# --------------------------------------------------------------------------- mixed precision
@validate(n_weights=Sequence(Integer(minimum=1)), drops=Array(), choices=Sequence(SIGNED_BITS), budget=Real(low=0.0))
def allocate_bits(n_weights, drops, choices, budget):
    """Return one bit width per layer: a greedy knapsack over a per-layer sensitivity table.

    drops[l][j]: the accuracy lost when ONLY layer l is quantized to choices[j] bits (a sensitivity
    analysis). Every layer starts at the fewest bits; then, while sum_l n_l b_l <= budget, the layer whose
    next width buys the most accuracy per extra bit moves up (ties: the lower layer index).
    """
    n, choices, drops = list(n_weights), sorted(choices), np.asarray(drops).astype(float)
    if drops.shape != (len(n), len(choices)):
        raise ValueError(f"drops must have shape ({len(n)}, {len(choices)}) (layers, choices), got {drops.shape}")
    level = [0] * len(n)
    if sum(k * choices[0] for k in n) > budget:
        raise ValueError(f"budget must be >= {sum(k * choices[0] for k in n)} bits (every layer at {choices[0]} bits)")
    while True:
        used = sum(k * choices[j] for k, j in zip(n, level))
        gains = [((drops[l, j] - drops[l, j + 1]) / (n[l] * (choices[j + 1] - choices[j])), -l)
                 for l, j in enumerate(level) if j + 1 < len(choices)
                 and used + n[l] * (choices[j + 1] - choices[j]) <= budget]
        if not gains:
            return [choices[j] for j in level]
        level[-max(gains)[1]] += 1
