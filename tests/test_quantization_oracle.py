"""course_lib.quantization.primitives equals torch and TensorFlow bit for bit (integers exact, floats to 1e-6)."""
import warnings

import numpy as np
import pytest

from course_lib.quantization import primitives as Q

HALVES = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 0.0], dtype=np.float32)


def _torch():
    from course_lib.frameworks import import_torch

    warnings.filterwarnings("ignore", category=DeprecationWarning)  # quantized tensor types: oracles only
    warnings.filterwarnings("ignore", category=UserWarning)
    return import_torch(0)


def _inputs(seed):
    rng = np.random.default_rng(seed)
    scale = np.float32(rng.uniform(0.01, 0.5))
    k = rng.integers(-140, 140, 300)
    exact_halves = ((k + 0.5) * scale).astype(np.float32)  # on the grid's midpoints: the rounding rule shows
    return np.concatenate([exact_halves, rng.normal(0, 20 * scale, 300).astype(np.float32), HALVES]), float(scale)


@pytest.mark.torch
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("signed", [True, False])
def test_quantize_equals_torch_quantize_per_tensor(seed, signed):
    torch = _torch()
    x, scale = _inputs(seed)
    zp = int(np.random.default_rng(seed).integers(-20, 20)) + (0 if signed else 128)
    dtype, (q_min, q_max) = (torch.qint8, (-128, 127)) if signed else (torch.quint8, (0, 255))
    theirs = torch.quantize_per_tensor(torch.tensor(x), scale, zp, dtype).int_repr().numpy().astype(np.int64)
    assert np.array_equal(Q.quantize(x, scale, zp, q_min, q_max, rule="fbgemm"), theirs)
    plain = Q.quantize(x, scale, zp, q_min, q_max)  # the course's x / scale: one step off at some halves only
    assert np.max(np.abs(plain - theirs)) <= 1


@pytest.mark.torch
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("q_min, q_max", [(-128, 127), (0, 255), (-8, 7), (0, 15), (-127, 127)])
def test_fake_quantize_equals_torch_per_tensor(seed, q_min, q_max):
    torch = _torch()
    x, scale = _inputs(seed)
    zp = (q_min + q_max + 1) // 2 if q_min == 0 else 0
    theirs = torch.fake_quantize_per_tensor_affine(torch.tensor(x), scale, zp, q_min, q_max).numpy()
    ours = Q.fake_quantize(x, scale, zp, q_min, q_max, rule="torch")
    assert ours.dtype == np.float32 and np.array_equal(ours, theirs)


@pytest.mark.torch
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_fake_quantize_equals_torch_per_channel(axis):
    torch = _torch()
    rng = np.random.default_rng(axis + 5)
    x = rng.normal(0, 3, size=(6, 5, 4)).astype(np.float32)
    n = x.shape[axis]
    scale = rng.uniform(0.02, 0.3, n).astype(np.float32)
    zp = rng.integers(-10, 10, n)
    x[0, 0, 0] = np.float32(2.5) * scale[0] if axis == 0 else x[0, 0, 0]  # an exact half
    theirs = torch.fake_quantize_per_channel_affine(torch.tensor(x), torch.tensor(scale), torch.tensor(zp, dtype=torch.int32),
                                                    axis % 3, -128, 127).numpy()
    assert np.array_equal(Q.fake_quantize(x, scale, zp, -128, 127, axis=axis, rule="torch"), theirs)


@pytest.mark.torch
@pytest.mark.parametrize("dtype_name, symmetric, reduce_range", [
    ("quint8", False, False), ("qint8", False, False), ("qint8", True, False), ("quint8", True, False),
    ("quint8", False, True), ("qint8", True, True)])
@pytest.mark.parametrize("case", ["random", "positive", "constant", "zero"])
def test_qparams_equal_torch_minmax_observer(dtype_name, symmetric, reduce_range, case):
    torch = _torch()
    from torch.ao.quantization.observer import MinMaxObserver

    rng = np.random.default_rng(len(case))
    x = {"random": rng.normal(0.3, 2, 500), "positive": rng.uniform(1, 3, 500), "constant": np.full(50, 1.7),
         "zero": np.zeros(10)}[case].astype(np.float32)
    obs = MinMaxObserver(dtype=getattr(torch, dtype_name), reduce_range=reduce_range,
                         qscheme=torch.per_tensor_symmetric if symmetric else torch.per_tensor_affine)
    obs(torch.tensor(x))
    s_t, z_t = obs.calculate_qparams()
    scale, zp = Q.qparams(x.min(), x.max(), bits=7 if reduce_range else 8, symmetric=symmetric,
                          signed=dtype_name == "qint8")
    assert zp == int(z_t) and abs(scale - float(s_t)) <= 1e-6 * float(s_t)


