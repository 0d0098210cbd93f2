"""Pruning decision trees from scratch: reduced-error and minimal cost-complexity pruning.

Everything works on the arrays of a fitted scikit-learn tree (`estimator.tree_`): node `t` has
children `children_left[t]`, `children_right[t]` (-1 at a leaf), a split `x[feature[t]] <= threshold[t]`,
training class weights (or the mean target) `value[t]`, an impurity i(t) and a weight w(t)
(`weighted_n_node_samples`, the sum of the sample weights that reach t). No scikit-learn import here.

Cost-complexity pruning (Breiman, Friedman, Olshen & Stone 1984, "Classification and Regression
Trees", ch. 3.3), in scikit-learn's bookkeeping (sklearn/tree/_tree.pyx, `_cost_complexity_prune`):

    R(t)   = w(t) * i(t) / w(root)                  risk of node t made a leaf
    R(T_t) = sum of R(l) over the leaves l of the branch T_t below t
    g(t)   = (R(t) - R(T_t)) / (|leaves(T_t)| - 1)  effective alpha of t (the "weakest link" has min g)

Repeatedly collapse the internal node with the smallest g(t) (ties: the smallest node index) and
record (g, R(T)). `prune_to_alpha(alpha)` keeps collapsing while g <= alpha, except alpha == 0
(scikit-learn does not prune at all then, even if some g(t) == 0).

Reduced-error pruning (Quinlan 1987, "Simplifying decision trees", sec. 2.2): bottom-up, replace a
subtree by a leaf predicting its training-majority class whenever that does not increase the errors on
a separate validation set.
"""
from collections import namedtuple
from dataclasses import dataclass

import numpy as np

from ..core import validation as v
from ..core.validation import Array, Boolean, Duck, Integer, Optional, Positive, Sequence, Text, validate

LEAF = -1        # scikit-learn's _TREE_LEAF
UNDEFINED = -2   # scikit-learn's _TREE_UNDEFINED (feature and threshold of a leaf)

RepStep = namedtuple("RepStep", "node n_val errors_leaf errors_subtree leaf_class")


@dataclass(frozen=True, eq=False)
class Tree:
    """A binary decision tree as plain numpy arrays (scikit-learn's layout), to predict with and prune.

    `node_ids[t]` is the id the node had in the tree it was pruned from (identity for a fresh tree).
    `classes` holds the class labels of a classifier and is None for a regressor.
    """

    children_left: np.ndarray
    children_right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    impurity: np.ndarray
    n_node_samples: np.ndarray
    weighted_n_node_samples: np.ndarray
    n_features: int
    classes: object = None
    node_ids: np.ndarray = None

    def __post_init__(self):
        if self.node_ids is None:
            object.__setattr__(self, "node_ids", np.arange(len(self.children_left)))

    @property
    def node_count(self):
        return len(self.children_left)

    @property
    def is_leaf(self):
        return self.children_left == LEAF

    @property
    def n_leaves(self):
        return int(np.sum(self.is_leaf))

    @property
    def depth(self):
        """Return the depth of every node (root 0)."""
        d = np.zeros(self.node_count, dtype=np.intp)
        for t in range(self.node_count):   # a parent always has a smaller id than its children
            if not self.is_leaf[t]:
                d[self.children_left[t]] = d[self.children_right[t]] = d[t] + 1
        return d

    @property
    def max_depth(self):
        return int(self.depth.max())

    @property
    def parent(self):
        """Return the parent of every node (-1 at the root)."""
        p = np.full(self.node_count, LEAF, dtype=np.intp)
        inner = np.flatnonzero(~self.is_leaf)
        p[self.children_left[inner]] = inner
        p[self.children_right[inner]] = inner
        return p

    def _check_X(self, X, name="X"):
        X = v.as_array(X, name)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"{name} must have shape (n_samples, {self.n_features}), got shape {X.shape}")
        return X.astype(np.float32)   # as scikit-learn: compare float32 x with the float64 threshold

    def _walk(self, X, path=None):
        """Send every row of X down the tree (`x[feature] <= threshold` goes left); return its leaf."""
        rows, leaf = np.arange(len(X)), self.is_leaf
        node = np.zeros(len(X), dtype=np.intp)
        active = ~leaf[node]
        while active.any():
            i, t = rows[active], node[active]
            go_left = X[i, self.feature[t]] <= self.threshold[t]
            node[i] = np.where(go_left, self.children_left[t], self.children_right[t])
            if path is not None:
                path[i, node[i]] = True
            active[i] = ~leaf[node[i]]
        return node

    def decision_path(self, X):
        """Return a bool matrix (n_samples, node_count): True where a sample passes through a node."""
        X = self._check_X(X)
        path = np.zeros((len(X), self.node_count), dtype=bool)
        path[:, 0] = True
        self._walk(X, path)
        return path

    def apply(self, X):
        """Return the leaf each sample of X lands in (`x[feature] <= threshold` goes left)."""
        return self._walk(self._check_X(X))

    def predict(self, X):
        """Predict as scikit-learn: the class with the largest weight in the leaf, or the leaf mean."""
        leaf = self.apply(X)
        if self.classes is None:
            out = self.value[leaf, :, 0]
            return out[:, 0] if out.shape[1] == 1 else out
        if self.value.shape[1] != 1:
            raise ValueError("predict supports single-output classifiers only")
        return np.asarray(self.classes)[np.argmax(self.value[leaf, 0, :], axis=1)]


