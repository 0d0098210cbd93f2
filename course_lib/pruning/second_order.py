"""Second-order pruning from scratch: exact Hessians, OBD and OBS (numpy only).

Every function works on the flat parameter vector of a `course_lib.core.nn.MLP`,
theta = [vec(W_1), b_1, ..., vec(W_L), b_L] (see `MLP.get_flat`), and on the loss conventions of
`course_lib.core.nn` (`mse` = mean over all elements, `cross_entropy` = mean over the batch).

- `hessian`: the exact Hessian d^2 L / d theta^2, one column per direction with Pearlmutter's
  R-operator (Pearlmutter 1994, "Fast exact multiplication by the Hessian"), vectorised over directions.
- `hessian_diag_lecun`: LeCun's back-propagated diagonal (LeCun, Denker & Solla 1990, eqs. 7-9),
  with or without the Levenberg-Marquardt (Gauss-Newton) simplification.
- `output_jacobian`, `gauss_newton`: the outer-product approximation H ~ J^T (d^2 L / d out^2) J.
- `woodbury_update`, `inverse_hessian_woodbury`: Hassibi & Stork's (1993, eq. 8) one-sample-at-a-time
  recursion for H^-1 with H_0^-1 = I / alpha.
- `obd_saliency`, `obs_saliency`, `obs_update`, `prune_sequence`: the pruning rules and a greedy loop.

A masked weight (mask False) is a constant zero, not a parameter: its rows and columns of every
Hessian here are zero (H_masked = D_m H D_m with D_m = diag(mask)).
"""
from collections import namedtuple

import numpy as np

from ..core.validation import Array, Boolean, Choice, InstanceOf, Integer, Optional, Positive, validate
from ..core.nn import ACTIVATIONS, LOSSES, MLP, NETWORK, flat_layout, from_flat, softmax, to_flat

MLP_MODEL = InstanceOf(MLP, lambda: MLP([2, 2, 2]), "course_lib MLP (nn.MLP)")
LOSS = Choice(*LOSSES)


@validate(model=NETWORK)
def flat_keep(model):
    """Return a bool vector over theta: False where a mask removed the weight (biases are always True)."""
    return to_flat([np.ones(w.shape, bool) if m is None else np.asarray(m, bool)
                    for w, m in zip(model.W, model.masks)], [np.ones(b.shape, bool) for b in model.b])


@validate(model=NETWORK)
def weight_positions(model):
    """Return a bool vector over theta: True for entries of weight matrices, False for biases."""
    return to_flat([np.ones(w.shape, bool) for w in model.W], [np.zeros(b.shape, bool) for b in model.b])


def _check_data(model, X, y):
    X = _check_x(model, X)
    y = np.asarray(y)
    if len(y) != len(X):
        raise ValueError(f"y must have {len(X)} rows (one per row of X), got {len(y)}")
    return X, y


def _forward(model, X):
    """Return the per-layer lists (z_l, a_l) of the model's forward cache (masked weights)."""
    model.forward(X, keep=True)
    return [z for z, _ in model.cache], [a for _, a in model.cache]


def _loss_hessian_times(loss, out, y, r):
    """Return (d^2 L / d out^2) r for a batch of directions r of shape (k, n, K)."""
    if loss == "mse":
        return 2.0 * r / out.size
    p = softmax(out)
    return (p * r - p * np.sum(p * r, axis=-1, keepdims=True)) / out.shape[0]


def _check_x(model, X):
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != model.sizes[0]:
        raise ValueError(f"X must have shape (n, {model.sizes[0]}), got {X.shape}")
    return X


