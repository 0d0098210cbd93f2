"""course_lib.pruning.trees equals scikit-learn 1.9.1 (sklearn/tree/_tree.pyx `_cost_complexity_prune`,
`ccp_pruning_path`, `_build_pruned_tree`): the path, and the tree a `ccp_alpha` fit keeps.

Tolerance 1e-12 for path values (the issue's bar); the bookkeeping follows scikit-learn operation by
operation, so in practice the values are equal bit for bit and ties break the same way, which the
exact comparison of the pruned trees' arrays checks.
"""
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, make_classification
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from course_lib.pruning.trees import cost_complexity_pruning_path, prune_to_alpha, weakest_link

ARRAYS = ("children_left", "children_right", "feature", "threshold", "value", "impurity",
          "n_node_samples", "weighted_n_node_samples")


def _noisy(seed, n=400):
    return make_classification(n, 8, n_informative=4, flip_y=0.2, random_state=seed)


def _grid(seed, n=60, regression=False):
    """Small-integer features and labels: many nodes with equal weight and impurity, so tied links."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 4, size=(n, 3)).astype(float)
    y = rng.integers(0, 3, n).astype(float) if regression else rng.integers(0, 2, n)
    return X, y


def _datasets():
    Xb, yb = load_breast_cancer(return_X_y=True)
    Xi, yi = load_iris(return_X_y=True)
    Xd, yd = load_diabetes(return_X_y=True)
    cases = [("iris", DecisionTreeClassifier, Xi, yi), ("breast_cancer", DecisionTreeClassifier, Xb, yb),
             ("diabetes", DecisionTreeRegressor, Xd, yd)]
    for seed in range(3):
        X, y = _noisy(seed)
        cases += [(f"noisy{seed}", DecisionTreeClassifier, X, y),
                  (f"noisy{seed}_reg", DecisionTreeRegressor, X, X[:, 0] + 2 * y),
                  (f"grid{seed}", DecisionTreeClassifier, *_grid(seed)),
                  (f"grid{seed}_reg", DecisionTreeRegressor, *_grid(seed, regression=True))]
    return cases


DATASETS = _datasets()
SETTINGS = [{}, {"max_depth": 3}, {"max_depth": 6}, {"max_leaf_nodes": 25}, {"min_samples_leaf": 4}]


def _weights(kind, n, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "none":
        return None
    w = rng.uniform(0.2, 3.0, n)
    if kind == "with_zeros":
        w[rng.random(n) < 0.1] = 0.0
    return w


def _assert_same_tree(mine, ref):
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(mine, name), np.asarray(getattr(ref.tree_, name)), err_msg=name)


@pytest.mark.parametrize("name, cls, X, y", DATASETS, ids=[d[0] for d in DATASETS])
@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "full")
@pytest.mark.parametrize("weights", ["none", "uniform", "with_zeros"])
def test_path_equals_sklearn(name, cls, X, y, settings, weights):
    w = _weights(weights, len(y))
    est = cls(random_state=0, **settings).fit(X, y, sample_weight=w)
    alphas, impurities = cost_complexity_pruning_path(est)
    ref = est.cost_complexity_pruning_path(X, y, sample_weight=w)
    assert alphas.shape == ref.ccp_alphas.shape
    np.testing.assert_allclose(alphas, ref.ccp_alphas, rtol=0, atol=1e-12)
    np.testing.assert_allclose(impurities, ref.impurities, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name, cls, X, y", DATASETS, ids=[d[0] for d in DATASETS])
@pytest.mark.parametrize("settings", [{}, {"max_leaf_nodes": 25}], ids=["full", "best_first"])
@pytest.mark.parametrize("weights", ["none", "uniform"])
def test_prune_to_alpha_equals_a_ccp_alpha_fit(name, cls, X, y, settings, weights):
    w = _weights(weights, len(y), seed=1)
    est = cls(random_state=0, **settings).fit(X, y, sample_weight=w)
    path = est.cost_complexity_pruning_path(X, y, sample_weight=w).ccp_alphas
    mid = (path[1:] + path[:-1]) / 2
    some = np.linspace(0, len(mid) - 1, 6).astype(int) if len(mid) else []
    alphas = np.unique(np.concatenate([[0.0, 1e-300, 1.0], path[some], mid[some], path[-2:]]))  # on, between
    alphas = alphas[alphas >= 0]   # rounding can give a link g = -3e-18; ccp_alpha must be >= 0
    X_new = np.random.default_rng(2).normal(X.mean(0), X.std(0) + 1e-9, size=(50, X.shape[1]))
    for alpha in alphas:
        ref = clone(est).set_params(ccp_alpha=float(alpha)).fit(X, y, sample_weight=w)
        mine = prune_to_alpha(est, alpha)
        _assert_same_tree(mine, ref)
        assert mine.n_leaves == ref.get_n_leaves() and mine.max_depth == ref.get_depth()
        for data in (X, X_new):
            np.testing.assert_array_equal(mine.predict(data), ref.predict(data))
            np.testing.assert_array_equal(mine.apply(data), ref.apply(data))


def test_ties_are_present_and_broken_like_sklearn():
    """On integer grids many links tie; the path repeats the alpha and the same node is cut first."""
    n_ties = 0
    for seed in range(3):
        for regression in (False, True):
            X, y = _grid(seed, regression=regression)
            cls = DecisionTreeRegressor if regression else DecisionTreeClassifier
            est = cls(random_state=0).fit(X, y)
            alphas, _ = cost_complexity_pruning_path(est)
            ref = est.cost_complexity_pruning_path(X, y)
            np.testing.assert_array_equal(alphas, ref.ccp_alphas)
            tied = np.flatnonzero(np.diff(alphas) == 0)
            n_ties += len(tied)
            for k in tied:          # exactly at a tied alpha every tied link is cut, as in scikit-learn
                _assert_same_tree(prune_to_alpha(est, alphas[k]), clone(est).set_params(ccp_alpha=alphas[k]).fit(X, y))
    assert n_ties >= 6, "the constructed data should produce tied weakest links"


def test_xor_zero_alpha_links_and_the_alpha_zero_early_return():
    """A depth-1 XOR tree splits with zero gain: g(root) = 0. sklearn's path lists alpha 0 twice;
    ccp_alpha=0 keeps the split (early return), any alpha > 0 cuts it."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 3, dtype=float)
    y = np.array([0, 1, 1, 0] * 3)
    est = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X, y)
    alphas, impurities = cost_complexity_pruning_path(est)
    np.testing.assert_array_equal(alphas, [0.0, 0.0])
    np.testing.assert_array_equal(impurities, est.cost_complexity_pruning_path(X, y).impurities)
    assert weakest_link(est) == (0, 0.0)
    for alpha in (0.0, 1e-300):
        _assert_same_tree(prune_to_alpha(est, alpha), clone(est).set_params(ccp_alpha=alpha).fit(X, y))
    assert prune_to_alpha(est, 0.0).n_leaves == 2 and prune_to_alpha(est, 1e-300).n_leaves == 1


