"""course_lib.coding.weight_sharing: k-means equals scikit-learn's Lloyd from the same start; centroid
gradients equal torch autograd through a gather; tying after SGD equals SGD on the centroids with
the averaged gradient; size accounting (Han et al. 2016, eq. 1)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from course_lib.core import nn
from course_lib.coding import weight_sharing as S


def _sparse_weights(seed, shape=(40, 50), keep=0.3):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 0.1, shape) * (rng.random(shape) < keep)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("init", ["linear", "density", "random"])
@pytest.mark.parametrize("k", [4, 8])
def test_kmeans_equals_sklearn_lloyd_from_the_same_init(seed, init, k):
    """Where no cluster empties (sklearn then moves the centroid to a far point; ours stays)."""
    from sklearn.cluster import KMeans
    w = _sparse_weights(seed, (60, 80))
    kept = w[w != 0]
    c0 = S.init_centroids(kept, k, init, seed)
    ours, labels = S.kmeans(kept, c0)
    assert np.bincount(labels, minlength=k).min() > 0  # the precondition of this comparison
    km = KMeans(k, init=c0.reshape(-1, 1), n_init=1, algorithm="lloyd", tol=0.0, max_iter=300).fit(kept.reshape(-1, 1))
    theirs = km.cluster_centers_.ravel()
    # sklearn's distances use |x|^2 - 2xc + |c|^2 (rounding ~1e-16 relative): centroids agree far below 1e-9
    assert np.max(np.abs(ours - theirs)) < 1e-9
    assert np.array_equal(labels, km.labels_)


def test_an_empty_cluster_keeps_its_centroid():
    c, labels = S.kmeans(np.array([0.0, 0.1, 1.0, 1.1]), np.array([0.05, 5.0, 1.05]))
    assert np.allclose(c, [0.05, 5.0, 1.05]) and labels.tolist() == [0, 0, 2, 2]


def test_init_methods():
    w = np.array([0.0, 1.0, 2.0, 3.0, 10.0])
    assert np.allclose(S.init_centroids(w, 3, "linear"), [0.0, 5.0, 10.0])        # keeps the large weight
    assert np.allclose(S.init_centroids(w, 5, "density"), np.quantile(w, [0.1, 0.3, 0.5, 0.7, 0.9]))
    r = S.init_centroids(w, 3, "random", seed=1)
    assert len(set(r)) == 3 and set(r) <= set(w)
    with pytest.raises(ValueError, match="k must be <= the number of weights"):
        S.init_centroids(w, 6, "random")


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 5))
def test_share_weights_properties(seed, bits):
    w = _sparse_weights(seed, (12, 9), keep=0.5)
    c, idx = S.share_weights(w, bits)
    assert c.size <= 2 ** bits and idx.shape == w.shape
    assert np.all((idx == -1) == (w == 0))                      # pruned weights are not clustered
    shared = S.reconstruct(c, idx)
    assert np.all(shared[w == 0] == 0)
    assert np.array_equal(idx[w != 0], S.assign(w[w != 0], c))  # converged: every weight at its nearest centroid
    for j in range(c.size):                                    # ... and every centroid the mean of its weights
        if np.any(idx == j):
            assert abs(c[j] - w[idx == j].mean()) < 1e-12


def test_more_bits_never_increase_the_error():
    w = _sparse_weights(7, (60, 60))
    err = [np.sum((S.reconstruct(*S.share_weights(w, b)) - w) ** 2) for b in (1, 2, 3, 4, 5)]
    assert all(a >= b for a, b in zip(err, err[1:])) and err[-1] < err[0] / 50


@pytest.mark.torch
@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_centroid_gradients_equal_torch_autograd(reduce):
    from course_lib.frameworks import import_torch
    torch = import_torch(0)
    w = _sparse_weights(3, (8, 6))
    c, idx = S.share_weights(w, 2)
    x = np.random.default_rng(1).normal(size=(5, 6))
    ct = torch.tensor(c, requires_grad=True)
    W = torch.where(torch.tensor(idx) >= 0, ct[torch.tensor(np.maximum(idx, 0))], torch.zeros(()))
    loss = torch.tanh(torch.tensor(x) @ W.T).pow(2).sum()
    loss.backward()
    Wt = torch.tensor(S.reconstruct(c, idx), requires_grad=True)   # dL/dW of the same loss
    torch.tanh(torch.tensor(x) @ Wt.T).pow(2).sum().backward()
    got = S.centroid_gradients(Wt.grad.numpy(), idx, c.size, reduce)
    expected = ct.grad.numpy()
    if reduce == "mean":
        expected = expected / np.maximum(np.bincount(idx[idx >= 0], minlength=c.size), 1)
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-14)   # float64 both sides: sums in another order


def test_tying_after_momentum_sgd_is_sgd_on_the_centroids_with_the_mean_gradient():
    rng = np.random.default_rng(0)
    w = _sparse_weights(5, (10, 8))
    c, idx = S.share_weights(w, 2)
    W, vel, cv, cen = S.reconstruct(c, idx), np.zeros_like(w), np.zeros_like(c), c.copy()
    for _ in range(5):
        g = rng.normal(size=w.shape)
        vel = 0.9 * vel - 0.1 * g * (idx >= 0)
        cv = 0.9 * cv - 0.1 * S.centroid_gradients(g, idx, c.size, "mean")
        cen = cen + cv
        c_tied, W = S.tie_weights(W + vel, idx, c.size)
        assert np.allclose(c_tied, cen, atol=1e-12)


def test_tie_hook_in_nn_train_keeps_weights_shared_and_pruned():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 6)), rng.integers(0, 3, 64)
    model = nn.MLP([6, 8, 3], activation="relu", seed=0)
    model.set_masks([rng.random(w.shape) < 0.6 for w in model.W])
    idx = {}
    for l in range(2):
        c, idx[l] = S.share_weights(model.W[l], 2, mask=model.masks[l])
        model.W[l] = S.reconstruct(c, idx[l])
    hook = S.tie_hook(idx)
    nn.train(model, X, y, 3, lr=0.05, on_step=hook)
    hook(0, model)
    for l in range(2):
        assert np.all(model.W[l][~model.masks[l]] == 0)
        assert all(np.unique(model.W[l][idx[l] == j]).size == 1 for j in range(4) if np.any(idx[l] == j))


def test_compression_rate_is_eq_1():
    # Han et al. 2016, eq. 1 example: 16 weights, 4 clusters, 32-bit floats -> 16*32 / (16*2 + 4*32) = 3.2
    assert S.compression_rate(16, 2) == pytest.approx(3.2)
    assert S.codebook_bits(16, 2) == 16 * 2 + 4 * 32
    assert S.compression_rate(10 ** 6, 5) == pytest.approx(32 / 5, rel=1e-3)


@pytest.fixture(scope="module")
def tf_clustering():
    from course_lib.frameworks import import_tf
    tf, _, _ = import_tf(0)
    from tensorflow_model_optimization.python.core.clustering.keras import clustering_algorithm as ca
    from tensorflow_model_optimization.python.core.clustering.keras import clustering_centroids as cc
    return tf, ca, cc


@pytest.mark.tf
@pytest.mark.parametrize("k", [4, 16])
def test_linear_init_and_assignment_equal_tfmot_clustering(tf_clustering, k):
    tf, ca, cc = tf_clustering
    w = np.random.default_rng(k).normal(0, 0.1, (30, 20)).astype(np.float32)
    theirs = cc.LinearCentroidsInitialisation(tf.constant(w), k).get_cluster_centroids().numpy()
    ours = S.init_centroids(w, k, "linear")
    assert np.max(np.abs(ours - theirs)) <= 1e-6 * np.abs(w).max()   # float32 (tf.linspace) vs float64
    algo = ca.ClusteringAlgorithm(tf.Variable(ours.astype(np.float32)))
    assert np.array_equal(S.assign(w, ours.astype(np.float32)), algo.get_pulling_indices(tf.constant(w)).numpy())


@pytest.mark.tf
@pytest.mark.parametrize("reduce, aggregation", [("sum", "SUM"), ("mean", "AVG")])
def test_centroid_gradients_equal_tfmot_gradient_aggregation(tf_clustering, reduce, aggregation):
    tf, ca, _ = tf_clustering
    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.1, (12, 9)).astype(np.float32)
    c, idx = S.share_weights(w, 3)
    G = rng.normal(size=w.shape).astype(np.float32)                   # dL/dW of L = sum(W * G)
    centroids = tf.Variable(c.astype(np.float32))
    algo = ca.ClusteringAlgorithm(centroids, getattr(ca.GradientAggregation, aggregation))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(algo.get_clustered_weight(tf.constant(idx), tf.constant(w)) * G)
    theirs = tf.convert_to_tensor(tape.gradient(loss, centroids)).numpy()  # gather gives IndexedSlices
    ours = S.centroid_gradients(G, idx, c.size, reduce)
    assert np.allclose(ours, theirs, rtol=1e-5, atol=1e-6)             # tfmot sums in float32