@validate(model=MLP_MODEL, X=Array(), y=Array(), V=Array(), loss=LOSS)
def hessian_vector_products(model, X, y, V, loss="mse"):
    """Return H V^T as rows: row k is H @ V[k] for every direction V[k] (shape (k, n_params)).

    Pearlmutter's R-operator: R{.} = d/dr (.)(theta + r v) at r = 0, pushed forward through the
    network, then backward through back-propagation (Pearlmutter 1994, section 4).
    """
    X, y = _check_data(model, X, y)
    V = np.atleast_2d(np.asarray(V, dtype=float))
    if V.shape[1] != model.n_params:
        raise ValueError(f"V must have {model.n_params} columns (one per parameter), got {V.shape}")
    keep = flat_keep(model)
    V = V * keep
    VW, Vb = [], []
    for name, _, i, shape in flat_layout(model.W, model.b):
        (VW if name == "W" else Vb).append(V[:, i:i + int(np.prod(shape))].reshape(-1, *shape))
    Ws = model.effective_weights()
    zs, acts = _forward(model, X)
    k = V.shape[0]
    Ra, Rz = [np.zeros((k,) + X.shape)], [None]
    for l, w in enumerate(Ws):  # forward R-pass
        rz = Ra[-1] @ w.T + np.einsum("ni,koi->kno", acts[l], VW[l]) + Vb[l][:, None, :]
        Rz.append(rz)
        Ra.append(ACTIVATIONS[model.acts[l]].d1(zs[l + 1], acts[l + 1]) * rz)
    _, g = LOSSES[loss](acts[-1], y)
    Rg = _loss_hessian_times(loss, acts[-1], y, Ra[-1])
    out = []
    for l in range(len(Ws) - 1, -1, -1):  # backward R-pass
        z, a = zs[l + 1], acts[l + 1]
        fp, fpp = ACTIVATIONS[model.acts[l]].d1(z, a), ACTIVATIONS[model.acts[l]].d2(z, a)
        dz = g * fp
        Rdz = Rg * fp + g * fpp * Rz[l + 1]
        RdW = np.einsum("kno,ni->koi", Rdz, acts[l]) + np.einsum("no,kni->koi", dz, Ra[l])
        out = [RdW.reshape(k, -1), Rdz.sum(axis=1)] + out
        g = dz @ Ws[l]
        Rg = Rdz @ Ws[l] + np.einsum("no,koi->kni", dz, VW[l])
    return np.concatenate(out, axis=1) * keep


@validate(model=MLP_MODEL, X=Array(), y=Array(), loss=LOSS)
def hessian(model, X, y, loss="mse"):
    """Return the exact Hessian d^2 L / d theta^2 (n_params x n_params), symmetrised.

    H e_j for every basis vector e_j (Pearlmutter 1994); (H + H^T)/2 removes rounding asymmetry.
    """
    H = hessian_vector_products(model, X, y, np.eye(model.n_params), loss)
    return (H + H.T) / 2.0


@validate(model=MLP_MODEL, X=Array())
def output_jacobian(model, X):
    """Return J of shape (n, K, n_params): J[n, k] = d out_k(x_n) / d theta, one row per sample."""
    X = _check_x(model, X)
    Ws = model.effective_weights()
    zs, acts = _forward(model, X)
    n, K = X.shape[0], model.sizes[-1]
    delta = np.broadcast_to(np.eye(K), (n, K, K)).copy()  # d out_k / d a_L, axes (n, k, unit)
    parts = []
    for l in range(len(Ws) - 1, -1, -1):
        delta = delta * ACTIVATIONS[model.acts[l]].d1(zs[l + 1], acts[l + 1])[:, None, :]
        jw = np.einsum("nko,ni->nkoi", delta, acts[l])
        if model.masks[l] is not None:
            jw = jw * model.masks[l]
        parts = [jw.reshape(n, K, -1), delta] + parts
        delta = delta @ Ws[l]
    return np.concatenate(parts, axis=2)


@validate(model=MLP_MODEL, X=Array(), y=Optional(Array()), loss=LOSS)
def gauss_newton(model, X, y=None, loss="mse"):
    """Return the outer-product (Gauss-Newton) Hessian G = sum_n J_n^T (d^2 L / d out_n^2) J_n.

    mse: G = 2/(nK) sum_{n,k} J_nk J_nk^T (the exact Hessian minus the residual terms);
    cross_entropy: G = 1/n sum_n J_n^T (diag p_n - p_n p_n^T) J_n (the Fisher of the softmax).
    """
    J = output_jacobian(model, X)
    n, K, _ = J.shape
    if loss == "mse":
        return 2.0 / (n * K) * np.einsum("nki,nkj->ij", J, J)
    p = softmax(model.forward(X))
    M = (np.einsum("nk,kl->nkl", p, np.eye(K)) - np.einsum("nk,nl->nkl", p, p)) / n
    return np.einsum("nki,nkl,nlj->ij", J, M, J)