class _Fitted(v.Constraint):
    """A `Tree`, or a fitted scikit-learn DecisionTreeClassifier / DecisionTreeRegressor (it has `tree_`)."""

    def check(self, x, name):
        t = getattr(x, "tree_", None)
        if not isinstance(x, Tree) and (t is None or not hasattr(t, "children_left")):
            raise ValueError(f"{name} must be a fitted DecisionTreeClassifier or DecisionTreeRegressor "
                             f"(call .fit first), got {type(x).__name__}")
        return x

    def good(self):
        return Tree(*[np.array([LEAF])] * 2, np.array([UNDEFINED]), np.array([float(UNDEFINED)]),
                    np.ones((1, 1, 2)), np.zeros(1), np.ones(1, dtype=np.intp), np.ones(1), 1, np.array([0, 1]))

    def bad(self):
        return ["tree", 3]


class _Alpha(v.Constraint):
    """A complexity parameter alpha >= 0 (inf allowed: prune to the root)."""

    def check(self, x, name):
        return _alpha(x, name)

    def good(self):
        return 0.1

    def bad(self):
        return [-1, float("nan"), "0.1", True]


class _Labels(v.Constraint):
    """A 1-d array-like of class labels (numbers or strings, as scikit-learn's classes_)."""

    def __init__(self, allow_empty=False):
        self.allow_empty = allow_empty

    def check(self, x, name):
        arr = np.asarray(x)
        if arr.ndim != 1 or (arr.size == 0 and not self.allow_empty):
            raise ValueError(f"{name} must be a 1-d list of labels{'' if self.allow_empty else ' (not empty)'}, "
                             f"got shape {arr.shape}")
        return arr

    def good(self):
        return np.array([0, 1])

    def bad(self):
        return [3, np.ones((2, 2))] + ([] if self.allow_empty else [[]])


class _NullAxes:
    """Stands in for a matplotlib Axes where no figure is drawn (the coverage test's accepted value)."""

    def _ignore(self, *args, **kwargs):
        return None

    plot = text = set_xlim = set_ylim = set_axis_off = _ignore


ESTIMATOR = _Fitted()
AXES = Duck(("plot", "text", "set_xlim", "set_ylim", "set_axis_off"), _NullAxes, "a matplotlib Axes")


@validate(estimator=ESTIMATOR)
def as_tree(estimator):
    """Return the arrays of a fitted DecisionTreeClassifier / DecisionTreeRegressor as a `Tree`."""
    if isinstance(estimator, Tree):
        return estimator
    t = getattr(estimator, "tree_", None)
    if t is None or not hasattr(t, "children_left"):
        raise ValueError("estimator must be a fitted DecisionTreeClassifier or DecisionTreeRegressor "
                         f"(call .fit first), got {type(estimator).__name__}")
    classes = getattr(estimator, "classes_", None)   # a list of arrays for a multi-output classifier
    arrays = [np.array(getattr(t, k)) for k in ("children_left", "children_right", "feature", "threshold",
                                                  "value", "impurity", "n_node_samples",
                                                  "weighted_n_node_samples")]
    return Tree(*arrays, n_features=int(t.n_features),
                classes=None if classes is None else (list(classes) if isinstance(classes, list)
                                                      else np.array(classes)),
                node_ids=np.arange(t.node_count))


