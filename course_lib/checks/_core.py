"""The machinery every checker shares: cases, comparison, diagnosis of common mistakes, verdicts.

A failing verdict names the case, what differs (large arrays summarised: shape, how many entries
differ, the first few positions), and a hint. When the answer matches a KNOWN mistake, the hint
names that mistake instead of the case's generic hint:

- lesson-specific mistakes, passed in by a checker as `Mistake(wrong_fn, message)`: the student's
  answer equals what `wrong_fn` (a known wrong implementation) returns on this case;
- common mistakes every checker recognises (`common_mistake`): `None` returned (a missing
  `return`), the wrong dtype, an inverted mask (True must mean keep), 1 − expected, −expected,
  2× or ½× expected, an integer off by one, a transposed array.

See docs/checkers.md for how to write a checker.
"""
import copy
from dataclasses import dataclass, field

import numpy as np

SMALL = 24          # arrays up to this many entries are printed in full; larger ones are summarised
FIRST = 4           # how many differing positions a summary lists


@dataclass
class Case:
    """One hidden test case: a name in plain words, the arguments, and a hint shown if it fails."""

    name: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    hint: str = ""


@dataclass
class Mistake:
    """A known wrong answer: `wrong(*args)` computes it; `message` names the mistake for the student."""

    wrong: object
    message: str


class Verdict:
    """The outcome of a check; shows as one short message in a notebook, is truthy when passed."""

    def __init__(self, exercise, passed, message):
        self.exercise, self.passed, self.message = exercise, passed, message

    def __bool__(self):
        return self.passed

    def __repr__(self):
        return self.message


# ---------------------------------------------------------------------------------------- showing

def _show(x):
    """Show a value briefly: small arrays in full, large ones as shape and dtype only."""
    if isinstance(x, tuple):  # e.g. (data, indices, indptr) or (median, iqr)
        return "(" + ", ".join(_show_inline(i) for i in x) + ")"
    if isinstance(x, np.ndarray):
        if x.size > SMALL:
            extra = f", {int(x.sum())} True" if x.dtype == bool else ""
            return f"array(shape={x.shape}, dtype={x.dtype}{extra})"
        return f"array(shape={x.shape}, dtype={x.dtype}):\n" + np.array2string(
            x, precision=4, threshold=SMALL, edgeitems=3, suppress_small=True)
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.6g}"
    return repr(x)


def _show_inline(x):
    if isinstance(x, np.ndarray):
        if x.size > SMALL:
            return f"array(shape={x.shape}, dtype={x.dtype})"
        return np.array2string(x, precision=4, threshold=12, edgeitems=3, separator=", ")
    return _show(x)


def _value(x):
    return f"{x:.6g}" if isinstance(x, (float, np.floating)) else repr(x.item() if hasattr(x, "item") else x)


def _positions(differ, expected, got):
    """Return 'at (0, 2): expected 1, got 0; ...' for the first few differing positions."""
    where = np.argwhere(differ)[:FIRST]
    shown = "; ".join(f"at {tuple(int(i) for i in p)}: expected {_value(expected[tuple(p)])}, "
                      f"got {_value(got[tuple(p)])}" for p in where)
    return shown + ("; ..." if differ.sum() > FIRST else "")


# ------------------------------------------------------------------------------------- comparing

