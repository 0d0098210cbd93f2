"""course_lib.core.monks: the 432 robots, the three rules, the training-set sizes and MONK-3's noise."""
import numpy as np
import pytest

from course_lib.core.monks import TRAIN_SIZE, all_examples, monk, one_hot, rule


def test_432_distinct_examples_in_range():
    A = all_examples()
    assert A.shape == (432, 6) and len({tuple(r) for r in A}) == 432
    assert A.min() == 1 and list(A.max(axis=0)) == [3, 3, 2, 3, 4, 2]


def test_rules_on_hand_checked_robots():
    A = np.array([[1, 1, 1, 1, 1, 1],   # M1 yes (a1 == a2); M2: six 1s -> no; M3: a5 != 4 and a2 != 3 -> yes
                  [1, 2, 1, 2, 2, 2],   # M1 no; M2: a1 = a3 = 1 exactly two -> yes; M3 yes
                  [2, 3, 2, 1, 3, 2],   # M1 no; M2 one 1 (a4) -> no; M3 a5 == 3 and a4 == 1 -> yes
                  [3, 3, 2, 2, 4, 1],   # M1 yes; M2 one 1 -> no; M3: a5 == 4 -> no
                  [2, 3, 1, 1, 1, 2]])  # M1 yes (a5 == 1); M2: a3 a4 a5 three -> no; M3: a2 == 3 -> no
    assert list(rule(1, A)) == [1, 0, 0, 1, 1]
    assert list(rule(2, A)) == [0, 1, 0, 0, 0]
    assert list(rule(3, A)) == [1, 1, 1, 0, 0]


def test_class_counts_over_all_432():
    A = all_examples()
    # M1: a1 == a2 (3 of 9 pairs) or a5 == 1 (1/4): 432 * (1 - (6/9) * (3/4)) = 216
    assert rule(1, A).sum() == 216
    # M2: counts of "exactly two first values", computed independently by brute force
    firsts = np.stack([A[:, i] == 1 for i in range(6)], axis=1).sum(axis=1)
    assert rule(2, A).sum() == int((firsts == 2).sum()) == 142
    assert rule(3, A).sum() == 228


def test_one_hot_has_17_columns_one_per_value():
    X = one_hot(all_examples())
    assert X.shape == (432, 17) and np.all(X.sum(axis=1) == 6)
    assert len({tuple(r) for r in X}) == 432


@pytest.mark.parametrize("problem", [1, 2, 3])
def test_splits_sizes_noise_and_determinism(problem):
    d = monk(problem, seed=0)
    assert len(d.y_train) == TRAIN_SIZE[problem] and len(d.y_test) == 432
    truth = rule(problem, d.A_train)
    wrong = np.flatnonzero(truth != d.y_train)
    assert list(wrong) == list(d.flipped)
    assert len(wrong) == (6 if problem == 3 else 0)
    np.testing.assert_array_equal(d.y_test, rule(problem, all_examples()))
    assert len({tuple(r) for r in d.A_train}) == len(d.A_train)  # drawn without replacement
    again = monk(problem, seed=0)
    np.testing.assert_array_equal(again.X_train, d.X_train)
    assert not np.array_equal(monk(problem, seed=1).A_train, d.A_train)


def test_validation():
    with pytest.raises(ValueError, match="problem must be one of"):
        monk(4)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        monk(1, seed=-1)
    with pytest.raises(ValueError, match="A must have shape"):
        rule(1, np.ones((2, 5)))
