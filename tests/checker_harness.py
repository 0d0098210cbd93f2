"""The three tests every exercise checker gets: the reference passes, each realistic mutant is
rejected with a reason the student can act on, and an unfinished stub is answered "not done yet".

Mutants are a list of functions or a dict {label: fn} or {label: (fn, "words the hint must say")}:
the second form also checks that the verdict names the real mistake (e.g. "True must mean KEEP").
"""
import pytest


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise N.M")


def assert_passes(check, fn):
    v = check(fn)
    assert v.passed, repr(v)


def assert_rejected(check, fn, in_place_ok=False, says=None):
    """The verdict fails with a hint (that contains `says`, if given); with in_place_ok, the in-place
    note may stand for the hint."""
    v = check(fn)
    msg = repr(v)
    assert not v.passed and "✗" in msg and ("Hint:" in msg or (in_place_ok and "in place" in msg)), msg
    assert "Traceback" not in msg, msg
    if says is not None:
        assert says in msg, f"the verdict should say {says!r}:\n{msg}"


def assert_not_done_yet(check):
    v = check(stub)
    assert not v.passed and "not done yet" in repr(v) and "Traceback" not in repr(v)


def _split(mutant):
    return mutant if isinstance(mutant, tuple) else (mutant, None)


def checker_tests(checkers, in_place_ok=False):
    """Return the standard tests for {name: (check, reference, ..., mutants)}; mutants: list or {label: fn}."""
    def labelled(mutants):
        return list(mutants.items()) if isinstance(mutants, dict) else list(enumerate(mutants))

    cases = [(n, label) for n in checkers for label, _ in labelled(checkers[n][-1])]

    @pytest.mark.parametrize("name", list(checkers))
    def test_reference_passes(name):
        assert_passes(checkers[name][0], checkers[name][1])

    @pytest.mark.parametrize("name, label", cases)
    def test_mutant_rejected(name, label):
        fn, says = _split(dict(labelled(checkers[name][-1]))[label])
        assert_rejected(checkers[name][0], fn, in_place_ok, says)

    @pytest.mark.parametrize("name", list(checkers))
    def test_stub_is_not_done_yet(name):
        assert_not_done_yet(checkers[name][0])

    assert all(len(checkers[n][-1]) >= 3 for n in checkers), "each checker needs >= 3 mutants"
    return test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet
