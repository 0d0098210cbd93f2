"""Measure quantization error: rounding vs clipping, SQNR, and weight-only fake quantization of a model.

A uniform quantizer makes two kinds of error (Nagel et al. 2021, "A White Paper on Neural Network
Quantization", arXiv:2106.08295, sec. 3.1): values inside the range are ROUNDED to the nearest grid
point (error at most scale / 2, mean square about scale^2 / 12), values outside are CLIPPED to the
ends (error unbounded). A wider range trades clipping error for rounding error; the MSE-optimal range
balances the two (course_lib.quantization.observers.MSEObserver).
"""
import numpy as np

from ..core.nn import MLP, Network
from ..core.validation import Array, Boolean, InstanceOf, Integer, validate
from .primitives import SCALES, SIGNED_BITS, ZERO_POINTS, fake_quantize, quantize_weights

MODEL = InstanceOf(Network, lambda: MLP([2, 2]), "course_lib MLP or Sequential")


@validate(x=Array(), scale=SCALES, zero_point=ZERO_POINTS, q_min=Integer(), q_max=Integer())
def error_split(x, scale, zero_point, q_min, q_max):
    """Return (rounding, clipping): the mean squared error of fake_quantize(x) split by where x falls.

    clipped: round(x / scale) + zero_point outside [q_min, q_max] (torch's integer-domain rule);
    rounding = sum over the others of (x_hat - x)^2 / n, clipping = sum over the clipped / n,
    so rounding + clipping = mean((x_hat - x)^2) (Nagel et al. 2021, sec. 3.1). Per tensor.
    """
    x = np.asarray(x).astype(np.float64)
    err = (fake_quantize(x, scale, zero_point, q_min, q_max) - x) ** 2
    q = np.rint(x / scale) + zero_point
    clipped = (q < q_min) | (q > q_max)
    return float(err[~clipped].sum() / x.size), float(err[clipped].sum() / x.size)


@validate(x=Array(), x_hat=Array())
def sqnr_db(x, x_hat):
    """Return the signal-to-quantization-noise ratio 10 log10(sum x^2 / sum (x - x_hat)^2) in dB
    (inf when x_hat == x); about 6.02 dB more per bit for a well-used range (Widrow & Kollar 2008)."""
    x, x_hat = np.asarray(x).astype(np.float64), np.asarray(x_hat).astype(np.float64)
    if x.shape != x_hat.shape:
        raise ValueError(f"x and x_hat must have the same shape, got {x.shape} and {x_hat.shape}")
    noise = np.sum((x - x_hat) ** 2)
    return float("inf") if noise == 0 else float(10 * np.log10(np.sum(x ** 2) / noise))


@validate(w=Array(), bits=SIGNED_BITS, per_channel=Boolean())
def fake_quantize_weight(w, bits=8, per_channel=False):
    """Return w fake-quantized on the course's one weight grid (primitives.quantize_weights): symmetric,
    narrow range [-(2^(b-1) - 1), 2^(b-1) - 1], zero point 0, scale = max|w| / (2^(b-1) - 1) per tensor
    or per output channel (axis 0); x_hat = q_w * scale in float64 (Krishnamoorthi 2018, sec. 2.2 eq. 10
    and sec. 2.6; TFLite's int8 weights)."""
    q_w, scale = quantize_weights(w, bits, per_channel)
    return q_w * np.asarray(scale, dtype=np.float64).reshape((-1,) + (1,) * (q_w.ndim - 1) if per_channel else ())


@validate(model=MODEL, bits=SIGNED_BITS, per_channel=Boolean())
def fake_quantize_weights(model, bits=8, per_channel=False):
    """Return a copy of a course_lib model (MLP or conv Sequential) with every weight matrix W_l
    fake-quantized by fake_quantize_weight; biases and activations stay in float (weight-only)."""
    out = model.copy()
    out.W = [fake_quantize_weight(w, bits, per_channel) for w in out.W]
    return out
