"""course_lib.quantization.minifloat equals ml_dtypes and torch's float8 casts bit for bit.

Inputs: every representable value, every midpoint between neighbours (ties of both parities), the
values one float32 ulp above and below each midpoint, overflow, +-inf, NaN (with payloads), +-0,
subnormals, a sweep of every float32 exponent with chosen mantissas, and random float32 and float64.
"""
import ml_dtypes as md
import numpy as np
import pytest
import torch

from course_lib.quantization.minifloat import FORMATS, code_table, float_decode, float_encode, float_format

ML = {"e4m3": md.float8_e4m3fn, "e5m2": md.float8_e5m2, "e3m2": md.float6_e3m2fn,
      "e2m3": md.float6_e2m3fn, "e2m1": md.float4_e2m1fn, "e8m0": md.float8_e8m0fnu}
TORCH = {"e4m3": torch.float8_e4m3fn, "e5m2": torch.float8_e5m2, "e8m0": torch.float8_e8m0fnu}


def _ml_encode(x, fmt):
    with np.errstate(over="ignore"):  # float64 beyond float32's range: ml_dtypes' own overflow rule applies
        return np.asarray(x).astype(ML[fmt]).view(np.uint8)


def _torch_encode(x, fmt):
    return torch.from_numpy(np.ascontiguousarray(x)).to(TORCH[fmt]).view(torch.uint8).numpy()


def _grid(fmt):
    """Every finite value of the format, sorted, without duplicates (+0 and -0 both kept)."""
    vals = code_table(fmt).astype(np.float64)
    return np.unique(vals[np.isfinite(vals)])


def _edges(fmt):
    """Representable values, midpoints, one float32 ulp either side of them, overflow, specials."""
    g = _grid(fmt)
    mids = (g[:-1] + g[1:]) / 2  # exact in float32: neighbours differ by one power of two at most
    pts = np.concatenate([g, mids]).astype(np.float32)
    near = np.concatenate([np.nextafter(pts, np.float32(np.inf)), np.nextafter(pts, np.float32(-np.inf))])
    top = np.float32(g.max())
    step = top - np.float32(g[-2])
    over = np.array([top + step / 2, top + step, top * 2, 3e38, np.inf, -np.inf, np.nan, -np.nan, 0.0, -0.0,
                     1e-45, -1e-45, 2.0 ** -130, 2.0 ** -127, 1.5 * 2.0 ** -127], np.float32)
    over = np.concatenate([over, -over])
    return np.concatenate([pts, near, over]).astype(np.float32)


def _exponent_sweep():
    """Every float32 exponent field (subnormals, normals, inf/NaN) with chosen and random mantissas, +-."""
    rng = np.random.default_rng(0)
    mans = np.array([0, 1, 2, 0x1FFFFF, 0x200000, 0x200001, 0x3FFFFF, 0x400000, 0x400001, 0x5FFFFF, 0x600000,
                     0x600001, 0x7FFFFE, 0x7FFFFF, 0x080000, 0x0C0000, 0x100000], np.uint32)
    mans = np.concatenate([mans, rng.integers(0, 2 ** 23, 40).astype(np.uint32)])
    bits = ((np.arange(256, dtype=np.uint32)[:, None] << 23) | mans[None, :]).ravel()
    return np.concatenate([bits, bits | np.uint32(0x80000000)]).view(np.float32)


def _random(seed, dtype):
    rng = np.random.default_rng(seed)
    mag = np.exp2(rng.uniform(-140, 130, 5000)) * rng.choice([-1.0, 1.0], 5000)
    with np.errstate(over="ignore"):  # 2^128 and above become +-inf in float32: overflow cases too
        return np.concatenate([mag, rng.standard_normal(5000) * 10]).astype(dtype)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_decode_equals_ml_dtypes_on_every_code(fmt):
    codes = np.arange(2 ** float_format(fmt).bits)
    ref = codes.astype(np.uint8).view(ML[fmt]).astype(np.float32)
    got = float_decode(codes, fmt)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.view(np.uint32)[~np.isnan(ref)], ref.view(np.uint32)[~np.isnan(ref)])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))


