"""Property tests (hypothesis) for the invariants of sparsity, masks and schedules."""
import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from course_lib.pruning.masks import apply_mask, block_mask, global_magnitude_masks, magnitude_mask, structured_mask, threshold_mask
from course_lib.pruning.schedules import ConstantSparsity, PolynomialDecay
from course_lib.pruning.sparsity import density, l0_norm, sparsity, sparsity_report

finite = st.floats(-1e3, 1e3, allow_nan=False, width=32)
weights = arrays(np.float32, array_shapes(min_dims=1, max_dims=3, max_side=9), elements=finite)
matrices = arrays(np.float32, array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12), elements=finite)
fractions = st.floats(0.0, 1.0)
below_one = st.floats(0.0, 0.999)


@given(weights)
def test_sparsity_density_and_l0_add_up(w):
    assert l0_norm(w) == np.count_nonzero(w)
    assert np.isclose(sparsity(w) + density(w), 1.0) and np.isclose(density(w), l0_norm(w) / w.size)


@given(weights, fractions)
def test_torch_rule_prunes_exactly_round_s_n_of_the_smallest(w, s):
    m = magnitude_mask(w, s)
    assert m.shape == w.shape and m.dtype == bool
    assert (~m).sum() == round(s * w.size)
    if m.any() and (~m).any():
        assert np.abs(w[m]).min() >= np.abs(w[~m]).max()


@given(weights, below_one)
def test_tfmot_rule_keeps_at_least_k_and_all_ties(w, s):
    m = magnitude_mask(w, s, rule="tfmot")
    k = max(int(np.round(np.float32(w.size) * (np.float32(1) - np.float32(s)))), 1)
    assert m.sum() >= k and m.any()
    kept_min = np.abs(w[m]).min()
    assert np.all(np.abs(w[~m]) < kept_min)  # nothing tied with a kept weight was pruned


@given(weights, fractions)
def test_masking_is_idempotent(w, s):
    once = apply_mask(w, magnitude_mask(w, s))
    assert np.array_equal(apply_mask(once, magnitude_mask(once, s)), once)
    assert sparsity(once) >= s - 0.5 / w.size - 1e-12  # at least round(s n) zeros


@given(weights, fractions, fractions)
def test_masks_are_nested_as_sparsity_grows(w, s1, s2):
    lo, hi = sorted((s1, s2))
    assert not np.any(magnitude_mask(w, hi) & ~magnitude_mask(w, lo))


@given(weights, st.floats(0.0, 1e3))
def test_threshold_mask_is_strict(w, t):
    m = threshold_mask(w, t)
    assert np.array_equal(m, np.abs(w) > t)


@given(st.lists(weights, min_size=1, max_size=4), fractions)
def test_global_masks_prune_round_s_total(ws, s):
    masks = global_magnitude_masks(ws, s)
    total = sum(w.size for w in ws)
    assert sum((~m).sum() for m in masks) == round(s * total)
    assert [m.shape for m in masks] == [w.shape for w in ws]


@given(matrices, fractions, st.sampled_from([0, 1, -1]), st.sampled_from([1, 2]))
def test_structured_masks_remove_whole_slices(w, s, axis, p):
    m = structured_mask(w, s, axis=axis, p=p)
    per_slice = np.moveaxis(m, axis, 0).reshape(w.shape[axis], -1)
    assert np.all(per_slice.all(axis=1) | ~per_slice.any(axis=1))  # each slice all kept or all pruned
    assert (~per_slice[:, 0]).sum() == round(s * w.shape[axis])


@given(matrices, below_one, st.integers(1, 4), st.integers(1, 4))
def test_block_masks_are_constant_on_aligned_blocks(w, s, bh, bw):
    m = block_mask(w, s, (bh, bw))
    assert m.shape == w.shape and m.any()
    for i in range(0, w.shape[0], bh):
        for j in range(0, w.shape[1], bw):
            blk = m[i:i + bh, j:j + bw]
            assert blk.all() or not blk.any()


@given(st.floats(0.0, 0.99), st.floats(0.0, 0.99), st.integers(0, 50), st.integers(1, 200),
       st.floats(0.5, 5.0), st.integers(1, 20))
@settings(max_examples=60)
def test_polynomial_decay_moves_monotonically_from_s_i_to_s_f(s_i, s_f, begin, length, power, freq):
    sched = PolynomialDecay(s_i, s_f, begin, begin + length, power=power, frequency=freq)
    values = [sched(t)[1] for t in range(0, begin + length + 5)]
    diffs = np.diff(values)
    assert np.all(diffs >= -1e-7) if s_f >= s_i else np.all(diffs <= 1e-7)
    assert np.isclose(values[0], s_i, atol=1e-6) and np.isclose(values[-1], s_f, atol=1e-6)
    prune_steps = [t for t in range(begin + length + 5) if sched(t)[0]]
    assert prune_steps[0] == begin and all((t - begin) % freq == 0 for t in prune_steps)
    assert prune_steps[-1] <= begin + length


@given(st.floats(0.0, 0.99), st.integers(0, 30), st.integers(1, 10))
def test_constant_sparsity_never_stops_when_end_is_minus_1(s, begin, freq):
    sched = ConstantSparsity(s, begin, frequency=freq)
    steps = [t for t in range(begin + 10 * freq + 1) if sched(t)[0]]
    assert steps == list(range(begin, begin + 10 * freq + 1, freq))


@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), weights, min_size=1))
def test_report_total_is_size_weighted(params):
    rep = sparsity_report(params)
    zeros = sum(w.size - np.count_nonzero(w) for w in params.values())
    assert np.isclose(rep["total"].sparsity, zeros / sum(w.size for w in params.values()))
    assume(len(params) > 0)
