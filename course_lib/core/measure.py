"""Measure a model honestly: parameters, bytes per number format, multiply-accumulates, latency."""
import statistics
import time
from dataclasses import dataclass

import numpy as np

from .validation import (Array, Arrays, Bits, Boolean, Callable, Choice, InstanceOf, Integer, Optional, Positive, Real,
                         Sequence, Text, validate)
from .layers import Conv2d, Dense, Sequential, digits_cnn

SIZES = Sequence(Integer(minimum=1), min_len=2, least="an input and an output width")  # layer widths
CONV_NET = InstanceOf(Sequential, lambda: digits_cnn(0), "course_lib Sequential (layers.digits_cnn)")
BITS = {"float64": 64, "float32": 32, "float16": 16, "bfloat16": 16, "int8": 8, "int4": 4, "int2": 2, "binary": 1}


@validate(t=Real())
def format_seconds(t):
    """Format a duration for printing, e.g. '1.23 ms' (nbval's sanitiser replaces it by TIME)."""
    for unit, f in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(t) >= f:
            return f"{t / f:.2f} {unit}"
    return f"{t / 1e-9:.2f} ns"


@validate(r=Real(low=0.0))
def format_ratio(r):
    """Format a ratio of two timings, e.g. '1.04×' (nbval's sanitiser replaces it by RATIO)."""
    return f"{r:.2f}×"


@validate(sizes=SIZES, bias=Boolean())
def mlp_params(sizes, bias=True):
    """Count the parameters of dense layers of `sizes`: sum_l n_{l-1} n_l (+ n_l biases)."""
    return sum(a * b + (b if bias else 0) for a, b in zip(sizes[:-1], sizes[1:]))


@validate(weights=Arrays(), nonzero_only=Boolean())
def count_params(weights, nonzero_only=False):
    """Count parameters of a name -> array mapping (or list); with nonzero_only, count non-zeros (L0)."""
    return int(sum(np.count_nonzero(a) if nonzero_only else a.size for a in weights))


@validate(n_params=Integer(minimum=0), fmt=Choice(*BITS))
def model_bytes(n_params, fmt="float32"):
    """Return the bytes n_params numbers need in a format: n * bits / 8 (no metadata, no padding)."""
    return n_params * BITS[fmt] / 8


