"""course_lib.distillation.kd equals PyTorch: the KD loss (as the PyTorch tutorial and Hinton et al. 2015 write
it), its gradient (autograd), the FitNets hint and attention-transfer losses and their gradients.

Tolerance 1e-6 on values; gradients are compared in float64 to 1e-10 relative to their size, since both
sides compute the same formulas in double precision (only summation order differs).
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from course_lib.distillation import features as DF, kd as D

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def torch():
    from course_lib.frameworks import import_torch
    return import_torch(0)


def torch_kd(torch, s, t, y, T, alpha):
    """Return (L, dL/ds) of (1 - a) CE + a T^2 kl_div(log_softmax(s/T), softmax(t/T), batchmean)."""
    F = torch.nn.functional
    s = torch.tensor(s, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(t, dtype=torch.float64)
    soft = F.kl_div(F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1), reduction="batchmean") * T ** 2
    hard = F.cross_entropy(s, torch.tensor(y, dtype=torch.long))
    loss = (1 - alpha) * hard + alpha * soft
    loss.backward()
    return loss.item(), s.grad.numpy()


def logits(seed, B=8, K=10, scale=3.0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, scale, (B, K)), rng.normal(0, scale, (B, K)), rng.integers(0, K, B)


def close(a, b, rel=1e-10):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape
    assert np.max(np.abs(a - b)) <= rel * max(1.0, np.max(np.abs(b))), np.max(np.abs(a - b))


@pytest.mark.parametrize("T", [1.0, 2.0, 4.0, 20.0, 100.0])
@pytest.mark.parametrize("alpha", [0.0, 0.25, 0.5, 0.9, 1.0])
def test_kd_loss_value_and_gradient_equal_torch(torch, T, alpha):
    s, t, y = logits(int(T * 10 + alpha * 100))
    ours, g = D.kd_loss(s, t, y, T, alpha, return_grad=True)
    ref, g_ref = torch_kd(torch, s, t, y, T, alpha)
    assert abs(ours - ref) < 1e-6 * max(1.0, abs(ref))
    close(g, g_ref)
    assert D.kd_loss(s, t, y, T, alpha) == ours          # the flag changes the return, not the value


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), B=st.integers(1, 6), K=st.integers(2, 12),
       T=st.floats(0.5, 50.0), alpha=st.floats(0.0, 1.0), scale=st.sampled_from([0.01, 1.0, 10.0, 100.0]))
def test_kd_loss_random_inputs_equal_torch(torch, seed, B, K, T, alpha, scale):
    s, t, y = logits(seed, B, K, scale)
    ours, g = D.kd_loss(s, t, y, T, alpha, return_grad=True)
    ref, g_ref = torch_kd(torch, s, t, y, T, alpha)
    assert abs(ours - ref) < 1e-6 * max(1.0, abs(ref))
    close(g, g_ref, 1e-9)


def test_pytorch_tutorial_soft_loss_is_ours_with_alpha_025(torch):
    """The tutorial: sum(p (log p - log q)) / B * T^2, weighted 0.25 soft + 0.75 hard, T = 2."""
    s, t, y = logits(7)
    T = 2.0
    st_, tt = torch.tensor(s), torch.tensor(t)
    p = torch.softmax(tt / T, -1)
    logq = torch.log_softmax(st_ / T, -1)
    soft = torch.sum(p * (p.log() - logq)) / logq.size()[0] * T ** 2
    hard = torch.nn.CrossEntropyLoss()(st_, torch.tensor(y))
    assert abs((0.25 * soft + 0.75 * hard).item() - D.kd_loss(s, t, y, T=2.0, alpha=0.25)) < 1e-6


@pytest.mark.parametrize("scale", [1e2, 1e3, 1e4])
def test_extreme_logits_finite_and_equal_torch(torch, scale):
    s, t, y = logits(3, scale=1.0)
    s, t = np.sign(s) * scale, np.sign(t) * scale          # logits of +-scale: p and q are near one-hot
    for T in (1.0, 4.0):
        ours, g = D.kd_loss(s, t, y, T, 0.5, return_grad=True)
        ref, g_ref = torch_kd(torch, s, t, y, T, 0.5)
        assert np.isfinite(ours) and np.all(np.isfinite(g))
        assert abs(ours - ref) < 1e-6 * max(1.0, abs(ref))
        close(g, g_ref)
    assert np.all(np.isfinite(D.log_softmax(s, 0.5)))


def test_one_hot_teacher_and_ties_equal_torch(torch):
    K = 5
    t_onehot = np.where(np.eye(K)[[0, 3, 4]] > 0, 50.0, -50.0)   # softmax(t / T) ~ one-hot at T = 1
    s_ties = np.zeros((3, K))                                    # all logits tied: q uniform
    for T, alpha in ((1.0, 1.0), (3.0, 0.7)):
        ours, g = D.kd_loss(s_ties, t_onehot, [1, 1, 2], T, alpha, return_grad=True)
        ref, g_ref = torch_kd(torch, s_ties, t_onehot, [1, 1, 2], T, alpha)
        assert abs(ours - ref) < 1e-6
        close(g, g_ref)


def test_kl_divergence_and_soft_cross_entropy_equal_torch(torch):
    F = torch.nn.functional
    s, t, _ = logits(11)
    p = D.softmax(t, 3.0)
    p[0] = np.eye(10)[2]                                         # a row with zeros: 0 log 0 = 0
    logq = F.log_softmax(torch.tensor(s) / 3.0, dim=1)
    kl = F.kl_div(logq, torch.tensor(p), reduction="batchmean").item()
    assert abs(D.kl_divergence(p, s, 3.0) - kl) < 1e-10
    ce = F.cross_entropy(torch.tensor(s) / 3.0, torch.tensor(p)).item()   # soft-label cross-entropy
    assert abs(D.soft_cross_entropy(p, s, 3.0) - ce) < 1e-10


@pytest.mark.parametrize("T", [0.5, 1.0, 7.0])
def test_softmax_and_log_softmax_equal_torch(torch, T):
    s, _, _ = logits(5, scale=100.0)
    close(D.softmax(s, T), torch.softmax(torch.tensor(s) / T, -1).numpy(), 1e-12)
    close(D.log_softmax(s, T), torch.log_softmax(torch.tensor(s) / T, -1).numpy(), 1e-12)


# --------------------------------------------------------------------------- feature losses
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5, 5), (1, 2, 1, 4)])
def test_hint_loss_and_gradients_equal_torch(torch, shape):
    rng = np.random.default_rng(len(shape) * 10 + shape[0])
    Fs = rng.normal(size=shape)
    c_t = 6
    Ft = rng.normal(size=(shape[0], c_t) + shape[2:])
    W_r, b_r = rng.normal(size=(c_t, shape[1])), rng.normal(size=c_t)
    L, dF, dW, db = DF.hint_loss(Fs, Ft, W_r, b_r, return_grad=True)
    xs, W, b = (torch.tensor(a, requires_grad=True) for a in (Fs, W_r, b_r))
    if len(shape) == 4:   # the regressor is a 1x1 convolution
        r = torch.nn.functional.conv2d(xs, W[:, :, None, None], b)
    else:
        r = torch.nn.functional.linear(xs, W, b)
    ref = torch.nn.functional.mse_loss(r, torch.tensor(Ft))
    ref.backward()
    assert abs(L - ref.item()) < 1e-10
    close(dF, xs.grad.numpy())
    close(dW, W.grad.numpy())
    close(db, b.grad.numpy())


def torch_at(torch, x):
    """Zagoruyko & Komodakis's code: F.normalize(x.pow(2).mean(1).view(N, -1))."""
    return torch.nn.functional.normalize(x.pow(2).mean(1).view(x.size(0), -1))


