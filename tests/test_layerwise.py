"""course_lib.pruning layer-wise methods: properties of gptq, sparsegpt, wanda_mask, nm_mask and obq.

The identities the lesson relies on: GPTQ's Cholesky sweep makes OBS's decisions in a fixed order (it
equals OBQ with the natural order), its lazy blocks change nothing, H = I gives round-to-nearest; each
greedy OBQ/OBC step is the exhaustive search over the next weight. Every rule is a case: the 2:4 group
counts, the tie rule, the reference's k + 1 per block, dead inputs, damping, and every argument's error.
"""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.pruning.gptq import column_order, dequantize_codes, gptq, rtn
from course_lib.core.layers import digits_cnn
from course_lib.core.nn import MLP
from course_lib.pruning.layerwise import (compress_layers, hessian_from_inputs, inverse_cholesky_upper, layer_error,
                                          layer_inputs, prepare_hessian)
from course_lib.pruning.nm_sparsity import nm_mask
from course_lib.pruning.obq import obc_prune, obq, obs_row
from course_lib.pruning.sparsegpt import block_prune_mask, sparsegpt
from course_lib.pruning.wanda import input_norms, wanda_mask, wanda_score
from course_lib.quantization.primitives import quantize


def _problem(out, d, seed, dead=()):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(2 * d, d)) @ rng.normal(size=(d, d)) / np.sqrt(d)
    X[:, list(dead)] = 0.0
    return rng.normal(size=(out, d)), hessian_from_inputs(X), X


def _grid(W, bits=4):
    q_min, q_max = -2 ** (bits - 1), 2 ** (bits - 1) - 1
    return np.abs(W).max(axis=1) / q_max, np.zeros(len(W), np.int64), q_min, q_max


# ---------------------------------------------------------------- shared pieces
def test_hessian_layer_error_and_cholesky_factor():
    W, H, X = _problem(5, 7, 0)
    np.testing.assert_allclose(H, 2 * X.T @ X / len(X), rtol=1e-12)
    W_hat = np.round(W)
    direct = np.mean(np.sum(((W - W_hat) @ X.T) ** 2, axis=0))
    np.testing.assert_allclose(layer_error(W, W_hat, H), direct, rtol=1e-10)
    U = inverse_cholesky_upper(H)
    assert np.allclose(U, np.triu(U)) and np.all(np.diag(U) > 0)
    np.testing.assert_allclose(U.T @ U, np.linalg.inv(H), rtol=1e-8, atol=1e-10)


def test_prepare_hessian_dead_inputs_and_damping():
    W, H, _ = _problem(3, 6, 1, dead=(2, 4))
    W2, H2 = prepare_hessian(W, H, damp=0.1)
    damp = 0.1 * np.mean(np.where(np.diag(H) == 0, 1.0, np.diag(H)))  # dead H_ii = 1 before the mean
    np.testing.assert_allclose(np.diag(H2)[[2, 4]], 1.0 + damp)
    np.testing.assert_allclose(np.diag(H2)[[0, 1, 3, 5]], np.diag(H)[[0, 1, 3, 5]] + damp)
    assert np.all(W2[:, [2, 4]] == 0) and np.array_equal(W2[:, [0, 1, 3, 5]], W[:, [0, 1, 3, 5]])
    assert np.all(H[[2, 4], [2, 4]] == 0)  # the inputs are not modified


def test_singular_hessian_without_damping_names_damp():
    W, H, _ = _problem(3, 6, 2)
    H = np.outer(H[0], H[0]) + 0.0  # rank 1, no zero on the diagonal
    with pytest.raises(ValueError, match="damp"):
        gptq(W, H, *_grid(W), damp=0.0)


# ---------------------------------------------------------------- GPTQ
@pytest.mark.parametrize("seed", range(4))
def test_gptq_codes_in_range_and_integer(seed):
    W, H, _ = _problem(12, 20, seed)
    scale, zp, q_min, q_max = _grid(W, 2)
    Q = gptq(W * 3, H, scale, zp + 1, q_min, q_max)  # 3x the range: many clamps
    assert Q.dtype == np.int64 and Q.shape == W.shape and Q.min() >= q_min and Q.max() <= q_max
    assert Q.min() == q_min and Q.max() == q_max