def _alpha(alpha, name="alpha"):
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number >= 0, got {type(alpha).__name__}")
    alpha = float(alpha)
    if not alpha >= 0:   # also catches NaN
        raise ValueError(f"{name} must be >= 0, got {alpha:g}")
    return alpha


@validate(tree=ESTIMATOR, make_leaf=Array())
def collapse(tree, make_leaf):
    """Return the subtree in which every node with make_leaf[t] becomes a leaf (descendants dropped).

    Nodes are renumbered in pre-order, left child first, exactly as scikit-learn's `_build_pruned_tree`.
    """
    tree = as_tree(tree)
    make_leaf = np.asarray(make_leaf, dtype=bool)
    if make_leaf.shape != (tree.node_count,):
        raise ValueError(f"make_leaf must have one entry per node, shape ({tree.node_count},), "
                         f"got shape {make_leaf.shape}")
    make_leaf = make_leaf | tree.is_leaf
    order, new_left, new_right, stack = [], [], [], [(0, -1, False)]
    while stack:
        t, parent, is_left = stack.pop()
        new = len(order)
        order.append(t)
        new_left.append(LEAF)
        new_right.append(LEAF)
        if parent >= 0:
            (new_left if is_left else new_right)[parent] = new
        if not make_leaf[t]:
            stack.append((tree.children_right[t], new, False))
            stack.append((tree.children_left[t], new, True))
    order = np.array(order, dtype=np.intp)
    leaf = make_leaf[order]
    return Tree(np.array(new_left, dtype=np.intp), np.array(new_right, dtype=np.intp),
                np.where(leaf, UNDEFINED, tree.feature[order]),
                np.where(leaf, float(UNDEFINED), tree.threshold[order]),
                tree.value[order].copy(), tree.impurity[order].copy(), tree.n_node_samples[order].copy(),
                tree.weighted_n_node_samples[order].copy(), tree.n_features, tree.classes,
                tree.node_ids[order].copy())


@validate(tree=ESTIMATOR)
def node_risks(tree):
    """Return R(t) = w(t) * i(t) / w(root) for every node (scikit-learn's `r_node`)."""
    tree = as_tree(tree)
    w = tree.weighted_n_node_samples
    return w * tree.impurity / w[0]


def _branch_sums(tree, r_node):
    """Return R(T_t) and |leaves(T_t)| for every node, summed leaf by leaf in id order as scikit-learn."""
    parent, r = tree.parent.tolist(), r_node.tolist()
    r_branch, n_leaves = [0.0] * tree.node_count, [0] * tree.node_count
    for leaf in np.flatnonzero(tree.is_leaf).tolist():
        r_branch[leaf] = r[leaf]
        t = leaf
        while t != 0:
            t = parent[t]
            r_branch[t] += r[leaf]
            n_leaves[t] += 1
    return r_branch, n_leaves


@validate(tree=ESTIMATOR)
def effective_alphas(tree):
    """Return g(t) = (R(t) - R(T_t)) / (|leaves(T_t)| - 1) for every node; np.inf at leaves.

    Breiman et al. 1984, sec. 3.3 (weakest-link cutting); R as in `node_risks`.
    """
    tree = as_tree(tree)
    r_node = node_risks(tree)
    r_branch, n_leaves = map(np.array, _branch_sums(tree, r_node))
    g = np.full(tree.node_count, np.inf)
    inner = ~tree.is_leaf
    g[inner] = (r_node[inner] - r_branch[inner]) / (n_leaves[inner] - 1)
    return g


@validate(tree=ESTIMATOR)
def weakest_link(tree):
    """Return (t, g(t)) of the node with the smallest effective alpha; ties go to the smallest id."""
    tree = as_tree(tree)
    if tree.node_count == 1:
        raise ValueError("tree is a single leaf: there is no weakest link to cut")
    g = effective_alphas(tree)
    t = int(np.argmin(g))   # argmin returns the first minimum, like scikit-learn's strict `<` scan
    return t, float(g[t])


