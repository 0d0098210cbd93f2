"""course_lib.quantization.error: the rounding/clipping split adds up, SQNR, weight-only fake quantization."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from course_lib.quantization import error as E, primitives as Q, ptq, qat
from course_lib.core.layers import digits_cnn
from course_lib.core.nn import MLP


def test_error_split_by_hand():
    x = np.array([0.0, 0.26, 1.0, 3.0])      # scale 0.5, q in [-2, 1]: 1.0 -> q 2 and 3.0 -> q 6 are clipped to 0.5
    rounding, clipping = E.error_split(x, 0.5, 0, -2, 1)
    assert rounding == pytest.approx(0.24 ** 2 / 4, abs=1e-15)
    assert clipping == pytest.approx((0.5 ** 2 + 2.5 ** 2) / 4, abs=1e-15)


def test_a_value_rounded_onto_the_end_is_not_clipped():
    # 0.7 / 0.5 = 1.4 rounds to q = 1 = q_max: a rounding error (0.2), not a clipping one
    assert E.error_split([0.7], 0.5, 0, -2, 1) == pytest.approx((0.2 ** 2, 0.0), abs=1e-15)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10 ** 6), st.floats(0.01, 3.0), st.integers(2, 8))
def test_error_split_adds_up_to_the_mse(seed, f, bits):
    x = np.random.default_rng(seed).standard_t(3, 500)
    scale, zp = Q.qparams(f * x.min(), f * x.max(), bits=bits)
    q_min, q_max = Q.q_range(bits)
    rounding, clipping = E.error_split(x, scale, zp, q_min, q_max)
    mse = np.mean((Q.fake_quantize(x, scale, zp, q_min, q_max) - x) ** 2)
    assert rounding + clipping == pytest.approx(mse, rel=1e-12, abs=1e-300)
    assert rounding <= scale ** 2 / 4 + 1e-15  # each rounded value is at most scale / 2 away
    if f >= 1.0:
        assert clipping == 0.0  # the range holds every value


def test_rounding_error_of_uniform_data_is_scale_squared_over_12():
    x = np.random.default_rng(0).uniform(-1, 1, 200_000)
    scale, zp = Q.qparams(-1.0, 1.0, bits=6)
    rounding, clipping = E.error_split(x, scale, zp, *Q.q_range(6))
    assert clipping == 0.0 and rounding == pytest.approx(scale ** 2 / 12, rel=0.02)  # 2 %: sampling noise of 2e5 values


def test_sqnr_by_hand_and_identity():
    assert E.sqnr_db([1.0, 1.0], [1.1, 0.9]) == pytest.approx(20.0, abs=1e-9)
    assert E.sqnr_db([1.0, -2.0], [1.0, -2.0]) == float("inf")


def test_sqnr_gains_about_6_db_per_bit():
    x = np.random.default_rng(1).uniform(-1, 1, 100_000)
    bits = np.arange(5, 11)
    s = [E.sqnr_db(x, E.fake_quantize_weight(x, int(b))) for b in bits]
    # noise ~ scale^2 / 12 with scale = 1 / (2^(b-1) - 1): 20 log10 of the ratio of scales, -> 6.02 dB per bit
    expected = 20 * np.log10((2.0 ** bits[1:] / 2 - 1) / (2.0 ** bits[:-1] / 2 - 1))
    assert np.allclose(np.diff(s), expected, atol=0.05)  # 0.05 dB: finite-sample noise of 1e5 values


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("bits", [2, 4, 8])
def test_fake_quantize_weight_grid(per_channel, bits):
    w = np.random.default_rng(bits).normal(0, 1, (6, 5, 3, 3)) * np.arange(1, 7)[:, None, None, None]
    wq = E.fake_quantize_weight(w, bits, per_channel)
    amax = np.abs(w).reshape(6, -1).max(1) if per_channel else np.full(6, np.abs(w).max())
    scale = amax / (2 ** (bits - 1) - 1)  # the library computes it in float32: 1e-6 relative below
    for o in range(6):
        q = wq[o] / scale[o]
        assert np.allclose(q, np.rint(q), atol=1e-5) and np.abs(q).max() <= (2 ** (bits - 1) - 1) * (1 + 1e-6)
        assert np.abs(wq[o] - w[o]).max() <= scale[o] / 2 * (1 + 1e-6)  # min-max range: rounding only


@pytest.mark.torch
@pytest.mark.parametrize("per_channel", [False, True])
def test_fake_quantize_weight_equals_torch_observer_and_fake_quant(per_channel):
    from course_lib.frameworks import import_torch

    warnings.filterwarnings("ignore", category=DeprecationWarning)  # torch.ao observers: oracles only
    torch = import_torch(0)
    from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver

    w = np.random.default_rng(3).normal(0, 0.3, (16, 8, 3, 3)).astype(np.float32)
    kw = dict(dtype=torch.qint8, quant_min=-127, quant_max=127)
    obs = PerChannelMinMaxObserver(ch_axis=0, qscheme=torch.per_channel_symmetric, **kw) if per_channel else \
        MinMaxObserver(qscheme=torch.per_tensor_symmetric, **kw)
    obs(torch.tensor(w))
    s, z = obs.calculate_qparams()
    if per_channel:
        theirs = torch.fake_quantize_per_channel_affine(torch.tensor(w), s, z.int(), 0, -127, 127).numpy()
    else:
        theirs = torch.fake_quantize_per_tensor_affine(torch.tensor(w), float(s), int(z), -127, 127).numpy()
    ours = E.fake_quantize_weight(w, 8, per_channel)
    step = s.numpy().reshape(-1, 1, 1, 1) if per_channel else float(s)
    # the course divides in float64, torch multiplies by a float32 reciprocal: a value within round-off of
    # a half may land one step apart; nothing else may differ
    off = np.abs(ours - theirs) > 1e-6  # else: torch's float32 product vs our float64 one
    near_half = np.abs(np.abs(w / step) % 1 - 0.5) < 1e-4
    assert np.all(near_half[off]) and off.mean() < 0.01


def test_fake_quantize_weights_copies_and_keeps_biases():
    for model in (MLP([4, 5, 3], activation="relu", seed=0), digits_cnn(0, c1=2, c2=3)):
        before = [w.copy() for w in model.W]
        model.b = [b + 0.123 for b in model.b]
        q = E.fake_quantize_weights(model, 4, per_channel=True)
        assert all(np.array_equal(a, w) for a, w in zip(before, model.W))  # the original is untouched
        assert all(np.array_equal(a, b) for a, b in zip(q.b, model.b))
        assert all(len(np.unique(w[o])) <= 15 for w in q.W for o in range(w.shape[0]))  # int4 narrow: 15 levels


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="x and x_hat must have the same shape"):
        E.sqnr_db([1.0, 2.0], [1.0])
    with pytest.raises(TypeError, match="model must be a course_lib MLP or Sequential"):
        E.fake_quantize_weights(np.ones(3))
    with pytest.raises(ValueError, match=r"bits must be in \[2, 16\]"):
        E.fake_quantize_weight(np.ones(3), bits=1)
    with pytest.raises(ValueError, match="scale must be > 0"):
        E.error_split([1.0], 0.0, 0, -128, 127)


@pytest.mark.parametrize("bits", [2, 4, 8])
@pytest.mark.parametrize("per_channel", [False, True])
def test_one_weight_grid_for_error_ptq_and_qat(bits, per_channel):
    """error.fake_quantize_weight, ptq.weight_qparams and qat.FakeQuant's weight quantizer are one grid."""
    w = np.random.default_rng(bits).normal(0, 0.3, (6, 5, 3))
    q_w, scale = ptq.weight_qparams(w, bits, per_channel)
    from_ptq = q_w * scale.astype(np.float64).reshape(-1, 1, 1)
    fq = qat.FakeQuant(bits, symmetric=True, signed=True, narrow_range=True, axis=0 if per_channel else None)
    assert np.array_equal(E.fake_quantize_weight(w, bits, per_channel), from_ptq)
    assert np.array_equal(fq(w)[0], from_ptq)