def test_gptq_identity_hessian_is_round_to_nearest():
    W, _, _ = _problem(16, 24, 3)
    scale, zp, q_min, q_max = _grid(W, 3)
    np.testing.assert_array_equal(gptq(W, np.eye(24), scale, zp, q_min, q_max), rtn(W, scale, zp, q_min, q_max))


def test_rtn_equals_course_quantize_per_channel():
    W, _, _ = _problem(8, 10, 4)
    scale, zp, q_min, q_max = _grid(W, 4)
    np.testing.assert_array_equal(rtn(W, scale, zp, q_min, q_max), quantize(W, scale, zp, q_min, q_max, axis=0))


@pytest.mark.parametrize("seed", range(3))
def test_gptq_lazy_blocks_change_nothing(seed):
    W, H, _ = _problem(10, 40, seed)
    grid = _grid(W, 3)
    ref = gptq(W, H, *grid, block_size=40)
    for b in (1, 3, 8, 128):
        np.testing.assert_array_equal(gptq(W, H, *grid, block_size=b), ref)


@pytest.mark.parametrize("seed", range(3))
def test_gptq_is_obs_in_natural_order(seed):
    """The Cholesky row U_j / U_jj is OBS's update with H_F^-1: GPTQ = OBQ with a fixed order."""
    W, H, _ = _problem(6, 16, seed)
    grid = _grid(W, 3)
    np.testing.assert_array_equal(gptq(W, H, *grid, block_size=4), obq(W, H, *grid, greedy=False))


@pytest.mark.parametrize("seed", range(10))
def test_gptq_error_below_rtn_on_random_layers(seed):
    W, H, _ = _problem(16, 32, seed)
    scale, zp, q_min, q_max = _grid(W, 3)
    e_gptq = layer_error(W, dequantize_codes(gptq(W, H, scale, zp, q_min, q_max), scale, zp), H)
    e_rtn = layer_error(W, dequantize_codes(rtn(W, scale, zp, q_min, q_max), scale, zp), H)
    assert e_gptq < e_rtn


def test_gptq_scale_of_h_and_dead_inputs():
    W, H, _ = _problem(8, 12, 5, dead=(0, 7))
    grid = _grid(W, 4)
    Q = gptq(W, H, *grid)
    np.testing.assert_array_equal(gptq(W, 4.0 * H, *grid), Q)  # damping is relative: H's scale is irrelevant
    np.testing.assert_array_equal(Q[:, [0, 7]], 0)  # W[:, dead] = 0 -> the zero point (0 here)


def test_gptq_one_group_equals_per_row_and_groups_use_own_grid():
    W, H, _ = _problem(6, 16, 6)
    scale, zp, q_min, q_max = _grid(W, 4)
    np.testing.assert_array_equal(gptq(W, H, scale[:, None], zp[:, None], q_min, q_max, group_size=16),
                                  gptq(W, H, scale, zp, q_min, q_max))
    np.testing.assert_array_equal(gptq(W, H, scale[:, None], zp[:, None], q_min, q_max, group_size=100),
                                  gptq(W, H, scale, zp, q_min, q_max))
    s2 = np.stack([scale, scale * 1e3], axis=1)  # group 2 (inputs 8..15): a huge step -> every code is zp
    Q = gptq(W, H, s2, np.full((6, 2), 3), q_min, q_max, group_size=8)
    assert np.all(Q[:, 8:] == 3) and not np.all(Q[:, :8] == 3)
    np.testing.assert_allclose(dequantize_codes(Q, s2, np.full((6, 2), 3), group_size=8)[:, 8:], 0.0)


def test_act_order_is_decreasing_diagonal_with_stable_ties():
    H = np.diag([1.0, 3.0, 2.0, 3.0, 0.5])
    np.testing.assert_array_equal(column_order(H, act_order=True), [1, 3, 2, 0, 4])
    np.testing.assert_array_equal(column_order(H), np.arange(5))
    W = np.random.default_rng(0).normal(size=(4, 5))
    np.testing.assert_array_equal(gptq(W, H, *_grid(W), act_order=True), gptq(W, H, *_grid(W)))  # H diagonal


