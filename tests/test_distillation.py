"""course_lib.distillation.kd on its own: closed forms, finite differences, properties, and clear errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from course_lib.distillation import features as DF, kd as D
from course_lib.core import nn


def logits(seed, B=6, K=5, scale=2.0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, scale, (B, K)), rng.normal(0, scale, (B, K)), rng.integers(0, K, B)


def numeric_grad(f, z, h=1e-6):
    g = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        g[idx] = (f(zp) - f(zm)) / (2 * h)
    return g


@pytest.mark.parametrize("T", [1.0, 2.0, 10.0])
def test_soft_term_gradient_is_closed_form(T):
    """d(T^2 KL(p || q))/dz = T (q - p) / B (Hinton et al. 2015, sec. 2)."""
    s, t, _ = logits(1)
    _, g = D.kd_loss(s, t, None, T, alpha=1.0, return_grad=True)
    p, q = D.softmax(t, T), D.softmax(s, T)
    np.testing.assert_allclose(g, T * (q - p) / len(s), rtol=0, atol=1e-15)


@pytest.mark.parametrize("T, alpha", [(1.0, 0.0), (3.0, 0.5), (8.0, 1.0)])
def test_gradient_matches_finite_differences(T, alpha):
    s, t, y = logits(2)
    g = D.kd_loss(s, t, y, T, alpha, return_grad=True)[1]
    # 1e-7: central differences with h = 1e-6 carry ~1e-9 truncation and ~1e-10 round-off error
    np.testing.assert_allclose(g, numeric_grad(lambda z: D.kd_loss(z, t, y, T, alpha), s), atol=1e-7)


def test_alpha_zero_is_cross_entropy_and_nn_agrees():
    s, t, y = logits(3)
    L, g = D.kd_loss(s, t, y, T=5.0, alpha=0.0, return_grad=True)
    L_nn, g_nn = nn.cross_entropy(s, y)
    assert abs(L - L_nn) < 1e-12
    np.testing.assert_allclose(g, g_nn, atol=1e-15)


def test_t_squared_keeps_the_gradient_scale_at_high_T():
    """As T grows, T (q - p) -> (z - v)/K - mean terms: the soft gradient tends to a finite limit."""
    s, t, _ = logits(4, scale=0.5)
    s, t = s - s.mean(1, keepdims=True), t - t.mean(1, keepdims=True)      # zero-mean logits
    g = [D.kd_loss(s, t, None, T, 1.0, return_grad=True)[1] for T in (10.0, 100.0, 1000.0)]
    limit = (s - t) / s.shape[1] / len(s)                                   # (z - v) / (K B)
    errs = [np.max(np.abs(gi - limit)) for gi in g]
    assert errs[0] > 5 * errs[1] > 25 * errs[2] and errs[2] < 1e-4     # the error shrinks like 1/T


def test_unlabelled_rows_count_only_the_soft_term():
    s, t, y = logits(5)
    y_part = y.copy()
    y_part[::2] = -1
    L = D.kd_loss(s, t, y_part, 3.0, 0.4)
    soft = 0.4 * 9.0 * D.kl_divergence(D.softmax(t, 3.0), s, 3.0)
    rows = y_part >= 0
    hard = 0.6 * nn.cross_entropy(s[rows], y[rows])[0] * rows.sum() / len(s)
    assert abs(L - (soft + hard)) < 1e-12
    assert abs(D.kd_loss(s, t, -np.ones(len(s), int), 3.0, 0.4) - soft) < 1e-12


def test_kd_loss_fn_for_nn_train():
    s, t, y = logits(6)
    f = D.kd_loss_fn(T=2.0, alpha=0.25)
    L, g = f(s, y, t)
    L2, g2 = D.kd_loss(s, t, y, 2.0, 0.25, return_grad=True)
    assert L == L2 and np.array_equal(g, g2)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), T=st.floats(0.1, 100.0), scale=st.sampled_from([1e-3, 1.0, 1e2, 1e4]))
def test_properties(seed, T, scale):
    s, t, y = logits(seed, scale=scale)
    p = D.softmax(s, T)
    assert np.all(p >= 0) and np.allclose(p.sum(1), 1.0, atol=1e-12)
    assert np.all(np.isfinite(D.log_softmax(s, T)))
    np.testing.assert_allclose(np.exp(D.log_softmax(s, T)), p, atol=1e-12)
    assert D.kl_divergence(p, s, T) < 1e-9                     # KL(q || q) = 0
    assert D.kl_divergence(D.softmax(t, T), s, T) >= -1e-12    # Gibbs' inequality
    L, g = D.kd_loss(s, t, y, T, 0.5, return_grad=True)
    assert np.isfinite(L) and np.all(np.isfinite(g))
    np.testing.assert_allclose(g.sum(1), 0.0, atol=1e-9 * max(1.0, T))   # softmax gradients sum to 0
    assert np.array_equal(D.softmax(s + 7.0, T), D.softmax(s + 7.0, T))


def test_softmax_shift_invariant_and_high_T_uniform():
    s, _, _ = logits(8)
    np.testing.assert_allclose(D.softmax(s + 100.0, 2.0), D.softmax(s, 2.0), atol=1e-12)
    np.testing.assert_allclose(D.softmax(s, 1e9), 1 / s.shape[1], atol=1e-8)


def test_bias_correction_adds_to_one_class_only():
    s, _, _ = logits(9)
    c = D.bias_correction(s, 3, 1.75)
    np.testing.assert_array_equal(np.delete(c, 3, axis=1), np.delete(s, 3, axis=1))
    np.testing.assert_allclose(c[:, 3], s[:, 3] + 1.75)


def test_hint_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    Fs, Ft = rng.normal(size=(2, 3, 2, 2)), rng.normal(size=(2, 4, 2, 2))
    W, b = DF.hint_regressor(3, 4, seed=1)
    b = b + 0.3
    _, dF, dW, db = DF.hint_loss(Fs, Ft, W, b, return_grad=True)
    np.testing.assert_allclose(dF, numeric_grad(lambda x: DF.hint_loss(x, Ft, W, b), Fs), atol=1e-7)
    np.testing.assert_allclose(dW, numeric_grad(lambda w: DF.hint_loss(Fs, Ft, w, b), W), atol=1e-7)
    np.testing.assert_allclose(db, numeric_grad(lambda c: DF.hint_loss(Fs, Ft, W, c), b), atol=1e-7)


def test_attention_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    Fs, Ft = rng.normal(size=(2, 3, 3, 3)), rng.normal(size=(2, 5, 3, 3))
    _, dF = DF.attention_loss(Fs, Ft, return_grad=True)
    np.testing.assert_allclose(dF, numeric_grad(lambda x: DF.attention_loss(x, Ft), Fs), atol=1e-7)
    assert DF.attention_loss(Ft, Ft) == 0.0


@pytest.mark.parametrize("call, match", [
    (lambda: D.softmax([[1.0, 2.0]], T=0), "T must be a finite number > 0"),
    (lambda: D.softmax([[1.0, 2.0]], T=-1.0), "T must be a finite number > 0"),
    (lambda: D.log_softmax([[1.0, np.nan]]), "NaN"),
    (lambda: D.kd_loss(np.zeros((2, 3)), np.zeros((2, 3)), [0, 1], 2.0, alpha=1.5), r"alpha must be in \[0.0, 1.0\]"),
    (lambda: D.kd_loss(np.zeros((2, 3)), np.zeros((2, 4)), [0, 1], 2.0, 0.5), "teacher_logits must have the shape"),
    (lambda: D.kd_loss(np.zeros((2, 3)), np.zeros((2, 3)), None, 2.0, 0.5), "labels must be given"),
    (lambda: D.kd_loss(np.zeros((2, 3)), np.zeros((2, 3)), [0, 3], 2.0, 0.5), "labels must be 2 class numbers < 3"),
    (lambda: D.kd_loss(np.zeros(3), np.zeros(3), [0], 2.0, 0.5), "student_logits must be 2-d"),
    (lambda: D.kl_divergence([[-0.1, 1.1]], [[0.0, 0.0]]), "p must hold probabilities"),
    (lambda: DF.hint_loss(np.zeros((2, 3)), np.zeros((2, 4)), np.zeros((3, 4)), np.zeros(4)), "shapes must be"),
    (lambda: DF.attention_map(np.zeros((2, 3))), "features must be 4-d"),
    (lambda: DF.attention_loss(np.ones((2, 3, 2, 2)), np.ones((2, 3, 3, 3))), "same N, H, W"),
    (lambda: D.bias_correction(np.zeros((2, 3)), 3, 1.0), r"cls must be in \[0, 2\]"),
])
def test_clear_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
