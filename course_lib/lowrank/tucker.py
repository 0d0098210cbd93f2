"""Tucker-2 decomposition of a convolution kernel (Kim et al. 2016, "Compression of Deep Convolutional
Neural Networks for Fast and Low Power Mobile Applications", ICLR).

A kernel K (c_out, c_in, k, k) is approximated along its two channel modes only:
    K ~ core x_0 U_out x_1 U_in,   core (r_out, r_in, k, k), U_out (c_out, r_out), U_in (c_in, r_in),
which runs as three convolutions: 1x1 (c_in -> r_in, weights U_in^T), k x k (r_in -> r_out, the core),
1x1 (r_out -> c_out, weights U_out). The factors come from HOSVD (leading left singular vectors of
each mode's unfolding) refined by higher-order orthogonal iteration (HOOI; De Lathauwer et al. 2000,
SIAM J. Matrix Anal. Appl.), with TensorLy's stopping rule: stop after iteration t >= 2 when the
relative reconstruction error changed by less than `tol`.
"""
import numpy as np

from ..core import validation as v
from ..core.validation import Array, Integer, Real, validate
from .svd import svd_flip

SIZE = Integer(minimum=1)


class _Ranks(v.Constraint):
    """A pair (r_out, r_in) of ranks >= 1 (their upper bounds depend on the kernel: checked in the body)."""

    def check(self, x, name):
        if not (isinstance(x, (tuple, list)) and len(x) == 2):
            raise TypeError(f"{name} must be a pair (r_out, r_in), got {x!r}")
        return tuple(v.integer(r, f"{name}[{i}]", minimum=1) for i, r in enumerate(x))

    def good(self):
        return (1, 1)

    def bad(self):
        return [2, "ab", (1,), (1, 2, 3), (0, 1), (1, 1.5)]


RANKS = _Ranks()


@validate(T=Array(), mode=Integer())
def unfold(T, mode):
    """Return the mode-`mode` unfolding of T: shape (T.shape[mode], prod of the others), C order."""
    T = np.asarray(T)
    mode = v.axis(mode, T.ndim, "mode")  # an axis of T
    return np.moveaxis(T, mode, 0).reshape(T.shape[mode], -1)


@validate(T=Array(), M=Array(ndim=2), mode=Integer())
def mode_dot(T, M, mode):
    """Return T x_mode M: multiply mode `mode` of T by the matrix M (new size M.shape[0])."""
    T, M = np.asarray(T), np.asarray(M)
    mode = v.axis(mode, T.ndim, "mode")  # an axis of T
    if M.shape[1] != T.shape[mode]:
        raise ValueError(f"M must be a matrix with {T.shape[mode]} columns (T's mode {mode}), got shape {M.shape}")
    return np.moveaxis(np.tensordot(M, T, axes=(1, mode)), 0, mode)


def _leading(M, r):
    U, _, Vt = np.linalg.svd(M, full_matrices=False)
    return svd_flip(U[:, :r], Vt[:r])[0]


def _kernel_and_ranks(K, ranks):
    K = np.asarray(K).astype(np.float64)
    r_out = v.integer(ranks[0], "ranks[0]", minimum=1, maximum=K.shape[0])
    r_in = v.integer(ranks[1], "ranks[1]", minimum=1, maximum=K.shape[1])
    for m, r in enumerate((r_out, r_in)):  # a mode-m factor has at most rank(unfold(K, m)) useful columns
        if r > K.size // K.shape[m]:
            raise ValueError(f"ranks[{m}] must be <= {K.size // K.shape[m]} (the other modes' size), got {r}")
    return K, (r_out, r_in)


@validate(K=Array(ndim=4), ranks=RANKS, n_iter_max=SIZE, tol=Real(low=0.0))
def tucker2(K, ranks, n_iter_max=100, tol=1e-4):
    """Return (core, U_out, U_in) of the Tucker-2 decomposition of K at ranks (r_out, r_in) by HOOI.

    K is a conv kernel (c_out, c_in, k_h, k_w)."""
    K, ranks = _kernel_and_ranks(K, ranks)
    U = [_leading(unfold(K, m), r) for m, r in enumerate(ranks)]
    norm, errors = np.linalg.norm(K), []
    for it in range(n_iter_max):
        for m in (0, 1):
            other = 1 - m
            Y = mode_dot(K, U[other].T, other)
            U[m] = _leading(unfold(Y, m), ranks[m])
        core = mode_dot(mode_dot(K, U[0].T, 0), U[1].T, 1)
        errors.append(np.sqrt(abs(norm ** 2 - np.linalg.norm(core) ** 2)) / norm)
        if it > 1 and tol and abs(errors[-2] - errors[-1]) < tol:
            break
    return core, U[0], U[1]


@validate(core=Array(min_ndim=2), U_out=Array(ndim=2), U_in=Array(ndim=2))
def tucker2_reconstruct(core, U_out, U_in):
    """Return core x_0 U_out x_1 U_in, the kernel the three factored convolutions compute."""
    for U, name, m in ((U_out, "U_out", 0), (U_in, "U_in", 1)):
        if np.shape(U)[1] != np.shape(core)[m]:
            raise ValueError(f"{name} must have {np.shape(core)[m]} columns (core's mode {m}), got shape {np.shape(U)}")
    return mode_dot(mode_dot(core, U_out, 0), U_in, 1)


@validate(c_out=SIZE, c_in=SIZE, k=SIZE, ranks=RANKS)
def tucker2_params(c_out, c_in, k, ranks):
    """Return the weights of the three factored convolutions: c_in r_in + r_in r_out k^2 + r_out c_out."""
    r_out = v.integer(ranks[0], "ranks[0]", minimum=1, maximum=c_out)
    r_in = v.integer(ranks[1], "ranks[1]", minimum=1, maximum=c_in)
    return c_in * r_in + r_in * r_out * k * k + r_out * c_out
