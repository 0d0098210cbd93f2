"""course_lib.quantization.formats equals numpy's float16/float32 and torch's bfloat16 (values exact)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from course_lib.quantization import formats as N

NP_DTYPES = {"fp16": np.float16, "fp32": np.float32}


def _edges(name):
    """Exact ties (midpoints between neighbours, both parities), subnormals, the range's end, zeros."""
    f = N.float_format(name)
    m = f.man_bits
    ones = 1.0 + np.arange(8) * 2.0 ** -m                      # 1, 1 + eps, ...: neighbours at 1
    ties = ones[:-1] + 2.0 ** -(m + 1)                         # halfway: even and odd mantissas
    big = f.max * np.array([1.0, 1.0 - 2.0 ** -(m + 2)]) + [0.0, 0.0]
    over = np.array([f.max + 2.0 ** (np.log2(f.max) // 1 - m - 1)])  # the overflow tie: rounds to inf
    near_max_tie = np.array([f.max - 2.0 ** (np.log2(f.max) // 1 - m - 1)])  # tie below max: to even (max - u)
    sub = f.smallest_subnormal * np.array([0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 3.0])  # ties to even at 0.5, 1.5, 2.5
    normal = f.smallest_normal * np.array([1.0, 1.0 - 2.0 ** -(m + 1), 1.0 - 2.0 ** -(m + 2)])
    x = np.concatenate([ones, ties, big, over, near_max_tie, sub, normal, [0.0, 1 / 3, 0.1, 1e-3]])
    return np.concatenate([x, -x])


def _random(seed, name):
    rng = np.random.default_rng(seed)
    f = N.float_format(name)
    lo, hi = np.log2(f.smallest_subnormal), np.log2(f.max)
    mag = 2.0 ** rng.uniform(lo - 1, hi, 500)
    return mag * rng.choice([-1.0, 1.0], 500)


@pytest.mark.parametrize("name", ["fp16", "fp32", "bf16"])
def test_float_format_equals_finfo(name):
    import ml_dtypes

    f = N.float_format(name)
    ref = ml_dtypes.finfo(ml_dtypes.bfloat16) if name == "bf16" else np.finfo(NP_DTYPES[name])
    assert (f.max, f.smallest_normal, f.smallest_subnormal, f.eps) == \
        (float(ref.max), float(ref.smallest_normal), float(ref.smallest_subnormal), float(ref.eps))
    assert f.bits == {"fp16": 16, "fp32": 32, "bf16": 16}[name]


@pytest.mark.torch
def test_bf16_format_equals_torch_finfo():
    from course_lib.frameworks import import_torch

    torch = import_torch(0)
    t, f = torch.finfo(torch.bfloat16), N.float_format("bf16")
    assert (t.max, t.smallest_normal, t.eps) == (f.max, f.smallest_normal, f.eps)


@pytest.mark.parametrize("name", ["fp16", "fp32"])
@pytest.mark.parametrize("seed", range(4))
def test_round_equals_numpy_cast(name, seed):
    x = np.concatenate([_random(seed, name), _edges(name)])
    with np.errstate(over="ignore"):
        theirs = x.astype(NP_DTYPES[name]).astype(np.float64)  # numpy casts float64 directly: one rounding
    assert np.array_equal(N.round_to_format(x, name), theirs)


@pytest.mark.torch
@pytest.mark.parametrize("seed", range(4))
def test_round_bf16_equals_torch_cast(seed):
    from course_lib.frameworks import import_torch

    torch = import_torch(0)
    x = np.concatenate([_random(seed, "bf16"), _edges("bf16")]).astype(np.float32)  # torch rounds from float32
    x = x[np.isfinite(x)]
    theirs = torch.tensor(x).to(torch.bfloat16).to(torch.float64).numpy()
    assert np.array_equal(N.round_to_format(x, "bf16"), theirs)


@pytest.mark.parametrize("name", ["fp16", "fp32"])
@pytest.mark.parametrize("seed", range(3))
def test_spacing_equals_np_spacing(name, seed):
    x = np.concatenate([_random(seed, name), _edges(name)])
    with np.errstate(over="ignore", invalid="ignore"):
        r = np.abs(x).astype(NP_DTYPES[name])
        keep = np.isfinite(r)
        theirs = np.spacing(r[keep]).astype(np.float64)
    assert np.array_equal(N.spacing(x[keep], name), theirs)


@pytest.mark.parametrize("seed", range(3))
def test_spacing_bf16_equals_ml_dtypes_nextafter(seed):
    import ml_dtypes

    x = np.abs(np.concatenate([_random(seed, "bf16"), _edges("bf16")])).astype(np.float32)
    r = x.astype(ml_dtypes.bfloat16)
    r = r[np.isfinite(r.astype(np.float64)) & (r.astype(np.float64) < N.float_format("bf16").max)]
    nxt = np.nextafter(r, np.array(np.inf, dtype=ml_dtypes.bfloat16))
    theirs = nxt.astype(np.float64) - r.astype(np.float64)
    assert np.array_equal(N.spacing(r.astype(np.float64), "bf16"), theirs)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-6e4, max_value=6e4), st.sampled_from(["fp16", "bf16", "fp32"]))
def test_rounding_error_at_most_half_a_step(x, name):
    r = float(N.round_to_format(x, name))
    assert abs(r - x) <= float(N.spacing(r, name)) / 2 or abs(r - x) <= float(N.spacing(x, name)) / 2
    assert float(N.round_to_format(r, name)) == r  # idempotent


def test_relative_spacing_is_about_eps():
    for name in N.FORMATS:
        f = N.float_format(name)
        x = 2.0 ** np.arange(-5, 10) * 1.37
        rel = N.spacing(x, name) / np.abs(N.round_to_format(x, name))
        assert np.all((rel > f.eps / 2) & (rel <= f.eps))


def test_bad_name_is_named():
    with pytest.raises(ValueError, match="name must be one of"):
        N.float_format("fp8")
