"""LoRA: a frozen layer plus a trainable low-rank update (Hu et al. 2022, "LoRA: Low-Rank Adaptation of
Large Language Models", ICLR, eq. 3).

    h = W x + (alpha / r) B A x,   A (r, in) random, B (out, r) = 0 at the start, so h = W x at step 0.
Only A and B train: r (in + out) parameters instead of in * out. After training the update merges
into the weight, W' = W + (alpha / r) B A, and inference costs nothing extra. The initialisation follows
PEFT's default: A ~ U(-1/sqrt(in), 1/sqrt(in)) (Kaiming-uniform with a = sqrt(5)), B = 0.
"""
import numpy as np

from ..core.validation import Array, Integer, Optional, Positive, Seed, validate

SIZE, MATRIX = Integer(minimum=1), Array(ndim=2)  # W (out, in), A (r, in), B (out, r)
LAYER = dict(W=MATRIX, A=MATRIX, B=MATRIX, alpha=Positive())


@validate(n_out=SIZE, n_in=SIZE, r=SIZE, seed=Seed())
def lora_init(n_out, n_in, r, seed=0):
    """Return (A, B): A (r, n_in) ~ U(-1/sqrt(n_in), 1/sqrt(n_in)), B (n_out, r) zeros."""
    bound = 1.0 / np.sqrt(n_in)
    A = np.random.default_rng(seed).uniform(-bound, bound, (r, n_in))
    return A, np.zeros((n_out, r))


def _check(x, W, A, B, alpha):
    x, W, A, B = (np.asarray(t).astype(np.float64) for t in (x, W, A, B))
    if A.shape != (B.shape[1], W.shape[1]) or B.shape[0] != W.shape[0]:
        raise ValueError(f"A must be (r, in) = (r, {W.shape[1]}) and B (out, r) = ({W.shape[0]}, r) with the "
                         f"same r, got A {A.shape} and B {B.shape}")
    if x.shape[-1] != W.shape[1]:
        raise ValueError(f"x must end in the layer's in = {W.shape[1]} features, got shape {x.shape}")
    return x, W, A, B, float(alpha) / A.shape[0]


@validate(x=Array(min_ndim=1), W=MATRIX, b=Optional(Array()), A=MATRIX, B=MATRIX, alpha=LAYER["alpha"])
def lora_forward(x, W, b, A, B, alpha):
    """Return h = x W^T + b + (alpha / r) (x A^T) B^T for inputs x (..., in)."""
    x, W, A, B, scaling = _check(x, W, A, B, alpha)
    h = x @ W.T + scaling * (x @ A.T) @ B.T
    return h if b is None else h + np.asarray(b)


@validate(x=Array(min_ndim=1), dh=Array(min_ndim=1), **LAYER)
def lora_grads(x, dh, W, A, B, alpha):
    """Return (dA, dB, dx) of the LoRA layer for the upstream gradient dh = dL/dh (W frozen).

    dB = s sum_n dh_n (A x_n)^T,  dA = s sum_n B^T dh_n x_n^T,  dx = dh W + s dh B A, s = alpha / r.
    """
    x, W, A, B, s = _check(x, W, A, B, alpha)
    dh = np.asarray(dh).astype(np.float64)
    if dh.shape != x.shape[:-1] + (W.shape[0],):
        raise ValueError(f"dh must have shape {x.shape[:-1] + (W.shape[0],)}, got {dh.shape}")
    x2, dh2 = x.reshape(-1, x.shape[-1]), dh.reshape(-1, dh.shape[-1])
    dB = s * dh2.T @ (x2 @ A.T)
    dA = s * (dh2 @ B).T @ x2
    dx = dh @ W + s * (dh @ B) @ A
    return dA, dB, dx


@validate(**LAYER)
def lora_merge(W, A, B, alpha):
    """Return W + (alpha / r) B A: the adapter folded into the frozen weight."""
    W, A, B = (np.asarray(t).astype(np.float64) for t in (W, A, B))
    _check(np.zeros(W.shape[1]), W, A, B, alpha)
    return W + (float(alpha) / A.shape[0]) * B @ A


@validate(n_out=SIZE, n_in=SIZE, r=SIZE)
def lora_params(n_out, n_in, r):
    """Return the trainable parameters of a LoRA adapter: r (n_in + n_out)."""
    return r * (n_in + n_out)
