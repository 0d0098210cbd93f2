"""course_lib.quantization.groupwise equals torchao's block-size primitives (block_size=(1, g)) bit for bit."""
import numpy as np
import pytest

from course_lib.frameworks.torchao_bridge import torchao_groupwise as _torchao
from course_lib.quantization import groupwise as G, primitives as P


def _weights(seed, kind, shape=(16, 256)):
    rng = np.random.default_rng(seed)
    w = {"gauss": lambda: rng.standard_normal(shape) * 0.02,
         "laplace": lambda: rng.laplace(size=shape) * 0.02,
         "outliers": lambda: rng.standard_normal(shape) * np.where(rng.random(shape) < 0.01, 50.0, 0.02)}[kind]()
    w[0, :32] = 0.0                       # an all-zero group (the eps clamp)
    w[1, 32:64] = 0.5                     # a constant positive group (range widened to hold 0)
    w[2, 64:96] = -np.abs(w[2, 64:96])    # an all-negative group
    w[3, :8] = [1.0, -1.0, 0.5, -0.5, 0.25, 7.0, -8.0, 3.5]  # exact halves of the grid
    return w.astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", ["gauss", "laplace", "outliers"])
@pytest.mark.parametrize("g", [32, 64, 128])
@pytest.mark.parametrize("bits, symmetric", [(4, True), (4, False), (3, True), (8, True), (8, False)])
def test_groupwise_equals_torchao(seed, kind, g, bits, symmetric):
    w = _weights(seed, kind)
    ref_q, ref_s, ref_z, ref_w = _torchao(w, g, bits, symmetric, eps=P.EPS)
    w_hat, q, s, z = G.groupwise_fake_quantize(w, g, bits, symmetric)
    np.testing.assert_array_equal(s, ref_s)
    np.testing.assert_array_equal(z, ref_z)
    np.testing.assert_array_equal(q, ref_q)
    np.testing.assert_array_equal(w_hat, ref_w)


@pytest.mark.parametrize("symmetric", [True, False])
def test_torchao_default_eps_is_an_option(symmetric):
    w = _weights(0, "gauss")
    w[5, :64] = 1e-10  # a group below the course's eps (q_max - q_min)
    ref_q, ref_s, ref_z, ref_w = _torchao(w, 64, 4, symmetric)  # torchao's default eps
    w_hat, q, s, z = G.groupwise_fake_quantize(w, 64, 4, symmetric, eps=G.TORCHAO_EPS)
    for a, b in ((s, ref_s), (z, ref_z), (q, ref_q), (w_hat, ref_w)):
        np.testing.assert_array_equal(a, b)
    s_course, _ = G.groupwise_qparams(w, 64, 4, symmetric)
    assert s_course[5, 0] == np.float32(P.EPS) != s[5, 0]  # the documented difference


@pytest.mark.parametrize("symmetric", [True, False])
def test_groupwise_is_per_channel_on_the_groups(symmetric):
    """One primitive path: group-wise qparams are primitives.qparams of each group's range."""
    rows = G.to_groups(_weights(3, "laplace"), 32)
    s, z = G.groupwise_qparams(rows.reshape(16, -1), 32, 4, symmetric)
    ref_s, ref_z = P.qparams(rows.min(axis=1), rows.max(axis=1), 4, symmetric, signed=symmetric)
    np.testing.assert_array_equal(s.ravel(), ref_s)
    np.testing.assert_array_equal(z.ravel(), ref_z)


def test_smaller_groups_reconstruct_better_on_heavy_tails():
    w = _weights(4, "outliers")
    err = [float(np.mean((G.groupwise_fake_quantize(w, g, 4)[0] - w) ** 2)) for g in (32, 64, 128, 256)]
    assert err[0] < err[1] < err[2] < err[3]


def test_bits_per_weight():
    assert G.bits_per_weight(4, 64) == 4.25 and G.bits_per_weight(4, 32) == 4.5
    assert G.bits_per_weight(4, 128, 16, 4) == 4 + 20 / 128


@pytest.mark.parametrize("call, message", [
    (lambda: G.groupwise_qparams(np.ones(8), 4), "w must be 2-dimensional"),
    (lambda: G.groupwise_qparams(np.ones((2, 8)), 3), "group_size must divide"),
    (lambda: G.groupwise_qparams(np.ones((2, 8)), 0), "group_size must be >= 1"),
    (lambda: G.groupwise_qparams(np.ones((2, 8)), 4, bits=1), r"bits must be in \[2, 16\]"),
    (lambda: G.groupwise_qparams(np.ones((2, 8)), 4, symmetric="yes"), "symmetric must be True or False"),
    (lambda: G.groupwise_qparams(np.ones((2, 8)), 4, eps=0.0), "eps must be in"),
    (lambda: G.groupwise_quantize(np.ones((2, 8)), np.ones((2, 3)), np.zeros((2, 2), int), 4),
     "scale must have shape"),
    (lambda: G.groupwise_dequantize(np.ones((2, 8)), np.ones((2, 2)), np.zeros((2, 2), int), 4), "q must be integers"),
    (lambda: G.to_groups([[np.nan, 1.0]], 1), "w contains NaN"),
    (lambda: G.groupwise_fake_quantize(np.ones((2, 8)), 4, bits=20), r"bits must be in \[2, 16\]"),
    (lambda: G.bits_per_weight(4, 64, scale_bits=-1), "scale_bits must be in"),
])
def test_errors_name_the_argument(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()