# ---------------------------------------------------------------- n:m and Wanda
def test_nm_mask_ties_prune_the_lower_index_first():
    np.testing.assert_array_equal(nm_mask([1.0, 1.0, 1.0, 1.0], 2, 4), [False, False, True, True])
    np.testing.assert_array_equal(nm_mask([[2, 1, 1, 5, 0, 0, 0, 0]], 2, 4),
                                  [[True, False, False, True, False, False, True, True]])
    np.testing.assert_array_equal(nm_mask([3.0, -1.0, 2.0, 0.0], 2, 4), [True, False, True, False])


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(1, 4), st.data())
def test_nm_mask_keeps_the_n_largest_of_each_group(rows, groups, data):
    m = data.draw(st.integers(1, 8))
    n = data.draw(st.integers(0, m))
    scores = np.array(data.draw(st.lists(st.integers(-3, 3), min_size=rows * groups * m,
                                         max_size=rows * groups * m))).reshape(rows, groups * m)
    keep = nm_mask(scores, n, m)
    g_keep, g = keep.reshape(rows, groups, m), scores.reshape(rows, groups, m)
    assert np.all(g_keep.sum(-1) == n)
    kept_min = np.where(g_keep, g, np.inf).min(-1)
    pruned_max = np.where(g_keep, -np.inf, g).max(-1)
    assert np.all(kept_min >= pruned_max)


def test_wanda_row_counts_and_n_m_groups():
    rng = np.random.default_rng(0)
    W, x = rng.normal(size=(7, 24)), rng.uniform(0.1, 3, 24)
    for s in (0.0, 0.3, 0.5, 0.7, 0.99):
        assert np.all(wanda_mask(W, x, s).sum(axis=1) == 24 - int(24 * s))
    keep = wanda_mask(W, x, 0.5, n=2, m=4)
    assert np.all(keep.reshape(7, 6, 4).sum(-1) == 2)
    np.testing.assert_array_equal(keep, nm_mask(np.abs(W) * x, 2, 4))


def test_wanda_score_compares_within_rows():
    W = np.array([[1.0, 2.0], [10.0, 20.0]])
    np.testing.assert_array_equal(wanda_mask(W, np.array([3.0, 1.0]), 0.5), [[True, False], [True, False]])
    np.testing.assert_array_equal(wanda_score(W, [3.0, 1.0]), [[3.0, 2.0], [30.0, 20.0]])
    np.testing.assert_array_equal(wanda_mask(W, np.ones(2), 0.5), [[False, True], [False, True]])  # magnitude
    np.testing.assert_allclose(input_norms([[3.0, 0.0], [4.0, 1.0]]), [5.0, 1.0])


# ---------------------------------------------------------------- SparseGPT
@pytest.mark.parametrize("sparsity,block", [(0.5, 128), (0.5, 8), (0.7, 16), (0.0, 32)])
def test_sparsegpt_reference_count_and_exact_zeros(sparsity, block):
    W, H, _ = _problem(9, 32, 7)
    Wp, keep = sparsegpt(W, H, sparsity, block_size=block)
    assert keep.dtype == bool and np.all(Wp[~keep] == 0) and np.all(Wp[keep] != 0)
    for i1 in range(0, 32, block):  # the reference prunes floor(s * size) + 1 per block (continuous scores)
        size = keep[:, i1:i1 + block].size
        assert np.sum(~keep[:, i1:i1 + block]) == int(size * sparsity) + 1


def test_sparsegpt_block_rule_ties_prune_all_at_threshold():
    np.testing.assert_array_equal(block_prune_mask(np.array([[1.0, 2.0, 2.0, 3.0]]), 0.25),
                                  [[True, True, True, False]])


def test_sparsegpt_n_m_groups_and_identity_hessian():
    W, H, _ = _problem(8, 32, 8)
    Wp, keep = sparsegpt(W, H, 0.5, 2, 4, block_size=16)
    assert np.all(keep.reshape(8, 8, 4).sum(-1) == 2) and np.all(Wp[~keep] == 0)
    Wi, keep_i = sparsegpt(W, np.eye(32), 0.5, 2, 4)  # H = I: no correction, the 2:4 magnitude mask
    np.testing.assert_array_equal(keep_i, nm_mask(W ** 2, 2, 4))
    np.testing.assert_array_equal(Wi, W * keep_i)


@pytest.mark.parametrize("seed", range(5))
def test_sparsegpt_update_beats_its_own_mask_without_update(seed):
    W, H, _ = _problem(16, 64, seed)
    Wp, keep = sparsegpt(W, H, 0.5, block_size=16)
    assert layer_error(W, Wp, H) < layer_error(W, W * keep, H)


