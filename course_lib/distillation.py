"""Knowledge distillation from scratch: softened probabilities, the KD loss and its gradient, feature hints.

A teacher's logits v, softened by a temperature T, become the targets p = softmax(v / T) of a student
whose logits z give q = softmax(z / T) (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a
Neural Network", NIPS Deep Learning Workshop, eq. 1). The course's KD loss, averaged over a batch of B:

    L = (1 - alpha) * CE(softmax(z), y) + alpha * T^2 * KL(p || q)
    dL/dz = ((1 - alpha) * (softmax(z) - onehot(y)) + alpha * T * (q - p)) / B

alpha weights the SOFT term (alpha = 0: plain cross-entropy; alpha = 1: soft targets only). The PyTorch
tutorial writes 0.25 * soft + 0.75 * hard (our alpha = 0.25); keras-io writes alpha * hard +
(1 - alpha) * soft (its alpha = 0.1 is our alpha = 0.9). Feature losses: the FitNets hint with a linear
regressor (Romero et al. 2015, ICLR) and attention transfer (Zagoruyko & Komodakis 2017, ICLR).
`softmax` is `course_lib.nn.softmax` (one copy); the hard term is computed from `log_softmax`, exact for
logits of any size (`nn.cross_entropy` floors p at 1e-300, i.e. caps each term at 690 nats).
"""
import numpy as np

from . import _validate as v
from . import nn


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
def hint_regressor(c_student, c_teacher, seed=0):
    """Return (W_r, b_r) of a linear (1x1-conv) regressor from c_student to c_teacher channels (FitNets)."""
    c_s, c_t = v.integer(c_student, "c_student", 1), v.integer(c_teacher, "c_teacher", 1)
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, np.sqrt(1.0 / c_s), size=(c_t, c_s)), np.zeros(c_t)


def hint_loss(student_features, teacher_features, W_r, b_r, return_grad=False):
    """Return the FitNets hint loss mean((r(F_s) - F_t)^2) with r(F)_o = sum_c W_r[o, c] F_c + b_r[o].

    Romero et al. 2015, eq. 3, 1/2 ||u_h - r(v_g)||^2, here averaged over all elements (torch MSELoss, as
    the PyTorch distillation tutorial). Features: (N, C) or (N, C, H, W); the regressor acts on axis 1.
    With return_grad, return (L, dL/dF_s, dL/dW_r, dL/db_r).
    """
    Fs, Ft = v.as_array(student_features, "student_features").astype(float), \
        v.as_array(teacher_features, "teacher_features").astype(float)
    W_r, b_r = v.as_array(W_r, "W_r").astype(float), v.as_array(b_r, "b_r").astype(float)
    if Fs.ndim < 2 or W_r.shape != (Ft.shape[1], Fs.shape[1]) or b_r.shape != (Ft.shape[1],) \
            or Fs.shape[2:] != Ft.shape[2:] or len(Fs) != len(Ft):
        raise ValueError(f"shapes must be F_s (N, C_s, ...), F_t (N, C_t, ...), W_r (C_t, C_s), b_r (C_t,); "
                         f"got {Fs.shape}, {Ft.shape}, {W_r.shape}, {b_r.shape}")
    extra = (1,) * (Fs.ndim - 2)
    r = np.einsum("oc,nc...->no...", W_r, Fs) + b_r.reshape(-1, *extra)
    diff = r - Ft
    loss = float(np.mean(diff ** 2))
    if not return_grad:
        return loss
    d_r = 2.0 * diff / diff.size
    axes = (0,) + tuple(range(2, Fs.ndim))
    return (loss, np.einsum("oc,no...->nc...", W_r, d_r), np.tensordot(d_r, Fs, axes=(axes, axes)),
            d_r.sum(axis=axes))


def attention_map(features, eps=1e-12):
    """Return the normalised spatial attention Q / ||Q||_2, Q = mean_c F_c^2, flattened to (N, H*W).

    Zagoruyko & Komodakis 2017, eq. 2 with p = 2 (their code: F.normalize(x.pow(2).mean(1).view(N, -1))).
    """
    F = v.as_array(features, "features").astype(float)
    if F.ndim != 4:
        raise ValueError(f"features must be 4-d (N, C, H, W), got shape {F.shape}")
    a = (F ** 2).mean(axis=1).reshape(len(F), -1)
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), eps)