@pytest.mark.torch
@pytest.mark.parametrize("symmetric", [False, True])
def test_per_channel_qparams_equal_torch_per_channel_observer(symmetric):
    torch = _torch()
    from torch.ao.quantization.observer import PerChannelMinMaxObserver

    w = np.random.default_rng(1).normal(0, 1, (8, 3, 3, 3)).astype(np.float32)
    w[2] = np.abs(w[2])  # one channel with no negative weight
    obs = PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8,
                                   qscheme=torch.per_channel_symmetric if symmetric else torch.per_channel_affine)
    obs(torch.tensor(w))
    s_t, z_t = obs.calculate_qparams()
    flat = w.reshape(8, -1)
    scale, zp = Q.qparams(flat.min(1), flat.max(1), symmetric=symmetric)
    assert np.array_equal(zp, z_t.numpy()) and np.allclose(scale, s_t.numpy(), rtol=1e-6, atol=0)


@pytest.mark.tf
@pytest.mark.parametrize("bits, narrow", [(8, False), (8, True), (4, False), (2, False), (16, False)])
@pytest.mark.parametrize("lo, hi", [(-1.0, 1.0), (-0.3, 2.7), (0.2, 3.0), (-5.0, -1.0), (-1.234, 0.0)])
def test_fake_quant_with_min_max_equals_tensorflow(bits, narrow, lo, hi):
    from course_lib.frameworks import import_tf

    tf, _, _ = import_tf(0)
    rng = np.random.default_rng(bits)
    q_lo, q_hi = (1 if narrow else 0), 2 ** bits - 1
    scale = np.float32((np.float32(hi) - np.float32(lo)) / np.float32(q_hi - q_lo))
    x = np.concatenate([rng.uniform(lo - 1, hi + 1, 400), (np.arange(-3, 20) + 0.5) * scale + lo,
                        [lo, hi, 0.0]]).astype(np.float32)  # outside the range, on halves, at the ends
    theirs = tf.quantization.fake_quant_with_min_max_vars(x, lo, hi, num_bits=bits, narrow_range=narrow).numpy()
    ours = Q.fake_quant_with_min_max(x, lo, hi, bits, narrow)
    assert np.max(np.abs(ours - theirs)) <= 1e-6 * max(1.0, abs(lo), abs(hi))


def test_round_trip_error_is_at_most_half_a_step_inside_the_range():
    x = np.random.default_rng(0).uniform(-3, 5, 10000)
    scale, zp = Q.qparams(x.min(), x.max())
    err = np.abs(Q.fake_quantize(x, scale, zp, -128, 127) - x)
    assert err.max() <= scale / 2 + 1e-12


