"""The fast kernels behind `course.py bench --kernels` equal their plain definitions exactly.

magnitude masks (np.partition + tie rule) == a stable argsort; fake-quantize's float32 path == the
integer path; int_matmul (float32 BLAS in exact chunks) == numpy's int64 matmul; kd_loss in float32
== kd_loss in float64 to float32 precision.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from course_lib.distillation import kd as D
from course_lib.quantization import primitives as Q
from course_lib.pruning.masks import global_magnitude_masks, magnitude_mask


def _stable_mask(w, k):
    keep = np.ones(w.size, dtype=bool)
    keep[np.argsort(np.abs(w).reshape(-1), kind="stable")[:k]] = False
    return keep.reshape(w.shape)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-4, 4), min_size=1, max_size=80), st.floats(0, 1))
def test_magnitude_mask_equals_a_stable_argsort_with_ties(values, s):
    w = np.array(values, dtype=np.float32)
    assert np.array_equal(magnitude_mask(w, s), _stable_mask(w, int(round(s * w.size))))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=60), st.floats(0, 1))
def test_tfmot_rule_equals_a_full_sort(values, s):
    w = np.array(values, dtype=np.float32)
    a = np.abs(w)
    k = int(max(np.round(np.float32(w.size) * (np.float32(1) - np.float32(s))), 1))
    assert np.array_equal(magnitude_mask(w, s, rule="tfmot"), a >= np.sort(a)[::-1][k - 1])


def test_global_masks_equal_a_stable_argsort_over_the_concatenation():
    rng = np.random.default_rng(1)
    ws = [rng.integers(-3, 4, size=(7, 5)).astype(np.float32), rng.integers(-3, 4, size=11).astype(np.float64)]
    got = global_magnitude_masks(ws, 0.45)
    flat = np.concatenate([w.reshape(-1) for w in ws])
    expected = _stable_mask(flat, round(0.45 * flat.size))
    assert np.array_equal(np.concatenate([g.reshape(-1) for g in got]), expected)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_fake_quantize_float32_path_equals_the_integer_path(axis):
    rng = np.random.default_rng(3)
    x = rng.normal(0, 4, size=(40, 30)).astype(np.float32)
    x[0, :5] = [1e30, -1e30, 0.0, -0.0, -1e-9]  # far outside the range, both zeros, a value rounding to -0
    n = None if axis is None else x.shape[axis]
    scale = np.float32(0.05) if n is None else rng.uniform(0.02, 0.2, n).astype(np.float32)
    zp = 7 if n is None else rng.integers(-20, 20, n)
    got = Q.fake_quantize(x, scale, zp, -128, 127, axis=axis, rule="torch")
    q = Q.quantize(np.clip(x, -1e6, 1e6), scale, zp, -128, 127, axis=axis, rule="torch")  # int path, no cast overflow
    shape = [1] * 2
    if axis is not None:
        shape[axis] = -1
    expected = ((q - np.reshape(zp, shape)).astype(np.float32) * np.reshape(np.float32(scale), shape))
    assert got.dtype == np.float32 and np.array_equal(got.view(np.int32), expected.view(np.int32))


@pytest.mark.parametrize("n, k, m, lo, hi", [(5, 7, 3, -128, 128), (9, 3000, 4, -128, 128),
                                             (4, 600, 5, -255, 256), (3, 5, 2, -2 ** 20, 2 ** 20)])
def test_int_matmul_is_exact(n, k, m, lo, hi):
    rng = np.random.default_rng(k)
    a = rng.integers(lo, hi, size=(n, k))
    b = rng.integers(lo, hi, size=(k, m))
    a[0] = hi - 1  # the largest sums: K * max|a| * max|b|, well above 2^24 when K = 3000
    b[:, 0] = hi - 1
    got = Q.int_matmul(a, b)
    assert got.dtype == np.int64 and np.array_equal(got, a.astype(object).dot(b.astype(object)).astype(np.int64))


def test_requantize_per_channel_equals_one_channel_at_a_time():
    rng = np.random.default_rng(0)
    acc = rng.integers(-2 ** 20, 2 ** 20, size=(50, 6))
    M = rng.uniform(1e-5, 0.9, 6)
    for rounding in ("single", "double"):
        got = Q.requantize(acc, M, 3, rounding=rounding)
        for o in range(6):
            col = Q.multiply_by_quantized_multiplier(acc[:, o], *Q.quantize_multiplier(M[o]), rounding)
            assert np.array_equal(got[:, o], np.clip(col + 3, -128, 127))


@pytest.mark.parametrize("T, alpha", [(1.0, 0.5), (4.0, 0.9), (2.0, 1.0)])
def test_kd_loss_in_float32_equals_float64_to_float32_precision(T, alpha):
    rng = np.random.default_rng(2)
    z, t = rng.normal(0, 3, (64, 10)), rng.normal(0, 3, (64, 10))
    y = rng.integers(0, 10, 64)
    l64, g64 = D.kd_loss(z, t, y, T, alpha, return_grad=True)
    l32, g32 = D.kd_loss(z.astype(np.float32), t.astype(np.float32), y, T, alpha, return_grad=True)
    assert g32.dtype == np.float32 and g64.dtype == np.float64
    assert abs(l32 - l64) <= 1e-5 * max(1.0, l64) and np.max(np.abs(g32 - g64)) <= 1e-6  # float32 rounding
