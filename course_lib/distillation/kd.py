"""Knowledge distillation from scratch: softened probabilities, the KD loss and its gradient, feature hints.

A teacher's logits v, softened by a temperature T, become the targets p = softmax(v / T) of a student
whose logits z give q = softmax(z / T) (Hinton, Vinyals & Dean, "Distilling the Knowledge in a
Neural Network", NIPS 2014 Deep Learning Workshop, arXiv:1503.02531 (2015), eq. 1). The course's KD loss, averaged over a batch of B:

    L = (1 - alpha) * CE(softmax(z), y) + alpha * T^2 * KL(p || q)
    dL/dz = ((1 - alpha) * (softmax(z) - onehot(y)) + alpha * T * (q - p)) / B

alpha weights the SOFT term (alpha = 0: plain cross-entropy; alpha = 1: soft targets only). The PyTorch
tutorial writes 0.25 * soft + 0.75 * hard (our alpha = 0.25), its soft term as
torch.sum(soft_targets * (soft_targets.log() - soft_prob)) / B * T**2 (= T^2 KL(p || q), batch mean); keras-io writes alpha * hard +
(1 - alpha) * soft (its alpha = 0.1 is our alpha = 0.9). Feature losses: the FitNets hint with a linear
regressor (Romero et al. 2015, ICLR) and attention transfer (Zagoruyko & Komodakis 2017, ICLR).
`softmax` and `log_softmax` are `course_lib.core.nn`'s (one copy each, one temperature check); kd_loss's
hard term is the same log-softmax written fused, exact for logits of any size (`nn.cross_entropy` floors p
at 1e-300, i.e. caps each term at 690 nats).
"""
import numpy as np

from ..core import validation as v
from ..core.nn import log_softmax, softmax  # noqa: F401 (the lessons' D.softmax, D.log_softmax: one copy)
from ..core.validation import Array, Boolean, Fraction, Integer, Optional, Probabilities, Real, Temperature, validate

LOGITS = Array(ndim=2)  # (batch, classes)


@validate(p=Probabilities(), z=LOGITS, T=Temperature())
def soft_cross_entropy(p, z, T=1.0):
    """Return the batch mean of H(p, q) = -sum_k p_k log q_k with q = softmax(z / T) (p: target rows)."""
    logq = log_softmax(z.astype(float), T)
    if p.shape != logq.shape:
        raise ValueError(f"p must have the shape of z {logq.shape}, got {p.shape}")
    return float(-np.sum(p * logq) / len(p))


@validate(p=Probabilities(), z=LOGITS, T=Temperature())
def kl_divergence(p, z, T=1.0):
    """Return the batch mean of KL(p || q) = sum_k p_k (log p_k - log q_k), q = softmax(z / T).

    Terms with p_k = 0 count 0 (0 log 0 = 0), as torch.nn.functional.kl_div(reduction="batchmean").
    """
    logq = log_softmax(z.astype(float), T)
    if p.shape != logq.shape:
        raise ValueError(f"p must have the shape of z {logq.shape}, got {p.shape}")
    logp = np.log(np.where(p > 0, p, 1.0))
    return float(np.sum(np.where(p > 0, p * (logp - logq), 0.0)) / len(p))


@validate(student_logits=LOGITS, teacher_logits=LOGITS, labels=Optional(Array()), T=Temperature(), alpha=Fraction(),
          return_grad=Boolean())
