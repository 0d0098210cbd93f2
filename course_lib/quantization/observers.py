"""Observers: watch calibration data, then choose a quantization range (and so scale and zero point).

Each observer has `observe(x)` (call it on every calibration batch) and `qparams()` ->
(scale, zero_point), computed by `quantization.qparams` from the range it chose:
- MinMaxObserver: the smallest and largest value seen (torch's MinMaxObserver; per channel with axis);
- MovingAverageObserver: an exponential moving average of each batch's min and max
  (x += c (batch - x), c = 0.01, the first batch initialises; torch's MovingAverageMinMaxObserver);
- PercentileObserver: the p-th and (100 - p)-th percentiles, so rare outliers do not stretch the range;
- MSEObserver: the clipping range f [x_min, x_max] that minimises the mean squared quantization error
  over a grid of f, on the grid its keywords choose (lesson 07 uses the narrow-range symmetric grid
  of weights: symmetric=True, narrow_range=True);
- KLObserver: the clipping threshold that minimises KL(P || Q) between the histogram of |x| and its
  quantized version (the "entropy" calibration of NVIDIA's TensorRT, Migacz 2017, "8-bit Inference with
  TensorRT", GTC).
"""
import numpy as np

from ..core import validation as v
from ..core.validation import Boolean, Integer, Optional, Real, validate
from .primitives import SIGNED_BITS, fake_quantize, q_range, qparams


class MinMaxObserver:
    """Track the minimum and maximum of everything observed (per channel along `axis` if given)."""

    @validate(bits=SIGNED_BITS, symmetric=Boolean(), signed=Boolean(), narrow_range=Boolean(), axis=Optional(Integer()))
    def __init__(self, bits=8, symmetric=False, signed=True, narrow_range=False, axis=None):
        self.kw = dict(bits=bits, symmetric=symmetric, signed=signed, narrow_range=narrow_range)
        q_range(bits, signed, narrow_range)  # validates bits
        self.axis, self.x_min, self.x_max = axis, None, None

    def _batch_range(self, x):
        x = v.as_array(x, "x").astype(np.float32)
        if self.axis is None:
            return x.min(), x.max()
        ax = v.axis(self.axis, x.ndim)
        flat = np.moveaxis(x, ax, 0).reshape(x.shape[ax], -1)
        return flat.min(axis=1), flat.max(axis=1)

    def observe(self, x):
        """Update the range with a batch x; return x unchanged (so it can sit in a forward pass)."""
        lo, hi = self._batch_range(x)
        self.x_min = lo if self.x_min is None else np.minimum(self.x_min, lo)
        self.x_max = hi if self.x_max is None else np.maximum(self.x_max, hi)
        return x

    def range(self):
        """Return (x_min, x_max) of the range this observer chose."""
        if self.x_min is None:
            raise RuntimeError("observe at least one batch before asking for the range")
        return self.x_min, self.x_max

    def qparams(self):
        """Return (scale, zero_point) for the chosen range (quantization.qparams)."""
        return qparams(*self.range(), **self.kw)


def _grid_kw(kw):
    """Check the grid keywords a subclass passes on to MinMaxObserver with its constraints (nested calls trust us)."""
    base = MinMaxObserver.__init__.constraints
    return {k: base[k].check(a, k) if k in base else a for k, a in kw.items()}


class MovingAverageObserver(MinMaxObserver):
    """Average each batch's min and max: x <- x + c (batch - x); the first batch sets x (torch's rule)."""

    @validate(averaging_constant=Real(low=0.0, high=1.0, low_inclusive=False))
    def __init__(self, averaging_constant=0.01, **kw):
        super().__init__(**_grid_kw(kw))
        self.c = averaging_constant

    def observe(self, x):
        lo, hi = self._batch_range(x)
        if self.x_min is None:
            self.x_min, self.x_max = lo, hi
        else:
            self.x_min = self.x_min + np.float32(self.c) * (lo - self.x_min)
            self.x_max = self.x_max + np.float32(self.c) * (hi - self.x_max)
        return x


class _Collecting(MinMaxObserver):
    """An observer that keeps the observed values (per tensor) to choose its range at the end."""

    def observe(self, x):
        x = v.as_array(x, "x").astype(np.float32).reshape(-1)
        self.values = x if getattr(self, "values", None) is None else np.concatenate([self.values, x])
        return super().observe(x)


class PercentileObserver(_Collecting):
    """Clip to the [100 - p, p] percentiles of the observed values (linear interpolation)."""

    @validate(percentile=Real(low=50.0, high=100.0))
    def __init__(self, percentile=99.99, **kw):
        super().__init__(**_grid_kw(kw))
        self.p = percentile

    def range(self):
        super().range()
        return tuple(np.float32(q) for q in np.percentile(self.values, [100.0 - self.p, self.p]))


