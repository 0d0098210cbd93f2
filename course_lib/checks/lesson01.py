"""Checkers for lesson 01 (decision-tree pruning). References come from course_lib.pruning.trees."""
import numpy as np

from ..core.lazy import LazyModule
from ..pruning import trees
from ._core import Case, Mistake, allclose, run_checks

L = trees.LEAF
datasets, sktree = LazyModule("sklearn.datasets"), LazyModule("sklearn.tree")  # ~1 s: when a check builds a tree


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


def _three_leaf_weakest():
    """Node 1 (three leaves) has the smallest g, though node 3 has the smallest R(t) - R(T_t)."""
    return _gini_tree([1, 2, L, 4, L, L, 7, L, L], [6, 3, L, 5, L, L, 8, L, L],
                      [[22, 23], [15, 15], [4, 5], [11, 10], [5, 8], [6, 2], [7, 8], [0, 8], [7, 0]])


def _fitted(kind, seed=0, **kw):
    X, y = datasets.make_classification(200, 5, n_informative=3, flip_y=0.2, random_state=seed)
    w = np.random.default_rng(seed).uniform(0.2, 3.0, len(y)) if kind == "weighted" else None
    if kind == "regression":
        return trees.as_tree(sktree.DecisionTreeRegressor(random_state=seed, **kw).fit(X, X[:, 0] + y))
    return trees.as_tree(sktree.DecisionTreeClassifier(random_state=seed, **kw).fit(X, y, sample_weight=w))


def _wrong_alphas(tree, weighted=True, minus_one=1, over_leaves=True, leaf_value=np.inf, scale=True, divide=True):
    """g(t) with switches for the usual mistakes (children have larger ids than parents)."""
    w = tree.weighted_n_node_samples if weighted else tree.n_node_samples.astype(float)
    R = w * tree.impurity / (w[0] if scale else 1.0)
    Rb, n = np.where(tree.is_leaf, R, 0.0), tree.is_leaf.astype(int)
    for t in range(tree.node_count - 1, -1, -1):
        if not tree.is_leaf[t]:
            a, b = tree.children_left[t], tree.children_right[t]
            Rb[t] = Rb[a] + Rb[b] if over_leaves else R[a] + R[b]
            n[t] = n[a] + n[b]
    g = np.full(tree.node_count, float(leaf_value))
    inner = ~tree.is_leaf
    g[inner] = (R[inner] - Rb[inner]) / ((n[inner] - minus_one) if divide else 1)
    return g


ALPHA_MISTAKES = [
    Mistake(lambda t: _wrong_alphas(t, minus_one=0),
            "you divided by |leaves(T_t)|: collapsing t removes |leaves(T_t)| - 1 leaves, divide by that"),
    Mistake(lambda t: _wrong_alphas(t, weighted=False),
            "you used n_node_samples: with sample weights use weighted_n_node_samples for w(t) and w(root)"),
    Mistake(lambda t: _wrong_alphas(t, over_leaves=False),
            "R(T_t) sums R over ALL the leaves below t, not just over t's two children"),
    Mistake(lambda t: _wrong_alphas(t, leaf_value=0.0), "a leaf cannot be pruned: its g is np.inf, not 0"),
    Mistake(lambda t: _wrong_alphas(t, scale=False), "R(t) = w(t) * i(t) / w(root): you forgot to divide by w(root)"),
]


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
             Case("a subtree of three leaves (hand-built)", (_three_leaf_weakest(),), hint=hint),
             Case("a depth-4 classification tree", (_fitted("plain", max_depth=4),), hint=hint),
             Case("a tree fitted with sample weights", (_fitted("weighted", seed=1, max_depth=5),),
                  hint="with sample weights, weighted_n_node_samples is not the sample count: use it for "
                       "w(t) and for w(root)"),
             Case("a regression tree (impurity = variance)", (_fitted("regression", seed=2, max_depth=4),),
                  hint=hint),
             Case("a single leaf", (_single_leaf(),),
                  hint="a tree that is one leaf has no internal node: return [inf]")]
    return run_checks(fn, trees.effective_alphas, cases, "1.1", compare=_alphas_compare, mistakes=ALPHA_MISTAKES)


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


def _pick(g, t):
    return int(t), float(g[t])


def _last_min(g):
    return _pick(g, len(g) - 1 - int(np.argmin(g[::-1])))