@validate(model=MLP_MODEL, X=Array(), y=Array(), loss=LOSS, gauss_newton=Boolean())
def hessian_diag_lecun(model, X, y, loss="mse", gauss_newton=True):
    """Return LeCun's back-propagated Hessian diagonal h_kk, one entry per parameter.

    Unit i has input z_i = sum_j w_ij x_j and output a_i = f(z_i); x_j is the output of unit j of
    the layer below (or an input); weight k is w_ij, the connection from unit j to unit i; l runs
    over the units of the layer above i. Back-propagated second derivatives (chain rule):
        d2L/dz_i^2 = f'(z_i)^2 sum_l w_li^2 d2L/dz_l^2 + [f''(z_i) dL/da_i],   h_kk = sum_n d2L/dz_i^2 x_j^2
    (LeCun, Denker & Solla 1990, "Optimal Brain Damage", NIPS, eqs. 7-9; the off-diagonal terms
    sum_{l != m} are dropped, and the bracket too when gauss_newton=True).
    Exact for a single layer, and for one hidden layer with one output; an approximation otherwise.
    """
    X, y = _check_data(model, X, y)
    Ws = model.effective_weights()
    zs, acts = _forward(model, X)
    out = acts[-1]
    _, g = LOSSES[loss](out, y)
    if loss == "mse":
        d2a = np.full(out.shape, 2.0 / out.size)
    else:
        p = softmax(out)
        d2a = p * (1.0 - p) / out.shape[0]
    parts = []
    for l in range(len(Ws) - 1, -1, -1):
        z, a = zs[l + 1], acts[l + 1]
        fp = ACTIVATIONS[model.acts[l]].d1(z, a)
        d2z = fp ** 2 * d2a
        if not gauss_newton:
            d2z = d2z + ACTIVATIONS[model.acts[l]].d2(z, a) * g
        hw = d2z.T @ acts[l] ** 2
        if model.masks[l] is not None:
            hw = hw * model.masks[l]
        parts = [hw.reshape(-1), d2z.sum(axis=0)] + parts
        d2a = d2z @ Ws[l] ** 2
        g = (g * fp) @ Ws[l]
    return np.concatenate(parts)


@validate(h_inv=Array(ndim=2), x=Array(), n_samples=Positive())
def woodbury_update(h_inv, x, n_samples):
    """Return H_{m+1}^-1 = H_m^-1 - (H_m^-1 x x^T H_m^-1) / (n_samples + x^T H_m^-1 x).

    One step of Hassibi & Stork (1993, eq. 8), who call the sample count P: adds x x^T / n_samples
    to H (the Sherman-Morrison identity).
    """
    h_inv, x = np.asarray(h_inv, dtype=float), np.asarray(x, dtype=float).reshape(-1)
    if h_inv.shape != (x.size, x.size):
        raise ValueError(f"h_inv must have shape ({x.size}, {x.size}) to match x, got {h_inv.shape}")
    hx = h_inv @ x
    return h_inv - np.outer(hx, hx) / (n_samples + x @ hx)


@validate(grads=Array(ndim=2), alpha=Positive())
def inverse_hessian_woodbury(grads, alpha):
    """Return H^-1 for H = alpha I + (1/n) sum_m x_m x_m^T, built one row x_m of `grads` at a time.

    H_0^-1 = I / alpha, then `woodbury_update` with n = the number of rows (Hassibi & Stork 1993,
    eq. 8-9). Cost O(n p^2) for p parameters instead of forming H and inverting it in O(p^3).
    """
    grads = np.asarray(grads, dtype=float)
    n_samples, p = grads.shape
    h_inv = np.eye(p) / alpha
    for x in grads:
        hx = h_inv @ x
        h_inv -= np.outer(hx, hx) / (n_samples + x @ hx)
    return h_inv


def _check_w_h(w, h):
    return np.asarray(w, dtype=float).reshape(-1), np.asarray(h, dtype=float)


@validate(w=Array(), h_diag=Array())
def obd_saliency(w, h_diag):
    """Return the OBD saliency of every weight.

    s_k = h_kk * w_k**2 / 2   (LeCun, Denker & Solla 1990, eq. 6)
    """
    w, h = _check_w_h(w, h_diag)
    if h.reshape(-1).shape != w.shape:
        raise ValueError(f"h_diag must have one entry per weight ({w.size}), got shape {h.shape}")
    return h.reshape(-1) * w ** 2 / 2.0