# ---------------------------------------------------------------- OBQ / OBC: each step is the exhaustive search
def _best_constrained(w0, H, fixed):
    """Return (loss, w): min (w - w0)^T H (w - w0) / 2 with w fixed on the dict `fixed`, by a linear solve."""
    free = [i for i in range(len(w0)) if i not in fixed]
    w = w0.copy()
    for i, t in fixed.items():
        w[i] = t
    f, c = np.array(free, int), np.array(list(fixed), int)
    if len(f):
        w[f] = w0[f] - np.linalg.solve(H[np.ix_(f, f)], H[np.ix_(f, c)] @ (w[c] - w0[c]))
    return (w - w0) @ H @ (w - w0) / 2, w


@pytest.mark.parametrize("seed", range(4))
def test_obq_each_greedy_step_is_the_exhaustive_search(seed):
    W, H, _ = _problem(1, 5, seed)
    _, H = prepare_hessian(W, H, 0.01)
    w0 = W[0]
    grid = lambda w: np.clip(np.rint(w / 0.4), -4, 3) * 0.4
    fixed = {}
    for step in range(5):
        w_obs, order = obs_row(w0, np.linalg.inv(H), step + 1, grid)
        prev = _best_constrained(w0, H, fixed)[1]
        cand = {q: _best_constrained(w0, H, {**fixed, q: grid(prev)[q]}) for q in range(5) if q not in fixed}
        best = min(cand, key=lambda q: cand[q][0])
        assert order[-1] == best
        np.testing.assert_allclose(w_obs, cand[best][1], rtol=1e-9, atol=1e-12)
        fixed[best] = grid(prev)[best]


def test_obc_removing_one_weight_is_the_exhaustive_optimum():
    W, H, _ = _problem(3, 6, 9)
    Wp, keep = obc_prune(W, H, 1 / 6)
    _, Hd = prepare_hessian(W, H, 0.01)
    for r in range(3):
        losses = [_best_constrained(W[r], Hd, {q: 0.0})[0] for q in range(6)]
        assert np.flatnonzero(~keep[r]).tolist() == [int(np.argmin(losses))]
        np.testing.assert_allclose(Wp[r], _best_constrained(W[r], Hd, {int(np.argmin(losses)): 0.0})[1], atol=1e-10)


def test_obc_two_removals_vs_all_pairs():
    """Greedy is not the global optimum: measured here, never better than the best pair."""
    W, H, _ = _problem(4, 6, 10)
    _, Hd = prepare_hessian(W, H, 0.01)
    Wp, keep = obc_prune(W, H, 2 / 6)
    for r in range(4):
        best = min(_best_constrained(W[r], Hd, {a: 0.0, b: 0.0})[0] for a, b in itertools.combinations(range(6), 2))
        greedy = (Wp[r] - W[r]) @ Hd @ (Wp[r] - W[r]) / 2
        assert greedy >= best - 1e-12 and np.sum(~keep[r]) == 2


@pytest.mark.parametrize("seed", range(5))
def test_obq_codes_in_range_and_below_rtn(seed):
    W, H, _ = _problem(6, 12, seed)
    scale, zp, q_min, q_max = _grid(W, 3)
    Q = obq(W, H, scale, zp, q_min, q_max)
    assert Q.dtype == np.int64 and Q.min() >= q_min and Q.max() <= q_max
    e = [layer_error(W, dequantize_codes(X, scale, zp), H) for X in (Q, rtn(W, scale, zp, q_min, q_max))]
    assert e[0] < e[1]


def test_obs_row_outlier_rule_fixes_the_largest_out_of_grid_weight_first():
    H_inv = np.linalg.inv(np.array([[2.0, 0.5, 0.0], [0.5, 2.0, 0.3], [0.0, 0.3, 1.0]]))
    grid = lambda w: np.clip(np.rint(w), -1, 1)  # noqa: E731
    w = np.array([0.9, 3.0, -2.2])  # errors 0.1, 2.0, 1.2: the last two are off the grid
    _, order = obs_row(w, H_inv, 3, grid)
    assert order[0] == 0  # greedy: the smallest saliency
    _, order = obs_row(w, H_inv, 3, grid, outlier=0.5)
    assert order[0] == 1  # the outlier rule: the largest error beyond 0.5 first


# ---------------------------------------------------------------- every argument's error names it
def _ok():
    W, H, _ = _problem(4, 8, 0)
    scale, zp, q_min, q_max = _grid(W, 4)
    return W, H, scale, zp, q_min, q_max


