"""Layer-wise reconstruction from scratch: the shared pieces of OBQ, GPTQ and SparseGPT (numpy only).

Each linear layer Y = W X (W: out x in, X: in x samples) is compressed on its own so that the output
changes least on calibration inputs:

    min_What ||W X - What X||_F^2 = sum_rows (w - what)^T (X X^T) (w - what),   H = 2 X X^T

(Frantar & Alistarh 2022, "Optimal Brain Compression", NeurIPS, eq. 1). The loss is quadratic with the
same Hessian H for every row, so lesson 04's Optimal Brain Surgeon applies to each row exactly: remove
(or round) weight q and move the others by dw = -(w_q - target) / [H^-1]_qq H^-1 e_q (Hassibi & Stork
1993, eq. 5).

- `hessian_from_inputs`: H = (2 / n) X^T X from n input rows (the mean, as the reference code; the
  scale of H changes no decision below, because the damping is relative).
- `prepare_hessian`: the reference's pre-processing: dead inputs (H_ii = 0: the input is always 0) get
  H_ii = 1 and W[:, i] = 0; then damp * mean(diag H) is added to the diagonal.
- `inverse_hessian`: H^-1 through the Cholesky factor (OBQ/OBC keep it whole and shrink it by OBS steps).
- `inverse_cholesky_upper`: U upper-triangular with H^-1 = U^T U. Row i of U, divided by U_ii, is the
  OBS update of column i once columns < i are fixed (Frantar et al. 2023, GPTQ, ICLR, sec. 3, step 3).
- `layer_error`: tr((W - What) H (W - What)^T) / 2, the mean of ||(W - What) x||^2 over the inputs
  when H comes from `hessian_from_inputs`.
- `layer_inputs`, `compress_layers`: a whole course network (the MLP, or the conv `Sequential`) layer
  by layer, each layer on the inputs the already compressed layers before it produce (the references'
  sequential order). A conv layer is the matrix W (out, c k k) applied to its im2col patches.
"""
import numpy as np

from ..core import validation as v
from ..core.layers import Conv2d, Sequential
from ..core.nn import MLP
from ..core.ops import im2col
from ..core.validation import Array, Callable, InstanceOf, Integer, Real, validate


class _Hessian(v.Constraint):
    """A layer Hessian H = 2 X X^T: a square, symmetric matrix of finite numbers with a diagonal >= 0."""

    def check(self, x, name):
        H = v.as_array(x, name)
        if H.ndim != 2 or H.shape[0] != H.shape[1]:
            raise ValueError(f"{name} must be a square matrix (in, in), got shape {H.shape}")
        if not np.allclose(H, H.T, rtol=1e-6, atol=1e-12 * max(1.0, float(np.abs(H).max()))):
            raise ValueError(f"{name} must be symmetric (H = 2 X X^T)")
        if np.any(np.diag(H) < 0):
            raise ValueError(f"{name} must have a non-negative diagonal (H = 2 X X^T is positive semi-definite)")
        return H

    def good(self):
        return np.eye(2)

    def bad(self):
        return ["abc", np.array([[1.0, np.nan], [np.nan, 1.0]]), np.ones((2, 3)), np.triu(np.ones((2, 2))), -np.eye(2)]


MATRIX, HESSIAN, DAMP = Array(ndim=2), _Hessian(), Real(low=0.0)  # W (out, in); H (in, in); damp >= 0
NETWORK = InstanceOf((MLP, Sequential), lambda: MLP([2, 2, 2]), "course_lib MLP or Sequential")


@validate(W=MATRIX, H=HESSIAN)
def check_layer(W, H):
    """Return (W, H) as float64 arrays after checking W is (out, in) and H is a symmetric (in, in)."""
    W, H = np.asarray(W).astype(np.float64), np.asarray(H).astype(np.float64)
    if H.shape != (W.shape[1], W.shape[1]):
        raise ValueError(f"H must have shape ({W.shape[1]}, {W.shape[1]}) (in x in, in = W.shape[1]), "
                         f"got {H.shape}")
    return W, H


@validate(damp=DAMP)
def check_damp(damp):
    """Return damp as a float in [0, inf)."""
    return float(damp)


@validate(X=MATRIX)
def hessian_from_inputs(X):
    """Return H = (2 / n) X^T X for n input rows X (n, in): the Hessian of the layer-wise loss.

    Frantar & Alistarh 2022 (OBC, NeurIPS, eq. 2) write H = 2 X X^T with samples as columns; here
    samples are rows, as everywhere in the course, and the sum is a mean, as the reference code.
    """
    X = np.asarray(X).astype(np.float64)
    return 2.0 * X.T @ X / X.shape[0]


