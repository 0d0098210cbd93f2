"""Low-rank factorisation of a dense layer: truncated SVD, rank by energy or budget, data-aware SVD.

A dense layer y = W x (W is (out, in)) becomes two layers y = A (B x), A (out, r), B (r, in): r (out + in)
parameters and multiply-accumulates per input instead of out * in. By Eckart and Young (1936, "The
approximation of one matrix by another of lower rank", Psychometrika), A B = U_r diag(s_r) V_r^T is the
best rank-r approximation in the Frobenius and the spectral norm, with errors
    ||W - A B||_F^2 = sum_{i > r} s_i^2,   ||W - A B||_2 = s_{r+1}.

Signs: singular vectors are unique only up to a sign per pair (u_i, v_i). The course fixes it as
scikit-learn's `svd_flip` does: the entry of largest |value| in each column of U is made positive
(and v_i flipped with it), so the factors are the same whichever SVD routine computed them.
"""
import numpy as np

from ..core import validation as v
from ..core.validation import Array, Boolean, Fraction, Integer, Real, validate

MATRIX, SIZE = Array(ndim=2), Integer(minimum=1)  # W (out, in); a layer width or a rank


def _matrix(W):
    return np.asarray(W).astype(np.float64)


@validate(U=MATRIX, Vt=MATRIX)
def svd_flip(U, Vt):
    """Return (U, Vt) with each column of U's largest-|.| entry made positive (scikit-learn's rule)."""
    U, Vt = np.array(U, dtype=np.float64), np.array(Vt, dtype=np.float64)
    if Vt.shape[0] != U.shape[1]:
        raise ValueError(f"Vt must have one row per column of U ({U.shape[1]}), got shape {Vt.shape}")
    signs = np.sign(U[np.argmax(np.abs(U), axis=0), np.arange(U.shape[1])])
    signs[signs == 0] = 1.0
    return U * signs, Vt * signs[:, None]


@validate(W=MATRIX)
def svd(W):
    """Return U, s, Vt of W (thin SVD, singular values descending) with the course's sign rule."""
    U, s, Vt = np.linalg.svd(_matrix(W), full_matrices=False)
    U, Vt = svd_flip(U, Vt)
    return U, s, Vt


def _rank(rank, W):
    return v.integer(rank, "rank", minimum=1, maximum=min(W.shape))  # at most W's smaller side


@validate(W=MATRIX, rank=SIZE)
def low_rank_factors(W, rank):
    """Return (A, B), A (out, rank) and B (rank, in), with A @ B the best rank-`rank` approximation of W.

    A = U_r diag(sqrt(s_r)), B = diag(sqrt(s_r)) V_r^T (Eckart & Young 1936): the singular values are
    split evenly, so the two new layers have the same scale and train stably with one learning rate
    (with A = U_r diag(s_r), B = V_r^T, fine-tuning the digits MLP at lr 0.05 diverged).
    """
    W = _matrix(W)
    r = _rank(rank, W)
    U, s, Vt = svd(W)
    root = np.sqrt(s[:r])
    return U[:, :r] * root, root[:, None] * Vt[:r]


@validate(s=Array(ndim=1, nonnegative=True))
def energy(s):
    """Return the cumulative energy sum_{i<=r} s_i^2 / sum_i s_i^2 for r = 1 .. len(s)."""
    s = np.asarray(s).astype(np.float64)
    total = np.sum(s ** 2)
    return np.cumsum(s ** 2) / total if total > 0 else np.ones_like(s)


@validate(W=MATRIX, keep=Fraction())
def rank_for_energy(W, keep):
    """Return the smallest r whose rank-r SVD keeps at least `keep` of W's energy (sum of s_i^2)."""
    e = energy(svd(W)[1])
    return int(np.searchsorted(e, keep - 1e-12) + 1)


@validate(n_out=SIZE, n_in=SIZE, rank=SIZE, bias=Boolean())
def factored_params(n_out, n_in, rank, bias=True):
    """Return the parameters of the factored layer: rank (n_out + n_in) (+ n_out for the bias)."""
    rank = v.integer(rank, "rank", minimum=1, maximum=min(n_out, n_in))  # at most the smaller width
    return rank * (n_out + n_in) + (n_out if bias else 0)


@validate(n_out=SIZE, n_in=SIZE, budget=Integer(minimum=0))
def rank_for_budget(n_out, n_in, budget):
    """Return the largest rank r with r (n_out + n_in) <= budget weights (0 if none fits)."""
    return min(budget // (n_out + n_in), n_out, n_in)


@validate(W=MATRIX, X=MATRIX, rank=SIZE, damp=Real(low=0.0))
def data_aware_factors(W, X, rank, damp=1e-6):
    """Return (A, B) minimising ||(W - A B) X||_F over rank-`rank` products; X is (in, n) inputs.

    With C = X X^T + damp mean(diag) I = L L^T (Cholesky), ||(W - W') X||_F = ||(W - W') L||_F, so the
    best W' is the truncated SVD of W L mapped back: W L = U S V^T, W' = U_r S_r V_r^T L^{-1}
    (the whitening of the SVD-LLM line of work: Wang et al. 2025, "SVD-LLM", ICLR).
    """
    W, X = _matrix(W), _matrix(X)
    if X.shape[0] != W.shape[1]:
        raise ValueError(f"X must be (in, n) with in = {W.shape[1]} rows, got shape {X.shape}")
    r = _rank(rank, W)
    C = X @ X.T
    C += (damp * max(np.mean(np.diag(C)), 1e-12)) * np.eye(len(C))
    L = np.linalg.cholesky(C)
    U, s, Vt = svd(W @ L)
    root = np.sqrt(s[:r])  # split evenly, as low_rank_factors
    B = np.linalg.solve(L.T, (root[:, None] * Vt[:r]).T).T  # diag(sqrt s_r) V_r^T L^{-1}
    return U[:, :r] * root, B
