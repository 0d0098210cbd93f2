"""Checkers for lesson 01 (decision-tree pruning). References come from course_lib.trees."""
import numpy as np

from .. import trees
from ._core import Case, allclose, run_checks

L = trees.LEAF


def _gini_tree(children_left, children_right, counts, weights=None):
    """Build a small `Tree` from per-node class counts (Gini impurity, weights = counts summed)."""
    counts = np.asarray(counts, dtype=float)
    w = counts.sum(1) if weights is None else np.asarray(weights, dtype=float)
    p = counts / counts.sum(1, keepdims=True)
    cl, cr = np.asarray(children_left), np.asarray(children_right)
    leaf = cl == L
    return trees.Tree(cl, cr, np.where(leaf, -2, 0), np.where(leaf, -2.0, 0.5), p[:, None, :],
                      1 - np.sum(p ** 2, axis=1), counts.sum(1).astype(np.intp), w, 1,
                      np.arange(counts.shape[1]), np.arange(len(cl)))


def _symmetric_tie():
    """Root 8/8 split into 7/1 and 1/7, each split into pure leaves: nodes 1 and 4 tie exactly."""
    return _gini_tree([1, 2, L, L, 5, L, L], [4, 3, L, L, 6, L, L],
                      [[8, 8], [7, 1], [7, 0], [0, 1], [1, 7], [1, 0], [0, 7]])


def _root_weaker():
    """Root 6/4 over (5/1 -> 5/0, 0/1) and 1/3: the root's g (0.165) is below its child's (1/6)."""
    return _gini_tree([1, 2, L, L, L], [4, 3, L, L, L], [[6, 4], [5, 1], [5, 0], [0, 1], [1, 3]])


def _fitted(kind, seed=0, **kw):
    from sklearn.datasets import make_classification
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    X, y = make_classification(200, 5, n_informative=3, flip_y=0.2, random_state=seed)
    w = np.random.default_rng(seed).uniform(0.2, 3.0, len(y)) if kind == "weighted" else None
    if kind == "regression":
        return trees.as_tree(DecisionTreeRegressor(random_state=seed, **kw).fit(X, X[:, 0] + y))
    return trees.as_tree(DecisionTreeClassifier(random_state=seed, **kw).fit(X, y, sample_weight=w))


def _alphas_compare(expected, got):
    """Compare g arrays: inf exactly at the leaves, the finite values to 1e-12."""
    try:
        g = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return f"expected an array of numbers, got {type(got).__name__}"
    if g.shape != expected.shape:
        return f"expected shape {expected.shape} (one g per node), got shape {g.shape}"
    wrong_inf = np.isinf(expected) != np.isinf(g)
    if wrong_inf.any():
        return f"g must be np.inf exactly at the leaves; {int(wrong_inf.sum())} node(s) differ there"
    inner = np.isfinite(expected)
    return allclose(1e-12)(expected[inner], g[inner])


def check_effective_alphas(fn):
    """Exercise 1.1: g(t) = (R(t) - R(T_t)) / (|leaves(T_t)| - 1) for every node, inf at leaves."""
    hint = ("R(t) = w(t) * i(t) / w(root) with w = tree.weighted_n_node_samples and i = tree.impurity; "
            "R(T_t) sums R over the LEAVES below t (not just the two children); divide by (leaves - 1); "
            "np.inf at leaves")
    cases = [Case("the root is weaker than its child (hand-built)", (_root_weaker(),), hint=hint),
             Case("two tied subtrees (hand-built)", (_symmetric_tie(),), hint=hint),
             Case("a depth-4 classification tree", (_fitted("plain", max_depth=4),), hint=hint),
             Case("a tree fitted with sample weights", (_fitted("weighted", seed=1, max_depth=5),),
                  hint="with sample weights, weighted_n_node_samples is not the sample count: use it for "
                       "w(t) and for w(root)"),
             Case("a regression tree (impurity = variance)", (_fitted("regression", seed=2, max_depth=4),),
                  hint=hint),
             Case("a single leaf", (_single_leaf(),),
                  hint="a tree that is one leaf has no internal node: return [inf]")]
    return run_checks(fn, trees.effective_alphas, cases, "1.1", compare=_alphas_compare)


