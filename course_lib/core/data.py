"""The course's data: small, bundled or generated, never downloaded.

- `load_digits_split()`: scikit-learn's 8x8 digits (1,797 images, bundled with scikit-learn, read by
  `load_digits_arrays()` without importing scikit-learn), pixels scaled to [0, 1], with a FIXED
  train/val/test split whose indices live in data/digits_split.json
  (regenerate with `python data/make_data.py`). Installed without the source checkout (a plain
  `pip install .`), the same split is recomputed by `digits_split_indices()`: a test checks that the
  two are identical.
- `make_regression_task()`: a scaled-down version of a tfmot tutorial's make_regression MLP experiment
  (lesson 06; the tutorial used 10,000 x 1,000 features; we default to 2,000 x 100).
"""
import gzip
import importlib.util
import json
from collections import namedtuple
from pathlib import Path

import numpy as np

from . import validation as v
from .lazy import LazyModule
from .validation import Array, Boolean, Integer, Real, Seed, Sequence, validate

datasets, model_selection = LazyModule("sklearn.datasets"), LazyModule("sklearn.model_selection")  # ~1 s: on first use

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
Split = namedtuple("Split", "X_train y_train X_val y_val X_test y_test")
FRACTIONS = Sequence(Real(low=0.0, low_inclusive=False), min_len=3, least="three shares (train, val, test)")


class _FloatDtype(v.Constraint):
    """A numpy float dtype (np.float32, "float64", ...): the digits' pixels are fractions of 16."""

    def check(self, x, name):
        try:
            ok = np.dtype(x).kind == "f"
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(f"{name} must be a float dtype (e.g. np.float32), got {x!r}")
        return x

    def good(self):
        return np.float32

    def bad(self):
        return ["text", np.int64, 3]


def load_digits_arrays():
    """Return scikit-learn's digits as (data (1797, 64) float64 in 0..16, target (1797,) int).

    Read from the CSV bundled with scikit-learn exactly as `sklearn.datasets.load_digits` reads it
    (np.loadtxt of digits.csv.gz, last column the label), without importing scikit-learn: its import
    costs about a second in every lesson and test process. A test checks the two agree exactly.
    """
    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("scikit-learn is needed for its bundled digits: pip install scikit-learn")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"  # origin: sklearn/__init__.py
    with gzip.open(path, mode="rt", encoding="utf-8") as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :-1], data[:, -1].astype(int)


@validate(seed=Seed(), fractions=FRACTIONS)
def digits_split_indices(seed=0, fractions=(0.6, 0.2, 0.2)):
    """Draw a stratified train/val/test split of the 1,797 digits (used to write the data file)."""
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be three positive shares (train, val, test) summing to 1, got {fractions}")
    y = load_digits_arrays()[1]
    idx = np.arange(len(y))
    train, rest = model_selection.train_test_split(idx, train_size=fractions[0], stratify=y, random_state=seed)
    val_share = fractions[1] / (fractions[1] + fractions[2])
    val, test = model_selection.train_test_split(rest, train_size=val_share, stratify=y[rest], random_state=seed)
    return {"train": sorted(map(int, train)), "val": sorted(map(int, val)), "test": sorted(map(int, test))}


@validate(flatten=Boolean(), dtype=_FloatDtype())
def load_digits_split(flatten=True, dtype=np.float32):
    """Return the digits as a fixed `Split` (X in [0, 1], y in 0..9); 1,078 / 359 / 360 images."""
    data, target = load_digits_arrays()
    X = (data / 16.0).astype(dtype)
    if not flatten:
        X = X.reshape(-1, 8, 8)
    path = DATA_DIR / "digits_split.json"
    idx = json.loads(path.read_text()) if path.exists() else digits_split_indices(seed=0)
    parts = [(X[idx[k]], target[idx[k]].astype(np.int64)) for k in ("train", "val", "test")]
    return Split(*(a for pair in parts for a in pair))


@validate(n_samples=Integer(minimum=10), n_features=Integer(minimum=1), n_informative=Integer(minimum=0),
          noise=Real(low=0.0), seed=Seed())
def make_regression_task(n_samples=2000, n_features=100, n_informative=50, noise=3.0, seed=0):
    """Generate the tutorial's make_regression task, scaled as it did: x / max|x| per feature,
    y / max|y|; split 80/20 with random_state=42. Returns (X_train, y_train, X_val, y_val) float32."""
    if n_informative > n_features:
        raise ValueError(f"n_informative must be <= n_features={n_features}, got {n_informative}")
    x, y = datasets.make_regression(n_samples=n_samples, n_features=n_features, n_informative=n_informative,
                           noise=noise, random_state=seed)
    x = x / np.abs(x).max(axis=0)
    y = y / np.abs(y).max()
    x_tr, x_va, y_tr, y_va = model_selection.train_test_split(x, y, test_size=0.2, random_state=42)
    return tuple(a.astype(np.float32) for a in (x_tr, y_tr, x_va, y_va))


@validate(X=Array(), n=Integer(minimum=1), seed=Seed())
def calibration_sample(X, n, seed):
    """Draw n rows of X without replacement (no labels): the calibration set of PTQ, GPTQ, AWQ, ...

    rows = default_rng(seed).choice(len(X), n, replace=False). The lessons draw with seed 100 + s for
    the model of seed s, so the calibration draw never reuses the model's own random stream.
    """
    if n > len(X):
        raise ValueError(f"n must be at most len(X) = {len(X)} (drawn without replacement), got {n}")
    return X[np.random.default_rng(seed).choice(len(X), n, replace=False)]