def attention_loss(student_features, teacher_features, return_grad=False, eps=1e-12):
    """Return the attention-transfer loss mean((Q_s/||Q_s|| - Q_t/||Q_t||)^2) over N*H*W entries.

    Zagoruyko & Komodakis 2017, eq. 2 (the squared form of their code; beta/2 is the caller's weight).
    Channel counts may differ; H and W must match. With return_grad, return (L, dL/dF_s).
    """
    Fs = v.as_array(student_features, "student_features").astype(float)
    u, w = attention_map(Fs, eps), attention_map(teacher_features, eps)
    if u.shape != w.shape:
        raise ValueError(f"student and teacher maps must have the same N, H, W; got {Fs.shape} and "
                         f"{np.shape(teacher_features)}")
    loss = float(np.mean((u - w) ** 2))
    if not return_grad:
        return loss
    a = (Fs ** 2).mean(axis=1).reshape(len(Fs), -1)
    norm = np.linalg.norm(a, axis=1, keepdims=True)
    g_u = 2.0 * (u - w) / u.size
    g_a = np.where(norm > eps, (g_u - u * np.sum(u * g_u, axis=1, keepdims=True)) / np.maximum(norm, eps),
                   g_u / eps)
    return loss, g_a.reshape(len(Fs), 1, *Fs.shape[2:]) * 2.0 * Fs / Fs.shape[1]


def attention_kd_loss_fn(model, layer, beta=1000.0, T=4.0, alpha=0.9):
    """Return a loss for `nn.train`: KD on the logits + beta/2 * attention transfer at `model.layers[layer]`.

    L = kd_loss(z, t, y; T, alpha) + beta / 2 * mean((Q_s/||Q_s|| - Q_t/||Q_t||)^2)
    (Zagoruyko & Komodakis 2017, eq. 2; their beta = 1e3). The callable takes (output, labels,
    teacher_logits, teacher_features), reads the student's features from `model.cache[layer]`, and
    returns (L, dL/doutput, {layer: dL/dfeatures}) for `Sequential.backward`.
    """
    layer = v.integer(layer, "layer", minimum=0, maximum=len(model.layers) - 1)
    beta = v.real(beta, "beta", low=0.0)
    kd = kd_loss_fn(T, alpha)

    def loss(output, labels, teacher_logits, teacher_features):
        L, d_out = kd(output, labels, teacher_logits)
        L_at, d_F = attention_loss(model.cache[layer], teacher_features, return_grad=True)
        return L + beta / 2 * L_at, d_out, {layer: beta / 2 * d_F}

    loss.__name__ = f"attention_kd_loss(layer={layer}, beta={beta:g}, T={kd.__name__})"
    return loss


def hint_network(student, layer, c_teacher, seed=0):
    """Return the FitNets stage-1 network: the student's layers up to `layer`, then a 1x1-conv regressor r.

    Stage 1 of Romero et al. 2015 (sec. 2.2, eq. 3): train it with loss "mse" on the teacher's hint
    features (torch MSELoss, the same mean as `hint_loss`), then `load_guided` copies the guided layers
    back into the student. r is `hint_regressor` as a layer: r(F)_o = sum_c W_r[o, c] F_c + b_r[o].
    """
    from .layers import Conv2d, Sequential
    layer = v.integer(layer, "layer", minimum=0, maximum=len(student.layers) - 1)
    convs = [l for l in student.layers[:layer + 1] if isinstance(l, Conv2d)]
    if not convs:
        raise ValueError(f"layer must be at or after a Conv2d of the student, got {layer}")
    regressor = Conv2d(convs[-1].out_channels, v.integer(c_teacher, "c_teacher", minimum=1), 1)
    guided = Sequential(student.layers[:layer + 1] + [regressor], seed=seed)
    k = sum(l.has_params for l in student.layers[:layer + 1])
    guided.W[:k], guided.b[:k] = [w.copy() for w in student.W[:k]], [b.copy() for b in student.b[:k]]
    return guided


def load_guided(student, guided):
    """Copy the guided layers' weights of a trained `hint_network` back into the student (in place)."""
    k = len(guided.W) - 1
    if k > len(student.W) or any(g.shape != w.shape for g, w in zip(guided.W[:k], student.W[:k])):
        raise ValueError("guided must be a hint_network built from this student")
    student.W[:k], student.b[:k] = [w.copy() for w in guided.W[:k]], [b.copy() for b in guided.b[:k]]
    return student
