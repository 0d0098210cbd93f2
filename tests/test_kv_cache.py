"""course_lib.quantization.kv_cache equals torchao's block-size primitives (int8 and float8) on the CPU."""
import importlib

import numpy as np
import pytest

from course_lib.frameworks._imports import import_torchao
from course_lib.quantization import kv_cache as K


@pytest.fixture(scope="module")
def tao():
    """Import torch and torchao's quant_primitives when an oracle test runs, not when tests are collected."""
    torch, _ = import_torchao()
    return torch, importlib.import_module("torchao.quantization.quant_primitives")


SHAPE = (2, 4, 16, 32)  # (batch, heads, seq, head_dim)
BLOCKS = {"per_token": (1, 1, 1, 32), "per_head": (1, 1, 16, 32)}


def _kv(seed):
    rng = np.random.default_rng(seed)
    kv = rng.standard_normal(SHAPE) * np.where(rng.random(SHAPE[-1]) < 0.1, 10.0, 1.0)  # outlier channels
    kv[0, 0, 3] = [0.5, -0.5, 1.5, 127.5] + [0.0] * 28  # halves on the int8 grid
    return kv.astype(np.float32)


@pytest.mark.torch
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("granularity", sorted(BLOCKS))
def test_int8_equals_torchao(tao, seed, granularity):
    torch, qp = tao
    kv = _kv(seed)
    t, block = torch.from_numpy(kv), BLOCKS[granularity]
    s, z = qp.choose_qparams_affine(t, qp.MappingType.SYMMETRIC, block, torch.int8, -128, 127)
    q = qp.quantize_affine(t, block, s, z, torch.int8, -128, 127)
    hat = qp.dequantize_affine(q, block, s, z, torch.int8, -128, 127)
    q_c, s_c = K.kv_quantize(kv, "int8", granularity)
    np.testing.assert_array_equal(s_c, s.numpy().reshape(-1))
    np.testing.assert_array_equal(q_c, q.numpy())
    np.testing.assert_array_equal(K.kv_dequantize(q_c, s_c, "int8", granularity), hat.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("granularity", sorted(BLOCKS))
def test_fp8_equals_torchao(tao, seed, granularity):
    torch, qp = tao
    kv = _kv(seed)
    t, block = torch.from_numpy(kv), BLOCKS[granularity]
    s = qp._choose_scale_float8(t, list(block), torch.float8_e4m3fn)
    q = qp._quantize_affine_float8(t, s, torch.float8_e4m3fn)
    hat = qp._dequantize_affine_float8(q, s, torch.float32)
    q_c, s_c = K.kv_quantize(kv, "fp8", granularity)
    np.testing.assert_array_equal(s_c, s.numpy().reshape(-1))
    np.testing.assert_array_equal(q_c, q.view(torch.uint8).numpy())
    np.testing.assert_array_equal(K.kv_dequantize(q_c, s_c, "fp8", granularity), hat.numpy())


@pytest.mark.parametrize("fmt", ["int8", "fp8"])
def test_per_channel_scales_cover_the_tokens_of_a_channel(fmt):
    kv = _kv(3)
    q, s = K.kv_quantize(kv, fmt, "per_channel")
    amax = np.abs(kv).max(axis=-2).reshape(-1)  # over seq, per (batch, head, channel)
    np.testing.assert_allclose(s, amax / (127.5 if fmt == "int8" else 448.0), rtol=1e-7)
    hat = K.kv_dequantize(q, s, fmt, "per_channel")
    assert hat.shape == kv.shape and np.max(np.abs(hat - kv)) <= np.max(amax) / (127.5 * 2) * 1.001 + (fmt == "fp8")


def test_finer_granularity_is_more_accurate_on_outlier_channels():
    kv = _kv(4)
    err = {g: float(np.mean((K.kv_fake_quantize(kv, "int8", g) - kv) ** 2)) for g in K.GRANULARITIES}
    assert err["per_token"] < err["per_head"] and err["per_channel"] < err["per_head"]


def test_all_zero_block_is_exact():
    kv = np.zeros((1, 1, 2, 4), np.float32)
    for fmt in ("int8", "fp8"):
        np.testing.assert_array_equal(K.kv_fake_quantize(kv, fmt), kv)


def test_bytes_per_token():
    assert K.kv_bytes_per_token(2, 4, 32, "fp16") == 2 * 2 * 4 * 32 * 2
    assert K.kv_bytes_per_token(2, 4, 32, "int8") == 2 * 2 * 4 * (32 + 4)
    assert K.kv_bytes_per_token(2, 4, 32, "fp8", "per_head", seq_len=128, scale_bytes=4) == 2 * 2 * 4 * (32 + 4 / 128)


@pytest.mark.parametrize("call, message", [
    (lambda: K.kv_quantize(np.ones((4, 4))), "kv must have at least 3 dimension"),
    (lambda: K.kv_quantize(np.ones((1, 4, 4)), "int4"), "fmt must be one of"),
    (lambda: K.kv_quantize(np.ones((1, 4, 4)), granularity="per_batch"), "granularity must be one of"),
    (lambda: K.kv_dequantize(np.ones((1, 4, 4)), np.ones(4)), "q must be integers"),
    (lambda: K.kv_dequantize(np.ones((1, 4, 4), np.int8), np.ones(3)), "scale must hold one scale per block"),
    (lambda: K.kv_bytes_per_token(0, 4, 32), "n_layers must be >= 1"),
    (lambda: K.kv_bytes_per_token(2, 4, 32, "int8", "per_head"), "seq_len must be given"),
    (lambda: K.kv_scales(np.ones((1, 4, 4)), "fp16"), "fmt must be one of"),
    (lambda: K.kv_fake_quantize(np.ones((1, 4, 4)), "int8", "per_layer"), "granularity must be one of"),
])
def test_errors_name_the_argument(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()