@validate(w=Array(), h_inv=Array())
def obs_saliency(w, h_inv):
    """Return the OBS saliency L_q = w_q**2 / (2 [H^-1]_qq) of every weight (Hassibi & Stork 1993, eq. 5).

    Entries with [H^-1]_qq = 0 (weights already removed by `obs_update`) get +inf.
    """
    w, h = _check_w_h(w, h_inv)
    if h.shape != (w.size, w.size):
        raise ValueError(f"h_inv must have shape ({w.size}, {w.size}), got {h.shape}")
    d = np.diag(h)
    if np.any(d < 0):
        raise ValueError("h_inv must have a non-negative diagonal (it is the inverse of a PSD Hessian)")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, w ** 2 / (2.0 * np.where(d > 0, d, 1.0)), np.inf)


@validate(w=Array(), h_inv=Array(), q=Integer(minimum=0))
def obs_update(w, h_inv, q):
    """Remove weight q optimally; return (w + dw, H^-1 restricted to the other weights).

    dw = -(w_q / [H^-1]_qq) H^-1 e_q   (Hassibi & Stork 1993, eq. 5); w_q becomes exactly 0.
    The new inverse is H^-1 - H^-1 e_q e_q^T H^-1 / [H^-1]_qq: the inverse of H with row and column q
    deleted (Schur complement), padded with a zero row and column q.
    """
    w, h = _check_w_h(w, h_inv)
    if h.shape != (w.size, w.size):
        raise ValueError(f"h_inv must have shape ({w.size}, {w.size}), got {h.shape}")
    if not 0 <= q < w.size:
        raise ValueError(f"q must be in [0, {w.size - 1}], got {q}")
    if h[q, q] <= 0:
        raise ValueError(f"[H^-1]_qq must be > 0 for q={q} (was it removed already?), got {h[q, q]}")
    col = h[:, q].copy()
    w_new = w - w[q] / h[q, q] * col
    w_new[q] = 0.0
    h_new = h - np.outer(col, h[q, :]) / h[q, q]
    h_new[q, :] = 0.0
    h_new[:, q] = 0.0
    return w_new, h_new


@validate(w=Array(), H=Array(), removed=Array(allow_empty=True))
def quadratic_loss_change(w, H, removed):
    """Return the quadratic-model loss change of setting the `removed` weights to zero.

    dL = 1/2 dw^T H dw with dw_k = -w_k on removed k, 0 elsewhere (LeCun et al. 1990, eq. 5,
    gradient term dropped at a minimum). OBD keeps only the diagonal of H: sum_k h_kk w_k^2 / 2.
    """
    w, H = _check_w_h(w, H)
    if H.shape != (w.size, w.size):
        raise ValueError(f"H must have shape ({w.size}, {w.size}), got {H.shape}")
    removed = np.asarray(removed).reshape(-1)
    if removed.dtype != bool or removed.size != w.size:
        raise ValueError(f"removed must be a bool vector with {w.size} entries, got {removed.dtype} "
                         f"of size {removed.size}")
    dw = np.where(removed, -w, 0.0)
    return float(dw @ H @ dw / 2.0)


@validate(s=Array(), k=Integer(minimum=0))
def lowest_saliency_mask(s, k):
    """Return a keep-mask (bool, True = keep) that removes the k weights of lowest saliency.

    Ties are broken by position: the earlier weight is removed first (a stable sort).
    """
    s = np.asarray(s, dtype=float).reshape(-1)
    if k > s.size:
        raise ValueError(f"k must be in [0, {s.size}], got {k}")
    keep = np.ones(s.size, bool)
    keep[np.argsort(s, kind="stable")[:k]] = False
    return keep


PruneTrace = namedtuple("PruneTrace", "order thetas losses predicted")
METHODS = ("magnitude", "obd", "obs")


def _loss_at(model, theta, X, y, loss):
    m = model.copy()
    m.set_flat(theta)
    return LOSSES[loss](m.forward(X), y)[0]


@validate(model=MLP_MODEL, X=Array(), y=Array(), method=Choice(*METHODS), n_remove=Optional(Integer(minimum=0)), loss=LOSS,
          alpha=Positive(), prunable=Optional(Array()))
