"""N:M (semi-structured) sparsity from scratch: keep n of every m consecutive inputs (numpy only).

NVIDIA's sparse tensor cores (A100 and later) run 2:4 matrices, two non-zeros in every four consecutive
weights of a row along the input (reduction) axis, at twice the dense math rate; the indices cost 2 bits
per kept value (Mishra et al. 2021, "Accelerating Sparse Deep Neural Networks", arXiv:2104.08378).
A CPU has no such kernel: on a CPU 2:4 saves bytes, not time.
"""
import numpy as np

from ..core import validation as v
from ..core.validation import Array, Integer, validate


@validate(n=Integer(minimum=0), m=Integer(minimum=1), d=Integer(minimum=1))
def check_nm(n, m, d):
    """Return (n, m) after checking 0 <= n <= m, m >= 1 and that m divides the input width d."""
    n = v.integer(n, "n", minimum=0, maximum=m)  # n <= m: the two arguments together
    if d % m:
        raise ValueError(f"m must divide the number of inputs {d} (groups of m consecutive inputs), got m={m}")
    return n, m


@validate(scores=Array(min_ndim=1), n=Integer(minimum=0), m=Integer(minimum=1))
def nm_mask(scores, n, m):
    """Return the keep-mask (True = keep) holding the n largest of every m consecutive scores (last axis).

    Within a group, among equal scores the LOWER index is pruned first (a stable ascending sort prunes
    its first m - n). 2:4 is n=2, m=4 (Mishra et al. 2021).
    """
    scores = np.asarray(scores).astype(np.float64)
    n, m = check_nm(n, m, scores.shape[-1])
    groups = scores.reshape(scores.shape[:-1] + (-1, m))
    pruned = np.argsort(groups, axis=-1, kind="stable")[..., :m - n]
    keep = np.ones(groups.shape, bool)
    np.put_along_axis(keep, pruned, False, axis=-1)
    return keep.reshape(scores.shape)