def _weakest_link_steps(tree, alpha_max=np.inf):
    """Run scikit-learn's weakest-link loop; return (alphas, impurities, cut nodes), step 0 = no cut.

    Stops before the first link with g > alpha_max. The bookkeeping (R(T_t) updated by r_diff along
    the ancestors) follows `_cost_complexity_prune` operation by operation, so ties resolve the same.
    """
    n, parent, inner = tree.node_count, tree.parent, ~tree.is_leaf
    r_node = node_risks(tree)
    r_list, n_list = _branch_sums(tree, r_node)
    r_branch, n_leaves = np.array(r_list), np.array(n_list, dtype=np.intp)
    candidate = inner.copy()
    alphas, impurities, cut = [0.0], [float(r_branch[0])], [LEAF]
    while candidate[0]:
        idx = np.flatnonzero(candidate)
        g = (r_node[idx] - r_branch[idx]) / (n_leaves[idx] - 1)
        k = int(np.argmin(g))
        t, alpha = int(idx[k]), float(g[k])
        if alpha > alpha_max:
            break
        stack = [t]                       # the branch below t leaves the tree
        while stack:
            s = stack.pop()
            candidate[s] = False
            if inner[s]:
                stack += [tree.children_left[s], tree.children_right[s]]
        n_cut = n_leaves[t] - 1
        n_leaves[t] = 0
        r_diff = r_node[t] - r_branch[t]
        r_branch[t] = r_node[t]
        s = parent[t]
        while s != LEAF:
            n_leaves[s] -= n_cut
            r_branch[s] += r_diff
            s = parent[s]
        alphas.append(alpha)
        impurities.append(float(r_branch[0]))
        cut.append(t)
    return np.array(alphas), np.array(impurities), np.array(cut, dtype=np.intp)


@validate(estimator=ESTIMATOR)
def cost_complexity_pruning_path(estimator):
    """Return (ccp_alphas, impurities) of minimal cost-complexity pruning of a fitted tree.

    Equal to scikit-learn's `estimator.cost_complexity_pruning_path(X, y)` on the training data of an
    estimator fitted with ccp_alpha=0: one entry per cut (tied links give repeated alphas), starting
    with (0, R(T)), ending with the root alone. impurities[k] = R(T_k) = sum of R(l) over the leaves.
    As in scikit-learn, rounding can leave an alpha a hair below 0 (e.g. -3e-18) for a zero-gain split.
    """
    alphas, impurities, _ = _weakest_link_steps(as_tree(estimator))
    return alphas, impurities


@validate(estimator=ESTIMATOR, alpha=_Alpha())
def prune_to_alpha(estimator, alpha):
    """Return the smallest subtree minimising R(T) + alpha * |leaves(T)| (Breiman et al. 1984, 3.3).

    Cut weakest links while g <= alpha, then renumber the nodes in pre-order (as scikit-learn);
    alpha == 0 returns the tree unchanged, node ids included (as scikit-learn's ccp_alpha=0).
    """
    tree = as_tree(estimator)
    if _alpha(alpha) == 0.0:
        return tree   # scikit-learn's `_prune_tree` returns early: same tree, same node ids
    make_leaf = np.zeros(tree.node_count, dtype=bool)
    make_leaf[_weakest_link_steps(tree, alpha_max=alpha)[2][1:]] = True
    return collapse(tree, make_leaf)


@validate(value=Array(), classes=_Labels(), y_node=_Labels(allow_empty=True), subtree_pred=_Labels(allow_empty=True))
def majority_leaf_replacement(value, classes, y_node, subtree_pred):
    """Return (leaf_class, replace) for one node of reduced-error pruning (Quinlan 1987, sec. 2.2).

    leaf_class = the class with the largest training weight at the node (`value`, ties: the first);
    replace    = errors of that leaf on the validation labels reaching the node (y_node)
                 <= errors of the current subtree there (its predictions subtree_pred).
    """
    value = np.asarray(value)
    y_node, subtree_pred = np.asarray(y_node), np.asarray(subtree_pred)
    if y_node.shape != subtree_pred.shape:
        raise ValueError(f"y_node and subtree_pred must have the same shape, got {y_node.shape} "
                         f"and {subtree_pred.shape}")
    leaf_class = np.asarray(classes)[int(np.argmax(value.reshape(-1)))]
    leaf_class = leaf_class.item() if isinstance(leaf_class, np.generic) else leaf_class   # a plain label
    return leaf_class, bool(np.sum(y_node != leaf_class) <= np.sum(y_node != subtree_pred))


def _postorder(tree):
    order, stack = [], [(0, False)]
    while stack:
        t, seen = stack.pop()
        if seen or tree.is_leaf[t]:
            order.append(t)
        else:
            stack += [(t, True), (tree.children_right[t], False), (tree.children_left[t], False)]
    return order