@pytest.mark.parametrize("cls", [DecisionTreeClassifier, DecisionTreeRegressor])
def test_single_leaf_tree(cls):
    X, y = np.arange(6.0).reshape(-1, 1), np.ones(6, dtype=int)
    est = cls().fit(X, y)
    alphas, impurities = cost_complexity_pruning_path(est)
    ref = est.cost_complexity_pruning_path(X, y)
    np.testing.assert_array_equal(alphas, ref.ccp_alphas)
    np.testing.assert_array_equal(impurities, ref.impurities)
    _assert_same_tree(prune_to_alpha(est, 0.5), clone(est).set_params(ccp_alpha=0.5).fit(X, y))


@pytest.mark.parametrize("criterion", ["entropy", "log_loss"])
def test_other_classification_criteria(criterion):
    X, y = load_iris(return_X_y=True)
    est = DecisionTreeClassifier(criterion=criterion, random_state=0).fit(X, y)
    np.testing.assert_allclose(cost_complexity_pruning_path(est)[0],
                               est.cost_complexity_pruning_path(X, y).ccp_alphas, rtol=0, atol=1e-12)


@pytest.mark.parametrize("criterion", ["absolute_error", "poisson"])
def test_other_regression_criteria(criterion):
    X, y = load_diabetes(return_X_y=True)
    X, y = X[:150], y[:150]
    est = DecisionTreeRegressor(criterion=criterion, max_depth=6, random_state=0).fit(X, y)
    ref = est.cost_complexity_pruning_path(X, y)
    a, i = cost_complexity_pruning_path(est)
    np.testing.assert_allclose(a, ref.ccp_alphas, rtol=0, atol=1e-12)
    np.testing.assert_allclose(i, ref.impurities, rtol=0, atol=1e-12)
    _assert_same_tree(prune_to_alpha(est, ref.ccp_alphas[len(a) // 2]),
                      clone(est).set_params(ccp_alpha=ref.ccp_alphas[len(a) // 2]).fit(X, y))


def test_multi_output_regression_path_and_string_labels():
    X, y = load_diabetes(return_X_y=True)
    Y = np.c_[y, X[:, 0] * 100]
    est = DecisionTreeRegressor(max_depth=5, random_state=0).fit(X, Y)
    np.testing.assert_allclose(cost_complexity_pruning_path(est)[1],
                               est.cost_complexity_pruning_path(X, Y).impurities, rtol=0, atol=1e-12)
    Xi, yi = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[yi]
    clf = DecisionTreeClassifier(random_state=0).fit(Xi, names)
    np.testing.assert_array_equal(prune_to_alpha(clf, 0.01).predict(Xi),
                                  clone(clf).set_params(ccp_alpha=0.01).fit(Xi, names).predict(Xi))


def test_values_at_and_next_to_every_threshold_go_where_sklearn_sends_them():
    """Edge inputs: x exactly at a threshold, one float64 step either side (X is compared as float32,
    as scikit-learn casts it)."""
    X, y = _noisy(0)
    est = DecisionTreeClassifier(max_depth=5, random_state=0).fit(X, y)
    t = est.tree_
    probes = []
    for node in np.flatnonzero(t.children_left != -1):
        for x in (t.threshold[node], np.nextafter(t.threshold[node], -np.inf), np.nextafter(t.threshold[node], np.inf)):
            p = X[node % len(X)].copy()
            p[t.feature[node]] = x
            probes.append(p)
    probes = np.array(probes)
    mine = prune_to_alpha(est, 0.0)
    np.testing.assert_array_equal(mine.apply(probes), est.apply(probes))
    np.testing.assert_array_equal(mine.predict(probes), est.predict(probes))
