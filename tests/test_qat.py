"""course_lib.quantization.qat without a framework: the STE by hand, LSQ's formulas, BN folding, the QAT hooks of nn/layers."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from course_lib.core import layers, nn
from course_lib.quantization import qat
from course_lib.quantization import primitives as Q


def test_ste_by_hand():
    # scale 0.5, [-4, 3]: 1.9 -> q = 4 (clamped to 3, gradient blocked); 1.7 -> q = 3 (passes); -2.2 -> -4 (passes)
    x = np.array([1.9, 1.7, -2.2, -2.3, 0.1])
    x_hat, mask = qat.fake_quantize_ste(x, 0.5, 0, -4, 3)
    assert np.allclose(x_hat, [1.5, 1.5, -2.0, -2.0, 0.0])
    assert mask.tolist() == [False, True, True, False, True]  # -2.3 / 0.5 = -4.6 -> -5: outside


def test_ste_mask_is_integer_domain_not_real_domain():
    # 1.7 lies outside the real range [-2.0, 1.5] but rounds to q_max = 3: torch's rule lets it through
    assert qat.ste_mask(np.array([1.7]), 0.5, 0, -4, 3)[0]


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10_000))
def test_ste_mask_true_exactly_where_fake_quant_does_not_clamp(seed):
    rng = np.random.default_rng(seed)
    x, scale, zp = rng.normal(0, 3, 50), rng.uniform(0.05, 1), int(rng.integers(-3, 3))
    mask = qat.ste_mask(x, scale, zp, -8, 7)
    q = np.rint(x / scale) + zp
    assert np.array_equal(mask, (q >= -8) & (q <= 7))
    x_hat = Q.fake_quantize(x, scale, zp, -8, 7)
    assert np.allclose(x_hat[mask], (q[mask] - zp) * scale)


def test_nudged_range_holds_zero_on_the_grid():
    n_min, n_max, scale = qat.nudged_range(-0.37, 1.0, 8)
    assert n_min <= 0 <= n_max and abs(round(-n_min / scale) - (-n_min / scale)) < 1e-4
    assert np.isclose(n_max - n_min, 255 * scale, rtol=1e-6)


def test_tf_grad_by_hand():
    dx, dmin, dmax = qat.fake_quant_with_min_max_grad(np.ones(4), np.array([-2.0, 0.0, 0.5, 3.0]), -1.0, 1.0)
    n_min, n_max, _ = qat.nudged_range(-1.0, 1.0)
    assert dx.tolist() == [0, 1, 1, 0] and dmin == 1 and dmax == 1 and n_min <= -0.99


def test_lsq_by_hand():
    # s = 0.5, Q_N = 4, Q_P = 3: v / s = [0.6, 3.6, -5.0] -> v_hat = [0.5, 1.5, -2.0]
    v = np.array([0.3, 1.8, -2.5])
    assert np.allclose(qat.lsq_quantize(v, 0.5, 4, 3), [0.5, 1.5, -2.0])
    dv, ds = qat.lsq_grads(np.ones(3), v, 0.5, 4, 3, g=1.0)
    assert dv.tolist() == [1, 0, 0]
    assert np.isclose(ds, (-0.6 + 1.0) + 3 + (-4))  # eq. 3: inside, above, below


def test_lsq_grad_scale_and_init():
    assert np.isclose(qat.lsq_grad_scale(100, 4), 1 / 20)
    assert np.isclose(qat.lsq_init_step(np.array([1.0, -3.0]), 4), 2 * 2.0 / 2)


def test_fold_batch_norm_equals_unfolded_dense():
    rng = np.random.default_rng(0)
    W, b, x = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(5, 3))
    g, be, mu, var = rng.uniform(0.5, 2, 4), rng.normal(size=4), rng.normal(size=4), rng.uniform(0.1, 2, 4)
    Wf, bf = qat.fold_batch_norm(W, b, g, be, mu, var)
    assert np.allclose(x @ Wf.T + bf, qat.batch_norm(x @ W.T + b, g, be, mu, var), atol=1e-12)
    Wf0, bf0 = qat.fold_batch_norm(W, None, g, be, mu, var)
    assert np.allclose(Wf0, Wf) and np.allclose(bf0, be - mu * g / np.sqrt(var + 1e-5))


class _Identity:
    def __call__(self, x, observe=True):
        return x, np.ones(np.shape(x), bool)


@pytest.mark.parametrize("make", [lambda: nn.MLP([6, 5, 3], activation="tanh", seed=0),
                                  lambda: layers.digits_cnn(0, 2, 3)])
def test_identity_quantizers_change_nothing(make):
    rng = np.random.default_rng(0)
    m = make()
    X = rng.uniform(0, 1, (7, m.W[0].shape[1] if isinstance(m, nn.MLP) else 64))
    y = rng.integers(0, m.b[-1].size, 7)
    ref = m.loss_and_grads(X, y, "cross_entropy")
    n = len(m.W)
    m.set_fake_quant([_Identity()] * n, [_Identity()] * n)
    got = m.loss_and_grads(X, y, "cross_entropy")
    assert ref[0] == got[0] and all(np.array_equal(a, b) for a, b in zip(ref[1] + ref[2], got[1] + got[2]))
    m.set_fake_quant()
    assert m.fake_quant is None


def test_blocking_quantizer_blocks_the_gradient():
    m = nn.MLP([4, 3, 2], seed=0)
    block = lambda x, observe=True: (x, np.zeros(np.shape(x), bool))
    m.set_fake_quant([block, None], [None, block])
    _, dW, db = m.loss_and_grads(np.ones((2, 4)), np.array([0, 1]), "cross_entropy")
    assert not dW[0].any() and not db[0].any() and dW[1].any()  # W1 blocked; nothing flows below layer 2's input


def test_qat_trains_through_nn_train_and_observers_freeze_in_evaluation():
    from course_lib.core.data import load_digits_split

    d = load_digits_split()
    m = qat.attach_fake_quant(nn.MLP([64, 16, 10], activation="relu", seed=0), 4, 4)
    qat.calibrate(m, d.X_train)
    r0 = m.fake_quant[1][1].observer.range()
    nn.accuracy(m, d.X_val, d.y_val)
    assert m.fake_quant[1][1].observer.range() == r0  # evaluation does not move the range
    hist = nn.train(m, d.X_train, d.y_train, 3, lr=0.05)
    assert hist[-1] < hist[0] and nn.accuracy(m, d.X_val, d.y_val) > 0.8
    levels = np.unique(m.fake_quant[0][0](m.W[0])[0])
    assert levels.size <= 16  # 4-bit weights


def test_per_channel_uses_one_scale_per_output_channel():
    m = qat.attach_fake_quant(layers.digits_cnn(0, 2, 3), 4, 4, per_channel=True)
    w_hat, _ = m.fake_quant[0][0](m.W[0])
    for o in range(2):
        assert np.unique(w_hat[o]).size <= 16
    assert m.fake_quant[0][0].observer.qparams()[0].shape == (2,)


def test_allocate_bits_by_hand():
    # layer 0 is insensitive, layer 1 very sensitive: the spare bits go to layer 1 first
    drops = [[0.02, 0.01, 0.0], [0.5, 0.1, 0.0]]
    assert qat.allocate_bits([100, 10], drops, [2, 4, 8], 100 * 2 + 10 * 8) == [2, 8]
    assert qat.allocate_bits([100, 10], drops, [2, 4, 8], 100 * 2 + 10 * 4) == [2, 4]
    assert qat.allocate_bits([100, 10], drops, [2, 4, 8], 100 * 4 + 10 * 8) == [4, 8]
    assert qat.allocate_bits([100, 10], drops, [2, 4, 8], 10 ** 6) == [8, 8]


def test_digits_cnn_average_pooling_option():
    m = layers.digits_cnn(0, 2, 3, pool="avg")
    assert any(isinstance(l, layers.AvgPool2d) for l in m.layers)
    assert not any(isinstance(l, layers.MaxPool2d) for l in m.layers)
    with pytest.raises(ValueError, match="pool must be one of"):
        layers.digits_cnn(0, pool="min")
