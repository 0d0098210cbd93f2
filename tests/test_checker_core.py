"""The exercise machinery: verdicts, not-done-yet, exceptions with hints, in-place mutation caught."""
import numpy as np

from course_lib.checks import Case, Mistake, allclose, exact, items, run_checks


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


# ---- diagnosis: the verdict names the real mistake (issue: hints that name the wrong cause)

def _verdict(student, reference, args, compare=exact, mistakes=(), hint="the case's own hint"):
    return repr(run_checks(student, reference, [Case("c", args, hint=hint)], "9.3", compare, mistakes))


def test_missing_return_is_named():
    def forgot(x):
        np.abs(x) > 1
    msg = _verdict(forgot, _reference, (np.array([0.5, 2.0]),))
    assert "returned None: did you forget `return`?" in msg and "nan" not in msg
    msg = _verdict(lambda x: None, lambda x: 0.25, (1,), compare=allclose(1e-9))
    assert "did you forget `return`?" in msg and "nan" not in msg
    msg = _verdict(lambda x: (np.zeros(2), None), lambda x: (np.zeros(2), np.ones(2)), (1,))
    assert "item 1 of your tuple is None" in msg


def test_inverted_mask_is_named():
    msg = _verdict(lambda x: np.abs(x) <= 1, _reference, (np.array([0.5, 2.0, -3.0]),))
    assert "mask is inverted: True must mean KEEP" in msg


def test_wrong_dtypes_are_named():
    assert "return a bool mask" in _verdict(lambda x: (np.abs(x) > 1).astype(int), _reference,
                                           (np.array([0.5, 2.0]),))
    assert "return an int" in _verdict(lambda x: 6.0, lambda x: 6, (1,))
    assert "return integers" in _verdict(lambda x: np.arange(3.0), lambda x: np.arange(3), (1,))


def test_numeric_relations_are_named():
    ref = lambda x: 0.75  # noqa: E731
    close = allclose(1e-9)
    assert "1 − the expected one" in _verdict(lambda x: 0.25, ref, (1,), close)
    assert "2× the expected one" in _verdict(lambda x: 1.5, ref, (1,), close)
    assert "½× the expected one" in _verdict(lambda x: 0.375, ref, (1,), close)
    assert "wrong sign" in _verdict(lambda x: -0.75, ref, (1,), close)
    assert "off by one" in _verdict(lambda x: 7, lambda x: 6, (1,))
    assert "the case's own hint" in _verdict(lambda x: 0.7, ref, (1,), close)   # nothing recognised


def test_a_half_is_not_called_its_own_complement():
    assert "1 − the expected" not in _verdict(lambda x: 0.5, lambda x: 0.5 + 1e-3, (1,), allclose(1e-9))


def test_transposed_result_is_named():
    a = np.arange(6.0).reshape(2, 3)
    assert "transposed" in _verdict(lambda x: x.T.copy(), lambda x: x.copy(), (a,))


def test_a_lesson_specific_mistake_is_named_first():
    g = np.array([3.0, 1.0, 2.0, 1.0])
    argmax = Mistake(lambda v: int(np.argmax(v)), "you took the LARGEST value: the weakest link is the smallest")
    msg = _verdict(lambda v: int(np.argmax(v)), lambda v: int(np.argmin(v)), (g,), mistakes=[argmax])
    assert "you took the LARGEST value" in msg
    # a mistake that does not match this answer stays silent; a detector that raises is ignored
    broken = Mistake(lambda v: v.nope, "never shown")
    msg = _verdict(lambda v: 3, lambda v: int(np.argmin(v)), (g,), mistakes=[broken, argmax])
    assert "never shown" not in msg and "LARGEST" not in msg and "the case's own hint" in msg


def test_large_arrays_are_summarised():
    w = np.zeros((4, 6, 3, 3))
    msg = _verdict(lambda x: x + (np.arange(x.size).reshape(x.shape) % 50 == 0), lambda x: x.copy(), (w,))
    assert len(msg.splitlines()) <= 6, msg
    assert "5 of 216 entries differ" in msg and "at (0, 0, 0, 0): expected 0, got 1" in msg
    assert "array(shape=(4, 6, 3, 3), dtype=float64)" in msg
    msg = _verdict(lambda x: x + 1e-3 * (np.arange(x.size).reshape(x.shape) % 50 == 0), lambda x: x.copy(), (w,),
                   compare=allclose(1e-6))
    assert "5 of 216 entries differ by more than 1e-06" in msg and len(msg.splitlines()) <= 6, msg


def test_nan_and_odd_answers_get_words_not_tracebacks():
    assert "contains NaN" in _verdict(lambda x: np.array([np.nan, 1.0]), lambda x: np.ones(2), (1,), allclose(1e-9))
    msg = _verdict(lambda x: {"a": 1}, lambda x: np.ones(2), (1,), allclose(1e-9))
    assert "Hint:" in msg and "Traceback" not in msg


def test_items_names_the_item():
    compare = items(("data", "indices", "indptr"))
    assert compare((np.ones(1), np.zeros(1, int), np.array([0, 1])),
                   (np.ones(1), np.zeros(1, int), np.array([0, 2]))).startswith("indptr:")
    assert "floats" in _verdict(lambda x: (np.ones(1), np.zeros(1), np.array([0, 1])),
                                lambda x: (np.ones(1), np.zeros(1, int), np.array([0, 1])), (1,), compare)


def test_infinities_compare_equal_within_allclose():
    assert allclose(1e-9)(np.array([np.inf, 1.0]), np.array([np.inf, 1.0])) is None
    assert allclose(1e-9)(np.array([np.inf, 1.0]), np.array([1e300, 1.0])) is not None
