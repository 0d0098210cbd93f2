"""Observers equal torch's where torch has a twin; the others minimise what they claim to."""
import warnings

import numpy as np
import pytest

from course_lib.quantization import observers as O
from course_lib.quantization.primitives import qparams


def _batches(seed, n=4, shape=(64, 8)):
    rng = np.random.default_rng(seed)
    return [rng.normal(0.2 * i, 1 + i, shape).astype(np.float32) for i in range(n)]


def _torch_observer(name, **kw):
    from course_lib.frameworks import import_torch

    torch = import_torch(0)
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # torch.ao.quantization: an oracle only
    from torch.ao.quantization import observer

    return torch, getattr(observer, name)(**kw)


@pytest.mark.torch
@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("name, ours", [("MinMaxObserver", O.MinMaxObserver),
                                        ("MovingAverageMinMaxObserver", O.MovingAverageObserver)])
def test_per_tensor_observers_equal_torch(name, ours, symmetric):
    torch, theirs = _torch_observer(name, dtype=torch_dtype("qint8"),
                                    qscheme=torch_scheme(symmetric, per_channel=False))
    mine = ours(symmetric=symmetric)
    for x in _batches(1):
        theirs(torch.tensor(x))
        mine.observe(x)
    s, z = theirs.calculate_qparams()
    scale, zp = mine.qparams()
    assert zp == int(z) and abs(scale - float(s)) <= 1e-6 * float(s)


@pytest.mark.torch
@pytest.mark.parametrize("symmetric", [False, True])
def test_per_channel_observer_equals_torch(symmetric):
    torch, theirs = _torch_observer("PerChannelMinMaxObserver", ch_axis=1, dtype=torch_dtype("qint8"),
                                    qscheme=torch_scheme(symmetric, per_channel=True))
    mine = O.MinMaxObserver(symmetric=symmetric, axis=1)
    for x in _batches(2):
        theirs(torch.tensor(x))
        mine.observe(x)
    s, z = theirs.calculate_qparams()
    scale, zp = mine.qparams()
    assert np.array_equal(zp, z.numpy()) and np.allclose(scale, s.numpy(), rtol=1e-6, atol=0)


def torch_dtype(name):
    import torch
    return getattr(torch, name)


def torch_scheme(symmetric, per_channel):
    import torch
    return getattr(torch, f"per_{'channel' if per_channel else 'tensor'}_{'symmetric' if symmetric else 'affine'}")


def _heavy_tailed(seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(0, 1, 5000), [40.0, -35.0]]).astype(np.float32)  # two outliers


def test_percentile_observer_is_numpys_percentile():
    x = _heavy_tailed()
    obs = O.PercentileObserver(percentile=99.9)
    obs.observe(x[:2000]); obs.observe(x[2000:])
    lo, hi = obs.range()
    assert np.isclose(lo, np.percentile(x, 0.1)) and np.isclose(hi, np.percentile(x, 99.9))


@pytest.mark.parametrize("bits", [8, 4])
def test_mse_observer_minimises_the_error_it_claims_to(bits):
    x = _heavy_tailed(bits)
    obs = O.MSEObserver(bits=bits, grid=50)
    obs.observe(x)
    best = obs.mse(*obs.range())
    lo, hi = x.min(), x.max()
    assert all(best <= obs.mse(f * lo, f * hi) + 1e-15 for f in np.arange(1, 51) / 50)
    assert best < obs.mse(lo, hi)  # the outliers make clipping worth it


@pytest.mark.parametrize("cls", [O.MSEObserver, O.KLObserver, O.PercentileObserver])
def test_the_chosen_range_scales_with_the_data(cls):
    x = _heavy_tailed(3)
    a, b = cls(), cls()
    a.observe(x); b.observe(8.0 * x)  # a power of two: exact in float32
    (lo_a, hi_a), (lo_b, hi_b) = a.range(), b.range()
    assert np.isclose(8 * lo_a, lo_b, rtol=1e-5) and np.isclose(8 * hi_a, hi_b, rtol=1e-5)
    assert a.qparams()[1] == b.qparams()[1]


def test_kl_observer_clips_outliers_and_keeps_the_bulk():
    x = _heavy_tailed(4)
    obs = O.KLObserver()
    obs.observe(x)
    lo, hi = obs.range()
    assert lo == -hi and np.percentile(np.abs(x), 99) <= hi < np.abs(x).max()


def test_observers_validate_and_need_data():
    with pytest.raises(RuntimeError, match="observe at least one batch"):
        O.MinMaxObserver().qparams()
    with pytest.raises(ValueError, match=r"percentile must be in \[50, 100\]"):
        O.PercentileObserver(percentile=20)
    with pytest.raises(ValueError, match=r"bits must be in \[2, 16\]"):
        O.MinMaxObserver(bits=1)
    with pytest.raises(ValueError, match="x contains NaN"):
        O.MinMaxObserver().observe([np.nan])


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_kl_observer_level_count_matches_the_grid(bits):
    """Non-negative data on an affine grid: 2^bits levels on [0, t]; a symmetric grid (or signed data):
    2^(bits-1), TensorRT's signed int8 count (Migacz 2017)."""
    relu = np.abs(_heavy_tailed(1))
    affine, sym, signed = (O.KLObserver(bits=bits, symmetric=False), O.KLObserver(bits=bits),
                           O.KLObserver(bits=bits, symmetric=False))
    affine.observe(relu)
    sym.observe(relu)
    signed.observe(_heavy_tailed(1))
    assert (affine.levels(), sym.levels(), signed.levels()) == (2 ** bits, 2 ** (bits - 1), 2 ** (bits - 1))
    assert affine.range()[0] == 0 and sym.range()[0] == 0


def test_kl_observer_with_matched_levels_keeps_uniform_data_unclipped():
    """Uniform non-negative data at 4 bits: with the 16 levels of [0, t] the least KL clips almost nothing
    (t >= 90 % of the max); with only 8 levels (the old bug) it would clip much harder."""
    x = np.random.default_rng(0).uniform(0, 1, 20000)
    obs = O.KLObserver(bits=4, symmetric=False)
    obs.observe(x)
    assert obs.range()[1] >= 0.9
    with pytest.raises(ValueError, match="bins must be >= the 256 grid levels"):
        bad = O.KLObserver(bits=8, symmetric=False, bins=200)
        bad.observe(x)
        bad.range()


def test_kl_observer_zero_spike_and_skip_zeros():
    """ReLU outputs: 60 % exact zeros. Merged into Q's first level, the spike drives KL to a tiny threshold;
    counted apart (skip_zeros=True, 0 is on every grid) the threshold keeps the bulk."""
    rng = np.random.default_rng(0)
    x = np.maximum(rng.normal(-0.3, 1.0, 20000), 0.0)
    plain, apart = O.KLObserver(bits=4, symmetric=False), O.KLObserver(bits=4, symmetric=False, skip_zeros=True)
    plain.observe(x)
    apart.observe(x)
    assert np.mean(x == 0) > 0.55
    assert plain.range()[1] < 0.5 * apart.range()[1] and apart.range()[1] > np.percentile(x, 95)
    with pytest.raises(TypeError, match="skip_zeros must be True or False"):
        O.KLObserver(skip_zeros="yes")
