"""Feature distillation: FitNets hints (Romero et al. 2015) and attention transfer (Zagoruyko & Komodakis 2017).

A student learns from the teacher's hidden layers, not only its logits. The losses return their gradient
with respect to the student's features, and `attention_kd_loss_fn` feeds it to `nn.train` through a
hidden layer of the student.
"""
import numpy as np

from ..core import validation as v
from ..core.layers import Conv2d, Sequential, digits_cnn
from ..core.validation import Array, Boolean, Fraction, InstanceOf, Integer, Positive, Real, Seed, Temperature, validate
from .kd import kd_loss_fn

CNN = InstanceOf(Sequential, lambda: digits_cnn(0), "course_lib Sequential (layers.digits_cnn)")


@validate(c_student=Integer(minimum=1), c_teacher=Integer(minimum=1), seed=Seed())
def hint_regressor(c_student, c_teacher, seed=0):
    """Return (W_r, b_r) of a linear (1x1-conv) regressor from c_student to c_teacher channels (FitNets)."""
    c_s, c_t = c_student, c_teacher
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, np.sqrt(1.0 / c_s), size=(c_t, c_s)), np.zeros(c_t)


@validate(student_features=Array(), teacher_features=Array(), W_r=Array(), b_r=Array(), return_grad=Boolean())
def hint_loss(student_features, teacher_features, W_r, b_r, return_grad=False):
    """Return the FitNets hint loss mean((r(F_s) - F_t)^2) with r(F)_o = sum_c W_r[o, c] F_c + b_r[o].

    Romero et al. 2015, eq. 3, 1/2 ||u_h - r(v_g)||^2, here averaged over all elements (torch MSELoss, as
    the PyTorch distillation tutorial). Features: (N, C) or (N, C, H, W); the regressor acts on axis 1.
    With return_grad, return (L, dL/dF_s, dL/dW_r, dL/db_r).
    """
    Fs, Ft = student_features.astype(float), teacher_features.astype(float)
    W_r, b_r = W_r.astype(float), b_r.astype(float)
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


@validate(features=Array(ndim=4), eps=Positive())
def attention_map(features, eps=1e-12):
    """Return the normalised spatial attention Q / ||Q||_2, Q = mean_c F_c^2, flattened to (N, H*W).

    Zagoruyko & Komodakis 2017, eq. 2 with p = 2 (their code: F.normalize(x.pow(2).mean(1).view(N, -1))).
    """
    F = features.astype(float)
    a = (F ** 2).mean(axis=1).reshape(len(F), -1)
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), eps)


@validate(student_features=Array(ndim=4), teacher_features=Array(ndim=4), return_grad=Boolean(), eps=Positive())
def attention_loss(student_features, teacher_features, return_grad=False, eps=1e-12):
    """Return the attention-transfer loss mean((Q_s/||Q_s|| - Q_t/||Q_t||)^2) over N*H*W entries.

    Zagoruyko & Komodakis 2017: eq. 2 writes beta/2 * ||.||_p (a norm, not squared); their code computes
    beta * mean((delta Q)^2) with beta = 1e3. This is the code's squared mean; the weight is the caller's.
    Channel counts may differ; H and W must match. With return_grad, return (L, dL/dF_s).
    """
    Fs = student_features.astype(float)
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


@validate(model=CNN, layer=Integer(minimum=0), beta=Real(low=0.0), T=Temperature(), alpha=Fraction())
def attention_kd_loss_fn(model, layer, beta=1000.0, T=4.0, alpha=0.9):
    """Return a loss for `nn.train`: KD on the logits + beta/2 * attention transfer at `model.layers[layer]`.

    L = kd_loss(z, t, y; T, alpha) + beta / 2 * mean((Q_s/||Q_s|| - Q_t/||Q_t||)^2)
    (Zagoruyko & Komodakis 2017: the code's squared mean with the paper's beta/2, so beta = 1e3 here is HALF
    the weight of their code's beta = 1e3). The callable takes (output, labels,
    teacher_logits, teacher_features), reads the student's features from `model.cache[layer]`, and
    returns (L, dL/doutput, {layer: dL/dfeatures}) for `Sequential.backward`.
    """
    layer = v.integer(layer, "layer", minimum=0, maximum=len(model.layers) - 1)
    kd = kd_loss_fn(T, alpha)

    def loss(output, labels, teacher_logits, teacher_features):
        L, d_out = kd(output, labels, teacher_logits)
        L_at, d_F = attention_loss(model.cache[layer], teacher_features, return_grad=True)
        return L + beta / 2 * L_at, d_out, {layer: beta / 2 * d_F}

    loss.__name__ = f"attention_kd_loss(layer={layer}, beta={beta:g}, T={kd.__name__})"
    return loss


@validate(student=CNN, layer=Integer(minimum=0), c_teacher=Integer(minimum=1), seed=Seed())
def hint_network(student, layer, c_teacher, seed=0):
    """Return the FitNets stage-1 network: the student's layers up to `layer`, then a 1x1-conv regressor r.

    Stage 1 of Romero et al. 2015 (sec. 2.2, eq. 3): train it with loss "mse" on the teacher's hint
    features (torch MSELoss, the same mean as `hint_loss`), then `load_guided` copies the guided layers
    back into the student. r is `hint_regressor` as a layer: r(F)_o = sum_c W_r[o, c] F_c + b_r[o].
    """
    layer = v.integer(layer, "layer", minimum=0, maximum=len(student.layers) - 1)
    convs = [l for l in student.layers[:layer + 1] if isinstance(l, Conv2d)]
    if not convs:
        raise ValueError(f"layer must be at or after a Conv2d of the student, got {layer}")
    regressor = Conv2d(convs[-1].out_channels, c_teacher, 1)
    guided = Sequential(student.layers[:layer + 1] + [regressor], seed=seed)
    k = sum(l.has_params for l in student.layers[:layer + 1])
    guided.W[:k], guided.b[:k] = [w.copy() for w in student.W[:k]], [b.copy() for b in student.b[:k]]
    return guided


@validate(student=CNN, guided=CNN)
def load_guided(student, guided):
    """Copy the guided layers' weights of a trained `hint_network` back into the student (in place)."""
    k = len(guided.W) - 1
    if k > len(student.W) or any(g.shape != w.shape for g, w in zip(guided.W[:k], student.W[:k])):
        raise ValueError("guided must be a hint_network built from this student")
    student.W[:k], student.b[:k] = [w.copy() for w in guided.W[:k]], [b.copy() for b in guided.b[:k]]
    return student