def exact(expected, got):
    """Compare exactly (arrays: same shape, dtype kind and values; bool masks must be bool). Return a reason or None."""
    if isinstance(expected, np.ndarray):
        if not isinstance(got, np.ndarray):
            return f"expected a numpy array, got {type(got).__name__}"
        if got.shape != expected.shape:
            return f"expected shape {expected.shape}, got shape {got.shape}"
        if expected.dtype == bool and got.dtype != bool:
            return f"expected a boolean mask (dtype bool), got dtype {got.dtype}"
        if expected.dtype.kind in "iu" and got.dtype.kind not in "iu":
            return f"expected integers (dtype {expected.dtype}), got dtype {got.dtype}"
        if expected.dtype.kind == "f" and got.dtype.kind != "f":
            return f"expected floats (dtype {expected.dtype}), got dtype {got.dtype}"
        differ = expected != got
        if differ.any():
            return f"{int(differ.sum())} of {expected.size} entries differ ({_positions(differ, expected, got)})"
        return None
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected a sequence of {len(expected)} items, got {_show(got)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            why = exact(e, g)
            if why:
                return f"item {i}: {why}"
        return None
    if isinstance(expected, (bool, np.bool_)):
        if not isinstance(got, (bool, np.bool_)):
            return f"expected True or False, got {type(got).__name__}"
        return None if got == expected else "the values differ"
    if isinstance(expected, (int, np.integer)):
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
            return f"expected an integer (int), got {type(got).__name__}"
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
        if np.isnan(g).any() and not np.isnan(e).any():
            return f"your result contains NaN ({int(np.isnan(g).sum())} of {g.size} entries)"
        same_inf = np.isinf(e) == np.isinf(g)
        ok = np.isclose(g, e, atol=atol, rtol=rtol) & same_inf | (np.isinf(e) & (e == g))
        if not ok.all():
            if e.ndim == 0:
                return f"the difference {abs(float(g) - float(e)):.3g} is above the tolerance {atol:g}"
            with np.errstate(invalid="ignore"):    # inf - inf where both are inf: masked out below
                diff = np.abs(np.where(np.isfinite(e) & np.isfinite(g), g - e, np.inf))
            return (f"{int((~ok).sum())} of {e.size} entries differ by more than {atol:g} "
                    f"(largest {np.max(diff):.3g}; {_positions(~ok, e, g)})")
        return None
    return compare


def items(names, compare=exact):
    """Compare a tuple item by item with `compare`, naming the item that differs (e.g. 'indptr')."""
    def compare_items(expected, got):
        if not isinstance(got, (tuple, list)) or len(got) != len(names):
            return f"expected a tuple of {len(names)} items ({', '.join(names)}), got {_show(got)}"
        for name, e, g in zip(names, expected, got):
            why = compare(e, g)
            if why:
                return f"{name}: {why}"
        return None
    return compare_items


# ---------------------------------------------------------------------------------- diagnosing

def _contains_none(x):
    return x is None or (isinstance(x, (tuple, list)) and any(i is None for i in x))


def _close(a, b):
    try:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and a.size > 0 and bool(np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=False))


def _numeric(x):
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_)) or \
        (isinstance(x, np.ndarray) and x.dtype.kind in "iuf")


def common_mistake(expected, got, _top=True):
    """Name a common mistake that explains `got` (None if none does); tuples are searched item by item."""
    if got is None:
        return "your function returned None: did you forget `return`?"
    if isinstance(expected, tuple) and isinstance(got, (tuple, list)) and len(got) == len(expected):
        for i, (e, g) in enumerate(zip(expected, got)):
            if g is None:
                return f"item {i} of your tuple is None: did you forget to compute or return it?"
            why = common_mistake(e, g, _top=False)
            if why:
                return f"item {i}: {why}"
        return None
    if isinstance(expected, np.ndarray) and isinstance(got, np.ndarray):
        if expected.dtype == bool and got.shape == expected.shape:
            g = got.astype(bool) if got.dtype != bool and np.isin(got, (0, 1)).all() else got
            if g.dtype == bool and expected.size and np.array_equal(g, ~expected):
                return "your mask is inverted: True must mean KEEP the weight, False prune it"
            if got.dtype != bool and np.array_equal(g, expected):
                return f"the right entries, but as dtype {got.dtype}: return a bool mask (e.g. `mask.astype(bool)`)"
        if got.shape == expected.shape and expected.dtype.kind in "iu" and got.dtype.kind == "f" \
                and np.array_equal(got, expected):
            return f"the right values, but as floats (dtype {got.dtype}): return integers (e.g. `.astype(np.int64)`)"
        if expected.ndim == 2 and got.shape == expected.shape[::-1] and expected.shape[0] != expected.shape[1] \
                and _close(got.T, expected):
            return "your result is transposed: check which axis is rows and which is columns"
    if isinstance(expected, (int, np.integer)) and not isinstance(expected, (bool, np.bool_)):
        if isinstance(got, (float, np.floating)) and float(got) == float(expected):
            return f"the right number, but a float ({got!r}): return an int (e.g. `int(x)`)"
        if _top and isinstance(got, (int, np.integer)) and not isinstance(got, (bool, np.bool_)) \
                and abs(got - expected) == 1:   # a count; inside a tuple it may be an id
            return "off by one: check the ends of your ranges (first/last item, `<` vs `<=`)"
    if not (_numeric(expected) and _numeric(got)):
        return None
    e = np.asarray(expected, dtype=float)
    if not np.any(np.abs(e) > 1e-12) or not np.isfinite(e).all():
        return None
    if _close(got, 1 - e) and not _close(e, 1 - e):
        return "your answer is 1 − the expected one: you computed the complement (e.g. kept vs pruned, density vs sparsity)"
    if _close(got, -e):
        return "your answer has the wrong sign"
    if _close(got, 2 * e):
        return "your answer is 2× the expected one: a missing ½, or something counted twice?"
    if _close(got, e / 2):
        return "your answer is ½× the expected one: an extra ½, or a missing factor 2?"
    return None


