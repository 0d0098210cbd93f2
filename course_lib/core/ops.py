"""Array kernels shared by the float layers and the integer kernels: output sizes, im2col, col2im.

One home for the index arithmetic of a convolution, so `layers` (float) and `quantization.primitives`
(int8) run the same patches. Layout NCHW, kernels (out_channels, in_channels, k_h, k_w), as torch.
"""
import numpy as np

from . import validation as v
from .validation import Integer, Sequence, validate

SIZE, STRIDE, PADDING = Integer(minimum=1), Integer(minimum=1), Integer(minimum=0)


class _Batch(v.Constraint):
    """A numeric numpy array with `ndim` dimensions (a batch of feature maps or of patches).

    Finiteness is not checked: a diverged model's activations hold NaN and must flow through to its loss,
    as in torch (the network's input is checked where it enters, in Sequential.forward).
    """

    def __init__(self, ndim):
        self.ndim = ndim

    def check(self, x, name):
        if not isinstance(x, np.ndarray) or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
            raise TypeError(f"{name} must be a numpy array of numbers, got {type(x).__name__}")
        if x.ndim != self.ndim:
            raise ValueError(f"{name} must be {self.ndim}-dimensional, got shape {x.shape}")
        return x

    def good(self):
        return np.ones((1,) * self.ndim)

    def bad(self):
        return ["abc", [1.0], np.ones((1,) * (self.ndim + 1)), np.array(["a"] * 2).reshape((1,) * (self.ndim - 1) + (2,))]


@validate(n=SIZE, k=SIZE, stride=STRIDE, padding=PADDING)
def conv_output_size(n, k, stride=1, padding=0):
    """Return the output length of a convolution: floor((n + 2 padding - k) / stride) + 1."""
    if n + 2 * padding < k:
        raise ValueError(f"k must be <= n + 2 padding = {n + 2 * padding}, got {k}")
    return (n + 2 * padding - k) // stride + 1


@validate(c=SIZE, h=SIZE, w=SIZE, k_h=SIZE, k_w=SIZE, stride=STRIDE, padding=PADDING)
def im2col_indices(c, h, w, k_h, k_w, stride=1, padding=0):
    """Return index arrays (ch, row, col), each (c k_h k_w, h_out w_out), into the PADDED input.

    Column l of the patch matrix holds the input values under the kernel at output position l
    (row-major over the output); its rows run over (channel, kernel row, kernel column).
    """
    h_out, w_out = conv_output_size(h, k_h, stride, padding), conv_output_size(w, k_w, stride, padding)
    ch = np.repeat(np.arange(c), k_h * k_w)[:, None]
    row = (np.tile(np.repeat(np.arange(k_h), k_w), c)[:, None] + stride * np.repeat(np.arange(h_out), w_out)[None])
    col = (np.tile(np.arange(k_w), k_h * c)[:, None] + stride * np.tile(np.arange(w_out), h_out)[None])
    return ch, row, col


@validate(x=_Batch(4), k_h=SIZE, k_w=SIZE, stride=STRIDE, padding=PADDING)
def im2col(x, k_h, k_w, stride=1, padding=0):
    """Return the patch matrices of a batch x (n, c, h, w): shape (n, c k_h k_w, h_out w_out)."""
    n, c, h, w = x.shape
    ch, row, col = im2col_indices(c, h, w, k_h, k_w, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    return xp[:, ch, row, col]


@validate(cols=_Batch(3), x_shape=Sequence(SIZE, min_len=4, least="4 sizes (n, c, h, w)"), k_h=SIZE, k_w=SIZE,
          stride=STRIDE, padding=PADDING)
def col2im(cols, x_shape, k_h, k_w, stride=1, padding=0):
    """Return the gradient w.r.t. x from one w.r.t. its patches: overlapping patches add up."""
    if len(x_shape) != 4:
        raise ValueError(f"x_shape must be 4 sizes (n, c, h, w), got {tuple(x_shape)}")
    n, c, h, w = x_shape
    h_out, w_out = conv_output_size(h, k_h, stride, padding), conv_output_size(w, k_w, stride, padding)
    if cols.shape != (n, c * k_h * k_w, h_out * w_out):
        raise ValueError(f"cols must have shape {(n, c * k_h * k_w, h_out * w_out)} for x_shape {tuple(x_shape)}, "
                         f"got {cols.shape}")
    patches = cols.reshape(n, c, k_h, k_w, h_out, w_out)
    dxp = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    for i in range(k_h):      # kernel offset (i, j) adds its value to every patch's pixel (i, j): in the
        for j in range(k_w):  # order np.add.at(dxp, im2col_indices(...), cols) adds them, so bit for bit equal
            dxp[:, :, i:i + stride * h_out:stride, j:j + stride * w_out:stride] += patches[:, :, i, j]
    return dxp[:, :, padding:padding + h, padding:padding + w]

