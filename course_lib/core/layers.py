"""A small convolutional network in numpy: Conv2d (im2col), pooling, Flatten, Dense, activations.

Layout, written down once for the whole course: the numpy core uses torch's NCHW, images
(n, channels, height, width) and conv weights (out_channels, in_channels, k_h, k_w); dense weights
are (out, in) as torch.nn.Linear. Keras uses NHWC and kernels (k_h, k_w, in, out); the Keras bridge
(`course_lib.frameworks.keras_bridge.to_keras`) converts, and nothing else does.

`Sequential` follows the model protocol of `course_lib.core.nn` (lists W, b, masks over the parametrised
layers; forward/backward; set_masks; flat parameters), so `nn.train` trains it unchanged.
"""
import copy

import numpy as np

from . import validation as v
from .validation import Choice, Duck, Integer, Optional, Seed, Sequence, validate
from .nn import ACTIVATIONS, Network
from .ops import col2im, conv_output_size, im2col, im2col_indices


POSITIVE = Integer(minimum=1)


class Conv2d:
    """y[o] = b[o] + sum_{c, i, j} W[o, c, i, j] x[c, s r + i - p, s t + j - p]: as torch.nn.Conv2d."""

    has_params = True

    @validate(in_channels=POSITIVE, out_channels=POSITIVE, kernel_size=POSITIVE, stride=POSITIVE,
              padding=Integer(minimum=0))
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        self.in_channels, self.out_channels, self.k = in_channels, out_channels, kernel_size
        self.stride, self.padding = stride, padding

    def init(self, rng):
        """Return (W, b): He-normal weights (He et al. 2015), zero biases."""
        fan_in = self.in_channels * self.k * self.k
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), (self.out_channels, self.in_channels, self.k, self.k)), \
            np.zeros(self.out_channels)

    def forward(self, x, W, b):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must have shape (n, {self.in_channels}, h, w), got {x.shape}")
        cols = im2col(x, self.k, self.k, self.stride, self.padding)
        h_out = conv_output_size(x.shape[2], self.k, self.stride, self.padding)
        w_out = conv_output_size(x.shape[3], self.k, self.stride, self.padding)
        self.cache = (x.shape, cols, W)
        y = np.einsum("ok,nkl->nol", W.reshape(self.out_channels, -1), cols, optimize=True) + b[None, :, None]
        return y.reshape(x.shape[0], self.out_channels, h_out, w_out)

    def backward(self, dy):
        x_shape, cols, W = self.cache
        dy = dy.reshape(dy.shape[0], self.out_channels, -1)
        dW = np.einsum("nol,nkl->ok", dy, cols, optimize=True).reshape(W.shape)
        dcols = np.einsum("ok,nol->nkl", W.reshape(self.out_channels, -1), dy, optimize=True)
        return col2im(dcols, x_shape, self.k, self.k, self.stride, self.padding), dW, dy.sum(axis=(0, 2))

    def __repr__(self):
        return f"Conv2d({self.in_channels}, {self.out_channels}, {self.k}, stride={self.stride}, padding={self.padding})"


class Dense:
    """y = x W^T + b, W of shape (out, in): as torch.nn.Linear."""

    has_params = True

    @validate(n_in=POSITIVE, n_out=POSITIVE)
    def __init__(self, n_in, n_out):
        self.n_in, self.n_out = n_in, n_out

    def init(self, rng):
        return rng.normal(0.0, np.sqrt(2.0 / self.n_in), (self.n_out, self.n_in)), np.zeros(self.n_out)

    def forward(self, x, W, b):
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(f"x must have shape (n, {self.n_in}), got {x.shape}")
        self.cache = (x, W)
        return x @ W.T + b

    def backward(self, dy):
        x, W = self.cache
        return dy @ W, dy.T @ x, dy.sum(axis=0)

    def __repr__(self):
        return f"Dense({self.n_in}, {self.n_out})"


