"""course_lib.quantization.nf4 equals bitsandbytes' NF4 table and torchao's NF4Tensor (CPU) bit for bit."""
import numpy as np
import pytest

from course_lib.frameworks.torchao_bridge import torchao_nf4
from course_lib.quantization import nf4 as N

# bitsandbytes' NF4 table (csrc/kernels.cu, dDequantizeNF4), the float32 values of create_normal_map()
BNB = np.array([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
                -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
                0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                0.7229568362236023, 1.0], dtype=np.float32)


def test_levels_are_bitsandbytes_table():
    lv = N.nf4_levels()
    np.testing.assert_array_equal(lv, BNB)
    assert abs(N.DELTA - (1 - (1 / 30 + 1 / 32) / 2)) < 1e-7  # the paper's offset
    assert (lv > 0).sum() == 8 and (lv < 0).sum() == 7 and lv[7] == 0.0  # asymmetric with an exact zero


def test_torchao_levels_are_the_table_rounded():
    np.testing.assert_array_equal(np.round(N.nf4_levels().astype(np.float64), 4).astype(np.float32), N.TORCHAO_LEVELS)
    np.testing.assert_array_equal(N.TORCHAO_LEVELS, torchao_nf4(np.ones(64 * 256))["levels"])


def _torchao(w):
    r = torchao_nf4(w, 64, 256)
    return r["codes"], r["c_q"], r["factor"], r["mean"], r["w_hat"]


def _weights(seed, kind, shape=(128, 256)):
    rng = np.random.default_rng(seed)
    w = {"gauss": lambda: rng.standard_normal(shape) * 0.02, "laplace": lambda: rng.laplace(size=shape) * 0.02,
         "uniform": lambda: rng.uniform(-1, 1, shape)}[kind]().astype(np.float32)
    w[0, :64] = np.float32(0.5) * np.concatenate([N.TORCHAO_LEVELS, (N.TORCHAO_LEVELS[1:] + N.TORCHAO_LEVELS[:-1]) / 2,
                                                  np.zeros(33)])[:64]  # levels and midpoints (ties)
    return w


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", ["gauss", "laplace", "uniform"])
def test_nf4_equals_torchao(seed, kind):
    w = _weights(seed, kind)
    codes, c_q, factor, mean, w_hat = _torchao(w)
    q = N.nf4_quantize(w, levels=N.TORCHAO_LEVELS)
    np.testing.assert_array_equal(q["codes"], codes)  # the codes use the exact absmax: bit for bit
    # The mean of the absmax scales is a float32 sum: torch's CPU reduction adds in another order than
    # numpy's pairwise sum, so the mean (and the factors computed from it) can differ in the last bit
    # (measured: about half of random vectors). Budget: 1e-6 relative; an int8 scale that sits on a
    # rounding half may then flip by one, at most one per tensor (measured: none in these 9 cases).
    np.testing.assert_allclose(q["mean"], mean, rtol=1e-6)
    np.testing.assert_allclose(q["factor"], factor, rtol=1e-6)
    diff = q["c_q"].astype(int) - c_q
    assert np.abs(diff).max() <= 1 and np.count_nonzero(diff) <= 1
    np.testing.assert_allclose(N.nf4_dequantize(q, w.shape, levels=N.TORCHAO_LEVELS), w_hat, rtol=0,
                               atol=1e-6 * np.abs(w).max() + (np.abs(diff).max() / factor.min()))


def test_nearest_level_ties_take_the_lower_level():
    lv = N.nf4_levels()
    mids = (lv[1:] + lv[:-1]) / 2
    exact = (mids.astype(np.float64) - lv[:-1] == lv[1:] - mids.astype(np.float64))  # float32 ties only
    np.testing.assert_array_equal(N.nearest_level(lv), np.arange(16))
    np.testing.assert_array_equal(N.nearest_level(mids)[exact], np.arange(15)[exact])


def test_double_quantization_keeps_scales_close_and_costs_4_127_bits():
    w = _weights(3, "gauss")
    absmax = np.abs(w.reshape(-1, 64)).max(axis=1)
    c_q, factor, mean = N.double_quantize(absmax)
    back = N.dequantize_scales(c_q, factor, mean)
    # half an int8 step, a whole one for the largest positive deviation: 128 / max|c - mean| maps it to
    # 128, clamped to 127 (torchao's factor 256 / (2 max), not 127 / max)
    step = 1 / factor.min()
    err = np.abs(back - absmax)
    assert np.sort(err)[-2] <= 0.5 * step * 1.0001 and err.max() <= step * 1.0001
    assert round(N.nf4_bits_per_weight(), 3) == 4.127 and N.nf4_bits_per_weight(double_quant=False) == 4.5


def test_nf4_beats_uniform_int4_absmax_on_gaussian_weights():
    w = _weights(4, "gauss")
    err_nf4 = np.mean((N.nf4_fake_quantize(w) - w) ** 2)
    blocks = w.reshape(-1, 64)
    s = np.abs(blocks).max(axis=1, keepdims=True) / 7
    err_int4 = np.mean((np.clip(np.rint(blocks / s), -7, 7) * s - blocks) ** 2)
    assert err_nf4 < err_int4


@pytest.mark.parametrize("call, message", [
    (lambda: N.nf4_quantize(np.ones(100)), "w must have a multiple of"),
    (lambda: N.nf4_quantize(np.ones(64 * 256), block_size=0), "block_size must be >= 1"),
    (lambda: N.nf4_quantize(np.ones(64 * 256), levels=np.ones(16)), "levels must be 16 increasing"),
    (lambda: N.nearest_level([np.nan]), "y contains NaN"),
    (lambda: N.double_quantize(np.ones(10), 4), "scaler_block_size must divide"),
    (lambda: N.dequantize_scales(np.ones(4), np.ones(1), 0.0), "c_q must hold integers"),
    (lambda: N.nf4_dequantize(N.nf4_quantize(np.ones(64 * 256)), (3, 3)), "shape must hold"),
    (lambda: N.nf4_bits_per_weight(scaler_block_size=0), "scaler_block_size must be >= 1"),
    (lambda: N.nf4_fake_quantize(np.ones(64 * 256), scaler_block_size=-1), "scaler_block_size must be >= 1"),
])
def test_errors_name_the_argument(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()