@pytest.mark.parametrize("kw,name", [
    (dict(W=np.ones(8)), "W"), (dict(H=np.ones((7, 7))), "H"), (dict(H=np.triu(np.ones((8, 8)))), "H"),
    (dict(H=-np.eye(8)), "H"), (dict(scale=np.ones(3)), "scale"), (dict(scale=-np.ones(4)), "scale"),
    (dict(zero_point=np.full(4, 0.5)), "zero_point"), (dict(zero_point=np.full(4, 99)), "zero_point"),
    (dict(q_min=7), "q_min"), (dict(q_max=1.5), "q_max"), (dict(block_size=0), "block_size"),
    (dict(damp=-0.1), "damp"), (dict(act_order="yes"), "act_order"), (dict(group_size=0), "group_size"),
    (dict(group_size=4), "scale"),
])
def test_gptq_errors_name_the_argument(kw, name):
    W, H, scale, zp, q_min, q_max = _ok()
    args = dict(W=W, H=H, scale=scale, zero_point=zp, q_min=q_min, q_max=q_max) | kw
    with pytest.raises((ValueError, TypeError), match=name):
        gptq(**args)


@pytest.mark.parametrize("kw,name", [
    (dict(W=np.ones((2, 3, 4))), "W"), (dict(H=np.ones((3, 3))), "H"), (dict(sparsity=1.0), "sparsity"),
    (dict(sparsity=-0.1), "sparsity"), (dict(n=2), "n and m"), (dict(n=2, m=3), "m"), (dict(n=5, m=4), "n"),
    (dict(n=1, m=4), "sparsity"), (dict(n=2, m=4, block_size=6), "block_size"), (dict(damp=np.nan), "damp"),
])
def test_sparsegpt_errors_name_the_argument(kw, name):
    W, H, *_ = _ok()
    args = dict(W=W, H=H, sparsity=0.5) | kw
    with pytest.raises((ValueError, TypeError), match=name):
        sparsegpt(**args)


@pytest.mark.parametrize("kw,name", [
    (dict(W=np.ones(8)), "W"), (dict(x_norm=np.ones(7)), "x_norm"), (dict(x_norm=-np.ones(8)), "x_norm"),
    (dict(sparsity=1.0), "sparsity"), (dict(m=4), "n and m"), (dict(n=2, m=3), "m"), (dict(n=-1, m=4), "n"),
])
def test_wanda_errors_name_the_argument(kw, name):
    args = dict(W=np.ones((3, 8)), x_norm=np.ones(8), sparsity=0.5) | kw
    with pytest.raises((ValueError, TypeError), match=name):
        wanda_mask(**args)


@pytest.mark.parametrize("args,name", [(([1.0, 2.0, 3.0], 1, 2), "m"), (([1.0, 2.0], 3, 2), "n"),
                                        (([1.0, 2.0], 1, 0), "m"), ((["a", "b"], 1, 2), "scores"),
                                        ((5.0, 1, 1), "scores")])
def test_nm_mask_errors_name_the_argument(args, name):
    with pytest.raises((ValueError, TypeError), match=name):
        nm_mask(*args)


@pytest.mark.parametrize("kw,name", [(dict(damp=-1.0), "damp"), (dict(scale=np.ones((4, 2))), "scale"),
                                     (dict(W=np.ones((4, 7))), "H")])
def test_obq_errors_name_the_argument(kw, name):
    W, H, scale, zp, q_min, q_max = _ok()
    args = dict(W=W, H=H, scale=scale, zero_point=zp, q_min=q_min, q_max=q_max) | kw
    with pytest.raises((ValueError, TypeError), match=name):
        obq(**args)
    if name != "scale":
        with pytest.raises((ValueError, TypeError), match=name):
            obc_prune(args["W"], args["H"], 0.5, damp=args.get("damp", 0.01))


