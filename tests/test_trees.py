"""course_lib.pruning.trees: hand-computed values, reduced-error pruning against a brute-force Quinlan loop,
properties (hypothesis), and clear errors on bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_classification
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from course_lib.pruning.trees import Tree, as_tree, collapse, cost_complexity_pruning_path, effective_alphas, majority_leaf_replacement, node_risks, prune_to_alpha, reduced_error_prune, tree_layout, weakest_link


def _hand_tree():
    """      0 (10 samples, gini .48)
           /                \\
      1 (6, .278)          4 (4, 0) leaf
      /        \\
   2 (5, 0)   3 (1, 0)                    Classes a, b; class weights in value."""
    L = -1
    return Tree(children_left=np.array([1, 2, L, L, L]), children_right=np.array([4, 3, L, L, L]),
                feature=np.array([0, 1, -2, -2, -2]), threshold=np.array([0.5, 0.5, -2, -2, -2.0]),
                value=np.array([[[6, 4]], [[5, 1]], [[5, 0]], [[0, 1]], [[1, 3]]], dtype=float),
                impurity=np.array([0.48, 5 / 18, 0.0, 0.0, 0.375]),
                n_node_samples=np.array([10, 6, 5, 1, 4]), weighted_n_node_samples=np.array([10, 6, 5, 1, 4.0]),
                n_features=2, classes=np.array(["a", "b"]), node_ids=np.arange(5))


def test_hand_computed_risks_and_effective_alphas():
    t = _hand_tree()
    np.testing.assert_allclose(node_risks(t), [0.48, 6 / 10 * 5 / 18, 0, 0, 0.4 * 0.375], atol=1e-15)
    g = effective_alphas(t)
    # g(1) = (R(1) - 0) / (2 - 1); g(0) = (0.48 - 0.15) / (3 - 1)
    np.testing.assert_allclose(g[:2], [(0.48 - 0.15) / 2, 1 / 6], atol=1e-15)
    assert np.all(np.isinf(g[2:]))
    # the root (0.165) is weaker than its child (1/6): one cut takes the whole tree down to the root
    assert weakest_link(t) == (0, pytest.approx(0.165))
    alphas, impurities = cost_complexity_pruning_path(t)
    np.testing.assert_allclose(alphas, [0, 0.165], atol=1e-15)
    np.testing.assert_allclose(impurities, [0.15, 0.48], atol=1e-15)
    assert prune_to_alpha(t, 0.17).n_leaves == 1 and prune_to_alpha(t, 0.16).n_leaves == 3
    t2 = Tree(**{**t.__dict__, "impurity": np.array([0.5, 5 / 18, 0.0, 0.0, 0.375])})   # a weaker child
    assert weakest_link(t2) == (1, pytest.approx(1 / 6))
    np.testing.assert_allclose(cost_complexity_pruning_path(t2)[0], [0, 1 / 6, 0.5 - 0.15 - 1 / 6], atol=1e-15)
    assert prune_to_alpha(t2, 0.17).n_leaves == 2


def test_collapse_renumbers_in_preorder_and_keeps_original_ids():
    t = collapse(_hand_tree(), [False, True, False, False, False])
    np.testing.assert_array_equal(t.children_left, [1, -1, -1])
    np.testing.assert_array_equal(t.children_right, [2, -1, -1])
    np.testing.assert_array_equal(t.node_ids, [0, 1, 4])
    assert t.feature[1] == -2 and t.threshold[1] == -2.0
    np.testing.assert_array_equal(t.predict([[0.0, 0.0], [1.0, 0.0]]), ["a", "b"])


def test_majority_leaf_replacement():
    classes = np.array([0, 1, 2])
    assert majority_leaf_replacement([1, 5, 2], classes, [1, 1, 0], [0, 1, 0]) == (1, True)     # 1 <= 1
    assert majority_leaf_replacement([1, 5, 2], classes, [0, 0, 2], [0, 0, 2]) == (1, False)    # 3 > 0
    assert majority_leaf_replacement([3, 3, 0], classes, [], []) == (0, True)                   # tie: first class
    with pytest.raises(ValueError, match="same shape"):
        majority_leaf_replacement([1, 2], classes[:2], [0, 1], [0])


def _quinlan_brute_force(est, X, y):
    """Quinlan's loop: while some internal node, made a majority leaf, does not raise the total
    validation errors (and contains no such node below it), replace it; return the kept node ids."""
    full = as_tree(est)
    make_leaf = np.zeros(full.node_count, dtype=bool)

    def errors(mask):
        return int(np.sum(collapse(full, mask).predict(X) != y))

    while True:
        current = collapse(full, make_leaf)
        base = errors(make_leaf)
        ok = []
        for t in current.node_ids[~current.is_leaf]:
            trial = make_leaf.copy()
            trial[t] = True
            if errors(trial) <= base:
                ok.append(t)
        below = {t for t in ok if any(_is_ancestor(full, t, s) for s in ok if s != t)}
        minimal = [t for t in ok if t not in below]
        if not minimal:
            return set(current.node_ids.tolist())
        make_leaf[minimal[0]] = True


def _is_ancestor(tree, a, b):
    p = tree.parent
    while b != -1:
        b = p[b]
        if b == a:
            return True
    return False


@pytest.mark.parametrize("seed", range(6))
def test_reduced_error_prune_equals_quinlans_loop(seed):
    X, y = make_classification(160, 5, n_informative=3, n_classes=3, n_clusters_per_class=1, flip_y=0.25,
                               random_state=seed)
    est = DecisionTreeClassifier(max_leaf_nodes=18, random_state=seed).fit(X[:100], y[:100])
    pruned, steps = reduced_error_prune(est, X[100:], y[100:], return_steps=True)
    assert set(pruned.node_ids.tolist()) == _quinlan_brute_force(est, X[100:], y[100:])
    assert len(steps) >= 1 and all(s.errors_leaf <= s.errors_subtree for s in steps)


def test_reduced_error_prune_is_a_fixed_point_and_never_hurts_validation():
    X, y = make_classification(600, 8, n_informative=4, flip_y=0.2, random_state=0)
    est = DecisionTreeClassifier(random_state=0).fit(X[:300], y[:300])
    Xv, yv = X[300:450], y[300:450]
    pruned = reduced_error_prune(est, Xv, yv)
    assert pruned.n_leaves < est.get_n_leaves()
    assert np.mean(pruned.predict(Xv) == yv) >= np.mean(est.predict(Xv) == yv)
    again = reduced_error_prune(pruned, Xv, yv)
    np.testing.assert_array_equal(again.node_ids, pruned.node_ids)
    base = np.sum(pruned.predict(Xv) != yv)
    for t in np.flatnonzero(~pruned.is_leaf):         # every remaining split earns its keep
        mask = np.zeros(pruned.node_count, dtype=bool)
        mask[t] = True
        assert np.sum(collapse(pruned, mask).predict(Xv) != yv) > base


def test_unreached_branches_are_pruned():
    X, y = make_classification(200, 4, n_informative=2, n_redundant=0, flip_y=0.3, random_state=1)
    est = DecisionTreeClassifier(random_state=0).fit(X, y)
    far = X[:1] * 0 + 100.0                              # one point, far right in every feature
    pruned = reduced_error_prune(est, far, est.predict(far))
    assert pruned.n_leaves == 1                          # every split is 0 errors either way


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(8, 60), weighted=st.booleans(), regression=st.booleans())
def test_path_properties(seed, n, weighted, regression):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 5, size=(n, 2)).astype(float)
    y = rng.integers(0, 3, n)
    w = rng.uniform(0.1, 2, n) if weighted else None
    est = (DecisionTreeRegressor if regression else DecisionTreeClassifier)(random_state=0).fit(X, y, w)
    alphas, impurities = cost_complexity_pruning_path(est)
    full = as_tree(est)
    assert len(alphas) == len(impurities) >= 1 and alphas[0] == 0.0
    assert impurities[-1] == pytest.approx(node_risks(full)[0], abs=1e-12)   # the root alone
    assert np.all(np.diff(impurities) >= -1e-12)                              # cutting never lowers R
    previous = None
    for k in range(1, len(alphas)):
        a = max(alphas[k], 0.0)
        t = prune_to_alpha(est, a)
        later = np.flatnonzero(alphas[1:] > a)
        j = later[0] if len(later) else len(alphas) - 1                        # cuts made at this alpha
        assert np.sum(node_risks(t)[t.is_leaf]) == pytest.approx(impurities[j], abs=1e-12)
        if previous is not None:                                               # nested subtrees
            assert set(t.node_ids.tolist()) <= previous
        previous = set(t.node_ids.tolist())
    assert prune_to_alpha(est, 0.0).node_count == est.tree_.node_count


def test_tree_layout_places_parents_over_children():
    x, y = tree_layout(_hand_tree())
    np.testing.assert_allclose(x, [1.25, 0.5, 0, 1, 2])
    np.testing.assert_array_equal(y, [0, -1, -2, -2, -1])


def test_draw_tree_runs():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course_lib.pruning.trees import draw_tree
    fig, ax = plt.subplots()
    draw_tree(_hand_tree(), ax, highlight=[1], feature_names=["u", "v"])
    assert len(ax.texts) == 5
    plt.close(fig)


@pytest.fixture(scope="module")
def fitted():
    X, y = make_classification(100, 4, random_state=0)
    return DecisionTreeClassifier(random_state=0).fit(X, y), X, y


@pytest.mark.parametrize("alpha, err, match", [
    (-1, ValueError, "alpha must be >= 0, got -1"), (float("nan"), ValueError, "alpha must be >= 0"),
    ("0.1", TypeError, "alpha must be a number"), (True, TypeError, "alpha must be a number")])
def test_bad_alpha(fitted, alpha, err, match):
    with pytest.raises(err, match=match):
        prune_to_alpha(fitted[0], alpha)


@pytest.mark.parametrize("fn", [cost_complexity_pruning_path, lambda e: prune_to_alpha(e, 0.1),
                                lambda e: reduced_error_prune(e, np.zeros((2, 4)), [0, 1])])
def test_unfitted_estimator(fn):
    with pytest.raises(ValueError, match="fitted DecisionTreeClassifier or DecisionTreeRegressor"):
        fn(DecisionTreeClassifier())


def test_bad_validation_data(fitted):
    est, X, y = fitted
    with pytest.raises(ValueError, match=r"y_val must be 1-d with one label per row of X_val \(100 rows\)"):
        reduced_error_prune(est, X, y[:-1])
    with pytest.raises(ValueError, match=r"X_val must have shape \(n_samples, 4\), got shape \(100, 3\)"):
        reduced_error_prune(est, X[:, :3], y)
    with pytest.raises(ValueError, match="X_val contains NaN"):
        reduced_error_prune(est, np.full((2, 4), np.nan), [0, 1])
    with pytest.raises(TypeError, match="needs a fitted classifier"):
        reduced_error_prune(DecisionTreeRegressor().fit(X, y), X, y)
    with pytest.raises(ValueError, match="single leaf"):
        weakest_link(prune_to_alpha(est, 1.0))
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 4\)"):
        as_tree(est).predict(X[0])
    with pytest.raises(ValueError, match=r"make_leaf must have one entry per node"):
        collapse(est, [True])
