"""Lesson 01 checkers pass the reference (and a differently written correct solution), reject realistic
wrong answers, and say "not done yet" to a stub."""
import numpy as np
import pytest

from course_lib.pruning import trees
from course_lib.checks import lesson01 as L
from checker_harness import assert_passes, checker_tests


def _risks(tree, weighted=True):
    w = tree.weighted_n_node_samples if weighted else tree.n_node_samples.astype(float)
    return w * tree.impurity / w[0]


def _alphas(tree, weighted=True, minus_one=1, over_leaves=True, leaf_value=np.inf, scale=True):
    """A bottom-up g(t) (children have larger ids), with switches for the usual mistakes."""
    R = _risks(tree, weighted) * (1.0 if scale else tree.weighted_n_node_samples[0])
    Rb, n = np.where(tree.is_leaf, R, 0.0), tree.is_leaf.astype(int)
    for t in range(tree.node_count - 1, -1, -1):
        if not tree.is_leaf[t]:
            a, b = tree.children_left[t], tree.children_right[t]
            Rb[t] = Rb[a] + Rb[b] if over_leaves else R[a] + R[b]
            n[t] = n[a] + n[b]
    g = np.full(tree.node_count, float(leaf_value))
    inner = ~tree.is_leaf
    g[inner] = (R[inner] - Rb[inner]) / (n[inner] - minus_one)
    return g


def _link(g):
    t = int(np.argmin(g))
    return t, float(g[t])


def _argmax_link(g):
    t = int(np.argmax(g))
    return t, float(g[t])


def _link_last_tie(g):
    t = len(g) - 1 - int(np.argmin(g[::-1]))
    return t, float(g[t])


def _no_division(tree):
    """The smallest gain R(t) - R(T_t), not divided by the leaves it removes."""
    return _link(_alphas(tree) * _leaves_minus_one(tree))


def _leaves_minus_one(tree):
    n = tree.is_leaf.astype(int)
    for t in range(tree.node_count - 1, -1, -1):
        if not tree.is_leaf[t]:
            n[t] = n[tree.children_left[t]] + n[tree.children_right[t]]
    return np.maximum(n - 1, 1)


def _majority_validation(value, classes, y, pred):
    y, pred = np.asarray(y), np.asarray(pred)
    if len(y):
        labels, counts = np.unique(y, return_counts=True)
        leaf = labels[np.argmax(counts)]
    else:
        leaf = np.asarray(classes)[int(np.argmax(value))]
    return leaf, bool(np.sum(y != leaf) <= np.sum(y != pred))


def _strict(value, classes, y, pred):
    leaf = np.asarray(classes)[int(np.argmax(value))]
    return leaf, bool(np.sum(np.asarray(y) != leaf) < np.sum(np.asarray(y) != np.asarray(pred)))


def _last_on_tie(value, classes, y, pred):
    value = np.asarray(value)
    leaf = np.asarray(classes)[len(value) - 1 - int(np.argmax(value[::-1]))]
    return leaf, bool(np.sum(np.asarray(y) != leaf) <= np.sum(np.asarray(y) != np.asarray(pred)))


def _index_not_label(value, classes, y, pred):
    leaf = int(np.argmax(value))
    return leaf, bool(np.sum(np.asarray(y) != leaf) <= np.sum(np.asarray(y) != np.asarray(pred)))


CHECKERS = {
    "effective_alphas": (L.check_effective_alphas, trees.effective_alphas, _alphas, {
        "divides by |leaves|": (lambda t: _alphas(t, minus_one=0), "|leaves(T_t)| - 1"),
        "sample counts, not weights": (lambda t: _alphas(t, weighted=False), "weighted_n_node_samples"),
        "R(T_t) from the two children only": (lambda t: _alphas(t, over_leaves=False), "ALL the leaves"),
        "leaves get 0": (lambda t: _alphas(t, leaf_value=0.0), "np.inf, not 0"),
        "forgot to divide by w(root)": (lambda t: _alphas(t, scale=False), "divide by w(root)"),
        "no return": (lambda t: None, "did you forget `return`?"),
    }),
    "weakest_link": (L.check_weakest_link, trees.weakest_link, lambda t: _link(_alphas(t)), {
        "ties to the largest id (`<=` scan)": (lambda t: _link_last_tie(_alphas(t)), "LAST node"),
        "divides by |leaves|": (lambda t: _link(_alphas(t, minus_one=0)), "|leaves(T_t)| - 1"),
        "no per-leaf division": (_no_division, "without dividing"),
        "never the root": (lambda t: _link(np.where(np.arange(t.node_count) == 0, np.inf, _alphas(t))),
                           "the root is a candidate"),
        "argmax for argmin": (lambda t: _argmax_link(_alphas(t)), "SMALLEST g"),
        "argmax over the internal nodes": (lambda t: _argmax_link(np.where(np.isinf(_alphas(t)), -np.inf,
                                                                            _alphas(t))), "SMALLEST g"),
    }),
    "majority_leaf_replacement": (L.check_majority_leaf_replacement, trees.majority_leaf_replacement, None, {
        "prunes only if accuracy improves": (_strict, "<= subtree errors"),
        "leaf class from the validation labels": (_majority_validation, "TRAINING majority"),
        "last class on a tie": (_last_on_tie, "FIRST class"),
        "the index, not the label": (_index_not_label, "classes[k]"),
    }),
}


test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)


@pytest.mark.parametrize("name", [n for n in CHECKERS if CHECKERS[n][2] is not None])
def test_a_differently_written_correct_solution_passes(name):
    assert_passes(CHECKERS[name][0], CHECKERS[name][2])   # e.g. sums taken in another order


def test_in_place_change_is_reported():
    def mutating(value, classes, y, pred):
        out = trees.majority_leaf_replacement(value, classes, y, pred)
        if isinstance(y, np.ndarray) and y.size:
            y[0] = 99
        return out
    v = L.check_majority_leaf_replacement(mutating)
    assert not v.passed and "in place" in repr(v)
