"""Post-training quantization in numpy: integer conv and pooling, calibration, conversion, simulation.
(The bit-for-bit comparison with LiteRT is in tests/test_quantization_tflite.py.)"""
import numpy as np
import pytest

from course_lib.core import layers, nn
from course_lib.quantization import ptq, primitives as Q
from course_lib.quantization.error import sqnr_db
from course_lib.quantization.observers import MinMaxObserver


def _conv_case(seed, c=3, o=4, h=6, k=3):
    rng = np.random.default_rng(seed)
    q_x = rng.integers(-128, 128, (2, c, h, h))
    q_w = rng.integers(-127, 128, (o, c, k, k))
    return q_x, q_w, rng.integers(-2000, 2000, o), rng.uniform(0.001, 0.01, o).astype(np.float32)


@pytest.mark.parametrize("seed, padding, stride", [(0, 1, 1), (1, 0, 1), (2, 1, 2), (3, 0, 2)])
def test_int8_conv2d_is_the_float_conv_rounded_once(seed, padding, stride):
    """Requantizing the exact int32 sum: |q_y - (zp + acc M)| <= 1/2 (+ float32 rounding of M)."""
    q_x, q_w, q_b, w_s = _conv_case(seed)
    x_s, x_z, y_s, y_z = np.float32(0.02), -5, np.float32(0.05), 3
    got = Q.int8_conv2d(q_x, x_s, x_z, q_w, w_s, y_s, y_z, q_b, stride, padding, rounding="double")
    conv = layers.Conv2d(3, 4, 3, stride, padding)
    acc = conv.forward((q_x - x_z).astype(float), q_w.astype(float), q_b.astype(float))
    exact = y_z + acc * (x_s * w_s.astype(float) / y_s)[None, :, None, None]
    inside = (exact > -128) & (exact < 127)
    assert got.dtype == np.int64 and got.shape == acc.shape
    assert np.all(np.abs(got - exact)[inside] <= 0.5 + 1e-6)
    assert np.array_equal(got[~inside], np.clip(np.rint(exact[~inside]), -128, 127))


def test_int8_conv2d_pads_with_the_zero_point():
    q_x, q_w, q_b, w_s = _conv_case(4)
    padded = np.pad(q_x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-7)
    a = Q.int8_conv2d(q_x, 0.02, -7, q_w, w_s, 0.05, 0, q_b, padding=1)
    b = Q.int8_conv2d(padded, 0.02, -7, q_w, w_s, 0.05, 0, q_b, padding=0)
    assert np.array_equal(a, b)


def test_fused_relu_clamps_at_the_output_zero_point_and_rounding_modes_agree_off_ties():
    q_x, q_w, q_b, w_s = _conv_case(5)
    plain = Q.int8_conv2d(q_x, 0.02, 0, q_w, w_s, 0.05, -20, q_b)
    relu = Q.int8_conv2d(q_x, 0.02, 0, q_w, w_s, 0.05, -20, q_b, relu=True)
    assert np.array_equal(relu, np.maximum(plain, -20))
    modes = [Q.int8_conv2d(q_x, 0.02, 0, q_w, w_s, 0.05, -20, q_b, rounding=r) for r in ("single", "double", "fp32")]
    assert max(np.abs(m - modes[0]).max() for m in modes) <= 1


def test_fp32_requantization_rounds_halves_to_even():
    acc = np.array([[1, 3, 5, -1, -3]])
    assert Q.requantize(acc, 0.5, 0, rounding="fp32").tolist() == [[0, 2, 2, 0, -2]]
    assert Q.requantize(acc, 0.5, 0, rounding="single").tolist() == [[1, 2, 3, 0, -1]]  # halves up


def test_int8_max_pool_equals_float_max_pool():
    q = np.random.default_rng(6).integers(-128, 128, (2, 3, 8, 8))
    assert np.array_equal(Q.int8_max_pool2d(q, 2), layers.MaxPool2d(2).forward(q.astype(float)).astype(np.int64))
    assert Q.int8_max_pool2d(np.full((1, 1, 2, 2), -128), 2).tolist() == [[[[-128]]]]


def test_requantization_multiplier_in_double_or_float32():
    m64 = Q.requantization_multiplier(np.float32(0.1), np.float32([0.3]), np.float32(0.7))
    m32 = Q.requantization_multiplier(np.float32(0.1), np.float32([0.3]), np.float32(0.7), "fp32")
    assert m64.dtype == np.float64 and m32.dtype == np.float32
    assert m32[0] == (np.float32(0.1) * np.float32(0.3)) / np.float32(0.7)
    assert abs(float(m32[0]) / m64[0] - 1) < 2e-7


def _mlp_and_cnn():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (60, 64))
    mlp = nn.MLP([64, 16, 10], activation="relu", seed=0)
    return X, [mlp, layers.digits_cnn(0, c1=4, c2=6)]