@validate(W=MATRIX, H=HESSIAN, damp=DAMP)
def prepare_hessian(W, H, damp=0.01):
    """Return (W, H) after the reference's dead-input rule and damping (copies, float64).

    dead = {i : H_ii = 0}:  H_ii <- 1,  W[:, i] <- 0;   then  H <- H + damp * mean(diag H) * I
    (Frantar et al. 2023, GPTQ, ICLR, reference code `fasterquant`; the same in SparseGPT).
    """
    W, H = check_layer(W, H)
    damp = check_damp(damp)
    W, H = W.copy(), H.copy()
    dead = np.diag(H) == 0
    H[dead, dead] = 1.0
    W[:, dead] = 0.0
    H[np.diag_indices_from(H)] += damp * np.mean(np.diag(H))
    return W, H


def _cholesky(A, what):
    try:
        return np.linalg.cholesky(A)
    except np.linalg.LinAlgError as e:
        raise ValueError(f"{what} must be positive definite: increase damp") from e


@validate(H=HESSIAN)
def inverse_hessian(H):
    """Return H^-1 = L^-T L^-1 from the Cholesky factor H = L L^T (the reference's cholesky_inverse)."""
    H = np.asarray(H).astype(np.float64)
    L_inv = np.linalg.solve(_cholesky(H, "H + damp * mean(diag H) * I"), np.eye(len(H)))
    return L_inv.T @ L_inv


@validate(H=HESSIAN)
def inverse_cholesky_upper(H):
    """Return U, upper-triangular with positive diagonal, such that H^-1 = U^T U.

    H = L L^T (Cholesky), H^-1 = L^-T L^-1, then the Cholesky factor of H^-1 transposed (the reference:
    torch.linalg.cholesky, cholesky_inverse, cholesky(upper=True); Frantar et al. 2023, sec. 3, step 3).
    """
    H_inv = inverse_hessian(H)
    return _cholesky((H_inv + H_inv.T) / 2.0, "H^-1").T


@validate(W=MATRIX, W_hat=MATRIX, H=HESSIAN)
def layer_error(W, W_hat, H):
    """Return the layer-wise reconstruction error tr((W - What) H (W - What)^T) / 2.

    With H = (2 / n) X^T X (`hessian_from_inputs`) it is the mean over inputs of ||(W - What) x||^2.
    """
    W, H = check_layer(W, H)
    W_hat = np.asarray(W_hat).astype(np.float64)
    if W_hat.shape != W.shape:
        raise ValueError(f"W_hat must have the shape of W {W.shape}, got {W_hat.shape}")
    D = W - W_hat
    return float(np.einsum("oi,ij,oj->", D, H, D) / 2.0)


@validate(model=NETWORK, X=MATRIX, l=Integer(minimum=0))
def layer_inputs(model, X, l):
    """Return the inputs of weighted layer l as rows X_l (rows, in), so that W_l.reshape(out, -1) @ x + b_l
    is the layer's output for each row x: a dense layer's input vectors, or a conv layer's im2col patches
    (one row per image and output position; Frantar et al. 2023, GPTQ, ICLR, Table 1 on ResNets; the
    reference code `GPTQ.add_batch` unfolds a conv's input with `nn.Unfold` and flattens W to
    (out, c·k·k))."""
    X = np.asarray(X).astype(np.float64)
    l = v.integer(l, "l", minimum=0, maximum=len(model.W) - 1)  # an index of the model's layers
    model.forward(X, keep=True)
    if isinstance(model, MLP):
        return model.cache[l][1]
    k = [i for i, layer in enumerate(model.layers) if getattr(layer, "has_params", False)][l]
    x, layer = (X if k == 0 else model.cache[k - 1]), model.layers[k]
    if isinstance(layer, Conv2d):
        cols = im2col(x, layer.k, layer.k, layer.stride, layer.padding)  # (n, c k k, positions)
        return cols.transpose(0, 2, 1).reshape(-1, cols.shape[1])
    return x


@validate(model=NETWORK, X=MATRIX, fn=Callable())
def compress_layers(model, X, fn):
    """Return (a compressed copy of model, the relative layer errors ||(W - What) X_l||^2 / ||W X_l||^2).

    For l = 0, 1, ...: What_l = fn(W_l as (out, in), X_l), X_l = `layer_inputs` of the copy whose layers
    before l are already compressed (the references' sequential order); biases stay as they are.
    """
    X = np.asarray(X).astype(np.float64)
    m, errs = model.copy(), []
    for l in range(len(m.W)):
        X_l, W = layer_inputs(m, X, l), m.W[l].reshape(m.W[l].shape[0], -1)
        W_hat, H = np.asarray(fn(W, X_l), dtype=np.float64), hessian_from_inputs(X_l)
        if W_hat.shape != W.shape:
            raise ValueError(f"fn must return an array of the shape of W {W.shape}, got {W_hat.shape}")
        errs.append(layer_error(W, W_hat, H) / layer_error(W, np.zeros_like(W), H))
        m.W[l] = W_hat.reshape(m.W[l].shape)
    return m, errs