@pytest.mark.parametrize("call, match", [
    (lambda: Q.qparams(1.0, 0.0), "x_min must be <= x_max"),
    (lambda: Q.qparams(0.0, 1.0, bits=1), r"bits must be in \[2, 16\], got 1"),
    (lambda: Q.qparams(0.0, 1.0, bits=17), r"bits must be in \[2, 16\], got 17"),
    (lambda: Q.qparams(np.nan, 1.0), "x_min contains NaN"),
    (lambda: Q.quantize([1.0, np.inf], 0.1, 0, -128, 127), "x contains NaN or infinity"),
    (lambda: Q.quantize([1.0], 0.0, 0, -128, 127), "scale must be > 0"),
    (lambda: Q.quantize(np.ones((2, 3)), [0.1, 0.2], [0, 0], -128, 127, axis=1), "one entry per channel along axis 1"),
    (lambda: Q.quantize(np.ones((2, 3)), [0.1, 0.2], [0, 0], -128, 127, axis=2), r"axis must be in \[-2, 1\]"),
    (lambda: Q.quantize([1.0], 0.1, 300, -128, 127), r"zero_point must be integer\(s\) in \[q_min, q_max\]"),
    (lambda: Q.fake_quant_with_min_max([1.0], 2.0, 1.0), "x_min must be <= x_max"),
])
def test_bad_input_is_named(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_constant_tensor_does_not_divide_by_zero():
    scale, zp = Q.qparams(0.0, 0.0)
    assert scale == Q.EPS and zp == -128  # torch's MinMaxObserver gives the same (q_min - round(0 / eps))
    assert np.array_equal(Q.fake_quant_with_min_max([0.5, -1.0], 0.0, 0.0), np.zeros(2, np.float32))


@pytest.mark.tf
@pytest.mark.parametrize("bits, narrow", [(8, True), (8, False), (4, False)])
def test_fake_quant_per_channel_equals_tensorflow_on_millions_of_inputs(bits, narrow):
    """TF's per-channel functor multiplies by inv_scale; the per-tensor one divides by scale. Our
    per-channel model is bit for bit on 2 x 10^6 values (8 channels with random ranges), and the
    division rule is NOT: it differs on a few of them (the reason the two functions exist)."""
    from course_lib.frameworks import import_tf

    tf, _, _ = import_tf(0)
    rng = np.random.default_rng(bits + narrow)
    lo, hi = -rng.uniform(0.1, 3, 8).astype(np.float32), rng.uniform(0.1, 3, 8).astype(np.float32)
    x = rng.uniform(1.2 * lo, 1.2 * hi, (250_000, 8)).astype(np.float32)
    theirs = tf.quantization.fake_quant_with_min_max_vars_per_channel(x, lo, hi, num_bits=bits,
                                                                      narrow_range=narrow).numpy()
    assert np.array_equal(Q.fake_quant_with_min_max_per_channel(x, lo, hi, bits, narrow), theirs)
    divide = np.stack([Q.fake_quant_with_min_max(x[:, c], lo[c], hi[c], bits, narrow) for c in range(8)], 1)
    n_diff = np.count_nonzero(divide != theirs)
    assert n_diff < 1e-4 * x.size and (n_diff > 0 or bits < 8)  # rare at 8 bits, but a different rule


@pytest.mark.tf
def test_fake_quant_per_tensor_equals_tensorflow_bit_for_bit_on_millions_of_inputs():
    """The per-tensor op divides: bit for bit on 2 x 10^6 uniform values around a range."""
    from course_lib.frameworks import import_tf

    tf, _, _ = import_tf(0)
    x = np.random.default_rng(1).uniform(-1.7, 2.9, 2_000_000).astype(np.float32)
    theirs = tf.quantization.fake_quant_with_min_max_vars(x, -1.3, 2.5, num_bits=8).numpy()
    assert np.array_equal(Q.fake_quant_with_min_max(x, -1.3, 2.5, 8), theirs)


def test_nudge_puts_zero_on_the_grid_and_qat_uses_it():
    from course_lib.quantization import qat

    n_min, n_max, scale, inv = Q.nudge(-0.3, 2.7, 8)
    assert np.float32(-n_min / scale) == np.rint(-n_min / scale) and n_max > n_min
    assert qat.nudged_range(-0.3, 2.7, 8) == (n_min, n_max, scale)
    assert inv == np.float32(255) / (np.float32(2.7) - np.float32(-0.3))


@pytest.mark.parametrize("call, match", [
    (lambda: Q.dequantize(np.array([1, 2]), -1.0, 0), "scale must be > 0"),
    (lambda: Q.dequantize(np.array([1, 2]), 0.1, 0.5), "zero_point must be integer"),
    (lambda: Q.requantize(np.array([100]), 0.5, 0.5), "y_zero_point must be an integer"),
    (lambda: Q.requantize(np.array([100]), 0.5, 0, q_min=10, q_max=-10), "q_min must be <= q_max"),
    (lambda: Q.int8_dense(np.array([[1000, 0]]), 0.1, 0, np.ones((3, 2), int), 0.1, 0.1, 0), "q_x must hold int8"),
    (lambda: Q.fake_quant_with_min_max_per_channel(np.ones((4, 3)), [0.0, 0.0], [1.0, 1.0]), "one entry per channel"),
])
def test_more_bad_inputs_are_named(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
