"""Input validation shared by the core: every error names the argument and the allowed values.

The checks (as_array, real, integer, fraction, choice, axis) and, below them, the declared constraints
that apply them argument by argument (`@validate`): docs/design.md, "Validation".
"""
import functools
import inspect
import numbers
import threading

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


def bits(x, name="bits", minimum=1):
    """Check a bit width: an integer in [minimum, MAX_BITS] (1 for an index or a code, 2 for a signed grid)."""
    return integer(x, name, minimum, MAX_BITS)


def temperature(T, name="T"):
    """Check a softmax temperature: a finite number > 0 (Hinton et al. 2015, eq. 1); return it as float."""
    if isinstance(T, bool) or not isinstance(T, numbers.Real):
        raise TypeError(f"{name} must be a finite number > 0, got {type(T).__name__}")
    if not (np.isfinite(T) and T > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {T}")
    return float(T)


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


# --------------------------------------------------------------------------- declared constraints
# One constraint per argument, declared beside the function (in the spirit of scikit-learn's
# `validate_params`): `@validate(x=Array(), sparsity=Fraction())` checks every argument before the body
# runs and hands the body the checked value (as_array's array, real's float, integer's int). Each
# constraint also names a value it accepts (`good`) and values it rejects (`bad`): the coverage test
# (tests/test_validation_coverage.py) finds every public function and tries each bad value of each
# argument, so a declaration that does not reject what it promises fails a test.

MAX_BITS = 16  # the one bits range: [1, 16] for an index or a code, [2, 16] for a signed integer grid


class Constraint:
    """One argument's rule: check(x, name) returns x checked (and converted) or raises naming `name`."""

    def check(self, x, name):
        raise NotImplementedError

    def good(self):
        """Return a value this constraint accepts (the coverage test fills the other arguments with it)."""
        raise NotImplementedError

    def bad(self):
        """Return values this constraint must reject."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


class Array(Constraint):
    """Array-like of finite numbers (as_array); `ndim` fixes the number of dimensions (`min_ndim` bounds it
    below), `integer` the dtype, `nonnegative` the sign of every entry."""

    def __init__(self, ndim=None, allow_empty=False, integer=False, min_ndim=None, nonnegative=False):
        self.ndim, self.allow_empty, self.integer = ndim, allow_empty, integer
        self.min_ndim, self.nonnegative = min_ndim, nonnegative

    def check(self, x, name):
        arr = as_array(x, name, allow_empty=self.allow_empty)
        if self.ndim is not None and arr.ndim != self.ndim:
            raise ValueError(f"{name} must be {self.ndim}-dimensional, got shape {arr.shape}")
        if self.min_ndim is not None and arr.ndim < self.min_ndim:
            raise ValueError(f"{name} must have at least {self.min_ndim} dimension(s), got shape {arr.shape}")
        if self.integer and not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{name} must be integers, got dtype {arr.dtype}")
        if self.nonnegative and np.any(arr < 0):
            raise ValueError(f"{name} must be >= 0 everywhere, got a minimum of {arr.min()}")
        return arr

    def good(self):
        ndim = self.ndim if self.ndim is not None else max(2, self.min_ndim or 0)
        return np.ones((2,) * ndim, dtype=int if self.integer else float)

    def bad(self):
        return ["abc", np.array([1.0, np.nan])] + ([] if self.allow_empty else [[]]) + \
            ([np.ones((2,) * (self.ndim + 1))] if self.ndim is not None else []) + ([np.ones(2) / 2] if self.integer else []) + \
            ([np.ones((2,) * (self.min_ndim - 1))] if self.min_ndim else []) + ([-self.good()] if self.nonnegative else [])


class Real(Constraint):
    """A finite real number within bounds (real); None bounds are open."""

    def __init__(self, low=None, high=None, low_inclusive=True, high_inclusive=True):
        self.low, self.high, self.low_inclusive, self.high_inclusive = low, high, low_inclusive, high_inclusive

    def check(self, x, name):
        return real(x, name, self.low, self.high, self.low_inclusive, self.high_inclusive)

    def good(self):
        if self.low is not None and self.high is not None:
            return (self.low + self.high) / 2
        return float(self.low + 1) if self.low is not None else float(self.high - 1) if self.high is not None else 1.0

    def bad(self):
        out = ["abc", float("nan"), True]
        out += [] if self.low is None else [self.low if not self.low_inclusive else self.low - 1]
        out += [] if self.high is None else [self.high if not self.high_inclusive else self.high + 1]
        return out


def Positive():
    """A finite real number > 0 (a scale, a step size, a temperature)."""
    return Real(low=0.0, low_inclusive=False)


class Fraction(Real):
    """A real number in [low, high] or [low, high) (fraction), e.g. a sparsity."""

    def __init__(self, low=0.0, high=1.0, high_inclusive=True):
        super().__init__(low, high, True, high_inclusive)

    def check(self, x, name):
        return fraction(x, name, self.low, self.high, self.high_inclusive)


class Integer(Constraint):
    """An integer in [minimum, maximum] (integer); bools and floats are rejected."""

    def __init__(self, minimum=None, maximum=None):
        self.minimum, self.maximum = minimum, maximum

    def check(self, x, name):
        return integer(x, name, self.minimum, self.maximum)

    def good(self):
        return self.minimum if self.minimum is not None else self.maximum if self.maximum is not None else 0

    def bad(self):
        return [1.5, True, "3"] + ([] if self.minimum is None else [self.minimum - 1]) + \
            ([] if self.maximum is None else [self.maximum + 1])


def Bits(minimum=1):
    """A bit width in [minimum, MAX_BITS] (bits): 1 for an index or a code, 2 for a signed integer grid."""
    return Integer(minimum, MAX_BITS)


def Seed():
    """A seed for numpy's default_rng: an integer >= 0."""
    return Integer(minimum=0)


class Choice(Constraint):
    """One of a fixed set of values (choice)."""

    def __init__(self, *allowed):
        self.allowed = allowed

    def check(self, x, name):
        return choice(x, name, self.allowed)

    def good(self):
        return self.allowed[0]

    def bad(self):
        return ["no-such-option"] if all(isinstance(a, str) for a in self.allowed) else ["no-such-option", -12345]


class Boolean(Constraint):
    """True or False (numpy's bool too); a string such as 'no' is rejected, not taken as truthy."""

    def check(self, x, name):
        if not isinstance(x, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {x!r}")
        return bool(x)

    def good(self):
        return True

    def bad(self):
        return ["no", 1, None]


class Optional(Constraint):
    """None, or a value that passes `inner`."""

    def __init__(self, inner):
        self.inner = inner

    def check(self, x, name):
        return None if x is None else self.inner.check(x, name)

    def good(self):
        return None

    def bad(self):
        return [b for b in self.inner.bad() if b is not None]


class Callable(Constraint):
    """Something callable (a function, a loss, a hook)."""

    def check(self, x, name):
        if not callable(x):
            raise TypeError(f"{name} must be callable, got {type(x).__name__}")
        return x

    def good(self):
        return print

    def bad(self):
        return [1, "f"]


class InstanceOf(Constraint):
    """An instance of one of `types`; `example` builds one for the coverage test."""

    def __init__(self, types, example, what=None):
        self.types, self.example = types if isinstance(types, tuple) else (types,), example
        self.what = what or " or ".join(t.__name__ for t in self.types)

    def check(self, x, name):
        if not isinstance(x, self.types):
            raise TypeError(f"{name} must be a {self.what}, got {type(x).__name__}")
        return x

    def good(self):
        return self.example()

    def bad(self):
        return ["model", 3]


class Sequence(Constraint):
    """A non-empty list or tuple whose items pass `item`; returns a list of the checked items."""

    def __init__(self, item, min_len=1, least=None):
        self.item, self.min_len, self.least = item, min_len, least or f"{min_len} value(s)"

    def check(self, x, name):
        if isinstance(x, (str, bytes, dict)) or not hasattr(x, "__iter__"):
            raise TypeError(f"{name} must be a list of values, got {type(x).__name__}")
        items = [self.item.check(i, name) for i in x]
        if len(items) < self.min_len:
            raise ValueError(f"{name} must list at least {self.least}, got {len(items)} value(s)")
        return items

    def good(self):
        return [self.item.good()] * max(self.min_len, 1)

    def bad(self):
        return ["abc", 3] + [[b] for b in self.item.bad()[:2]] + ([[]] if self.min_len else [])


class Text(Constraint):
    """A string (a label, a unit, a name)."""

    def check(self, x, name):
        if not isinstance(x, str):
            raise TypeError(f"{name} must be a string, got {type(x).__name__}")
        return x

    def good(self):
        return "text"

    def bad(self):
        return [3, None]


class Anything(Constraint):
    """No constraint; `reason` says why none can be stated (the coverage test lists these)."""

    def __init__(self, reason):
        self.reason = reason

    def check(self, x, name):
        return x

    def good(self):
        return None

    def bad(self):
        return []


_CALL = threading.local()  # .inside: a checked function's body is running in this thread


def validate(**constraints):
    """Declare one constraint per argument; check them all, in signature order, before the body runs.

    The body receives the checked values. Every parameter except self, *args and **kwargs must be
    declared (a TypeError at import time otherwise), so no argument goes unchecked by accident.
    Only the outermost call is checked: a checked function that calls another one (a training loop
    calling `sgd_step` and a loss 1,000 times) has already checked what it passes on, and checking it
    again took half the time of each SGD step (a 64-16-10 MLP, batch 32: 0.23 ms per step checked at
    every call, 0.11 ms checked once). A callback a caller passes in (a loss, an `on_step` hook) runs
    inside the caller's body, so its own calls are not checked either.
    """
    def wrap(f):
        sig = inspect.signature(f)
        params = [p for p in sig.parameters.values()
                  if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        names = [p.name for p in params]
        if set(constraints) != set(names):
            raise TypeError(f"{f.__qualname__}: declare exactly one constraint per argument; missing "
                            f"{sorted(set(names) - set(constraints))}, unknown {sorted(set(constraints) - set(names))}")
        order = [(n, constraints[n]) for n in names]

        @functools.wraps(f)
        def checked(*args, **kwargs):
            if getattr(_CALL, "inside", False):  # called from a checked function: its caller checked
                return f(*args, **kwargs)
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            a = bound.arguments
            for name, c in order:
                a[name] = c.check(a[name], name)
            _CALL.inside = True
            try:
                return f(*bound.args, **bound.kwargs)
            finally:
                _CALL.inside = False

        checked.constraints = dict(order)
        return checked
    return wrap


class Arrays(Constraint):
    """A name -> array mapping or a list of arrays, each array-like of finite numbers; returns a list
    (with keep_mapping, a mapping stays a dict of the checked arrays)."""

    def __init__(self, keep_mapping=False):
        self.keep_mapping = keep_mapping

    def check(self, x, name):
        if isinstance(x, (str, bytes)) or not hasattr(x, "__iter__"):
            raise TypeError(f"{name} must be a mapping or a list of arrays, got {type(x).__name__}")
        if self.keep_mapping and hasattr(x, "items"):
            return {k: as_array(a, f"{name}[{k!r}]") for k, a in x.items()}
        items = x.items() if hasattr(x, "items") else enumerate(x)
        return [as_array(a, f"{name}[{k!r}]") for k, a in items]

    def good(self):
        return [np.ones(3)]

    def bad(self):
        return ["abc", 3, {"a": "abc"}, [np.array([np.nan])]]


class Temperature(Real):
    """A softmax temperature T > 0 (temperature): the one temperature check of nn and distillation."""

    def __init__(self):
        super().__init__(low=0.0, low_inclusive=False)

    def check(self, x, name):
        return temperature(x, name)


class Probabilities(Array):
    """Rows of probabilities: >= 0, each row summing to 1 within 1e-6 (float32 softmax rows sum to 1 +- K eps)."""

    def __init__(self, ndim=2):
        super().__init__(ndim=ndim)

    def check(self, x, name):
        p = super().check(x, name).astype(float)
        if np.any(p < 0) or not np.allclose(p.sum(axis=-1), 1.0, rtol=0.0, atol=1e-6):
            raise ValueError(f"{name} must hold probabilities (>= 0, each row summing to 1), got row sums in "
                             f"[{p.sum(axis=-1).min():.6g}, {p.sum(axis=-1).max():.6g}] and minimum {p.min():.6g}")
        return p

    def good(self):
        return np.full((2, 2), 0.5)

    def bad(self):
        return super().bad() + [np.full((2, 2), 2.0), np.array([[1.5, -0.5], [0.5, 0.5]])]


class AnyOf(Constraint):
    """A value that passes one of `options` (tried in order), e.g. a loss name or a callable loss."""

    def __init__(self, *options, what):
        self.options, self.what = options, what

    def check(self, x, name):
        for c in self.options:
            try:
                return c.check(x, name)
            except (TypeError, ValueError):
                pass
        raise ValueError(f"{name} must be {self.what}, got {x!r}"[:300])

    def good(self):
        return self.options[0].good()

    def bad(self):
        return [b for b in self.options[0].bad() if all(_rejects(c, b) for c in self.options)]


def _rejects(constraint, x):
    try:
        constraint.check(x, "x")
    except (TypeError, ValueError):
        return True
    return False


class Duck(Constraint):
    """An object with the given methods (a model that has `forward`, say); `example` builds one."""

    def __init__(self, methods, example, what):
        self.methods, self.example, self.what = methods, example, what

    def check(self, x, name):
        if not all(callable(getattr(x, m, None)) for m in self.methods):
            raise TypeError(f"{name} must be {self.what}, got {type(x).__name__}")
        return x

    def good(self):
        return self.example()

    def bad(self):
        return ["model", 3]


class Mapping(Constraint):
    """A non-empty mapping name -> value, each value passing `item`; returns a dict of the checked values."""

    def __init__(self, item):
        self.item = item

    def check(self, x, name):
        if not hasattr(x, "items") or len(x) == 0:
            raise TypeError(f"{name} must be a non-empty mapping name -> value, e.g. {{'fc1.weight': w1}}, "
                            f"got {type(x).__name__}")
        return {k: self.item.check(a, f"{name}[{k!r}]") for k, a in x.items()}

    def good(self):
        return {"w": self.item.good()}

    def bad(self):
        return [[np.ones(2)], {}] + [{"w": b} for b in self.item.bad()[:2]]
