"""course_lib.core.nn: gradients equal torch autograd; masks act in forward and backward."""
import numpy as np
import pytest

from course_lib.frameworks import import_torch
from course_lib.core.nn import MLP, cross_entropy, mse, softmax, train

torch = import_torch()


def _torch_grads(model, X, y, loss):
    Ws = [torch.tensor(w, requires_grad=True) for w in model.effective_weights()]
    bs = [torch.tensor(b, requires_grad=True) for b in model.b]
    act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "identity": lambda z: z}
    a = torch.tensor(X)
    for w, b, name in zip(Ws, bs, model.acts):
        a = act[name](a @ w.T + b)
    if loss == "mse":
        L = torch.nn.functional.mse_loss(a, torch.tensor(y).reshape(a.shape))
    else:
        L = torch.nn.functional.cross_entropy(a, torch.tensor(y))
    L.backward()
    return L.item(), [w.grad.numpy() for w in Ws], [b.grad.numpy() for b in bs]


@pytest.mark.torch
@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_gradients_equal_autograd(act, loss):
    rng = np.random.default_rng(1)
    model = MLP([5, 7, 4, 3], activation=act, seed=2)
    X = rng.normal(size=(11, 5))
    y = rng.normal(size=(11, 3)) if loss == "mse" else rng.integers(0, 3, 11)
    L, dW, db = model.loss_and_grads(X, y, loss)
    L_t, dW_t, db_t = _torch_grads(model, X, y, loss)
    assert L == pytest.approx(L_t, abs=1e-12)
    for a, b in zip(dW + db, dW_t + db_t):
        np.testing.assert_allclose(a, b, atol=1e-12)


@pytest.mark.torch
def test_masked_gradient_is_grad_times_mask():
    rng = np.random.default_rng(0)
    model = MLP([4, 6, 2], seed=0)
    model.masks[0] = rng.random((6, 4)) > 0.5
    X, y = rng.normal(size=(9, 4)), rng.normal(size=(9, 2))
    _, dW, _ = model.loss_and_grads(X, y)
    _, dW_t, _ = _torch_grads(model, X, y, "mse")
    np.testing.assert_allclose(dW[0], dW_t[0] * model.masks[0], atol=1e-12)
    assert np.all(dW[0][~model.masks[0]] == 0)


def test_flat_roundtrip_and_names():
    model = MLP([3, 4, 2], seed=0)
    theta = model.get_flat()
    assert theta.size == model.n_params == len(model.param_names()) == 3 * 4 + 4 + 4 * 2 + 2
    model.set_flat(theta * 2)
    np.testing.assert_array_equal(model.get_flat(), theta * 2)
    with pytest.raises(ValueError, match="theta must have shape"):
        model.set_flat(theta[:-1])


def test_sgd_keeps_masked_weights_zero_and_lowers_loss():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]))[:, None]
    model = MLP([3, 8, 1], seed=0)
    model.masks[0] = np.ones((8, 3), bool)
    model.masks[0][:, 0] = False
    model.W[0] = model.W[0] * model.masks[0]
    history = train(model, X, y, epochs=21, loss="mse", lr=0.05, momentum=0.0)
    assert history[-1] < history[0]
    assert np.all(model.W[0][:, 0] == 0)


def test_losses_and_validation():
    assert mse(np.array([[1.0], [3.0]]), np.array([0.0, 1.0]))[0] == pytest.approx(2.5)
    np.testing.assert_allclose(softmax(np.array([0.0, np.log(3.0)])), [0.25, 0.75])
    L, g = cross_entropy(np.zeros((2, 4)), np.array([0, 3]))
    assert L == pytest.approx(np.log(4))
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP([2, 2], activation="gelu")
    with pytest.raises(ValueError, match="sizes must list"):
        MLP([3])
