"""The exercise machinery: verdicts, not-done-yet, exceptions with hints, in-place mutation caught."""
import numpy as np

from course_lib.checks import Case, allclose, exact, run_checks


def _reference(x):
    return np.abs(x) > 1


CASES = [Case("a small vector", (np.array([-2.0, 0.5, 1.0, 3.0]),), hint="compare |x| with 1"),
         Case("a matrix", (np.arange(-3.0, 3.0).reshape(2, 3),), hint="keep the shape")]


def test_reference_passes():
    v = run_checks(_reference, _reference, CASES, "9.1")
    assert v and v.passed and repr(v) == "✓ Exercise 9.1 passed all 2 cases."


def test_not_implemented_is_friendly():
    def stub(x):
        raise NotImplementedError("Exercise 9.1")
    v = run_checks(stub, _reference, CASES, "9.1")
    assert not v and "not done yet" in repr(v) and "Traceback" not in repr(v)


def test_wrong_answer_names_case_expected_got_and_hint():
    v = run_checks(lambda x: np.abs(x) >= 1, _reference, CASES, "9.1")
    msg = repr(v)
    assert not v and "case 'a small vector'" in msg and "expected" in msg and "got" in msg
    assert "Hint: compare |x| with 1" in msg


def test_exception_becomes_hint_not_traceback():
    v = run_checks(lambda x: x.undefined, _reference, CASES, "9.1")
    assert not v and "raised AttributeError" in repr(v) and "Hint:" in repr(v)


def test_in_place_mutation_is_caught_and_cases_stay_intact():
    before = CASES[0].args[0].copy()

    def mutating(x):
        x[np.abs(x) <= 1] = 0
        return np.abs(x) > 1
    v = run_checks(mutating, _reference, CASES, "9.1")
    assert not v and "changed its input in place" in repr(v)
    np.testing.assert_array_equal(CASES[0].args[0], before)


def test_exact_compare_rules():
    assert exact(np.array([True]), np.array([1])) is not None  # masks must be bool
    assert exact(np.zeros(2), np.zeros(3)) is not None
    assert exact(3, 3) is None and exact(3, 3.0) is not None and exact(3, True) is not None
    assert exact((1, np.ones(2)), (1, np.ones(2))) is None
    assert allclose(1e-6)(1.0, 1.0 + 1e-7) is None and allclose(1e-6)(1.0, 1.1) is not None


def test_string_arrays_are_fine_as_arguments():
    labels = np.array(["cat", "dog", "cat"])
    v = run_checks(lambda y: len(set(y.tolist())), lambda y: 2, [Case("labels", (labels,))], "9.2")
    assert v.passed, repr(v)