def _call(fn, case):
    return fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))


def _matches(mistake, case, got, compare, expected):
    """True if `got` equals the mistake's answer on this case (and that answer is wrong here)."""
    try:
        wrong = _call(mistake.wrong, case)
        return compare(expected, wrong) is not None and compare(wrong, got) is None
    except Exception:   # a detector that does not apply to this case stays silent
        return False


def _agrees(mistake, case, student_fn, compare):
    """True unless the mistake and the student's function give different answers on this case."""
    try:
        return compare(_call(mistake.wrong, case), _call(student_fn, case)) is None
    except Exception:
        return True


def _diagnose(mistakes, cases, i, student_fn, got, compare, expected):
    """Name the mistake behind the failure on cases[i], or return the case's hint.

    Order: a known Mistake that gives the student's answer on this case AND agrees with the student's
    function on every other case; then a common mistake; then a Mistake that matches this case only
    (several known mistakes can coincide on one case); then the case's own hint.
    """
    hits = [m for m in mistakes if _matches(m, cases[i], got, compare, expected)]
    for m in hits:
        if all(_agrees(m, c, student_fn, compare) for j, c in enumerate(cases) if j != i):
            return m.message
    return common_mistake(expected, got) or (hits[0].message if hits else cases[i].hint)


# ------------------------------------------------------------------------------------- running

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


def _failure(tag, case, why, expected, got, hint):
    return f"✗ {tag}, case '{case.name}': {why}.\n  expected: {_show(expected)}\n  got:      {_show(got)}\n  Hint: {hint}"


def run_checks(student_fn, reference_fn, cases, exercise, compare=exact, mistakes=()):
    """Run `student_fn` on every case, compare with `reference_fn`, and return a Verdict.

    `mistakes`: lesson-specific `Mistake`s, tried (in order) before the common ones when a case fails.
    """
    tag = f"Exercise {exercise}"
    for i, case in enumerate(cases):
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
        if _contains_none(got) and not _contains_none(expected):
            return Verdict(exercise, False, _failure(tag, case, "your function returned None", expected, got,
                                                     common_mistake(expected, got)))
        try:
            why = compare(expected, got)
        except Exception as e:  # an answer of an unexpected kind: say so, no traceback
            why = f"your answer could not be compared ({type(e).__name__}: {e})"
        if why:
            hint = _diagnose(mistakes, cases, i, student_fn, got, compare, expected)
            return Verdict(exercise, False, _failure(tag, case, why, expected, got, hint))
    return Verdict(exercise, True, f"✓ {tag} passed all {len(cases)} cases.")