def _single_leaf():
    return _gini_tree([L], [L], [[3, 1]])


def _node_and_alpha(expected, got):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return "expected a pair (node, alpha)"
    if isinstance(got[0], bool) or not isinstance(got[0], (int, np.integer)):
        return f"the node must be an integer id, got {type(got[0]).__name__}"
    if got[0] != expected[0]:
        return "the weakest node differs"
    why = allclose(1e-12)(expected[1], got[1])
    return f"the node is right but its alpha differs ({why})" if why else None


def check_weakest_link(fn):
    """Exercise 1.2: the weakest link (t, g(t)): smallest g, ties to the smallest node id."""
    hint = ("compute g(t) for every node (Exercise 1.1), then take the smallest; among equal values "
            "scikit-learn keeps the FIRST node id (np.argmin does that)")
    cases = [Case("two subtrees tie exactly (nodes 1 and 4)", (_symmetric_tie(),),
                  hint="nodes 1 and 4 have the same g: return the smaller id, as scikit-learn's strict `<` scan"),
             Case("the root is weaker than its child", (_root_weaker(),),
                  hint="g(root) = (R(root) - R(T)) / (|leaves| - 1) can be the smallest: consider every internal node"),
             Case("a depth-5 classification tree", (_fitted("plain", seed=3, max_depth=5),), hint=hint),
             Case("a tree fitted with sample weights", (_fitted("weighted", seed=4, max_depth=5),), hint=hint),
             Case("a regression tree", (_fitted("regression", seed=5, max_depth=5),), hint=hint)]
    return run_checks(fn, trees.weakest_link, cases, "1.2", compare=_node_and_alpha)


def _leaf_and_decision(expected, got):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return "expected a pair (leaf_class, replace)"
    if isinstance(got[0], (np.ndarray, list)) or got[0] != expected[0]:
        return "the leaf's class differs"
    if not isinstance(got[1], (bool, np.bool_)):
        return f"replace must be True or False, got {type(got[1]).__name__}"
    return None if got[1] == expected[1] else "the leaf class is right but the replace decision differs"


def check_majority_leaf_replacement(fn):
    """Exercise 1.3: reduced-error pruning's decision at one node: (leaf_class, replace)."""
    hint = ("the leaf predicts the class with the largest TRAINING weight in `value` (first one on ties), "
            "as a label from `classes`; replace when its validation errors are <= the subtree's")
    c01, animals = np.array([0, 1]), ["cat", "dog", "emu"]   # string labels as lists (numpy-safe snapshots)
    cases = [Case("the subtree is better: keep it", ([0.7, 0.3], c01, np.array([0, 0, 1]), np.array([0, 0, 1])),
                  hint=hint),
             Case("equal errors: prune (simpler wins)", ([0.7, 0.3], c01, np.array([0, 1, 0, 1]),
                                                         np.array([0, 0, 1, 1])),
                  hint="'accuracy does not drop' means leaf errors <= subtree errors, not <"),
             Case("no validation sample reaches the node", ([0.2, 0.8], c01, np.array([], dtype=int),
                                                            np.array([], dtype=int)),
                  hint="0 errors <= 0 errors: prune; and the leaf class still comes from training"),
             Case("validation disagrees with training", ([0.1, 0.9], c01, np.array([0, 0, 0, 1]),
                                                         np.array([0, 0, 1, 1])),
                  hint="the leaf's class is the TRAINING majority (value), never the validation majority"),
             Case("labels are strings, training weights tie", ([0.4, 0.4, 0.2], animals,
                                                               ["dog", "cat", "emu"], ["dog", "dog", "emu"]),
                  hint="on a tie in value take the first class (np.argmax), and return classes[index]"),
             Case("labels are not 0..k", ([1.0, 5.0, 2.0], np.array([3, 7, 9]), np.array([7, 7, 9]),
                                           np.array([7, 9, 9])),
                  hint="return the label classes[k], not the index k")]
    return run_checks(fn, trees.majority_leaf_replacement, cases, "1.3", compare=_leaf_and_decision)