@pytest.mark.parametrize("call,name", [
    (lambda: obs_row(np.ones(3), np.eye(2), 1, np.zeros_like), "h_inv"),
    (lambda: obs_row(np.ones(3), np.eye(3), 4, np.zeros_like), "n_steps"),
    (lambda: obs_row(np.ones(3), np.eye(3), 1, 0.0), "target"),
    (lambda: column_order(np.ones((2, 3))), "H"), (lambda: column_order(np.eye(2), act_order=1), "act_order"),
    (lambda: block_prune_mask(np.ones((2, 2)), 1.0), "sparsity"), (lambda: block_prune_mask([[np.nan]], 0.5), "scores"),
    (lambda: obq(*_ok(), greedy="yes"), "greedy"), (lambda: obc_prune(*_ok()[:2], 1.5), "sparsity"),
    (lambda: hessian_from_inputs(np.ones(3)), "X"), (lambda: input_norms(np.ones(3)), "X"),
    (lambda: layer_error(np.ones((2, 3)), np.ones((3, 2)), np.eye(3)), "W_hat"),
    (lambda: inverse_cholesky_upper(-np.eye(2)), "H"), (lambda: rtn(np.ones(3), 1.0, 0, -8, 7), "W"),
    (lambda: dequantize_codes(np.ones((2, 2)), np.ones(2), np.zeros(2)), "Q"),
    (lambda: wanda_score(np.ones((2, 2)), np.ones(3)), "x_norm"),
])
def test_helpers_errors_name_the_argument(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()


# ---------------------------------------------------------------- whole networks, layer by layer
def _nets():
    X = np.random.default_rng(1).uniform(0, 1, size=(6, 64))
    return [MLP([64, 12, 8, 10], activation="relu", seed=0), digits_cnn(seed=0)], X


def _pre_activations(model, X):
    """Each weighted layer's output before its activation, as (n, out, positions) or (n, out)."""
    model.forward(X, keep=True)
    if isinstance(model, MLP):
        return [z for z, _ in model.cache[1:]]
    ks = [k for k, layer in enumerate(model.layers) if getattr(layer, "has_params", False)]
    return [model.cache[k].reshape(len(X), model.cache[k].shape[1], -1) for k in ks]


def test_layer_inputs_reproduce_every_layer_dense_and_conv():
    nets, X = _nets()
    for net in nets:
        for l, z in enumerate(_pre_activations(net, X)):
            X_l, W = layer_inputs(net, X, l), net.W[l].reshape(net.W[l].shape[0], -1)
            y = X_l @ W.T + net.b[l]                                   # rows: image-major, position-minor
            y = y.reshape(len(X), -1, W.shape[0]).transpose(0, 2, 1) if z.ndim == 3 else y
            np.testing.assert_allclose(y, z, rtol=1e-10, atol=1e-12)
    assert layer_inputs(nets[1], X, 0).shape == (6 * 64, 9)          # conv 1: 64 positions, 1 x 3 x 3 patches


def test_compress_layers_identity_sign_flip_and_sequential_order():
    nets, X = _nets()
    for net in nets:
        before = [w.copy() for w in net.W]
        same, errs = compress_layers(net, X, lambda W, X_l: W)
        np.testing.assert_array_equal(same.forward(X), net.forward(X))
        assert errs == [0.0] * len(net.W)
        assert compress_layers(net, X, lambda W, X_l: -W)[1] == pytest.approx([4.0] * len(net.W))  # ||2 W X||^2 / ||W X||^2
        seen = []
        half, errs = compress_layers(net, X, lambda W, X_l: seen.append(X_l) or 0.5 * W)
        assert all(np.array_equal(a, b) for a, b in zip(net.W, before))  # the model itself is untouched
        assert errs == pytest.approx([0.25] * len(net.W))
        partly = net.copy()
        partly.W[0] = 0.5 * partly.W[0]
        np.testing.assert_array_equal(seen[1], layer_inputs(partly, X, 1))  # layer 1 sees the compressed layer 0
        assert not np.allclose(seen[1], layer_inputs(net, X, 1))
        assert [w.shape for w in half.W] == [w.shape for w in net.W]


@pytest.mark.parametrize("call,name", [
    (lambda n, X: layer_inputs("mlp", X, 0), "model"), (lambda n, X: layer_inputs(n, X[0], 0), "X"),
    (lambda n, X: layer_inputs(n, X, 3), "l"), (lambda n, X: layer_inputs(n, X, -1), "l"),
    (lambda n, X: compress_layers(n, X, "gptq"), "fn"), (lambda n, X: compress_layers(n, X, lambda W, X_l: W.T), "fn"),
    (lambda n, X: compress_layers(3, X, lambda W, X_l: W), "model"),
    (lambda n, X: compress_layers(n, np.full((2, 64), np.nan), lambda W, X_l: W), "X"),
])
def test_network_compression_errors_name_the_argument(call, name):
    nets, X = _nets()
    with pytest.raises((ValueError, TypeError), match=name):
        call(nets[0], X)
