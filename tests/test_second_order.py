"""course_lib.pruning.second_order: Hessians equal torch autograd, Woodbury equals a direct inverse,
OBS is exact on a quadratic loss, OBD and OBS agree when the Hessian is diagonal."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.pruning import second_order as so
from course_lib.frameworks import import_torch
from course_lib.core.nn import MLP

ACTS = ["tanh", "sigmoid", "relu"]


def _torch_loss_fn(model, X, y, loss):
    """Return a torch function theta -> loss with the layout of MLP.get_flat (masks applied)."""
    torch = import_torch()
    act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "identity": lambda z: z}
    keep = torch.tensor(so.flat_keep(model).astype(float))
    Xt = torch.tensor(X)

    def f(theta):
        theta = theta * keep
        a, i = Xt, 0
        for w, b, name in zip(model.W, model.b, model.acts):
            W = theta[i:i + w.size].reshape(w.shape)
            i += w.size
            bb = theta[i:i + b.size]
            i += b.size
            a = act[name](a @ W.T + bb)
        if loss == "mse":
            return torch.nn.functional.mse_loss(a, torch.tensor(y, dtype=a.dtype).reshape(a.shape))
        return torch.nn.functional.cross_entropy(a, torch.tensor(y))
    return f


def _torch_hessian(model, X, y, loss):
    torch = import_torch()
    f = _torch_loss_fn(model, X, y, loss)
    return torch.autograd.functional.hessian(f, torch.tensor(model.get_flat())).numpy()


def _problem(sizes, act, loss, n=13, seed=0, output="identity"):
    rng = np.random.default_rng(seed)
    model = MLP(sizes, activation=act, output=output, seed=seed)
    for l in range(len(model.b)):
        model.b[l] = rng.normal(0, 0.5, model.b[l].shape)
    X = rng.normal(size=(n, sizes[0]))
    y = rng.normal(size=(n, sizes[-1])) if loss == "mse" else rng.integers(0, sizes[-1], n)
    return model, X, y


# ---------- exact Hessian vs torch.autograd.functional.hessian ----------
@pytest.mark.torch
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("sizes", [[3, 4, 2], [2, 3, 3, 2], [4, 3]])
def test_hessian_equals_torch_autograd(act, loss, sizes):
    model, X, y = _problem(sizes, act, loss)
    H = so.hessian(model, X, y, loss)
    np.testing.assert_allclose(H, _torch_hessian(model, X, y, loss), atol=1e-10)  # float64 rounding


@pytest.mark.torch
@pytest.mark.parametrize("output", ["sigmoid", "tanh"])
def test_hessian_with_nonlinear_output_and_masks_equals_torch(output):
    model, X, y = _problem([3, 5, 1], "tanh", "mse", output=output, seed=3)
    model.masks[0] = np.random.default_rng(3).random((5, 3)) > 0.4
    H = so.hessian(model, X, y)
    np.testing.assert_allclose(H, _torch_hessian(model, X, y, "mse"), atol=1e-10)
    dead = ~so.flat_keep(model)
    assert np.all(H[dead] == 0) and np.all(H[:, dead] == 0)


@pytest.mark.torch
def test_hessian_edge_cases_single_sample_and_one_weight():
    model, X, y = _problem([1, 1], "tanh", "mse", n=1, seed=5, output="sigmoid")
    np.testing.assert_allclose(so.hessian(model, X, y), _torch_hessian(model, X, y, "mse"), atol=1e-12)
    model, X, y = _problem([3, 2, 1], "relu", "mse", n=1, seed=6)
    np.testing.assert_allclose(so.hessian(model, X, y), _torch_hessian(model, X, y, "mse"), atol=1e-12)


@pytest.mark.torch
def test_hessian_vector_products_equal_torch_hvp():
    torch = import_torch()
    model, X, y = _problem([3, 4, 2], "tanh", "cross_entropy", seed=2)
    V = np.random.default_rng(2).normal(size=(3, model.n_params))
    f = _torch_loss_fn(model, X, y, "cross_entropy")
    theta = torch.tensor(model.get_flat())
    for vec, got in zip(V, so.hessian_vector_products(model, X, y, V, "cross_entropy")):
        _, hv = torch.autograd.functional.hvp(f, theta, torch.tensor(vec))
        np.testing.assert_allclose(got, hv.numpy(), atol=1e-12)


# ---------- Jacobian and Gauss-Newton vs torch ----------
@pytest.mark.torch
@pytest.mark.parametrize("act", ACTS)
def test_output_jacobian_equals_torch_jacobian(act):
    torch = import_torch()
    model, X, _ = _problem([3, 4, 2], act, "mse", n=5, output="sigmoid")
    model.masks[1] = np.array([[True, False, True, True], [False, True, True, True]])
    keep = torch.tensor(so.flat_keep(model).astype(float))
    tact = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "identity": lambda z: z}

    def net(theta):
        theta, a, i = theta * keep, torch.tensor(X), 0
        for w, b, name in zip(model.W, model.b, model.acts):
            W = theta[i:i + w.size].reshape(w.shape)
            bb = theta[i + w.size:i + w.size + b.size]
            i += w.size + b.size
            a = tact[name](a @ W.T + bb)
        return a
    Jt = torch.autograd.functional.jacobian(net, torch.tensor(model.get_flat())).numpy()
    np.testing.assert_allclose(so.output_jacobian(model, X), Jt, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_gauss_newton_equals_hessian_of_linearised_loss(loss):
    """G is the Hessian of the loss of the network linearised at theta_0 (torch computes it)."""
    torch = import_torch()
    model, X, y = _problem([3, 4, 3], "tanh", loss, seed=4)
    J = torch.tensor(so.output_jacobian(model, X))
    out0 = torch.tensor(model.forward(X))
    theta0 = torch.tensor(model.get_flat())

    def f(theta):
        out = out0 + torch.einsum("nki,i->nk", J, theta - theta0)
        if loss == "mse":
            return torch.nn.functional.mse_loss(out, torch.tensor(y))
        return torch.nn.functional.cross_entropy(out, torch.tensor(y))
    G_t = torch.autograd.functional.hessian(f, theta0).numpy()
    np.testing.assert_allclose(so.gauss_newton(model, X, y, loss), G_t, atol=1e-10)


def test_gauss_newton_equals_exact_hessian_for_a_linear_model():
    model, X, y = _problem([4, 2], "tanh", "mse", seed=1)  # identity output: no residual term
    np.testing.assert_allclose(so.gauss_newton(model, X, y), so.hessian(model, X, y), atol=1e-12)


# ---------- LeCun's diagonal ----------
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("output", ["identity", "sigmoid"])
def test_lecun_diag_exact_for_one_hidden_layer_one_output(act, output):
    model, X, y = _problem([3, 5, 1], act, "mse", seed=7, output=output)
    H = so.hessian(model, X, y)
    np.testing.assert_allclose(so.hessian_diag_lecun(model, X, y, gauss_newton=False), np.diag(H), atol=1e-12)
    G = so.gauss_newton(model, X, y)
    np.testing.assert_allclose(so.hessian_diag_lecun(model, X, y), np.diag(G), atol=1e-12)


def test_lecun_diag_exact_for_a_single_layer_with_many_outputs():
    model, X, y = _problem([4, 3], "tanh", "mse", seed=8, output="tanh")
    np.testing.assert_allclose(so.hessian_diag_lecun(model, X, y, gauss_newton=False),
                               np.diag(so.hessian(model, X, y)), atol=1e-12)


def test_lecun_diag_is_only_an_approximation_with_two_hidden_layers():
    model, X, y = _problem([3, 4, 4, 1], "tanh", "mse", seed=9)
    exact = np.diag(so.hessian(model, X, y))
    approx = so.hessian_diag_lecun(model, X, y, gauss_newton=False)
    n_last = model.W[-1].size + model.b[-1].size + model.W[1].size + model.b[1].size
    np.testing.assert_allclose(approx[-n_last:], exact[-n_last:], atol=1e-12)  # top two layers exact
    assert np.max(np.abs(approx - exact)) > 1e-6  # first layer: cross terms between units dropped


def test_lecun_diag_respects_masks():
    model, X, y = _problem([3, 4, 1], "tanh", "mse", seed=10)
    model.masks[0] = np.eye(4, 3, dtype=bool)
    h = so.hessian_diag_lecun(model, X, y)
    assert np.all(h[~so.flat_keep(model)] == 0)
    np.testing.assert_allclose(h, np.diag(so.gauss_newton(model, X, y)), atol=1e-12)


# ---------- Woodbury recursion vs a direct inverse ----------
@pytest.mark.parametrize("P, n, alpha", [(30, 6, 1e-4), (3, 8, 1e-2), (1, 1, 1.0), (50, 5, 1e-8)])
def test_woodbury_equals_direct_inverse(P, n, alpha):
    X = np.random.default_rng(P + n).normal(size=(P, n))
    direct = np.linalg.inv(alpha * np.eye(n) + X.T @ X / P)
    got = so.inverse_hessian_woodbury(X, alpha)
    # relative: entries reach 1/alpha = 1e8 when P < n (rank-deficient outer product)
    np.testing.assert_allclose(got, direct, rtol=1e-6, atol=1e-9 * np.abs(direct).max())


def test_one_woodbury_step_is_sherman_morrison():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(5, 5))
    A = A @ A.T + np.eye(5)
    x = rng.normal(size=5)
    np.testing.assert_allclose(so.woodbury_update(np.linalg.inv(A), x, 7),
                               np.linalg.inv(A + np.outer(x, x) / 7), atol=1e-12)


def test_woodbury_with_network_gradients_equals_regularised_gauss_newton():
    model, X, y = _problem([3, 4, 1], "tanh", "mse", n=20, seed=11)
    J = so.output_jacobian(model, X)[:, 0, :]
    got = so.inverse_hessian_woodbury(np.sqrt(2) * J, 1e-3)
    want = np.linalg.inv(so.gauss_newton(model, X, y) + 1e-3 * np.eye(model.n_params))
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-7)


# ---------- OBD / OBS on an exactly quadratic loss ----------
def _least_squares(seed, n=40, d=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))  # correlated features: H not diagonal
    y = X @ rng.normal(size=d) + rng.normal(0, 0.3, n)
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    H = 2.0 / n * X.T @ X  # L(w) = mean((Xw - y)^2) is exactly quadratic
    return X, y, w, H, (lambda u: float(np.mean((X @ u - y) ** 2)))


@pytest.mark.parametrize("seed", range(5))
def test_obs_is_exact_on_linear_least_squares(seed):
    X, y, w, H, L = _least_squares(seed)
    h_inv = np.linalg.inv(H)
    s = so.obs_saliency(w, h_inv)
    for q in range(len(w)):
        w_new, _ = so.obs_update(w, h_inv, q)
        assert w_new[q] == 0.0
        assert L(w_new) - L(w) == pytest.approx(s[q], abs=1e-9)  # predicted == true increase
        others = np.delete(np.arange(len(w)), q)
        refit = np.linalg.lstsq(X[:, others], y, rcond=None)[0]
        np.testing.assert_allclose(w_new[others], refit, atol=1e-9)  # compensated == refit


def test_obs_update_inverse_is_inverse_of_reduced_hessian_and_chains():
    X, y, w, H, L = _least_squares(7)
    h_inv = np.linalg.inv(H)
    w1, h1 = so.obs_update(w, h_inv, 2)
    keep = np.delete(np.arange(len(w)), 2)
    np.testing.assert_allclose(h1[np.ix_(keep, keep)], np.linalg.inv(H[np.ix_(keep, keep)]), atol=1e-9)
    assert np.all(h1[2] == 0) and np.all(h1[:, 2] == 0) and so.obs_saliency(w1, h1)[2] == np.inf
    w2, _ = so.obs_update(w1, h1, 4)  # two removals == refit without both
    keep = [0, 1, 3, 5]
    np.testing.assert_allclose(w2[keep], np.linalg.lstsq(X[:, keep], y, rcond=None)[0], atol=1e-9)
    assert w2[2] == 0 and w2[4] == 0


def test_quadratic_loss_change_is_exact_on_least_squares_without_compensation():
    X, y, w, H, L = _least_squares(3)
    removed = np.array([True, False, True, False, False, True])
    assert so.quadratic_loss_change(w, H, removed) == pytest.approx(L(np.where(removed, 0, w)) - L(w), abs=1e-9)
    obd = so.obd_saliency(w, np.diag(H))
    assert so.quadratic_loss_change(w, np.diag(np.diag(H)), removed) == pytest.approx(obd[removed].sum())


@given(st.integers(1, 8), st.integers(0, 10 ** 6))
@settings(max_examples=40, deadline=None)
def test_obd_equals_obs_when_the_hessian_is_diagonal(n, seed):
    rng = np.random.default_rng(seed)
    w, h = rng.normal(size=n), rng.uniform(0.1, 5.0, n)
    np.testing.assert_allclose(so.obs_saliency(w, np.diag(1 / h)), so.obd_saliency(w, h), rtol=1e-12)
    w_new, _ = so.obs_update(w, np.diag(1 / h), 0)  # diagonal H: no compensation of other weights
    np.testing.assert_array_equal(w_new[1:], w[1:])


def test_lowest_saliency_mask_ties_and_edges():
    s = np.array([3.0, 1.0, 1.0, 0.5, 2.0])
    np.testing.assert_array_equal(so.lowest_saliency_mask(s, 2), [True, False, True, False, True])
    assert so.lowest_saliency_mask(s, 0).all() and not so.lowest_saliency_mask(s, 5).any()
    assert so.lowest_saliency_mask(s, 1).dtype == bool


# ---------- the pruning loop ----------
def test_prune_sequence_on_a_linear_model_obs_equals_refits():
    X, y, _, _, L = _least_squares(1, d=4)
    model = MLP([4, 1], activation="tanh", output="identity", seed=0)
    A = np.hstack([X, np.ones((len(X), 1))])  # weights and bias at the exact least-squares minimum
    model.set_flat(np.linalg.lstsq(A, y, rcond=None)[0])
    tr = so.prune_sequence(model, X, y[:, None], "obs", n_remove=3, alpha=1e-9)
    for t in range(1, 4):
        kept = [i for i in range(5) if i not in tr.order[:t]]
        refit = np.linalg.lstsq(A[:, kept], y, rcond=None)[0]
        # tolerance 1e-7, not 1e-9: the loop inverts H + alpha I by the Woodbury recursion from
        # I / alpha, which shifts results by O(alpha) and loses ~eps/alpha to rounding (measured ~1e-8)
        np.testing.assert_allclose(tr.thetas[t][kept], refit, atol=1e-7)
        assert tr.losses[t] - tr.losses[t - 1] == pytest.approx(tr.predicted[t - 1], abs=1e-7)
    assert len(set(tr.order)) == 3 and 4 not in tr.order  # the bias is never a candidate


@pytest.mark.parametrize("method", so.METHODS)
def test_prune_sequence_zeros_removed_and_validates(method):
    model, X, y = _problem([3, 4, 1], "tanh", "mse", n=20, seed=12)
    tr = so.prune_sequence(model, X, y, method, n_remove=5)
    assert tr.thetas.shape == (6, model.n_params) and len(tr.losses) == 6 and len(tr.predicted) == 5
    for t in range(1, 6):
        assert np.all(tr.thetas[t][tr.order[:t]] == 0)
    if method == "magnitude":
        w0 = np.abs(model.get_flat())
        assert tr.predicted[0] == pytest.approx(w0[so.weight_positions(model)].min())
    with pytest.raises(ValueError, match="n_remove must be in"):
        so.prune_sequence(model, X, y, method, n_remove=100)


def test_validation_messages():
    model, X, y = _problem([3, 4, 1], "tanh", "mse")
    with pytest.raises(ValueError, match="method must be one of"):
        so.prune_sequence(model, X, y, "random")
    with pytest.raises(ValueError, match=r"alpha must be in \(0, inf\)"):
        so.inverse_hessian_woodbury(np.ones((2, 2)), 0.0)
    with pytest.raises(ValueError, match="h_inv must have shape"):
        so.obs_saliency(np.ones(3), np.eye(2))
    with pytest.raises(ValueError, match=r"q must be in \[0, 2\]"):
        so.obs_update(np.ones(3), np.eye(3), 3)
    with pytest.raises(ValueError, match="h_diag must have one entry per weight"):
        so.obd_saliency(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="X must have shape"):
        so.hessian(model, np.ones((4, 2)), y[:4])
    with pytest.raises(ValueError, match="k must be in"):
        so.lowest_saliency_mask(np.ones(3), 4)
    with pytest.raises(ValueError, match="removed must be a bool vector"):
        so.quadratic_loss_change(np.ones(2), np.eye(2), np.array([1, 0]))


def test_fit_lbfgs_reaches_a_minimum_and_keeps_frozen_entries():
    from course_lib.core.nn import fit_lbfgs
    model, X, y = _problem([3, 4, 1], "tanh", "mse", n=30, seed=13)
    frozen = np.zeros(model.n_params, bool)
    frozen[[0, 5]] = True
    before = model.get_flat()[frozen].copy()
    L_start, g_start = model.flat_grad(X, y)
    L = fit_lbfgs(model, X, y, maxiter=500, frozen=frozen)
    L_end, g = model.flat_grad(X, y)
    assert L == pytest.approx(L_end) and L < L_start
    assert np.abs(g[~frozen]).max() < 1e-2 * np.abs(g_start).max()  # scipy's default tolerances
    np.testing.assert_array_equal(model.get_flat()[frozen], before)
    with pytest.raises(ValueError, match="frozen must have"):
        fit_lbfgs(model, X, y, frozen=np.ones(3, bool))
