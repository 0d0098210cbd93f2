"""SparseGPT from scratch: prune a layer column by column, each removal compensated (numpy only).

Frantar & Alistarh 2023, "SparseGPT: Massive Language Models Can Be Accurately Pruned in One-Shot",
ICML, Algorithm 1. GPTQ's sweep (`gptq.py`) with "round to the grid" replaced by "set to zero if masked":

    err = (w_j - mask_j * w_j) / U_jj,     w_k <- w_k - err * U_jk   for k > j

(U the upper Cholesky factor of H^-1). The mask is adaptive: at the start of each block of `block_size`
columns it is chosen from the CURRENT (already updated) weights by the OBS saliency with the Cholesky
diagonal in place of [H^-1]_jj,

    score_ij = w_ij^2 / U_jj^2      (sec. 3.3; the reference code's `W1 ** 2 / diag(Hinv1) ** 2`)

Unstructured, the reference prunes every score <= the (k+1)-th smallest of the block, k = floor(sparsity *
out * block width), so k + 1 weights per block when no scores tie (its index `int(numel * sparsity)`);
this port does the same. With n and m, at every m-th column the n largest scores of the next m columns
are kept in each row (sec. 3.4; `nm_sparsity.nm_mask`, ties prune the lower index).
"""
import numpy as np

from ..core.validation import Array, Integer, validate
from .layerwise import DAMP, HESSIAN, MATRIX, inverse_cholesky_upper, prepare_hessian
from .nm_sparsity import nm_mask
from .wanda import M, N, SPARSITY, check_nm_sparsity


@validate(scores=Array(), sparsity=SPARSITY)
def block_prune_mask(scores, sparsity):
    """Return the prune-mask (True = prune) of one block: every score <= the (k+1)-th smallest, k = floor(s*size).

    The reference's rule (Frantar & Alistarh 2023, code `sparsegpt.py`): thresh = sort(scores)[k],
    mask = scores <= thresh.
    """
    scores = np.asarray(scores).astype(np.float64)
    flat = np.sort(scores, axis=None)
    return scores <= flat[int(scores.size * sparsity)]


@validate(W=MATRIX, H=HESSIAN, sparsity=SPARSITY, n=N, m=M, block_size=Integer(minimum=1), damp=DAMP)
def sparsegpt(W, H, sparsity, n=None, m=None, block_size=128, damp=0.01):
    """Return (W_pruned, keep_mask): W pruned by SparseGPT on the layer Hessian H (True = keep).

    Frantar & Alistarh 2023, SparseGPT, ICML, Algorithm 1 (see the module docstring); dead inputs and
    damping as `layerwise.prepare_hessian`; the kept weights are updated, the pruned ones are exactly 0.
    """
    W, H = prepare_hessian(W, H, damp)
    sparsity, n, m = check_nm_sparsity(sparsity, n, m, W.shape[1])
    if m is not None and block_size % m:
        raise ValueError(f"block_size must be a multiple of m={m} (groups may not straddle blocks), got {block_size}")
    U = inverse_cholesky_upper(H)
    prune = np.zeros(W.shape, bool)
    for i1 in range(0, W.shape[1], block_size):
        i2 = min(i1 + block_size, W.shape[1])
        W1, Err1, d1 = W[:, i1:i2].copy(), np.zeros((W.shape[0], i2 - i1)), np.diag(U)[i1:i2]
        if n is None:
            prune[:, i1:i2] = block_prune_mask(W1 ** 2 / d1 ** 2, sparsity)
        for i in range(i2 - i1):
            j = i1 + i
            if n is not None and i % m == 0:
                prune[:, j:j + m] = ~nm_mask(W1[:, i:i + m] ** 2 / d1[i:i + m] ** 2, n, m)
            w = W1[:, i].copy()
            W1[prune[:, j], i] = 0.0
            Err1[:, i] = (w - W1[:, i]) / U[j, j]
            W1[:, i + 1:] -= np.outer(Err1[:, i], U[j, j + 1:i2])
        W[:, i1:i2] = W1
        W[:, i2:] -= Err1 @ U[i1:i2, i2:]  # the lazy batch update of all later columns
    return W, ~prune
