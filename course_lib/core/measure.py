"""Measure a model honestly: parameters, bytes per number format, multiply-accumulates, latency."""
import statistics
import time
from dataclasses import dataclass

import numpy as np

from .validation import as_array, choice, integer, real
from .layers import Conv2d, Dense

BITS = {"float64": 64, "float32": 32, "float16": 16, "bfloat16": 16, "int8": 8, "int4": 4, "int2": 2, "binary": 1}


def format_seconds(t):
    """Format a duration for printing, e.g. '1.23 ms' (nbval's sanitiser replaces it by TIME)."""
    t = real(t, "t")
    for unit, f in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(t) >= f:
            return f"{t / f:.2f} {unit}"
    return f"{t / 1e-9:.2f} ns"


def format_ratio(r):
    """Format a ratio of two timings, e.g. '1.04×' (nbval's sanitiser replaces it by RATIO)."""
    return f"{real(r, 'r', low=0.0):.2f}×"


def mlp_params(sizes, bias=True):
    """Count the parameters of dense layers of `sizes`: sum_l n_{l-1} n_l (+ n_l biases)."""
    sizes = [integer(s, "sizes", minimum=1) for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output width, got {sizes}")
    return sum(a * b + (b if bias else 0) for a, b in zip(sizes[:-1], sizes[1:]))


def count_params(weights, nonzero_only=False):
    """Count parameters of a name -> array mapping (or list); with nonzero_only, count non-zeros (L0)."""
    arrays = weights.values() if isinstance(weights, dict) else weights
    return int(sum(np.count_nonzero(a) if nonzero_only else a.size for a in (as_array(a, "weights") for a in arrays)))


def model_bytes(n_params, fmt="float32"):
    """Return the bytes n_params numbers need in a format: n * bits / 8 (no metadata, no padding)."""
    n = integer(n_params, "n_params", minimum=0)
    bits = BITS[choice(fmt, "fmt", tuple(BITS))]
    return n * bits / 8


def dense_macs(sizes):
    """Return the multiply-accumulates of one forward pass through dense layers of `sizes`.

    MACs = sum_l n_{l-1} * n_l  (a bias add is not a MAC; activations are not counted)
    """
    sizes = [integer(s, "sizes", minimum=1) for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output width, got {sizes}")
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def conv2d_macs(c_in, c_out, k_h, k_w, h_out, w_out, groups=1):
    """Return the MACs of a 2-D convolution: c_out * h_out * w_out * (c_in / groups) * k_h * k_w."""
    c_in, c_out, groups = integer(c_in, "c_in", 1), integer(c_out, "c_out", 1), integer(groups, "groups", 1)
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups must divide c_in={c_in} and c_out={c_out}, got {groups}")
    return c_out * integer(h_out, "h_out", 1) * integer(w_out, "w_out", 1) * (c_in // groups) * \
        integer(k_h, "k_h", 1) * integer(k_w, "k_w", 1)


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


def latency_summary(samples, warmup=0):
    """Drop the first `warmup` samples; return (median, interquartile range) of the rest."""
    x = as_array(samples, "samples").astype(float).ravel()
    warmup = integer(warmup, "warmup", minimum=0)
    if warmup >= x.size:
        raise ValueError(f"warmup must be < the number of samples ({x.size}), got {warmup}")
    q1, med, q3 = np.percentile(x[warmup:], [25, 50, 75])
    return float(med), float(q3 - q1)


def time_it(fn, *args, warmup=5, repeat=50, number=1):
    """Time fn(*args): `warmup` untimed calls, then `repeat` samples of `number` calls each (seconds per call)."""
    warmup, repeat, number = integer(warmup, "warmup", 0), integer(repeat, "repeat", 1), integer(number, "number", 1)
    for _ in range(warmup):
        fn(*args)
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn(*args)
        samples.append((time.perf_counter() - t0) / number)
    return Timing(samples)


def mean_std(values, digits=3, unit="seeds"):
    """Format repeated measurements the one way the course prints them: '0.972 ± 0.003 (3 seeds)'.

    ± is the SAMPLE standard deviation (ddof=1, the unbiased variance estimate); one value gives ± 0.
    """
    x = as_array(values, "values").astype(float).reshape(-1)
    digits = integer(digits, "digits", minimum=0)
    std = float(np.std(x, ddof=1)) if x.size > 1 else 0.0
    unit = unit[:-1] if x.size == 1 and unit.endswith("s") else unit
    return f"{float(np.mean(x)):.{digits}f} ± {std:.{digits}f} ({x.size} {unit})"


def agreement(a, b, tol, name="max |difference|"):
    """Say whether two results agree within a named tolerance: 'max |difference| < 1e-10: True'.

    Prints the verdict, never the raw round-off (which differs between BLAS kernels and CPUs).
    """
    a, b = as_array(a, "a").astype(float), as_array(b, "b").astype(float)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol > 0:
        raise ValueError(f"tol must be a number > 0, got {tol!r}")
    return f"{name} < {tol:g}: {bool(np.max(np.abs(a - b)) < tol)}"


def layer_macs(model, input_shape):
    """Return the multiply-accumulates of each Conv2d / Dense layer of a conv Sequential, one input.

    Conv2d: c_out h_out w_out c_in k_h k_w (conv2d_macs); Dense: n_in n_out; biases, activations and
    pooling are not counted (as torch's FlopCounterMode, which reports 2 FLOPs per MAC).
    """
    x, out = np.zeros((1,) + tuple(integer(s, "input_shape", minimum=1) for s in input_shape)), []
    for layer, W, b in model._bound():
        y = layer.forward(x, W, b) if layer.has_params else layer.forward(x)
        if isinstance(layer, Conv2d):
            out.append(conv2d_macs(layer.in_channels, layer.out_channels, layer.k, layer.k, y.shape[2], y.shape[3]))
        elif isinstance(layer, Dense):
            out.append(layer.n_in * layer.n_out)
        x = y
    return out


def sequential_macs(model, input_shape):
    """Return the total multiply-accumulates of a conv Sequential for one input (sum of layer_macs)."""
    return int(sum(layer_macs(model, input_shape)))


def transformer_params(vocab_size, context, d_model, n_layer, d_ff=None):
    """Count a GPT's parameters by part: embeddings, attention and MLP linears, LayerNorms, head.

    Per block: attention 4 d^2 + 4 d (fused q, k, v: 3 d^2 + 3 d; output d^2 + d), MLP 2 d d_ff + d_ff + d,
    two LayerNorms 4 d; then V d token and T d position embeddings, a final LayerNorm 2 d and a head
    V d + V (d_ff = 4 d by default, as GPT-2; Radford et al. 2019).
    """
    V, T = integer(vocab_size, "vocab_size", 1), integer(context, "context", 1)
    d, L = integer(d_model, "d_model", 1), integer(n_layer, "n_layer", 1)
    f = 4 * d if d_ff is None else integer(d_ff, "d_ff", 1)
    return {"token embedding": V * d, "position embedding": T * d, "attention linears": L * (4 * d * d + 4 * d),
            "MLP linears": L * (2 * d * f + f + d), "LayerNorms": L * 4 * d + 2 * d, "head": V * d + V}


def transformer_macs_per_token(vocab_size, d_model, n_layer, n_keys, d_ff=None):
    """Return the MACs of one token's forward pass through a GPT, split into linears and attention.

    linears = L (4 d^2 + 2 d d_ff) + d V (weights x input); attention = L * 2 n_keys d (q k^T and the
    weighted sum of v over the n_keys tokens the token attends to). Embedding look-ups, LayerNorm,
    softmax and GELU are not MACs.
    """
    V, d, L = integer(vocab_size, "vocab_size", 1), integer(d_model, "d_model", 1), integer(n_layer, "n_layer", 1)
    f = 4 * d if d_ff is None else integer(d_ff, "d_ff", 1)
    return {"linears": L * (4 * d * d + 2 * d * f) + d * V,
            "attention": L * 2 * integer(n_keys, "n_keys", 1) * d}


def kv_cache_bytes_per_token(d_model, n_layer, fmt="float32"):
    """Return the bytes the KV cache stores per token: 2 (k and v) * n_layer * d_model * bits / 8."""
    n = 2 * integer(n_layer, "n_layer", 1) * integer(d_model, "d_model", 1)
    return model_bytes(n, fmt)
