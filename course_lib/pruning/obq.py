"""OBQ and OBC from scratch: lesson 04's OBS, one row and one weight at a time (numpy only, small layers).

Frantar & Alistarh 2022, "Optimal Brain Compression: A Framework for Accurate Post-Training Quantization
and Pruning", NeurIPS, Algorithms 1 (OBC, pruning) and 3 (OBQ, quantization). The layer-wise loss is a
sum over rows with the same H, so each row w is compressed alone. F = the weights not yet fixed:

    greedy choice  q = argmin_{q in F} (w_q - t_q)^2 / [H_F^-1]_qq       (OBS saliency, times 2)
    OBS update     w <- w - (w_q - t_q) / [H_F^-1]_qq * H_F^-1 e_q,  then w_q = t_q
    shrink         H_F^-1 <- H_F^-1 - H_F^-1 e_q e_q^T H_F^-1 / [H_F^-1]_qq   (q leaves F)

with target t_q = 0 (OBC pruning) or t_q = the nearest grid point of the CURRENT w_q (OBQ). The choice
and the update are `second_order.obs_saliency` and `second_order.obs_update` applied to the error
e = w - t: OBS removes an error e_q exactly as it removes a weight. Cost per row: d steps of O(d^2),
O(d^3); GPTQ fixes the order (natural, one order for all rows) and needs one Cholesky factor: O(d^2)
per row. `greedy=False` takes the natural order: the same decisions as `gptq.gptq` (block_size=1).
"""
import numpy as np

from ..core import validation as v
from ..core.validation import Array, Boolean, Callable, Fraction, Integer, Optional, Real, validate
from .gptq import GRID, _check_grid, _quantize
from .layerwise import DAMP, HESSIAN, MATRIX, inverse_hessian, prepare_hessian
from .second_order import obs_saliency, obs_update


@validate(w=Array(), h_inv=MATRIX, n_steps=Integer(minimum=0), target=Callable(), greedy=Boolean(),
          outlier=Optional(Real(low=0.0)))
def obs_row(w, h_inv, n_steps, target, greedy=True, outlier=None):
    """Fix n_steps weights of one row w by OBS, greedily (or in index order); return (w, fixed order).

    target(w) gives every weight's value once fixed (0 to prune, the grid point to quantize). obs_update
    moves w_q to 0 and the others by -u_q / [H_F^-1]_qq H_F^-1 e_q; with u_q = w_q - t_q it is the move
    to t_q, and the fixed weights stay put (their row and column of H_F^-1 are 0). `outlier` (greedy
    only): when a free weight's |w_q - t_q| exceeds it, the largest such weight is fixed first.
    """
    w = np.asarray(w).astype(np.float64).reshape(-1)
    h_inv = np.asarray(h_inv).astype(np.float64)
    if h_inv.shape != (w.size, w.size):
        raise ValueError(f"h_inv must have shape ({w.size}, {w.size}), got {h_inv.shape}")
    n_steps = v.integer(n_steps, "n_steps", minimum=0, maximum=w.size)  # at most every weight of w
    order = []
    for step in range(n_steps):
        t = target(w)
        s = obs_saliency(w - t, h_inv)  # fixed weights score +inf
        q = int(np.argmin(s)) if greedy else step
        err = np.where(np.isfinite(s), np.abs(w - t), -np.inf)
        if greedy and outlier is not None and err.max() > outlier:
            q = int(np.argmax(err))
        u = w.copy()
        u[q] = w[q] - t[q]
        w, h_inv = obs_update(u, h_inv, q)
        w[q] = t[q]
        order.append(q)
    return w, order


@validate(W=MATRIX, H=HESSIAN, **GRID, damp=DAMP, greedy=Boolean())
def obq(W, H, scale, zero_point, q_min, q_max, damp=0.01, greedy=True):
    """Return the integer codes (out, in) of W quantized by OBQ, one weight at a time per row.

    Frantar & Alistarh 2022, OBC, NeurIPS, Algorithm 3 (greedy order; see the module docstring), with
    its outlier rule: a weight the updates pushed outside the grid (rounding error > scale / 2) is
    quantized at once, the largest first (reference code `trueobs.py`, `outlier = scale^2 / 4` on the
    squared error). The grid is per output row as in `gptq.gptq`; dead inputs and damping as
    `layerwise.prepare_hessian` (the reference adds no damping unless H is singular).
    """
    W, H = prepare_hessian(W, H, damp)
    S, Z, q_min, q_max = _check_grid(W, scale, zero_point, q_min, q_max, None)
    h_inv = inverse_hessian(H)
    Q = np.zeros(W.shape, np.int64)
    for r in range(W.shape[0]):
        def grid(w, r=r):  # the nearest grid point of every weight of row r
            return (_quantize(w, S[r], Z[r], q_min, q_max) - Z[r]) * S[r]
        w, _ = obs_row(W[r], h_inv, W.shape[1], grid, greedy, outlier=S[r, 0] / 2)
        Q[r] = _quantize(w, S[r], Z[r], q_min, q_max)
    return Q


@validate(W=MATRIX, H=HESSIAN, sparsity=Fraction(), damp=DAMP)
def obc_prune(W, H, sparsity, damp=0.01):
    """Return (W_pruned, keep_mask): floor(sparsity * in) weights of each row removed greedily by OBS.

    Frantar & Alistarh 2022, OBC, NeurIPS, Algorithm 1 (one weight at a time, always the lowest
    w_q^2 / [H_F^-1]_qq, with the OBS update); the kept weights move, the pruned ones are exactly 0.
    """
    W, H = prepare_hessian(W, H, damp)
    k = int(W.shape[1] * sparsity)
    h_inv = inverse_hessian(H)
    out, keep = np.zeros_like(W), np.ones(W.shape, bool)
    for r in range(W.shape[0]):
        out[r], order = obs_row(W[r], h_inv, k, np.zeros_like, greedy=True)
        keep[r, order] = False
    return out, keep
