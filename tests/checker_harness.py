"""The three tests every exercise checker gets: the reference passes, each realistic mutant is
rejected with a reason the student can act on, and an unfinished stub is answered "not done yet"."""
import pytest


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise N.M")


def assert_passes(check, fn):
    v = check(fn)
    assert v.passed, repr(v)


def assert_rejected(check, fn, in_place_ok=False):
    """The verdict fails with a hint; with in_place_ok, the in-place note may stand for the hint."""
    v = check(fn)
    msg = repr(v)
    assert not v.passed and "✗" in msg and ("Hint:" in msg or (in_place_ok and "in place" in msg)), msg


def assert_not_done_yet(check):
    v = check(stub)
    assert not v.passed and "not done yet" in repr(v) and "Traceback" not in repr(v)


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
        assert_rejected(checkers[name][0], dict(labelled(checkers[name][-1]))[label], in_place_ok)

    @pytest.mark.parametrize("name", list(checkers))
    def test_stub_is_not_done_yet(name):
        assert_not_done_yet(checkers[name][0])

    assert all(len(checkers[n][-1]) >= 3 for n in checkers), "each checker needs >= 3 mutants"
    return test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet
