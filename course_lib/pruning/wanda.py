"""Wanda from scratch: prune by |weight| x input norm, row by row, no weight update (numpy only).

Sun, Liu, Bair & Kolter 2024, "A Simple and Effective Pruning Approach for Large Language Models",
ICLR, eq. 1: the score of weight W_ij is

    S_ij = |W_ij| * ||X_j||_2

(X_j: input j over the calibration set), compared WITHIN each output row (sec. 3, "per output"). It is
the diagonal of the layer-wise loss: with H = 2 X X^T, pruning W_ij alone costs W_ij^2 ||X_j||^2 =
S_ij^2, OBD's saliency h_jj w^2 / 2 of the layer-wise loss. With x_norm = 1 it is per-row magnitude.
"""
import numpy as np

from ..core.validation import Array, Fraction, Integer, Optional, validate
from .nm_sparsity import check_nm, nm_mask

SPARSITY = Fraction(high=1.0, high_inclusive=False)  # unstructured: at least one weight of each row stays
N, M = Optional(Integer(minimum=0)), Optional(Integer(minimum=1))  # n of every m kept (both or neither)
MATRIX = Array(ndim=2)


@validate(sparsity=SPARSITY, n=N, m=M, d=Integer(minimum=1))
def check_nm_sparsity(sparsity, n, m, d):
    """Return (sparsity, n, m) checked: unstructured sparsity in [0, 1), or n and m with sparsity = 1 - n/m."""
    sparsity = float(sparsity)
    if (n is None) != (m is None):
        raise ValueError(f"n and m must be given together (n of every m kept), got n={n} and m={m}")
    if n is not None:
        n, m = check_nm(n, m, d)
        if abs(sparsity - (1.0 - n / m)) > 1e-9:
            raise ValueError(f"sparsity must equal 1 - n/m = {1.0 - n / m:g} for n={n}, m={m}, got {sparsity}")
    return sparsity, n, m


@validate(W=MATRIX, x_norm=Array(ndim=1, nonnegative=True))
def wanda_score(W, x_norm):
    """Return S_ij = |W_ij| * x_norm_j (Sun et al. 2024, eq. 1)."""
    W, x_norm = np.asarray(W).astype(np.float64), np.asarray(x_norm).astype(np.float64)
    if x_norm.shape != (W.shape[1],):
        raise ValueError(f"x_norm must hold {W.shape[1]} norms (one per input of W), got shape {x_norm.shape}")
    return np.abs(W) * x_norm


@validate(W=MATRIX, x_norm=Array(ndim=1, nonnegative=True), sparsity=SPARSITY, n=N, m=M)
def wanda_mask(W, x_norm, sparsity, n=None, m=None):
    """Return the Wanda keep-mask (True = keep): the lowest-scoring weights of each output row pruned.

    Unstructured: floor(sparsity * in) weights of every row, the lowest S_ij (ties: the lower index is
    pruned first, the reference's stable sort). With n and m: `nm_mask(S, n, m)`, n kept of every m
    consecutive inputs, and sparsity must be 1 - n/m.
    """
    S = wanda_score(W, x_norm)
    sparsity, n, m = check_nm_sparsity(sparsity, n, m, S.shape[1])
    if n is not None:
        return nm_mask(S, n, m)
    k = int(S.shape[1] * sparsity)
    keep = np.ones(S.shape, bool)
    np.put_along_axis(keep, np.argsort(S, axis=1, kind="stable")[:, :k], False, axis=1)
    return keep


@validate(X=MATRIX)
def input_norms(X):
    """Return ||X_j||_2 for every input j of the calibration rows X (n, in)."""
    X = np.asarray(X).astype(np.float64)
    return np.sqrt(np.sum(X ** 2, axis=0))
