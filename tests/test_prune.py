"""course_lib.pruning.prune: pruning loops keep their promises (counts, no mutation, schedule steps, shapes)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.pruning import prune as P
from course_lib.pruning.masks import magnitude_mask
from course_lib.core.nn import train, MLP, accuracy
from course_lib.pruning.schedules import ConstantSparsity, PolynomialDecay


def _data(n=60, n_in=6, n_out=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)), rng.integers(0, n_out, n)


def _model(sizes=(6, 8, 5, 3), act="relu", seed=1):
    return MLP(list(sizes), activation=act, seed=seed)


# ----------------------------------------------------------------- one-shot, iterative
@pytest.mark.parametrize("s", [0.0, 0.3, 0.5, 0.9, 1.0])
def test_one_shot_prunes_round_s_n_per_layer_and_leaves_input_alone(s):
    m = _model()
    before = [w.copy() for w in m.W]
    p = P.prune_one_shot(m, s)
    for w, w0, mask in zip(p.W, before, p.masks):
        assert np.sum(w == 0) == round(s * w.size)
        np.testing.assert_array_equal(mask, magnitude_mask(w0, s))
        np.testing.assert_array_equal(w, w0 * mask)
    for w, w0 in zip(m.W, before):
        np.testing.assert_array_equal(w, w0)
    assert all(mask is None for mask in m.masks)


def test_global_scope_ranks_all_layers_together():
    m = _model()
    m.W[0] = m.W[0] * 100.0  # one layer of much larger scale keeps everything under one threshold
    p = P.prune_one_shot(m, 0.5, scope="global")
    total = sum(w.size for w in p.W)
    assert sum(np.sum(w == 0) for w in p.W) == round(0.5 * total)
    assert np.mean(~p.masks[0]) < 0.1 and np.mean(~p.masks[1]) > 0.5 and np.mean(~p.masks[2]) > 0.5
    with pytest.raises(ValueError, match="rule must be 'torch'"):
        P.prune_one_shot(m, 0.5, scope="global", rule="tfmot")


def test_per_layer_sparsities_and_validation():
    m = _model()
    p = P.prune_one_shot(m, [0.0, 0.5, 0.25])
    assert [int(np.sum(w == 0)) for w in p.W] == [0, 20, round(0.25 * 15)]
    with pytest.raises(ValueError, match="one per pruned layer"):
        P.prune_one_shot(m, [0.1, 0.2])
    with pytest.raises(ValueError, match=r"sparsity must be in \[0.0, 1.0\]"):
        P.prune_one_shot(m, 1.5)
    with pytest.raises(ValueError, match=r"layers must be in \[0, 2\]"):
        P.prune_one_shot(m, 0.5, layers=[3])
    with pytest.raises(ValueError, match="scope must be one of"):
        P.prune_one_shot(m, 0.5, scope="model")


def test_iterative_prune_masks_are_nested_and_reach_each_target():
    X, y = _data()
    m = _model()
    final, steps = P.iterative_prune(m, X, y, [0.3, 0.6, 0.8], epochs=2, lr=0.05)
    assert len(steps) == 3
    for a, b in zip(steps[:-1], steps[1:]):
        for ma, mb in zip(a.masks, b.masks):
            assert not np.any(mb & ~ma), "a weight pruned earlier came back"
    for s, q in zip([0.3, 0.6, 0.8], steps):
        assert [int(np.sum(w == 0)) for w in q.W] == [round(s * w.size) for w in q.W]
    with pytest.raises(ValueError, match="increasing"):
        P.iterative_prune(m, X, y, [0.5, 0.3], epochs=1)


def test_train_keeps_pruned_weights_at_zero():
    X, y = _data()
    p = P.prune_one_shot(_model(), 0.7)
    train(p, X, y, epochs=3, lr=0.1)
    for w, mask in zip(p.W, p.masks):
        assert np.all(w[~mask] == 0)


# ----------------------------------------------------------------- gradual
def test_gradual_updates_exactly_on_schedule_steps_with_tfmot_counts():
    X, y = _data(n=50)
    sched = PolynomialDecay(0.0, 0.75, begin_step=3, end_step=23, frequency=4)
    model, hist = P.gradual_prune(_model(), X, y, sched, epochs=6, batch_size=10, lr=0.05)  # 30 steps
    assert [h[0] for h in hist] == P.update_steps(sched, 30) == [3, 7, 11, 15, 19, 23]
    assert [h[1] for h in hist] == [sched.sparsity(t) for t in [3, 7, 11, 15, 19, 23]]
    for w, mask in zip(model.W, model.masks):
        n = w.size
        assert np.sum(mask) == max(round(n * (1 - hist[-1][1])), 1)  # tfmot keep count (no ties here)
        assert np.all(w[~mask] == 0)


def test_gradual_first_batch_is_step_1_and_constant_sparsity_with_end_minus_1():
    X, y = _data(n=20)
    sched = ConstantSparsity(0.5, begin_step=0, frequency=1)
    _, hist = P.gradual_prune(_model(), X, y, sched, epochs=2, batch_size=10, rule="torch")
    assert [h[0] for h in hist] == [1, 2, 3, 4]
    assert all(h[2] == pytest.approx(0.5, abs=0.02) for h in hist)


def test_gradual_does_not_touch_its_input_and_validates():
    X, y = _data(n=20)
    m = _model()
    theta = m.get_flat()
    P.gradual_prune(m, X, y, ConstantSparsity(0.5, 0, frequency=2), epochs=1, batch_size=5)
    np.testing.assert_array_equal(m.get_flat(), theta)
    with pytest.raises(TypeError, match="schedule must be"):
        P.gradual_prune(m, X, y, 0.5, epochs=1)


def test_contrib_rule_differs_from_tfmot_modulo():
    # last_update starts at 0: with begin 5, freq 10 the first update is at 10, not 5, then every 10
    assert P.contrib_update_steps(40, begin_pruning_step=5, pruning_frequency=10) == [10, 20, 30, 40]
    assert P.update_steps(ConstantSparsity(0.5, 5, frequency=10), 40) == [5, 15, 25, 35]
    assert P.contrib_update_steps(40, begin_pruning_step=12, end_pruning_step=31, pruning_frequency=10) == [12, 22]
    assert P.contrib_update_steps(5, pruning_frequency=1) == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="pruning_frequency must be >= 1"):
        P.contrib_update_steps(5, pruning_frequency=0)


# ----------------------------------------------------------------- sensitivity
def test_sensitivity_prunes_one_layer_only_and_matches_manual():
    X, y = _data()
    m = _model()
    train(m, X, y, epochs=5, lr=0.1)
    sp = [0.0, 0.5, 0.9]
    curves = P.sensitivity_analysis(m, sp, X, y)
    assert curves.shape == (3, 3)
    assert np.all(curves[:, 0] == accuracy(m, X, y))
    for layer in range(3):
        manual = m.copy()
        manual.W[layer] = manual.W[layer] * magnitude_mask(manual.W[layer], 0.9)
        assert curves[layer, 2] == accuracy(manual, X, y)
        np.testing.assert_array_equal(curves[layer], P.layer_sensitivity(m, layer, sp, X, y))


@pytest.mark.parametrize("scores, expected, baseline", [
    ([0.98, 0.975, 0.97, 0.95, 0.97], 0.7, 0.98),   # stops at the first failure, ignores the later recovery
    ([0.90, 0.99, 0.99, 0.99, 0.99], 0.0, 0.98),    # first point already fails
    ([0.99, 0.99, 0.99, 0.99, 0.99], 0.9, 0.98),
    ([0.98, 0.97, 0.969, 0.99, 0.99], 0.5, 0.98),   # exactly baseline - max_drop passes (>=), 0.969 fails
    ([0.975, 0.965, 0.9, 0.99, 0.99], 0.5, 0.975),   # 0.975 - 0.01 is 0.9650000000000001 in floats: still a pass
])
def test_largest_safe_sparsity(scores, expected, baseline):
    assert P.largest_safe_sparsity([0.1, 0.5, 0.7, 0.8, 0.9], scores, baseline=baseline, max_drop=0.01) == \
        pytest.approx(expected)


def test_largest_safe_sparsity_validates_and_targets_per_layer():
    with pytest.raises(ValueError, match="strictly increasing"):
        P.largest_safe_sparsity([0.5, 0.1], [1, 1], 1.0, 0.01)
    with pytest.raises(ValueError, match="same length"):
        P.largest_safe_sparsity([0.1, 0.5], [1.0], 1.0, 0.01)
    assert P.targets_from_sensitivity(np.array([[1.0, 1.0], [1.0, 0.5]]), [0.5, 0.9], 1.0, 0.01) == [0.9, 0.5]


# ----------------------------------------------------------------- structured removal
@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_remove_neurons_equals_zeroing_their_outgoing_weights(act):
    X, _ = _data()
    m = _model(act=act)
    keep = np.array([True, False, True, True, False, False, True, True])
    small = P.remove_neurons(m, 0, keep)
    assert small.sizes == [6, 5, 5, 3] and small.W[0].shape == (5, 6) and small.W[1].shape == (5, 5)
    assert small.b[0].shape == (5,) and small.n_params == m.n_params - 3 * (6 + 1 + 5)
    zeroed = m.copy()
    zeroed.W[1][:, ~keep] = 0.0  # a removed neuron's output is simply never read
    np.testing.assert_allclose(small.forward(X), zeroed.forward(X), atol=1e-12)
    np.testing.assert_array_equal(P.remove_neurons(m, 0, np.flatnonzero(keep)).W[1], small.W[1])
    assert m.sizes == [6, 8, 5, 3] and m.W[0].shape == (8, 6)


def test_remove_neurons_slices_masks_and_validates():
    m = P.prune_one_shot(_model(), 0.5)
    small = P.remove_neurons(m, 1, [4, 0, 2])
    assert small.masks[1].shape == (3, 8) and small.masks[2].shape == (3, 3)
    np.testing.assert_array_equal(small.masks[1], m.masks[1][[0, 2, 4]])
    np.testing.assert_array_equal(small.W[2], m.W[2][:, [0, 2, 4]])
    with pytest.raises(ValueError, match="hidden layer"):
        P.remove_neurons(m, 2, [0])
    with pytest.raises(ValueError, match="distinct neuron indices"):
        P.remove_neurons(m, 0, [0, 0])
    with pytest.raises(ValueError, match="distinct neuron indices"):
        P.remove_neurons(m, 0, [8])
    with pytest.raises(ValueError, match="bool vector of length 8"):
        P.remove_neurons(m, 0, np.ones(7, bool))


def test_prune_neurons_removes_smallest_l1_rows_per_hidden_layer():
    m = _model()
    norms0 = P.neuron_norms(m, 0)
    small = P.prune_neurons(m, 0.5)
    assert small.sizes == [6, 4, 5 - round(0.5 * 5), 3]  # torch: prune round(2.5) = 2, keep 3
    kept = np.sort(np.argsort(norms0, kind="stable")[4:])
    np.testing.assert_array_equal(small.W[0], m.W[0][kept])
    with pytest.raises(ValueError, match="every neuron"):
        P.prune_neurons(m, 1.0)
    # greedy: layer 1 is ranked without the removed inputs, so its choice can differ
    greedy = P.prune_neurons(m, 0.5, strategy="greedy")
    norms1 = np.abs(m.W[1][:, kept]).sum(axis=1)
    np.testing.assert_array_equal(greedy.W[1], m.W[1][np.sort(np.argsort(norms1, kind="stable")[2:])][:, kept])
    indep = np.sort(np.argsort(np.abs(m.W[1]).sum(axis=1), kind="stable")[2:])
    np.testing.assert_array_equal(small.W[1], m.W[1][indep][:, kept])


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 20), st.integers(1, 20), st.integers(1, 3), st.integers(0, 3000))
def test_matching_width_is_the_largest_within_budget(n_in, n_out, depth, budget):
    h = P.matching_width(n_in, n_out, depth, budget)
    if h > 0:
        assert P.dense_weight_count([n_in] + [h] * depth + [n_out]) <= budget
    assert P.dense_weight_count([n_in] + [h + 1] * depth + [n_out]) > budget


@settings(max_examples=30, deadline=None)
@given(st.floats(0.0, 1.0), st.integers(0, 50))
def test_one_shot_count_property(s, seed):
    m = _model(seed=seed)
    p = P.prune_one_shot(m, s, rule="torch")
    assert P.pruned_fraction(p) == pytest.approx(sum(round(s * w.size) for w in m.W) / sum(w.size for w in m.W))