@validate(estimator=ESTIMATOR, X_val=Array(), y_val=_Labels(), return_steps=Boolean())
def reduced_error_prune(estimator, X_val, y_val, return_steps=False):
    """Prune a classifier bottom-up on validation data: a node becomes a leaf (its training-majority
    class) whenever validation accuracy does not drop (Quinlan 1987, "Simplifying decision trees").

    Nodes are visited in post-order (children first), so each decision sees the already pruned
    subtree; a branch no validation sample reaches is pruned (0 errors <= 0 errors).
    Returns the pruned `Tree`, and with return_steps=True also the list of `RepStep`s taken.
    """
    tree = as_tree(estimator)
    if tree.classes is None:
        raise TypeError("reduced_error_prune needs a fitted classifier (it counts misclassifications)")
    if tree.value.shape[1] != 1:
        raise ValueError("reduced_error_prune supports single-output classifiers only")
    X = tree._check_X(X_val, "X_val")
    y = np.asarray(y_val)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y_val must be 1-d with one label per row of X_val ({len(X)} rows), "
                         f"got shape {y.shape}")
    path, pred = tree.decision_path(X), tree.predict(X)
    make_leaf, steps = np.zeros(tree.node_count, dtype=bool), []
    for t in _postorder(tree):
        if tree.is_leaf[t]:
            continue
        reach = path[:, t]
        leaf_class, replace = majority_leaf_replacement(tree.value[t, 0], tree.classes, y[reach], pred[reach])
        if replace:
            steps.append(RepStep(int(tree.node_ids[t]), int(reach.sum()), int(np.sum(y[reach] != leaf_class)),
                                 int(np.sum(y[reach] != pred[reach])), leaf_class))
            make_leaf[t] = True
            pred[reach] = leaf_class
    pruned = collapse(tree, make_leaf)
    return (pruned, steps) if return_steps else pruned


@validate(tree=ESTIMATOR)
def tree_layout(tree):
    """Return (x, y) positions to draw a tree: leaves spaced 1 apart left to right, y = -depth,
    an internal node centred over its children."""
    tree = as_tree(tree)
    x = np.zeros(tree.node_count)
    for i, t in enumerate([t for t in _postorder(tree) if tree.is_leaf[t]]):
        x[t] = i
    for t in _postorder(tree):
        if not tree.is_leaf[t]:
            x[t] = (x[tree.children_left[t]] + x[tree.children_right[t]]) / 2
    return x, -tree.depth.astype(float)


@validate(tree=ESTIMATOR, ax=AXES, highlight=Sequence(Integer(), min_len=0), feature_names=Optional(Sequence(Text())),
          fontsize=Positive())
def draw_tree(tree, ax, highlight=(), feature_names=None, fontsize=7):
    """Draw `tree` on a matplotlib Axes: splits in internal nodes, the prediction in leaves;
    nodes whose original id is in `highlight` are drawn in red."""
    tree = as_tree(tree)
    x, y = tree_layout(tree)
    highlight = set(int(h) for h in highlight)
    for t in np.flatnonzero(~tree.is_leaf):
        for c in (tree.children_left[t], tree.children_right[t]):
            ax.plot([x[t], x[c]], [y[t], y[c]], color="0.6", lw=0.8, zorder=1)
    for t in range(tree.node_count):
        if tree.is_leaf[t]:
            label = (str(np.asarray(tree.classes)[np.argmax(tree.value[t, 0])]) if tree.classes is not None
                     else f"{tree.value[t, 0, 0]:.2f}")
        else:
            f = int(tree.feature[t])
            label = f"{feature_names[f] if feature_names else f'x{f}'}≤{tree.threshold[t]:.2f}"
        red = int(tree.node_ids[t]) in highlight
        ax.text(x[t], y[t], label, ha="center", va="center", fontsize=fontsize, zorder=2,
                bbox=dict(boxstyle="round,pad=0.2", fc="#f4cccc" if red else
                          ("#d9ead3" if tree.is_leaf[t] else "white"), ec="#c00000" if red else "0.5"))
    ax.set_xlim(x.min() - 0.7, x.max() + 0.7)
    ax.set_ylim(y.min() - 0.5, 0.5)
    ax.set_axis_off()