def kd_loss(student_logits, teacher_logits, labels=None, T=4.0, alpha=0.9, return_grad=False):
    """Return the KD loss (1 - alpha) CE(y) + alpha T^2 KL(p_T || q_T), batch mean (Hinton et al. 2015).

    With return_grad, return (L, dL/dz): ((1 - alpha)(softmax(z) - onehot(y)) + alpha T (q - p)) / B.
    labels may be None when alpha = 1; a label < 0 marks an unlabelled example (its hard term is 0,
    the mean still divides by B, so labelled and unlabelled examples weigh the same).
    Float32 logits are computed in float32 (as torch), others in float64. As fast as torch's formula
    without a log of p: with s = (z - max z) / T, u = (v - max v) / T and their row sums S, U of exp,
        KL(p || q) = sum_k p_k (u_k - s_k) + (log S - log U) sum_k p_k,
        CE = log sum exp(z - max z) + max z - z_y,
    about 16 passes over the logits in three (B, K) buffers (a fresh 16 MB array costs page faults),
    no log-probability matrix stored.
    """
    z, t = student_logits, teacher_logits
    if z.shape != t.shape:
        raise ValueError(f"teacher_logits must have the shape of student_logits {z.shape}, got {t.shape}")
    dt = np.float32 if z.dtype == t.dtype == np.float32 else np.float64
    z, t, B = z.astype(dt, copy=False), t.astype(dt, copy=False), len(z)
    z_max = z.max(axis=1, keepdims=True)
    s = z - z_max                                  # three (B, K) buffers without the gradient: s, e, u
    loss, e, g_hard = 0.0, None, None
    if alpha < 1:
        y = _labels(labels, B, z.shape[1])
        r = np.flatnonzero(y >= 0)
    if alpha < 1 and r.size:                       # not nn.cross_entropy: its log(p + 1e-300) caps at 690 nats
        e = np.exp(s)
        S1 = e.sum(axis=1, keepdims=True)
        loss += (1 - alpha) * float(np.sum(np.log(S1[r, 0]) + z_max[r, 0] - z[r, y[r]])) / B
        if return_grad:
            g_hard = e[r] / S1[r]
            g_hard[np.arange(r.size), y[r]] -= 1.0
    if T != 1.0:
        s /= s.dtype.type(T)
    if e is None or T != 1.0:
        e = np.exp(s, out=e if e is not None and not return_grad else None)
    S = e.sum(axis=1, keepdims=True)
    q = e / S if return_grad else None
    u = t - t.max(axis=1, keepdims=True)
    if T != 1.0:
        u /= u.dtype.type(T)
    p = np.exp(u, out=e if not return_grad else None)  # e is free once S is known
    U = p.sum(axis=1, keepdims=True)
    p /= U
    kl_const = float(((np.log(S) - np.log(U)) * p.sum(axis=1, keepdims=True)).sum())
    u -= s
    u *= p
    loss += alpha * T ** 2 * (float(u.sum()) + kl_const) / B
    if not return_grad:
        return loss
    grad = alpha * T * (q - p) / B
    if g_hard is not None:
        grad[r] += (1 - alpha) * g_hard / B
    return loss, grad


def _labels(labels, B, K):
    if labels is None:
        raise ValueError("labels must be given when alpha < 1 (use alpha=1 for soft targets only)")
    y = v.as_array(labels, "labels").reshape(-1)
    if not np.issubdtype(y.dtype, np.integer) and not np.all(y == np.round(y)):
        raise ValueError("labels must be whole class numbers")
    y = y.astype(int)
    if y.size != B or np.any(y >= K):
        raise ValueError(f"labels must be {B} class numbers < {K} (or < 0 for unlabelled), got {y.size} "
                         f"values up to {y.max()}")
    return y


@validate(T=Temperature(), alpha=Fraction())
def kd_loss_fn(T=4.0, alpha=0.9):
    """Return a loss for `nn.train`: loss(output, labels, teacher_logits) -> (L, dL/doutput)."""

    def loss(output, labels, teacher_logits):
        return kd_loss(output, teacher_logits, labels, T, alpha, return_grad=True)

    loss.__name__ = f"kd_loss(T={T:g}, alpha={alpha:g})"
    return loss


@validate(logits=LOGITS, cls=Integer(minimum=0), delta=Real())
def bias_correction(logits, cls, delta):
    """Return logits with `delta` added to class `cls` (Hinton et al. 2015, sec. 3: an omitted class's bias)."""
    z = logits.astype(float)  # a copy
    if cls >= z.shape[1]:
        raise ValueError(f"cls must be in [0, {z.shape[1] - 1}], got {cls}")
    z[:, cls] += delta
    return z


# --------------------------------------------------------------------------- feature distillation