def test_weight_qparams_symmetric_narrow_per_channel_and_per_tensor():
    W = np.array([[0.5, -1.0, 0.25], [0.03, 0.01, -0.04]])
    q, s = ptq.weight_qparams(W)
    assert q.dtype == np.int64 and q.min() >= -127 and np.allclose(s, [1 / 127, 0.04 / 127])
    assert q[0].tolist() == [64, -127, 32] and q[1].tolist() == [95, 32, -127]
    q_t, s_t = ptq.weight_qparams(W, per_channel=False)
    assert np.allclose(s_t, 1 / 127) and q_t[1].tolist() == [4, 1, -5]
    q2, _ = ptq.weight_qparams(W, bits=2)
    assert set(np.unique(q2)) <= {-1, 0, 1}


def test_quantize_bias_uses_the_accumulator_scale():
    assert ptq.quantize_bias([0.1, -0.2], 0.01, [0.1, 0.2]).tolist() == [100, -100]
    assert ptq.quantize_bias([1e9], 1e-3, [1e-3]).tolist() == [Q.INT32_MAX]


@pytest.mark.parametrize("which", [0, 1])
def test_convert_runs_integers_and_tracks_the_float_model(which):
    X, models = _mlp_and_cnn()
    m = models[which]
    qm = ptq.convert(m, X)
    q = qm.forward_int(qm.quantize_input(X))
    assert q.dtype == np.int64 and q.min() >= -128 and q.max() <= 127
    y, y_hat = m.forward(X), qm.predict(X)
    assert sqnr_db(y, y_hat) > 25  # 8 bits: about 6 dB per bit, less the accumulated layers
    assert qm.n_bytes() == sum(w.size + 4 * b.size for w, b in zip(m.W, m.b))


@pytest.mark.parametrize("which", [0, 1])
def test_simulation_matches_the_integer_model(which):
    """The fake-quantized float model and the integer model round the same values at the same points,
    so they agree to within a few steps of the output scale (integer requantization rounds once)."""
    X, models = _mlp_and_cnn()
    m = models[which]
    qm = ptq.convert(m, X)
    sim = ptq.simulate(m, X, X)
    s, _ = qm.output_qparams()
    assert np.max(np.abs(sim - qm.predict(X))) <= 3 * s


def test_simulate_at_16_bits_is_almost_float_and_weight_only_has_no_activation_error():
    X, (mlp, cnn) = _mlp_and_cnn()
    for m in (mlp, cnn):
        assert sqnr_db(m.forward(X), ptq.simulate(m, X, X, w_bits=16, a_bits=16)) > 70
        assert np.allclose(ptq.simulate(m, X, layer_bits=[None] * len(m.W), a_bits=None), m.forward(X))
    outs = ptq.simulate(cnn, X, X, keep=True)
    assert len(outs) == 3 and outs[-1].shape == (60, 10)


def test_lower_bits_give_more_error_and_per_channel_helps():
    X, (mlp, cnn) = _mlp_and_cnn()
    y = cnn.forward(X)
    errs = [sqnr_db(y, ptq.simulate(cnn, X, w_bits=b, a_bits=None)) for b in (8, 6, 4)]
    assert errs[0] > errs[1] > errs[2]
    mlp.W[0][0] *= 50  # one row with large weights: a per-tensor scale wastes the other rows' levels
    y = mlp.forward(X)
    per_c = sqnr_db(y, ptq.simulate(mlp, X, w_bits=4, a_bits=None))
    per_t = sqnr_db(y, ptq.simulate(mlp, X, w_bits=4, a_bits=None, per_channel=False))
    assert per_c > per_t


def test_calibrate_observes_the_input_and_every_layer_output():
    X, (mlp, cnn) = _mlp_and_cnn()
    obs = ptq.calibrate(cnn, X)
    assert len(obs) == 4 and all(isinstance(o, MinMaxObserver) for o in obs)
    outs = ptq.float_layer_outputs(cnn, X)
    assert obs[1].range()[0] == 0 and np.isclose(obs[1].range()[1], outs[0].max())


def test_sqnr_db():
    x = np.array([1.0, -1.0, 2.0])
    assert sqnr_db(x, x) == float("inf")
    assert np.isclose(sqnr_db(x, x * 0.9), 20.0)


def test_bad_models_and_inputs_are_named():
    with pytest.raises(ValueError, match="model activations must be 'relu' or 'identity'"):
        ptq.float_ops(nn.MLP([4, 3, 2], activation="tanh"))
    qm = ptq.convert(nn.MLP([4, 3, 2], activation="relu"), np.ones((3, 4)))
    with pytest.raises(ValueError, match="q_x must hold int8"):
        qm.forward_int(np.array([[300, 0, 0, 0]]))
    with pytest.raises(ValueError, match="X_calib must be given"):
        ptq.simulate(nn.MLP([4, 2], activation="relu"), np.ones((2, 4)))


def test_more_bad_arguments_are_named():
    with pytest.raises(TypeError, match="per_channel must be True or False"):
        ptq.weight_qparams(np.ones((3, 2)), per_channel="no")
    with pytest.raises(ValueError, match="x_scale must be in"):
        ptq.quantize_bias(np.ones(2), 0.0, 0.1)
    with pytest.raises(ValueError, match=r"X_calib must have shape \(n, 64\)"):
        ptq.calibrate(nn.MLP([64, 8, 10], activation="relu"), np.ones((5, 4)))
    with pytest.raises(ValueError, match=r"X_calib must have shape"):
        ptq.calibrate(layers.digits_cnn(0), np.ones((5, 4)))
