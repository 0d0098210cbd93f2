"""Input validation shared by the core: every error names the argument and the allowed values."""
import numbers

import numpy as np


def as_array(x, name, allow_empty=False):
    """Return `x` as a float or int numpy array; reject NaN, infinities and empty input."""
    try:
        arr = np.asarray(x)
    except Exception as e:  # ragged lists and the like
        raise TypeError(f"{name} must be array-like of numbers, got {type(x).__name__}") from e
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty (got shape {arr.shape})")
    if np.issubdtype(arr.dtype, np.inexact) and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity; allowed: finite numbers only")
    return arr


def fraction(x, name, low=0.0, high=1.0, high_inclusive=True):
    """Check that `x` is a real number in [low, high] (or [low, high)) and return it as float."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a number in [{low}, {high}{']' if high_inclusive else ')'}, "
                        f"got {type(x).__name__}")
    x = float(x)
    ok = low <= x <= high if high_inclusive else low <= x < high
    if not ok:
        raise ValueError(f"{name} must be in [{low}, {high}{']' if high_inclusive else ')'}, got {x}")
    return x


def real(x, name, low=None, high=None, low_inclusive=True, high_inclusive=True):
    """Check that `x` is a finite real number within the given bounds and return it as float."""
    lo = "(-inf" if low is None else ("[" if low_inclusive else "(") + f"{low:g}"
    hi = "inf)" if high is None else f"{high:g}" + ("]" if high_inclusive else ")")
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number in {lo}, {hi}, got {type(x).__name__}")
    x = float(x)
    ok = np.isfinite(x)
    ok &= low is None or (x >= low if low_inclusive else x > low)
    ok &= high is None or (x <= high if high_inclusive else x < high)
    if not ok:
        raise ValueError(f"{name} must be in {lo}, {hi}, got {x}")
    return x


def integer(x, name, minimum=None, maximum=None):
    """Check that `x` is an integer (in [minimum, maximum] where given) and return it as int."""
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(x).__name__}")
    x = int(x)
    if maximum is not None and (x > maximum or (minimum is not None and x < minimum)):
        raise ValueError(f"{name} must be in [{'-inf' if minimum is None else minimum}, {maximum}], got {x}")
    if minimum is not None and x < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {x}")
    return x


def axis(ax, ndim, name="axis"):
    """Check that `ax` is a valid axis for an array of `ndim` dims; return it as non-negative int."""
    ax = integer(ax, name)
    if not -ndim <= ax < ndim:
        raise ValueError(f"{name} must be in [{-ndim}, {ndim - 1}] for a {ndim}-d array, got {ax}")
    return ax % ndim


def choice(x, name, allowed):
    """Check that `x` is one of `allowed`."""
    if x not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {x!r}")
    return x