class _Pool:
    has_params = False

    @validate(kernel_size=POSITIVE, stride=Optional(POSITIVE))
    def __init__(self, kernel_size, stride=None):
        self.k = kernel_size
        self.stride = self.k if stride is None else stride

    def _patches(self, x):
        n, c, h, w = x.shape
        cols = im2col(x.reshape(n * c, 1, h, w), self.k, self.k, self.stride)  # (n c, k k, l)
        return cols, (n, c, conv_output_size(h, self.k, self.stride), conv_output_size(w, self.k, self.stride))

    def __repr__(self):
        return f"{type(self).__name__}({self.k}, stride={self.stride})"


class MaxPool2d(_Pool):
    """The maximum of each k x k window; the gradient goes to the FIRST maximum in the window
    (row-major), as torch's CPU kernel (a strict `>` scan) does."""

    def forward(self, x):
        cols, out = self._patches(x)
        self.cache = (x.shape, cols.shape, np.argmax(cols, axis=1))
        return np.take_along_axis(cols, self.cache[2][:, None], axis=1).reshape(out)

    def backward(self, dy):
        x_shape, cols_shape, arg = self.cache
        dcols = np.zeros(cols_shape)
        np.put_along_axis(dcols, arg[:, None], dy.reshape(cols_shape[0], 1, -1), axis=1)
        n, c, h, w = x_shape
        return col2im(dcols, (n * c, 1, h, w), self.k, self.k, self.stride).reshape(x_shape)


class AvgPool2d(_Pool):
    """The mean of each k x k window (no padding), as torch.nn.AvgPool2d."""

    def forward(self, x):
        cols, out = self._patches(x)
        self.cache = (x.shape, cols.shape)
        return cols.mean(axis=1).reshape(out)

    def backward(self, dy):
        x_shape, cols_shape = self.cache
        dcols = np.repeat(dy.reshape(cols_shape[0], 1, -1) / (self.k * self.k), self.k * self.k, axis=1)
        n, c, h, w = x_shape
        return col2im(dcols, (n * c, 1, h, w), self.k, self.k, self.stride).reshape(x_shape)


class Flatten:
    """(n, c, h, w) -> (n, c h w), in NCHW order (torch.nn.Flatten)."""

    has_params = False

    def forward(self, x):
        self.cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape(self.cache)

    def __repr__(self):
        return "Flatten()"


class Reshape:
    """(n, prod(shape)) -> (n, *shape): lets a conv net take the course's flat inputs."""

    has_params = False

    @validate(shape=Sequence(POSITIVE))
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.cache = x.shape
        return x.reshape((x.shape[0],) + self.shape)

    def backward(self, dy):
        return dy.reshape(self.cache)

    def __repr__(self):
        return f"Reshape({self.shape})"


class Activation:
    """An elementwise activation from `nn.ACTIVATIONS` ('relu', 'tanh', 'sigmoid', 'identity')."""

    has_params = False

    @validate(name=Choice(*ACTIVATIONS))
    def __init__(self, name):
        self.name = name

    def forward(self, x):
        a = ACTIVATIONS[self.name].f(x)
        self.cache = (x, a)
        return a

    def backward(self, dy):
        return dy * ACTIVATIONS[self.name].d1(*self.cache)

    def __repr__(self):
        return f"Activation({self.name!r})"


def _check_hidden(d_hidden, n_layers):
    if d_hidden is None:
        return {}
    if not isinstance(d_hidden, dict) or not all(isinstance(k, (int, np.integer)) and 0 <= k < n_layers
                                                   for k in d_hidden):
        raise ValueError(f"d_hidden must map layer indices in [0, {n_layers - 1}] to gradients, got {d_hidden!r:.80}")
    return d_hidden


LAYER = Duck(("forward", "backward"), Flatten, "a layer (Conv2d, Dense, MaxPool2d, AvgPool2d, Flatten, Reshape, "
             "Activation)")