LINK_MISTAKES = [
    Mistake(lambda t: _pick(trees.effective_alphas(t), np.argmax(np.where(
        np.isfinite(trees.effective_alphas(t)), trees.effective_alphas(t), -np.inf))),
            "you took the LARGEST g (argmax): the weakest link is the node with the SMALLEST g (np.argmin)"),
    Mistake(lambda t: _pick(trees.effective_alphas(t), np.argmax(trees.effective_alphas(t))),
            "you took the LARGEST g (argmax), which is a leaf's np.inf: the weakest link has the SMALLEST g"),
    Mistake(lambda t: _last_min(trees.effective_alphas(t)),
            "on a tie you kept the LAST node: keep the first (smallest id), as np.argmin and scikit-learn's `<` scan do"),
    Mistake(lambda t: _pick(_wrong_alphas(t, minus_one=0), np.argmin(_wrong_alphas(t, minus_one=0))),
            "you divided by |leaves(T_t)|: collapsing t removes |leaves(T_t)| - 1 leaves, divide by that"),
    Mistake(lambda t: _pick(_wrong_alphas(t, divide=False), np.argmin(_wrong_alphas(t, divide=False))),
            "you compared R(t) - R(T_t) without dividing by |leaves(T_t)| - 1: g is the increase in risk PER leaf removed"),
    Mistake(lambda t: _pick(g := np.where(np.arange(t.node_count) == 0, np.inf, trees.effective_alphas(t)),
                            np.argmin(g)),
            "the root is a candidate too: consider every internal node, node 0 included"),
]


def check_weakest_link(fn):
    """Exercise 1.2: the weakest link (t, g(t)): smallest g, ties to the smallest node id."""
    hint = ("compute g(t) for every node (Exercise 1.1), then take the smallest; among equal values "
            "keep the FIRST node id (np.argmin does that, as scikit-learn)")
    cases = [Case("two subtrees tie exactly (nodes 1 and 4)", (_symmetric_tie(),),
                  hint="nodes 1 and 4 have the same g: return the smaller id, as scikit-learn's strict `<` scan"),
             Case("the root is weaker than its child", (_root_weaker(),),
                  hint="g(root) = (R(root) - R(T)) / (|leaves| - 1) can be the smallest: consider every internal node"),
             Case("a subtree of three leaves is the weakest", (_three_leaf_weakest(),),
                  hint="g(t) divides the risk increase by |leaves(T_t)| - 1, the leaves that collapsing t removes"),
             Case("a depth-5 classification tree", (_fitted("plain", seed=3, max_depth=5),), hint=hint),
             Case("a tree fitted with sample weights", (_fitted("weighted", seed=4, max_depth=5),), hint=hint),
             Case("a regression tree", (_fitted("regression", seed=5, max_depth=5),), hint=hint)]
    return run_checks(fn, trees.weakest_link, cases, "1.2", compare=_node_and_alpha, mistakes=LINK_MISTAKES)


def _leaf_and_decision(expected, got):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return "expected a pair (leaf_class, replace)"
    if isinstance(got[0], (np.ndarray, list)) or got[0] != expected[0]:
        return "the leaf's class differs"
    if not isinstance(got[1], (bool, np.bool_)):
        return f"replace must be True or False, got {type(got[1]).__name__}"
    return None if got[1] == expected[1] else "the leaf class is right but the replace decision differs"


def _rep(value, classes, y, pred, k=None, strict=False):
    value, y, pred = np.asarray(value), np.asarray(y), np.asarray(pred)
    leaf = np.asarray(classes)[int(np.argmax(value)) if k is None else k]
    leaf = leaf.item() if isinstance(leaf, np.generic) else leaf
    wrong_leaf, wrong_tree = np.sum(y != leaf), np.sum(y != pred)
    return leaf, bool(wrong_leaf < wrong_tree if strict else wrong_leaf <= wrong_tree)


def _validation_majority(value, classes, y, pred):
    labels, counts = np.unique(np.asarray(y), return_counts=True)
    return _rep([float(c) for c in counts], labels, y, pred)


REP_MISTAKES = [
    Mistake(lambda v, c, y, p: _rep(v, c, y, p, strict=True),
            "'no more errors' means leaf errors <= subtree errors: prune on equal errors too (the simpler tree wins)"),
    Mistake(lambda v, c, y, p: _rep(v, c, y, p, k=len(v) - 1 - int(np.argmax(np.asarray(v)[::-1]))),
            "on a tie in `value` take the FIRST class (lowest index), as np.argmax does"),
    Mistake(lambda v, c, y, p: (int(np.argmax(v)), _rep(v, c, y, p)[1]),
            "you returned the index k: return the label classes[k]"),
    Mistake(_validation_majority,
            "the leaf's class is the TRAINING majority (from `value`), never the majority of the validation labels"),
]


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
                  hint="the task's tie rule: on a tie in value take the first class (lowest index); return classes[index]"),
             Case("labels are not 0..k", ([1.0, 5.0, 2.0], np.array([3, 7, 9]), np.array([7, 7, 9]),
                                           np.array([7, 9, 9])),
                  hint="return the label classes[k], not the index k")]
    return run_checks(fn, trees.majority_leaf_replacement, cases, "1.3", compare=_leaf_and_decision,
                      mistakes=REP_MISTAKES)
