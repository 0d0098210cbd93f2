"""Feature distillation on the conv network: attention transfer trained through `nn.train`'s loss hook
(a hidden layer's gradient injected by `Sequential.backward`) and FitNets' stage-1 hint network.

The whole training-step gradient (KD on the logits + beta/2 * attention transfer on a hidden layer) equals
PyTorch autograd on the same network in float64, to 1e-10 relative (the same formulas; only the order of
summation differs).
"""
import numpy as np
import pytest

from course_lib.distillation import features as DF, kd as D
from course_lib.core import layers as L
from course_lib.core.nn import train


def torch_twin_grads(torch, model, X, y, t, F_t, layer, beta, T, alpha):
    """Return (L, dW list, db list) of KD + beta/2 AT for digits_cnn's structure, by autograd."""
    F = torch.nn.functional
    W = [torch.tensor(w, requires_grad=True) for w in model.W]
    b = [torch.tensor(c, requires_grad=True) for c in model.b]
    x = torch.tensor(X).reshape(-1, 1, 8, 8)
    h1 = F.max_pool2d(F.relu(F.conv2d(x, W[0], b[0], padding=1)), 2)
    h2 = F.relu(F.conv2d(h1, W[1], b[1], padding=1))
    z = F.linear(h2.flatten(1), W[2], b[2])
    soft = F.kl_div(F.log_softmax(z / T, 1), F.softmax(torch.tensor(t) / T, 1), reduction="batchmean") * T ** 2
    hard = F.cross_entropy(z, torch.tensor(y, dtype=torch.long))
    at = lambda a: F.normalize(a.pow(2).mean(1).view(a.size(0), -1))  # noqa: E731 (their code)
    loss = (1 - alpha) * hard + alpha * soft + beta / 2 * (at(h2) - at(torch.tensor(F_t))).pow(2).mean()
    loss.backward()
    return loss.item(), [w.grad.numpy() for w in W], [c.grad.numpy() for c in b]


@pytest.mark.torch
@pytest.mark.parametrize("beta, T, alpha", [(1000.0, 4.0, 0.9), (0.0, 2.0, 0.5), (50.0, 1.0, 0.0)])
def test_attention_kd_gradient_equals_torch(beta, T, alpha):
    from course_lib.frameworks import import_torch
    torch = import_torch(0)
    rng = np.random.default_rng(int(beta) + int(10 * T))
    model = L.digits_cnn(seed=1, c1=2, c2=3)
    X, y = rng.random((6, 64)), rng.integers(0, 10, 6)
    t, F_t = rng.normal(size=(6, 10)) * 3, rng.random((6, 5, 4, 4))
    layer = 5  # the ReLU after the second conv: (n, c2, 4, 4)
    loss = DF.attention_kd_loss_fn(model, layer, beta, T, alpha)
    value, dW, db = model.loss_and_grads(X, (y, t, F_t), loss)
    ref, rW, rb = torch_twin_grads(torch, model, X, y, t, F_t, layer, beta, T, alpha)
    assert abs(value - ref) <= 1e-10 * max(1.0, abs(ref))
    for ours, theirs in zip(dW + db, rW + rb):
        assert np.max(np.abs(ours - theirs)) <= 1e-10 * max(1.0, np.max(np.abs(theirs)))


def test_hidden_gradient_changes_only_the_layers_below():
    model = L.digits_cnn(seed=0, c1=2, c2=3)
    X = np.random.default_rng(0).random((4, 64))
    out = model.forward(X, keep=True)
    d_out = np.zeros_like(out)
    dW, db = model.backward(d_out, {5: np.ones_like(model.cache[5])})
    assert np.all(dW[2] == 0) and np.all(db[2] == 0)        # the dense layer sits above layer 5
    assert np.any(dW[1] != 0) and np.any(dW[0] != 0)
    with pytest.raises(ValueError, match=r"d_hidden must map layer indices in \[0, 7\]"):
        model.backward(d_out, {8: 0.0})


def test_attention_kd_trains_with_the_course_loop():
    rng = np.random.default_rng(0)
    teacher, student = L.digits_cnn(seed=0, c1=4, c2=6), L.digits_cnn(seed=1, c1=2, c2=3)
    X, y = rng.random((40, 64)), rng.integers(0, 10, 40)
    t = teacher.forward(X, keep=True)
    F_t = teacher.cache[5]
    loss = DF.attention_kd_loss_fn(student, 5, beta=100.0)
    student.forward(X, keep=True)
    at_before = DF.attention_loss(student.cache[5], F_t)
    train(student, X, (y, t, F_t), epochs=20, lr=0.05, batch_size=8, loss=loss)
    student.forward(X, keep=True)
    assert DF.attention_loss(student.cache[5], F_t) < at_before


def test_hint_network_is_stage_one_of_fitnets():
    rng = np.random.default_rng(0)
    student = L.digits_cnn(seed=1, c1=2, c2=3)
    guided = DF.hint_network(student, 5, c_teacher=5, seed=2)
    assert len(guided.W) == 3 and guided.W[2].shape == (5, 3, 1, 1)
    assert all(np.array_equal(g, w) for g, w in zip(guided.W[:2], student.W[:2]))
    X, F_t = rng.random((7, 64)), rng.random((7, 5, 4, 4))
    student.forward(X, keep=True)
    W_r, b_r = guided.W[2][:, :, 0, 0], guided.b[2]
    mse, _ = guided.loss_and_grads(X, F_t.reshape(7, -1), "mse")[:2]
    assert abs(mse - DF.hint_loss(student.cache[5], F_t, W_r, b_r)) < 1e-12
    train(guided, X, F_t.reshape(7, -1), epochs=30, lr=0.05, batch_size=7, loss="mse")
    DF.load_guided(student, guided)
    assert all(np.array_equal(g, w) for g, w in zip(guided.W[:2], student.W[:2]))
    student.forward(X, keep=True)
    assert DF.hint_loss(student.cache[5], F_t, guided.W[2][:, :, 0, 0], guided.b[2]) < mse


def test_feature_helpers_reject_bad_arguments():
    student = L.digits_cnn(seed=0, c1=2, c2=3)
    with pytest.raises(ValueError, match=r"layer must be in \[0, 7\], got 8"):
        DF.attention_kd_loss_fn(student, 8)
    with pytest.raises(ValueError, match="layer must be at or after a Conv2d"):
        DF.hint_network(student, 0, 4)
    with pytest.raises(ValueError, match="guided must be a hint_network built from this student"):
        DF.load_guided(L.digits_cnn(seed=0, c1=3, c2=3), DF.hint_network(student, 5, 4))
