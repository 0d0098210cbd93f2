"""The machinery every checker shares: cases, comparison, verdicts, and friendly failures."""
import copy
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Case:
    """One hidden test case: a name in plain words, the arguments, and a hint shown if it fails."""

    name: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    hint: str = ""


class Verdict:
    """The outcome of a check; shows as one short message in a notebook, is truthy when passed."""

    def __init__(self, exercise, passed, message):
        self.exercise, self.passed, self.message = exercise, passed, message

    def __bool__(self):
        return self.passed

    def __repr__(self):
        return self.message


def _show(x):
    if isinstance(x, tuple) and any(isinstance(i, np.ndarray) for i in x):  # e.g. (data, indices, indptr)
        return "(" + ", ".join(np.array2string(i, precision=4, threshold=12, edgeitems=3, separator=", ")
                               if isinstance(i, np.ndarray) else _show(i) for i in x) + ")"
    if isinstance(x, np.ndarray):
        return f"array(shape={x.shape}, dtype={x.dtype}):\n" + np.array2string(
            x, precision=4, threshold=60, edgeitems=3, suppress_small=True)
    if isinstance(x, float):
        return f"{x:.6g}"
    return repr(x)


def exact(expected, got):
    """Compare exactly (arrays: same shape and values; bool masks must be bool). Return a reason or None."""
    if isinstance(expected, np.ndarray):
        if not isinstance(got, np.ndarray):
            return f"expected a numpy array, got {type(got).__name__}"
        if got.shape != expected.shape:
            return f"expected shape {expected.shape}, got shape {got.shape}"
        if expected.dtype == bool and got.dtype != bool:
            return f"expected a boolean mask (dtype bool), got dtype {got.dtype}"
        if not np.array_equal(expected, got):
            n = int(np.sum(expected != got))
            return f"{n} of {expected.size} entries differ"
        return None
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected a sequence of {len(expected)} items, got {_show(got)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            why = exact(e, g)
            if why:
                return f"item {i}: {why}"
        return None
    if isinstance(expected, (int, np.integer)) and not isinstance(expected, bool):
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            return f"expected an integer, got {type(got).__name__}"
        return None if got == expected else "the counts differ"
    return None if got == expected else "the values differ"


def allclose(atol=1e-6, rtol=0.0):
    """Compare numbers or arrays within a tolerance; return a comparison function."""
    def compare(expected, got):
        try:
            g = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            return f"expected numbers, got {type(got).__name__}"
        e = np.asarray(expected, dtype=float)
        if g.shape != e.shape:
            return f"expected shape {e.shape}, got shape {g.shape}"
        if not np.allclose(g, e, atol=atol, rtol=rtol):
            return f"largest difference {np.max(np.abs(g - e)):.3g} > tolerance {atol:g}"
        return None
    return compare


def _changed(before, after):
    """Return True if any array inside `after` differs from its snapshot in `before`."""
    if isinstance(before, np.ndarray):
        nan_ok = before.dtype.kind in "fc"  # equal_nan fails on strings and objects
        return not np.array_equal(before, after, equal_nan=nan_ok)
    if isinstance(before, dict):
        return any(_changed(before[k], after[k]) for k in before)
    if isinstance(before, (list, tuple)):
        return any(_changed(b, a) for b, a in zip(before, after))
    return False


def run_checks(student_fn, reference_fn, cases, exercise, compare=exact):
    """Run `student_fn` on every case, compare with `reference_fn`, and return a Verdict."""
    tag = f"Exercise {exercise}"
    for case in cases:
        args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
        snapshot = copy.deepcopy((args, kwargs))
        expected = reference_fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        try:
            got = student_fn(*args, **kwargs)
        except NotImplementedError:
            return Verdict(exercise, False, f"… {tag}: not done yet. Replace `raise NotImplementedError` "
                                            "with your code, run that cell, then run this check again.")
        except Exception as e:  # a wrong answer gets a hint, never a raw traceback
            return Verdict(exercise, False, f"✗ {tag}, case '{case.name}': your function raised "
                                            f"{type(e).__name__}: {e}\n  Hint: {case.hint}")
        if _changed(snapshot, (args, kwargs)):
            return Verdict(exercise, False, f"✗ {tag}, case '{case.name}': your function changed its "
                                            "input in place. Work on a copy (e.g. `w = w.copy()`).")
        why = compare(expected, got)
        if why:
            return Verdict(exercise, False, f"✗ {tag}, case '{case.name}': {why}.\n"
                                            f"  expected: {_show(expected)}\n  got:      {_show(got)}\n"
                                            f"  Hint: {case.hint}")
    return Verdict(exercise, True, f"✓ {tag} passed all {len(cases)} cases.")