@pytest.mark.parametrize("c_s, c_t, hw, scale", [(3, 3, 4, 1.0), (2, 8, 5, 1.0), (4, 2, 1, 1.0),
                                                  (3, 5, 3, 1e-3), (3, 5, 3, 1e3)])
def test_attention_loss_and_gradient_equal_torch(torch, c_s, c_t, hw, scale):
    rng = np.random.default_rng(c_s * 100 + c_t * 10 + hw)
    Fs, Ft = rng.normal(0, scale, (3, c_s, hw, hw)), rng.normal(0, 1, (3, c_t, hw, hw))
    L, dF = DF.attention_loss(Fs, Ft, return_grad=True)
    xs = torch.tensor(Fs, requires_grad=True)
    ref = (torch_at(torch, xs) - torch_at(torch, torch.tensor(Ft))).pow(2).mean()
    ref.backward()
    close(DF.attention_map(Fs), torch_at(torch, torch.tensor(Fs)).numpy(), 1e-12)
    assert abs(L - ref.item()) < 1e-10
    close(dF, xs.grad.numpy(), 1e-9)


def test_attention_loss_zero_features_equal_torch(torch):
    """An all-zero student map: F.normalize divides by eps = 1e-12, so the map is 0 and the gradient 0."""
    Fs, Ft = np.zeros((2, 3, 2, 2)), np.random.default_rng(0).normal(size=(2, 3, 2, 2))
    L, dF = DF.attention_loss(Fs, Ft, return_grad=True)
    xs = torch.tensor(Fs, requires_grad=True)
    ref = (torch_at(torch, xs) - torch_at(torch, torch.tensor(Ft))).pow(2).mean()
    ref.backward()
    assert abs(L - ref.item()) < 1e-12
    close(dF, xs.grad.numpy())


@pytest.mark.tf
@pytest.mark.parametrize("T, alpha_k", [(10.0, 0.1), (2.0, 0.5), (1.0, 0.9)])
def test_keras_io_form_is_ours_with_alpha_one_minus_theirs(T, alpha_k):
    """keras-io: alpha * SparseCategoricalCrossentropy + (1 - alpha) * KLDivergence(p, q) * T^2.

    keras computes in float32 and clips both probabilities to [1e-7, 1]; with moderate logits nothing is
    clipped, so it equals kd_loss(alpha = 1 - alpha_keras) to float32 precision (1e-5 relative).
    """
    from course_lib.frameworks import import_tf
    tf, keras, _ = import_tf(0)
    s, t, y = logits(21, scale=1.0)
    kl = keras.losses.KLDivergence()(tf.nn.softmax(t / T), tf.nn.softmax(s / T)).numpy()
    hard = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, s).numpy()
    theirs = alpha_k * hard + (1 - alpha_k) * kl * T ** 2
    ours = D.kd_loss(s, t, y, T, 1 - alpha_k)
    assert abs(theirs - ours) < 1e-5 * max(1.0, abs(ours))