@validate(weights=Arrays(), biases=Arrays(), bits=Bits())
def packed_bytes(weights, biases, bits):
    """Return the bytes of `bits`-bit weight codes packed densely, one float32 scale per row, float32 biases.

    sum_l ceil(|W_l| * bits / 8) + 4 * rows(W_l) + 4 * |b_l|   (each layer's codes start on a byte)
    """
    if len(weights) != len(biases):
        raise ValueError(f"biases must have one array per weight matrix ({len(weights)}), got {len(biases)}")
    return int(sum(-(-w.size * bits // 8) + 4 * w.shape[0] + 4 * b.size for w, b in zip(weights, biases)))


@validate(sizes=SIZES)
def dense_macs(sizes):
    """Return the multiply-accumulates of one forward pass through dense layers of `sizes`.

    MACs = sum_l n_{l-1} * n_l  (a bias add is not a MAC; activations are not counted)
    """
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


@validate(c_in=Integer(1), c_out=Integer(1), k_h=Integer(1), k_w=Integer(1), h_out=Integer(1), w_out=Integer(1),
          groups=Integer(1))
def conv2d_macs(c_in, c_out, k_h, k_w, h_out, w_out, groups=1):
    """Return the MACs of a 2-D convolution: c_out * h_out * w_out * (c_in / groups) * k_h * k_w."""
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups must divide c_in={c_in} and c_out={c_out}, got {groups}")
    return c_out * h_out * w_out * (c_in // groups) * k_h * k_w


@dataclass
class Timing:
    """Latency samples of one function: median, spread (interquartile range), and all samples."""

    samples: list

    def __post_init__(self):
        if len(self.samples) == 0:
            raise ValueError("samples must not be empty (time at least one call)")

    @property
    def median(self):
        return statistics.median(self.samples)

    @property
    def iqr(self):
        q = np.percentile(self.samples, [25, 75])
        return float(q[1] - q[0])

    def __repr__(self):
        return f"median {format_seconds(self.median)} (IQR {format_seconds(self.iqr)}, {len(self.samples)} runs)"


@validate(samples=Array(), warmup=Integer(minimum=0))
def latency_summary(samples, warmup=0):
    """Drop the first `warmup` samples; return (median, interquartile range) of the rest."""
    x = samples.astype(float).ravel()
    if warmup >= x.size:
        raise ValueError(f"warmup must be < the number of samples ({x.size}), got {warmup}")
    q1, med, q3 = np.percentile(x[warmup:], [25, 50, 75])
    return float(med), float(q3 - q1)


@validate(fn=Callable(), warmup=Integer(0), repeat=Integer(1), number=Integer(1))
def time_it(fn, *args, warmup=5, repeat=50, number=1):
    """Time fn(*args): `warmup` untimed calls, then `repeat` samples of `number` calls each (seconds per call)."""
    for _ in range(warmup):
        fn(*args)
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn(*args)
        samples.append((time.perf_counter() - t0) / number)
    return Timing(samples)


@validate(values=Array(), digits=Integer(minimum=0), unit=Text())
def mean_std(values, digits=3, unit="seeds"):
    """Format repeated measurements the one way the course prints them: '0.972 ± 0.003 (3 seeds)'.

    ± is the SAMPLE standard deviation (ddof=1, the unbiased variance estimate); one value gives ± 0.
    """
    x = values.astype(float).reshape(-1)
    std = float(np.std(x, ddof=1)) if x.size > 1 else 0.0
    unit = unit[:-1] if x.size == 1 and unit.endswith("s") else unit
    return f"{float(np.mean(x)):.{digits}f} ± {std:.{digits}f} ({x.size} {unit})"


@validate(a=Array(), b=Array(), tol=Positive(), name=Text())
def agreement(a, b, tol, name="max |difference|"):
    """Say whether two results agree within a named tolerance: 'max |difference| < 1e-10: True'.

    Prints the verdict, never the raw round-off (which differs between BLAS kernels and CPUs).
    """
    a, b = a.astype(float), b.astype(float)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    return f"{name} < {tol:g}: {bool(np.max(np.abs(a - b)) < tol)}"


@validate(model=CONV_NET, input_shape=Sequence(Integer(minimum=1)))
def layer_macs(model, input_shape):
    """Return the multiply-accumulates of each Conv2d / Dense layer of a conv Sequential, one input.

    Conv2d: c_out h_out w_out c_in k_h k_w (conv2d_macs); Dense: n_in n_out; biases, activations and
    pooling are not counted (as torch's FlopCounterMode, which reports 2 FLOPs per MAC).
    """
    x, out = np.zeros((1, *input_shape)), []
    for layer, W, b in model._bound():
        y = layer.forward(x, W, b) if layer.has_params else layer.forward(x)
        if isinstance(layer, Conv2d):
            out.append(conv2d_macs(layer.in_channels, layer.out_channels, layer.k, layer.k, y.shape[2], y.shape[3]))
        elif isinstance(layer, Dense):
            out.append(layer.n_in * layer.n_out)
        x = y
    return out


@validate(model=CONV_NET, input_shape=Sequence(Integer(minimum=1)))
def sequential_macs(model, input_shape):
    """Return the total multiply-accumulates of a conv Sequential for one input (sum of layer_macs)."""
    return int(sum(layer_macs(model, input_shape)))


@validate(vocab_size=Integer(1), context=Integer(1), d_model=Integer(1), n_layer=Integer(1), d_ff=Optional(Integer(1)))
def transformer_params(vocab_size, context, d_model, n_layer, d_ff=None):
    """Count a GPT's parameters by part: embeddings, attention and MLP linears, LayerNorms, head.

    Per block: attention 4 d^2 + 4 d (fused q, k, v: 3 d^2 + 3 d; output d^2 + d), MLP 2 d d_ff + d_ff + d,
    two LayerNorms 4 d; then V d token and T d position embeddings, a final LayerNorm 2 d and a head
    V d + V (d_ff = 4 d by default, as GPT-2; Radford et al. 2019).
    """
    V, T, d, L = vocab_size, context, d_model, n_layer
    f = 4 * d if d_ff is None else d_ff
    return {"token embedding": V * d, "position embedding": T * d, "attention linears": L * (4 * d * d + 4 * d),
            "MLP linears": L * (2 * d * f + f + d), "LayerNorms": L * 4 * d + 2 * d, "head": V * d + V}


@validate(vocab_size=Integer(1), d_model=Integer(1), n_layer=Integer(1), n_keys=Integer(1), d_ff=Optional(Integer(1)))
def transformer_macs_per_token(vocab_size, d_model, n_layer, n_keys, d_ff=None):
    """Return the MACs of one token's forward pass through a GPT, split into linears and attention.

    linears = L (4 d^2 + 2 d d_ff) + d V (weights x input); attention = L * 2 n_keys d (q k^T and the
    weighted sum of v over the n_keys tokens the token attends to). Embedding look-ups, LayerNorm,
    softmax and GELU are not MACs.
    """
    V, d, L = vocab_size, d_model, n_layer
    f = 4 * d if d_ff is None else d_ff
    return {"linears": L * (4 * d * d + 2 * d * f) + d * V, "attention": L * 2 * n_keys * d}


@validate(d_model=Integer(1), n_layer=Integer(1), fmt=Choice(*BITS))
def kv_cache_bytes_per_token(d_model, n_layer, fmt="float32"):
    """Return the bytes the KV cache stores per token: 2 (k and v) * n_layer * d_model * bits / 8."""
    return model_bytes(2 * n_layer * d_model, fmt)