def prune_sequence(model, X, y, method, n_remove=None, loss="mse", alpha=1e-6, prunable=None):
    """Remove weights one at a time, greedily, recomputing the second-order terms at each step.

    method: 'magnitude' (smallest |w_q|), 'obd' (smallest h_qq w_q^2 / 2, LeCun's Gauss-Newton
    diagonal, no update) or 'obs' (smallest w_q^2 / (2 [H^-1]_qq) with the compensating update;
    H = alpha I + Gauss-Newton, its inverse built by the Woodbury recursion; Hassibi & Stork 1993,
    section 3, steps 2-4, without retraining). `prunable` (bool over theta) says which entries may be
    removed; default: every unmasked weight, no biases. Removed entries stay exactly 0; under OBS the
    other free parameters (biases too) move. Returns PruneTrace(order, thetas, losses, predicted):
    thetas[t] and losses[t] after t removals, predicted[t - 1] = the saliency of the t-th removal.
    """
    X, y = _check_data(model, X, y)
    keep = flat_keep(model)
    prunable = (weight_positions(model) & keep) if prunable is None else np.asarray(prunable, bool).reshape(-1) & keep
    if prunable.size != model.n_params:
        raise ValueError(f"prunable must have {model.n_params} entries, got {prunable.size}")
    n_max = int(prunable.sum())
    n_remove = n_max if n_remove is None else n_remove
    if n_remove > n_max:
        raise ValueError(f"n_remove must be in [0, {n_max}] (the prunable weights), got {n_remove}")
    m = model.copy()
    theta = m.get_flat() * keep
    order, thetas, losses, predicted = [], [theta.copy()], [_loss_at(m, theta, X, y, loss)], []
    for _ in range(n_remove):
        m.set_flat(theta)
        m.masks = _masks_from_flat(m, keep)
        cand = np.flatnonzero(prunable & keep)
        if method == "magnitude":
            s = np.abs(theta[cand])
        elif method == "obd":
            s = obd_saliency(theta[cand], hessian_diag_lecun(m, X, y, loss)[cand])
        else:
            free = np.flatnonzero(keep)
            J = output_jacobian(m, X)[:, :, free]
            rows = _gn_rows(m, X, J, loss)
            h_inv = inverse_hessian_woodbury(rows, alpha)
            s_all = obs_saliency(theta[free], h_inv)
            pos = np.searchsorted(free, cand)
            s = s_all[pos]
        # saliencies within round-off of 0 (below 1e-12 of the largest) tie at 0, and ties go to the first
        # candidate: otherwise which of several 'free' weights goes first would depend on the CPU's rounding
        j = int(np.argmin(np.where(s <= 1e-12 * np.max(np.abs(s)), 0.0, s)))
        q = int(cand[j])
        if method == "obs":
            w_free, _ = obs_update(theta[free], h_inv, int(pos[j]))
            theta[free] = w_free
        theta[q] = 0.0
        keep[q] = False
        order.append(q)
        predicted.append(float(s[j]))
        thetas.append(theta.copy())
        losses.append(_loss_at(m, theta, X, y, loss))
    return PruneTrace(order, np.array(thetas), np.array(losses), np.array(predicted))


def _gn_rows(model, X, J, loss):
    """Return rows x_m with G = (1/P) sum x_m x_m^T (P = number of rows) for `inverse_hessian_woodbury`."""
    n, K, nf = J.shape
    if loss == "mse":  # G = 2/(nK) sum J_nk J_nk^T, P = nK rows
        return np.sqrt(2.0) * J.reshape(n * K, nf)
    p = softmax(model.forward(X))  # G = 1/n sum J^T (diag p - p p^T) J = 1/n sum_n sum_k r r^T
    # diag p - p p^T = sum_k (sqrt(p_k) e_k - sqrt(p_k) p)(...)^T ; P = n rows per k, scaled by K
    R = np.sqrt(p)[:, :, None] * (np.eye(K)[None] - p[:, None, :])  # (n, k, l)
    rows = np.einsum("nkl,nlj->nkj", R, J).reshape(n * K, nf)
    return np.sqrt(K) * rows


def _masks_from_flat(model, keep):
    masks, _ = from_flat(keep, model.W, model.b)
    return [None if mk.all() else mk for mk in masks]
