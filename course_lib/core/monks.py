"""The three MONK's problems, generated from their published rules (no download).

Source: S. B. Thrun et al., "The MONK's Problems - A Performance Comparison of Different Learning
Algorithms", Technical Report CMU-CS-91-197, Carnegie Mellon University, December 1991.

Six attributes span 3*3*2*3*4*2 = 432 robots: a1, a2, a4 in {1,2,3}, a3, a6 in {1,2}, a5 in {1,2,3,4}.

    MONK-1: (a1 == a2) or (a5 == 1)
    MONK-2: exactly two of the six attributes take their first value (== 1)
    MONK-3: (a5 == 3 and a4 == 1) or (a5 != 4 and a2 != 3)

As in the report, the test set is all 432 examples with their true labels, and the training sets
have 124, 169 and 122 examples; MONK-3's training set has 5% label noise (6 of 122 labels flipped).
The report's own training subsets are a fixed draw we do not ship; `monk(problem, seed)` draws a subset
of the same size with `np.random.default_rng(seed)` (without replacement, sorted), then, for MONK-3,
flips round(0.05 * 122) = 6 training labels chosen by the same generator. seed=0 is the course default.
Inputs are one-hot (3+3+2+3+4+2 = 17 columns), the encoding Thrun et al.'s back-propagation runs used.
"""
from collections import namedtuple
from itertools import product

import numpy as np

from .validation import Array, Choice, Seed, validate

VALUES = (3, 3, 2, 3, 4, 2)  # number of values of a1..a6 (each value runs 1..k)
TRAIN_SIZE = {1: 124, 2: 169, 3: 122}
NOISE = {1: 0.0, 2: 0.0, 3: 0.05}
Monk = namedtuple("Monk", "X_train y_train X_test y_test A_train A_test flipped")
PROBLEM = Choice(1, 2, 3)


def all_examples():
    """Return the 432 attribute vectors (int, values from 1) in lexicographic order, shape (432, 6)."""
    return np.array(list(product(*[range(1, k + 1) for k in VALUES])), dtype=int)


@validate(problem=PROBLEM, A=Array(ndim=2))
def rule(problem, A):
    """Return the true class (0/1 int) of each attribute row of A under MONK-`problem`'s rule."""
    A = np.asarray(A, dtype=int)
    if A.ndim != 2 or A.shape[1] != 6:
        raise ValueError(f"A must have shape (n, 6) (attributes a1..a6), got {A.shape}")
    a1, a2, a3, a4, a5, a6 = A.T
    if problem == 1:
        y = (a1 == a2) | (a5 == 1)
    elif problem == 2:
        y = (A == 1).sum(axis=1) == 2
    else:
        y = ((a5 == 3) & (a4 == 1)) | ((a5 != 4) & (a2 != 3))
    return y.astype(int)


@validate(A=Array(ndim=2))
def one_hot(A):
    """Return the 17-column one-hot encoding of attribute rows A (values from 1)."""
    A = np.asarray(A, dtype=int)
    if A.ndim != 2 or A.shape[1] != len(VALUES) or A.min() < 1 or np.any(A.max(axis=0) > np.array(VALUES)):
        raise ValueError(f"A must have shape (n, {len(VALUES)}) with attribute i in 1..{list(VALUES)}[i], "
                         f"got shape {A.shape}")
    cols = [(A[:, i:i + 1] == np.arange(1, k + 1)).astype(float) for i, k in enumerate(VALUES)]
    return np.hstack(cols)


@validate(problem=PROBLEM, seed=Seed())
def monk(problem, seed=0):
    """Return MONK-`problem` as Monk(X_train, y_train, X_test, y_test, A_train, A_test, flipped).

    Training: TRAIN_SIZE[problem] examples drawn without replacement with default_rng(seed);
    MONK-3: round(0.05 * 122) = 6 of them get a flipped label (`flipped` lists their training rows).
    Test: all 432 examples with their true labels. y are int 0/1 vectors, X one-hot float (17 columns).
    """
    rng = np.random.default_rng(seed)
    A = all_examples()
    y = rule(problem, A)
    idx = np.sort(rng.choice(len(A), size=TRAIN_SIZE[problem], replace=False))
    y_train = y[idx].copy()
    n_flip = int(round(NOISE[problem] * len(idx)))
    flipped = np.sort(rng.choice(len(idx), size=n_flip, replace=False)) if n_flip else np.array([], int)
    y_train[flipped] = 1 - y_train[flipped]
    return Monk(one_hot(A[idx]), y_train, one_hot(A), y, A[idx], A, flipped)