@pytest.mark.parametrize("fmt", sorted(TORCH))
def test_decode_equals_torch_on_every_code(fmt):
    ref = torch.arange(256, dtype=torch.uint8).view(TORCH[fmt]).float().numpy()
    np.testing.assert_array_equal(float_decode(np.arange(256), fmt), ref)  # NaNs compare equal here


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_value_round_trips(fmt):
    codes = np.arange(2 ** float_format(fmt).bits)
    vals = float_decode(codes, fmt)
    ok = ~np.isnan(vals)
    np.testing.assert_array_equal(float_encode(vals[ok], fmt), codes[ok].astype(np.uint8))


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("inputs", ["edges", "sweep", "random32"])
def test_encode_equals_ml_dtypes(fmt, inputs):
    x = {"edges": lambda: _edges(fmt), "sweep": _exponent_sweep, "random32": lambda: _random(1, np.float32)}[inputs]()
    np.testing.assert_array_equal(float_encode(x, fmt), _ml_encode(x, fmt))


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_encode_float64_rounds_once_as_ml_dtypes(fmt):
    x = np.concatenate([_random(2, np.float64), _grid(fmt)[1:] * (1 + 1e-12), _grid(fmt)[1:] * (1 - 1e-12)])
    mids = (_grid(fmt)[:-1] + _grid(fmt)[1:]) / 2
    x = np.concatenate([x, mids + np.abs(mids) * 1e-12, mids - np.abs(mids) * 1e-12])  # lost in float32
    np.testing.assert_array_equal(float_encode(x, fmt), _ml_encode(x, fmt))


@pytest.mark.parametrize("fmt", sorted(TORCH))
@pytest.mark.parametrize("inputs", ["edges", "sweep", "random32", "random64"])
def test_encode_equals_torch(fmt, inputs):
    x = {"edges": lambda: _edges(fmt), "sweep": _exponent_sweep, "random32": lambda: _random(3, np.float32),
         "random64": lambda: _random(4, np.float64)}[inputs]()
    np.testing.assert_array_equal(float_encode(x, fmt, rule="torch"), _torch_encode(x, fmt))


def test_the_rules_written_in_the_docstring():
    enc = float_encode
    assert enc(1.0625, "e4m3") == 0x38 and enc(1.1875, "e4m3") == 0x3A  # ties to the even mantissa
    assert enc(464.0, "e4m3") == 0x7E and enc(465.0, "e4m3") == 0x7F  # tie below max -> 448; beyond -> NaN
    assert enc(465.0, "e4m3", rule="torch") == 0x7E and enc(-np.inf, "e4m3", rule="torch") == 0xFE  # torch saturates
    assert enc(465.0, "e4m3", saturate=True) == 0x7E and enc(np.inf, "e5m2", saturate=True) == 0x7B
    assert enc(61440.0, "e5m2") == 0x7C and enc(61439.0, "e5m2") == 0x7B  # the overflow tie goes to inf
    assert enc(100.0, "e2m1") == 0x7 and enc(-100.0, "e3m2") == 0x3F  # FP4/FP6 always saturate
    assert enc(np.nan, "e5m2") == 0x7E and enc(np.nan, "e5m2", rule="torch") == 0x7F
    assert enc(2.0 ** -9, "e4m3") == 0x01 and enc(2.0 ** -10, "e4m3") == 0x00  # subnormal; tie to 0 (even)
    assert enc(-0.0, "e4m3") == 0x80
    assert enc(1.5, "e8m0") == 128 and enc(1.49, "e8m0") == 127 and enc(0.0, "e8m0") == 0xFF  # ties up; no zero
    assert enc(-2.0, "e8m0") == 0xFF and enc(-2.0, "e8m0", rule="torch") == 128  # torch ignores the sign
    assert float_decode(np.array([0, 127, 254, 255]), "e8m0").tolist()[:3] == [2.0 ** -127, 1.0, 2.0 ** 127]


@pytest.mark.parametrize("call, message", [
    (lambda: float_encode([1.0], "e4m4"), "fmt must be one of"),
    (lambda: float_encode(["a"], "e4m3"), "x must hold real numbers"),
    (lambda: float_encode([1.0], "e4m3", saturate=1), "saturate must be True or False"),
    (lambda: float_encode([1.0], "e4m3", rule="tf"), "rule must be one of"),
    (lambda: float_encode([1.0], "e2m1", rule="torch"), "rule='torch' covers"),
    (lambda: float_decode([1.5], "e4m3"), "codes must hold integers"),
    (lambda: float_decode([64], "e2m3"), r"codes must be in \[0, 63\]"),
    (lambda: float_decode([0], "fp8"), "fmt must be one of"),
    (lambda: float_format("e4m2"), "fmt must be one of"),
    (lambda: code_table("fp4"), "fmt must be one of"),
])
def test_errors_name_the_argument(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()


@pytest.mark.parametrize("fmt", sorted(TORCH))
def test_torch_scalar_path_agrees(fmt):
    """torch's cast of a 1-element tensor (its scalar tail loop) gives the same codes as a long one."""
    x = _edges(fmt)[::3]
    small = np.concatenate([_torch_encode(x[i:i + 1], fmt) for i in range(len(x))])
    np.testing.assert_array_equal(small, _torch_encode(np.tile(x, 40), fmt)[:len(x)])
    np.testing.assert_array_equal(float_encode(x, fmt, rule="torch"), small)
