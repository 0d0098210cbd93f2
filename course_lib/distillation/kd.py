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
`softmax` is `course_lib.core.nn.softmax` (one copy); the hard term is computed from `log_softmax`, exact for
logits of any size (`nn.cross_entropy` floors p at 1e-300, i.e. caps each term at 690 nats).
"""
import numpy as np

from ..core import validation as v
from ..core import nn


def _temperature(T):
    if isinstance(T, bool) or not isinstance(T, (int, float, np.floating, np.integer)):
        raise TypeError(f"T must be a number > 0, got {type(T).__name__}")
    if not (np.isfinite(T) and T > 0):
        raise ValueError(f"T must be a finite number > 0, got {T}")
    return float(T)


def _logits(z, name, keep_dtype=False):
    z = v.as_array(z, name)
    if z.ndim != 2:
        raise ValueError(f"{name} must be 2-d (batch, classes), got shape {z.shape}")
    return z if keep_dtype else z.astype(float)


def softmax(z, T=1.0):
    """Return the softened probabilities softmax(z / T) along the last axis.

    p_i = exp(z_i / T) / sum_j exp(z_j / T)   (Hinton et al. 2015, eq. 1); stable: shifts by max z.
    """
    return nn.softmax(v.as_array(z, "z"), _temperature(T))


def log_softmax(z, T=1.0):
    """Return log softmax(z / T) along the last axis, finite for any finite logits.

    log p_i = (z_i - max z) / T - log sum_j exp((z_j - max z) / T)
    """
    s = v.as_array(z, "z").astype(float) / _temperature(T)
    s = s - s.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def soft_cross_entropy(p, z, T=1.0):
    """Return the batch mean of H(p, q) = -sum_k p_k log q_k with q = softmax(z / T) (p: target rows)."""
    p = v.as_array(p, "p").astype(float)
    logq = log_softmax(_logits(z, "z"), T)
    if p.shape != logq.shape:
        raise ValueError(f"p must have the shape of z {logq.shape}, got {p.shape}")
    return float(-np.sum(p * logq) / len(p))


def kl_divergence(p, z, T=1.0):
    """Return the batch mean of KL(p || q) = sum_k p_k (log p_k - log q_k), q = softmax(z / T).

    Terms with p_k = 0 count 0 (0 log 0 = 0), as torch.nn.functional.kl_div(reduction="batchmean").
    """
    p = v.as_array(p, "p").astype(float)
    logq = log_softmax(_logits(z, "z"), T)
    if p.shape != logq.shape:
        raise ValueError(f"p must have the shape of z {logq.shape}, got {p.shape}")
    if np.any(p < 0):
        raise ValueError("p must hold probabilities (>= 0)")
    logp = np.log(np.where(p > 0, p, 1.0))
    return float(np.sum(np.where(p > 0, p * (logp - logq), 0.0)) / len(p))


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
    z, t = _logits(student_logits, "student_logits", True), _logits(teacher_logits, "teacher_logits", True)
    if z.shape != t.shape:
        raise ValueError(f"teacher_logits must have the shape of student_logits {z.shape}, got {t.shape}")
    T, alpha = _temperature(T), v.fraction(alpha, "alpha")
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


def _shifted_exp(z, z_max, T):
    """Return s = (z - max z) / T, exp(s) and its row sums (T > 0 keeps the argmax, so exp(s) <= 1)."""
    s = z - z_max
    if T != 1.0:
        s /= s.dtype.type(T)
    e = np.exp(s)
    return s, e, e.sum(axis=1, keepdims=True)


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


def kd_loss_fn(T=4.0, alpha=0.9):
    """Return a loss for `nn.train`: loss(output, labels, teacher_logits) -> (L, dL/doutput)."""
    T, alpha = _temperature(T), v.fraction(alpha, "alpha")

    def loss(output, labels, teacher_logits):
        return kd_loss(output, teacher_logits, labels, T, alpha, return_grad=True)

    loss.__name__ = f"kd_loss(T={T:g}, alpha={alpha:g})"
    return loss


def bias_correction(logits, cls, delta):
    """Return logits with `delta` added to class `cls` (Hinton et al. 2015, sec. 3: an omitted class's bias)."""
    z = _logits(logits, "logits").copy()
    cls = v.integer(cls, "cls", minimum=0)
    if cls >= z.shape[1]:
        raise ValueError(f"cls must be in [0, {z.shape[1] - 1}], got {cls}")
    z[:, cls] += float(delta)
    return z


# --------------------------------------------------------------------------- feature distillation