class MSEObserver(_Collecting):
    """Choose the range f * [x_min, x_max], f on a grid in (0, 1], with the least mean squared error
    between the values and their fake-quantized copies: clipping error against rounding error."""

    @validate(grid=Integer(minimum=1))
    def __init__(self, grid=100, **kw):
        super().__init__(**_grid_kw(kw))
        self.grid = grid

    def mse(self, x_min, x_max):
        """Return mean((fake_quantize(x) - x)^2) over the observed values for the range [x_min, x_max]."""
        scale, zp = qparams(x_min, x_max, **self.kw)
        q_min, q_max = q_range(self.kw["bits"], self.kw["signed"], self.kw["narrow_range"])
        return float(np.mean((fake_quantize(self.values, scale, zp, q_min, q_max) - self.values) ** 2))

    def range(self):
        lo, hi = super().range()
        fs = np.arange(1, self.grid + 1) / self.grid
        errors = [self.mse(f * lo, f * hi) for f in fs]
        best = fs[int(np.argmin(errors))]  # ties: the smallest f (the first)
        return np.float32(best * lo), np.float32(best * hi)


class KLObserver(_Collecting):
    """Choose a threshold t minimising KL(P || Q): P = histogram of |x| clipped at t (the tail added to
    the last bin), Q = the histogram below t (without the tail) merged into as many levels as the grid
    puts on [0, t] and spread back over the non-empty bins.
    The range is [-t, t], or [0, t] when every observed value is >= 0 (e.g. after a ReLU). Levels on
    [0, t] (`levels`): 2^(bits-1) for a symmetric grid (TensorRT's signed int8: 128), but 2^bits when
    the data are non-negative and symmetric=False, since the affine grid then spends all its 2^bits
    levels on [0, t].
    skip_zeros=True keeps exact zeros out of the histogram's bins, as one extra entry of both P and Q:
    0 is on every grid (no error), but after a ReLU its spike in the first bin dominates P, and merging
    it with its neighbours into one level of Q costs so much KL that small thresholds (one bin per
    level) win (lesson 08)."""

    @validate(bins=Integer(minimum=2), skip_zeros=Boolean())
    def __init__(self, bins=512, skip_zeros=False, **kw):
        kw.setdefault("symmetric", True)
        super().__init__(**_grid_kw(kw))
        self.skip_zeros = skip_zeros
        self.bins = v.integer(bins, "bins", minimum=2 ** (self.kw["bits"] - 1))

    def levels(self):
        """Return the number of grid levels on [0, t] for the data observed (see the class docstring)."""
        one_sided = self.range_min() >= 0 and not self.kw["symmetric"]
        return 2 ** self.kw["bits"] if one_sided else 2 ** (self.kw["bits"] - 1)

    def range_min(self):
        if self.x_min is None:
            raise RuntimeError("observe at least one batch before asking for the range")
        return float(np.min(self.x_min))

    def kl(self, hist, i, levels, zeros=0):
        """Return KL(P || Q) for the threshold at bin edge i (the formula in the class docstring);
        `zeros` exact zeros, if counted apart, join P and Q as one more entry, equal in both."""
        p = hist[:i].astype(float)
        p[-1] += hist[i:].sum()                  # P keeps the clipped tail in its last bin ...
        starts = np.unique(np.linspace(0, i, levels + 1).astype(int)[:-1])   # `levels` runs of bins
        used = hist[:i] > 0
        # ... Q is built from the histogram WITHOUT the tail (as TensorRT and MXNet's calibration), so
        # clipping is penalised; merging P itself would give Q = P, KL = 0, at i = levels
        mass = np.add.reduceat(hist[:i].astype(float), starts)
        count = np.add.reduceat(used.astype(float), starts)
        q = np.repeat(mass / np.maximum(count, 1.0), np.diff(np.append(starts, i))) * used
        if q.sum() == 0:  # every value lies beyond the threshold: Q is empty, nothing is kept
            return float("inf")
        p, q = np.append(p, float(zeros)), np.append(q, float(zeros))
        mask = p > 0
        p, q = p / p.sum(), q / q.sum()
        return float(np.sum(p[mask] * np.log(p[mask] / np.maximum(q[mask], 1e-12))))

    def range(self):
        super().range()
        a = np.abs(self.values)
        zeros = int(np.sum(a == 0)) if self.skip_zeros else 0
        a = a[a > 0] if zeros else a
        if a.size == 0 or a.max() == 0:
            return np.float32(0.0), np.float32(0.0)
        hist, edges = np.histogram(a, bins=self.bins, range=(0.0, float(a.max())))
        levels = self.levels()
        if levels > self.bins:
            raise ValueError(f"bins must be >= the {levels} grid levels on [0, t], got {self.bins}")
        candidates = range(levels, self.bins + 1)
        i = min(candidates, key=lambda j: (self.kl(hist, j, levels, zeros), j))
        t = np.float32(edges[i])
        return (np.float32(0.0) if self.x_min >= 0 else -t), t  # non-negative data (after a ReLU): [0, t]