class Sequential(Network):
    """Layers applied in order; the parameters live in the lists W, b (one entry per Conv2d/Dense)."""

    @validate(layers=Sequence(LAYER, least="one Conv2d or Dense layer"), seed=Seed())
    def __init__(self, layers, seed=0):
        self.layers = list(layers)
        if not self.layers or not any(getattr(l, "has_params", False) for l in self.layers):
            raise ValueError("layers must hold at least one Conv2d or Dense layer")
        rng = np.random.default_rng(seed)
        self.W, self.b = [], []
        for layer in self.layers:
            if layer.has_params:
                W, b = layer.init(rng)
                self.W.append(W)
                self.b.append(b)
        self.masks = [None] * len(self.W)
        self.cache = None

    @property
    def param_layers(self):
        return [l for l in self.layers if l.has_params]

    def forward(self, X, keep=False):
        """Return the output for a batch X (what the first layer expects, e.g. (n, 64) after a Reshape).

        With keep=True, `self.cache[k]` is the output of `self.layers[k]` (feature maps for distillation).
        """
        x, outputs = v.as_array(X, "X").astype(float), []
        weights, self.fq_masks = self._forward_weights(), []
        for layer, W, b in self._bound([w for w, _ in weights]):
            if layer.has_params:
                x, m = self._quant_input(len(self.fq_masks), x, keep)
                self.fq_masks.append((weights[len(self.fq_masks)][1], m))
            x = layer.forward(x, W, b) if layer.has_params else layer.forward(x)
            outputs.append(x)
        if keep:
            self.cache = outputs
        return x

    def _bound(self, weights=None):
        weights, i, out = self.effective_weights() if weights is None else weights, 0, []
        for layer in self.layers:
            if layer.has_params:
                out.append((layer, weights[i], self.b[i]))
                i += 1
            else:
                out.append((layer, None, None))
        return out

    def backward(self, d_out, d_hidden=None):
        """Back-propagate dL/d(output); return (dW, db) lists, masked gradients for masked layers.

        `d_hidden` {k: dL/d(output of layers[k])} adds the gradient of a loss on a hidden layer's output
        (a feature-distillation term) where the backward pass crosses that layer.
        """
        d_hidden = _check_hidden(d_hidden, len(self.layers))
        dW, db, i, delta = [None] * len(self.W), [None] * len(self.W), len(self.W), d_out
        for k in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[k]
            if k in d_hidden:
                delta = delta + d_hidden[k]
            if layer.has_params:
                i -= 1
                delta, dW[i], db[i] = layer.backward(delta)
                if self.masks[i] is not None:
                    dW[i] = dW[i] * self.masks[i]
                if self.fake_quant is not None:  # straight through the weight and input quantizers
                    w_mask, x_mask = self.fq_masks[i]
                    dW[i] = dW[i] if w_mask is None else dW[i] * w_mask
                    delta = delta if x_mask is None else delta * x_mask
            else:
                delta = layer.backward(delta)
        return dW, db

    def copy(self):
        """Return an independent copy (layers, weights, biases, masks)."""
        return copy.deepcopy(self)

    def __repr__(self):
        return "Sequential(\n" + "".join(f"  {l!r}\n" for l in self.layers) + ")"


@validate(seed=Seed(), c1=POSITIVE, c2=POSITIVE, pool=Choice("max", "avg"))
def digits_cnn(seed=0, c1=8, c2=16, pool="max"):
    """Return the course's CNN for 8x8 digits: conv 3x3 c1 -> ReLU -> max-pool 2 -> conv 3x3 c2 -> ReLU
    -> flatten -> dense 10. It takes the flat (n, 64) digits of `course_lib.core.data.load_digits_split`.
    pool="avg" uses average pooling (fake-quantized activations tie exactly inside max-pool windows)."""
    pooling = {"max": MaxPool2d, "avg": AvgPool2d}[pool]
    return Sequential([Reshape((1, 8, 8)), Conv2d(1, c1, 3, padding=1), Activation("relu"), pooling(2),
                       Conv2d(c1, c2, 3, padding=1), Activation("relu"), Flatten(), Dense(c2 * 4 * 4, 10)], seed=seed)
