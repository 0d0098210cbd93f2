"""Unit and property tests for course_lib.lowrank: Eckart-Young, rank choices, data-aware SVD, Tucker-2, LoRA."""
import numpy as np
import pytest

from course_lib.lowrank import lora, svd, tucker


def _W(seed=0, shape=(12, 9)):
    return np.random.default_rng(seed).normal(size=shape)


@pytest.mark.parametrize("rank", [1, 2, 5, 9])
def test_eckart_young_errors_are_the_tail_of_the_spectrum(rank):
    W = _W(rank)
    A, B = svd.low_rank_factors(W, rank)
    s = np.linalg.svd(W, compute_uv=False)
    assert A.shape == (12, rank) and B.shape == (rank, 9)
    assert np.isclose(np.linalg.norm(W - A @ B) ** 2, np.sum(s[rank:] ** 2))
    assert np.isclose(np.linalg.norm(W - A @ B, 2), s[rank] if rank < len(s) else 0.0, atol=1e-10)


def test_no_random_rank_r_product_beats_the_svd():
    W, r = _W(3), 3
    best = np.linalg.norm(W - np.matmul(*svd.low_rank_factors(W, r)))
    rng = np.random.default_rng(0)
    for _ in range(200):  # random factors, and the SVD's factors perturbed
        P, Q = rng.normal(size=(12, r)), rng.normal(size=(r, 9))
        assert np.linalg.norm(W - P @ Q) > best
        A, B = svd.low_rank_factors(W, r)
        assert np.linalg.norm(W - (A + 1e-3 * rng.normal(size=A.shape)) @ B) >= best


def test_sign_rule_makes_largest_entry_of_each_left_vector_positive():
    U, s, Vt = svd.svd(_W(4))
    idx = np.argmax(np.abs(U), axis=0)
    assert np.all(U[idx, np.arange(U.shape[1])] > 0)
    U2, Vt2 = svd.svd_flip(-U, -Vt)
    np.testing.assert_array_equal(U2, U) and np.testing.assert_array_equal(Vt2, Vt)


def test_rank_for_energy_and_budget():
    W = np.diag([3.0, 2.0, 1.0])  # energies 9/14, 13/14, 1
    assert [svd.rank_for_energy(W, k) for k in (0.0, 0.5, 9 / 14, 0.65, 13 / 14, 0.99, 1.0)] == [1, 1, 1, 2, 2, 3, 3]
    assert svd.rank_for_budget(10, 20, 89) == 2 and svd.rank_for_budget(10, 20, 90) == 3
    assert svd.rank_for_budget(10, 20, 10_000) == 10 and svd.rank_for_budget(10, 20, 5) == 0
    assert svd.factored_params(10, 20, 3) == 100 and svd.factored_params(10, 20, 3, bias=False) == 90


def test_data_aware_svd_is_optimal_in_the_data_norm():
    rng = np.random.default_rng(1)
    W = rng.normal(size=(10, 8))
    X = rng.normal(size=(8, 200)) * np.array([10, 5, 1, 1, 0.1, 0.1, 0.1, 0.01])[:, None]  # uneven inputs
    for r in (1, 3, 6):
        A, B = svd.data_aware_factors(W, X, r, damp=0.0)
        Ap, Bp = svd.low_rank_factors(W, r)
        e_data, e_plain = np.linalg.norm((W - A @ B) @ X), np.linalg.norm((W - Ap @ Bp) @ X)
        assert e_data <= e_plain + 1e-9
        L = np.linalg.cholesky(X @ X.T)
        tail = np.linalg.svd(W @ L, compute_uv=False)[r:]
        assert np.isclose(e_data ** 2, np.sum(tail ** 2))  # the closed form of the whitened problem
        assert np.linalg.matrix_rank(A @ B) == r


def test_tucker2_full_rank_is_exact_and_error_falls_with_rank():
    K = np.random.default_rng(2).normal(size=(6, 4, 3, 3))
    core, Uo, Ui = tucker.tucker2(K, (6, 4))
    np.testing.assert_allclose(tucker.tucker2_reconstruct(core, Uo, Ui), K, atol=1e-10)
    errs = [np.linalg.norm(K - tucker.tucker2_reconstruct(*tucker.tucker2(K, (r, r)))) for r in (1, 2, 3, 4)]
    assert all(a >= b - 1e-12 for a, b in zip(errs, errs[1:]))
    np.testing.assert_allclose(Uo.T @ Uo, np.eye(6), atol=1e-10)
    assert tucker.tucker2_params(6, 4, 3, (3, 2)) == 4 * 2 + 2 * 3 * 9 + 3 * 6


def test_lora_starts_as_the_frozen_layer_and_merges():
    rng = np.random.default_rng(0)
    W, b, x = rng.normal(size=(5, 7)), rng.normal(size=5), rng.normal(size=(4, 7))
    A, B = lora.lora_init(5, 7, 2, seed=1)
    np.testing.assert_allclose(lora.lora_forward(x, W, b, A, B, 4), x @ W.T + b)
    B = rng.normal(size=B.shape)
    Wm = lora.lora_merge(W, A, B, 4)
    np.testing.assert_allclose(lora.lora_forward(x, W, b, A, B, 4), x @ Wm.T + b, atol=1e-12)
    assert lora.lora_params(5, 7, 2) == 24


def test_lora_grads_match_finite_differences():
    rng = np.random.default_rng(3)
    W, x = rng.normal(size=(4, 6)), rng.normal(size=(3, 6))
    A, B, dh = rng.normal(size=(2, 6)), rng.normal(size=(4, 2)), rng.normal(size=(3, 4))
    dA, dB, _ = lora.lora_grads(x, dh, W, A, B, 3.0)
    f = lambda A_, B_: np.sum(dh * lora.lora_forward(x, W, None, A_, B_, 3.0))
    eps = 1e-6
    for (i, j) in [(0, 0), (1, 5)]:
        E = np.zeros_like(A); E[i, j] = eps
        assert np.isclose((f(A + E, B) - f(A - E, B)) / (2 * eps), dA[i, j], atol=1e-6)
    E = np.zeros_like(B); E[3, 1] = eps
    assert np.isclose((f(A, B + E) - f(A, B - E)) / (2 * eps), dB[3, 1], atol=1e-6)


@pytest.mark.parametrize("call,match", [
    (lambda: svd.low_rank_factors(np.ones((3, 4)), 4), r"rank must be in \[1, 3\]"),
    (lambda: svd.low_rank_factors(np.ones(3), 1), "W must be 2-dimensional"),
    (lambda: svd.rank_for_energy(np.ones((2, 2)), 1.5), r"keep must be in \[0.0, 1.0\]"),
    (lambda: svd.rank_for_budget(0, 3, 10), "n_out must be >= 1"),
    (lambda: svd.data_aware_factors(np.ones((3, 4)), np.ones((5, 9)), 1), "X must be"),
    (lambda: svd.data_aware_factors(np.ones((3, 4)), np.ones((4, 9)), 1, damp=-1), "damp must be"),
    (lambda: tucker.tucker2(np.ones((3, 3)), (1, 1)), "K must be 4-dimensional"),
    (lambda: tucker.tucker2(np.ones((3, 2, 3, 3)), (1, 3)), r"ranks\[1\] must be in \[1, 2\]"),
    (lambda: tucker.tucker2(np.ones((3, 2, 3, 3)), 2), "ranks must be a pair"),
    (lambda: tucker.tucker2(np.ones((6, 5, 1, 1)), (6, 5)), r"ranks\[0\] must be <= 5"),
    (lambda: lora.lora_forward(np.ones((2, 3)), np.ones((4, 3)), None, np.ones((2, 3)), np.ones((4, 1)), 1), "A must be"),
    (lambda: lora.lora_forward(np.ones((2, 3)), np.ones((4, 3)), None, np.ones((2, 3)), np.ones((4, 2)), 0), "alpha must be"),
    (lambda: lora.lora_init(3, 3, 0), "r must be >= 1"),
    (lambda: tucker.unfold(np.ones((2, 3)), 2), "mode must be in"),
    (lambda: tucker.mode_dot(np.ones((2, 3)), np.ones((4, 2)), 1), "M must be a matrix with 3 columns"),
])
def test_bad_input_is_named(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
