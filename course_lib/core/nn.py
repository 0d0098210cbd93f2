"""A tiny fully connected network in numpy: forward, backward, flat parameters, masks, SGD.

Layer l computes a_l = f_l(W_l a_{l-1} + b_l), with W_l shaped (out, in) as torch.nn.Linear.
Losses follow torch's defaults: `mse` = mean over all elements of (y_hat - y)^2 (MSELoss),
`cross_entropy` = mean over the batch of -log softmax(z)_y (CrossEntropyLoss on logits).
Masks (bool, True = keep) act in the forward pass (W * m) AND the backward pass (grad * m),
as torch.nn.utils.prune does.

The model protocol. `train`, `sgd_step` and the pruning loops work with any model that has
- lists `W`, `b`, `masks` over its parametrised layers (a mask is a bool array shaped like its W,
  True = keep, or None for an unmasked layer);
- `forward(X, keep=False)` (with keep=True it stores what `backward` needs), `backward(d_out) ->
  (dW, db)`, `loss_and_grads(X, y, loss) -> (L, dW, db)`;
- `set_masks(masks)`, `effective_weights()`, `get_flat()` / `set_flat(theta)`, `n_params`, `copy()`.
`MLP` below and the convolutional `course_lib.core.layers.Sequential` both follow it.
"""
import copy
from typing import Callable, NamedTuple

import numpy as np

from . import validation as v
from .lazy import LazyModule
from .validation import (AnyOf, Array, Arrays, Callable as IsCallable, Choice, Duck, Integer, Optional, Positive, Real,
                         Seed, Sequence, Temperature, Anything, InstanceOf, validate)

optimize = LazyModule("scipy.optimize")  # for fit_lbfgs only: imported on first use


def _sigmoid(z):
    # clip: exp(-z) overflows below z = -709; the clipped value differs from 0 by < 1e-217
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500.0, 500.0)))


class Activation(NamedTuple):
    """An activation f with its derivatives, each written as a function of (z, a) where a = f(z)."""

    f: Callable
    d1: Callable  # f'(z)
    d2: Callable  # f''(z), for second-order methods (LeCun's diagonal, exact Hessians)


ACTIVATIONS = {
    "identity": Activation(lambda z: z, lambda z, a: np.ones_like(z), lambda z, a: np.zeros_like(z)),
    "tanh": Activation(np.tanh, lambda z, a: 1.0 - a ** 2, lambda z, a: -2.0 * a * (1.0 - a ** 2)),
    "sigmoid": Activation(_sigmoid, lambda z, a: a * (1.0 - a), lambda z, a: a * (1.0 - a) * (1.0 - 2.0 * a)),
    "relu": Activation(lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(z.dtype),
                       lambda z, a: np.zeros_like(z)),
}


OUTPUT = Anything("a model's output: forward checked its input; NaN from a diverging run must reach the loss")


@validate(y_hat=OUTPUT, y=Array())
def mse(y_hat, y):
    """Return (L, dL/dy_hat) for L = mean((y_hat - y)^2) (torch.nn.MSELoss)."""
    y = y.astype(y_hat.dtype)
    if y.size != y_hat.size:
        raise ValueError(f"y must have {y_hat.size} entries (one per output), got {y.size}")
    y = y.reshape(y_hat.shape)
    diff = y_hat - y
    return float(np.mean(diff ** 2)), 2.0 * diff / diff.size


@validate(z=Array(), T=Temperature())
def softmax(z, T=1.0):
    """Return softmax(z / T) along the last axis, computed stably (Hinton et al. 2015, eq. 1)."""
    z = z.astype(float) / T
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@validate(z=Array(), T=Temperature())
def log_softmax(z, T=1.0):
    """Return log softmax(z / T) along the last axis, finite for any finite logits.

    log p_i = (z_i - max z) / T - log sum_j exp((z_j - max z) / T)
    """
    s = z.astype(float) / T
    s = s - s.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


@validate(logits=OUTPUT, y=Array())
def cross_entropy(logits, y):
    """Return (L, dL/dlogits) for L = mean_i -log softmax(z_i)[y_i] (torch.nn.CrossEntropyLoss)."""
    y = y.astype(int).reshape(-1)
    if y.size != logits.shape[0] or y.min() < 0 or y.max() >= logits.shape[1]:
        raise ValueError(f"y must hold class indices in [0, {logits.shape[1] - 1}], one per row of logits "
                         f"({logits.shape[0]}), got {y.size} labels in [{y.min()}, {y.max()}]")
    p = softmax(logits)
    n = logits.shape[0]
    loss = -np.mean(np.log(p[np.arange(n), y] + 1e-300))
    grad = p.copy()
    grad[np.arange(n), y] -= 1.0
    return float(loss), grad / n


LOSSES = {"mse": mse, "cross_entropy": cross_entropy}
LOSS = AnyOf(Choice(*sorted(LOSSES)), IsCallable(), what=f"one of {sorted(LOSSES)} or a callable loss(output, *targets)")


# --- the flat parameter layout theta = [vec(W_1), b_1, vec(W_2), b_2, ...] (one place for all) ---
@validate(W=Arrays(), b=Arrays())
def flat_layout(W, b):
    """Return [(name, l, start, shape)] for theta = [vec(W_1), b_1, ..., vec(W_L), b_L]."""
    if len(W) != len(b) or not len(W):
        raise ValueError(f"W and b must have one entry per layer (at least one), got {len(W)} and {len(b)}")
    out, i = [], 0
    for l, (w, bl) in enumerate(zip(W, b)):
        for name, p in (("W", w), ("b", bl)):
            out.append((name, l, i, np.shape(p)))
            i += int(np.size(p))
    return out


@validate(W=Arrays(), b=Arrays())
def to_flat(W, b):
    """Return the per-layer arrays W, b as one vector in the layout of `flat_layout`."""
    flat_layout(W, b)
    return np.concatenate([np.reshape(p, -1) for w, bl in zip(W, b) for p in (w, bl)])


@validate(theta=Array(), W=Arrays(), b=Arrays())
def from_flat(theta, W, b):
    """Return (W, b) lists cut from the vector theta, shaped like the given W, b (the inverse of to_flat)."""
    n = sum(int(np.size(p)) for p in (*W, *b))
    if theta.shape != (n,):
        raise ValueError(f"theta must have shape ({n},), got {theta.shape}")
    parts = {"W": [None] * len(W), "b": [None] * len(b)}
    for name, l, i, shape in flat_layout(W, b):
        parts[name][l] = theta[i:i + int(np.prod(shape))].reshape(shape).copy()
    return parts["W"], parts["b"]


@validate(loss=LOSS)
def loss_function(loss):
    """Return the loss callable for a name in LOSSES, or `loss` itself if it is callable."""
    return loss if callable(loss) else LOSSES[loss]


@validate(masks=Sequence(Anything("one bool array or None per layer, checked below"), min_len=0), W=Arrays())
def check_masks(masks, W):
    """Validate one mask per layer (bool, shaped like its W, or None); return them as bool copies."""
    if len(masks) != len(W):
        raise ValueError(f"masks must have one entry per layer ({len(W)}), got {len(masks)}")
    out = []
    for l, (m, w) in enumerate(zip(masks, W)):
        if m is not None:
            m = np.asarray(m)
            if m.dtype != bool or m.shape != np.shape(w):
                raise ValueError(f"masks[{l}] must be a bool array of shape {np.shape(w)} (True = keep) "
                                 f"or None, got dtype {m.dtype} and shape {m.shape}")
            m = m.copy()
        out.append(m)
    return out


class Network:
    """What MLP and the conv Sequential share: masks, losses and gradients, the flat parameter vector.

    A subclass holds lists W, b, masks and implements forward(X, keep) and backward(d_out).
    """

    def set_masks(self, masks):
        """Set one mask per layer (bool, True = keep, or None) and zero the masked weights: W <- W * m."""
        self.masks = check_masks(masks, self.W)
        self.W = [w if m is None else w * m for w, m in zip(self.W, self.masks)]

    def effective_weights(self):
        """Return W_l * m_l for every layer (the weights the forward pass uses, before fake quantization)."""
        return [w if m is None else w * m for w, m in zip(self.W, self.masks)]

    # --- fake quantization (quantization-aware training, course_lib.quantization.qat) ---
    fake_quant = None  # None, or (weight quantizers, input quantizers), one entry (or None) per layer

    def set_fake_quant(self, weights=None, inputs=None):
        """Fake-quantize each layer's weights and/or input in the forward pass; straight-through backward.

        weights, inputs: one quantizer (or None) per layer, q(x, observe) -> (x_hat, mask); the forward pass
        uses x_hat, the backward pass multiplies the gradient by mask (the STE, Bengio et al. 2013).
        Input quantizers observe only when forward runs with keep=True (training). No arguments: off.
        """
        n = len(self.W)
        weights, inputs = [None] * n if weights is None else list(weights), [None] * n if inputs is None else list(inputs)
        for name, qs in (("weights", weights), ("inputs", inputs)):
            if len(qs) != n or not all(q is None or callable(q) for q in qs):
                raise ValueError(f"{name} must hold one quantizer q(x, observe) or None per layer ({n}), got {qs!r}")
        self.fake_quant = None if all(q is None for q in weights + inputs) else (weights, inputs)

    def _forward_weights(self):
        """Return [(w_hat, mask or None)]: the effective weights through the weight quantizers."""
        qs = [None] * len(self.W) if self.fake_quant is None else self.fake_quant[0]
        return [(w, None) if q is None else q(w, True) for w, q in zip(self.effective_weights(), qs)]

    def _quant_input(self, l, x, observe):
        """Return (x_hat, mask or None): the input of layer l through its quantizer."""
        q = None if self.fake_quant is None else self.fake_quant[1][l]
        return (x, None) if q is None else q(x, observe)

    def loss_and_grads(self, X, y, loss="mse"):
        """Return (L, dW, db) of `loss` on (X, y): a name in LOSSES, or a callable loss(out, *targets).

        `y` is the target array, or a tuple of arrays passed to a callable loss as its targets. A
        callable may also return (L, dL/doutput, d_hidden), d_hidden {k: dL/d(output of layer k)}, for
        a loss on hidden features (`layers.Sequential` only; it reads them from `self.cache`).
        """
        value, *grads = loss_function(loss)(self.forward(X, keep=True), *(y if isinstance(y, tuple) else (y,)))
        dW, db = self.backward(*grads)
        return value, dW, db

    def get_flat(self):
        """Return all parameters as one vector theta = [vec(W_1), b_1, ..., vec(W_L), b_L]."""
        return to_flat(self.W, self.b)

    def set_flat(self, theta):
        """Load parameters from a flat vector laid out as `get_flat` returns it."""
        self.W, self.b = from_flat(v.as_array(theta, "theta").astype(float), self.W, self.b)

    def flat_grad(self, X, y, loss="mse"):
        """Return (L, dL/dtheta) with the layout of `get_flat`."""
        value, dW, db = self.loss_and_grads(X, y, loss)
        return value, to_flat(dW, db)

    @property
    def n_params(self):
        return sum(w.size + b.size for w, b in zip(self.W, self.b))


class MLP(Network):
    """A multilayer perceptron with `sizes = [n_in, h_1, ..., n_out]` and one activation per layer."""

    @validate(sizes=Sequence(Integer(minimum=1), min_len=2, least=">= 2 positive layer widths"),
              activation=Choice(*ACTIVATIONS), output=Choice(*ACTIVATIONS), seed=Optional(Seed()), scale=Optional(Positive()))
    def __init__(self, sizes, activation="tanh", output="identity", seed=0, scale=None):
        rng = np.random.default_rng(seed)
        self.sizes = sizes
        self.acts = [activation] * (len(sizes) - 2) + [output]
        self.W, self.b = [], []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            std = scale if scale is not None else np.sqrt(1.0 / n_in)  # LeCun init for tanh/sigmoid
            self.W.append(rng.normal(0.0, std, size=(n_out, n_in)))
            self.b.append(np.zeros(n_out))
        self.masks = [None] * len(self.W)
        self.cache = None

    def forward(self, X, keep=False):
        """Return the output for inputs X of shape (n, n_in).

        With keep=True, `self.cache` holds [(z_l, a_l)] for l = 0..L: a_0 = X (z_0 = None),
        z_l = a_{l-1} W_l^T + b_l and a_l = f_l(z_l); `backward` and second-order methods read it.
        """
        a = v.as_array(X, "X").astype(float)
        if a.ndim != 2 or a.shape[1] != self.sizes[0]:
            raise ValueError(f"X must have shape (n, {self.sizes[0]}), got {a.shape}")
        cache, weights, quantized = [(None, a)], self._forward_weights(), []
        for l, ((w, _), b, act) in enumerate(zip(weights, self.b, self.acts)):
            quantized.append(self._quant_input(l, a, keep))
            z = quantized[-1][0] @ w.T + b
            a = ACTIVATIONS[act].f(z)
            cache.append((z, a))
        if keep:
            self.cache = cache
            self.fq_cache = None if self.fake_quant is None else (weights, quantized)
        return a

    def backward(self, d_out):
        """Back-propagate dL/d(output); return (dW list, db list), masked gradients for masked layers."""
        if self.cache is None:
            raise RuntimeError("call forward(X, keep=True) before backward")
        dW, db = [None] * len(self.W), [None] * len(self.W)
        delta = d_out
        fq = getattr(self, "fq_cache", None) if self.fake_quant is not None else None
        weights = self.effective_weights() if fq is None else [w for w, _ in fq[0]]
        for l in range(len(self.W) - 1, -1, -1):
            z, a = self.cache[l + 1]
            delta = delta * ACTIVATIONS[self.acts[l]].d1(z, a)
            dW[l] = delta.T @ (self.cache[l][1] if fq is None else fq[1][l][0])
            db[l] = delta.sum(axis=0)
            if self.masks[l] is not None:
                dW[l] = dW[l] * self.masks[l]
            delta = delta @ weights[l]
            if fq is not None:  # straight through the weight and input quantizers
                dW[l] = dW[l] if fq[0][l][1] is None else dW[l] * fq[0][l][1]
                delta = delta if fq[1][l][1] is None else delta * fq[1][l][1]
        return dW, db

    def param_names(self):
        """Return a name per entry of theta, e.g. 'W1[0,1]' (weight of layer 1 from input 1 to unit 0)."""
        names = []
        for name, l, _, shape in flat_layout(self.W, self.b):
            names += [f"{name}{l + 1}[{','.join(map(str, ix))}]" for ix in np.ndindex(*shape)]
        return names

    def copy(self):
        """Return an independent copy (weights, biases, masks and fake quantizers; not the cache)."""
        new = MLP.__new__(MLP)
        new.sizes, new.acts = list(self.sizes), list(self.acts)
        new.W = [w.copy() for w in self.W]
        new.b = [b.copy() for b in self.b]
        new.masks = [None if m is None else m.copy() for m in self.masks]
        new.cache = None
        if self.fake_quant is not None:  # the quantizers carry observer state: copy, never share
            new.fake_quant = copy.deepcopy(self.fake_quant)
        return new


# --- training: one SGD update, one loop ---
def _batch(y, idx):
    return tuple(t[idx] for t in y) if isinstance(y, tuple) else y[idx]


def _model():
    return MLP([2, 2])


MODEL = Duck(("forward",), _model, "a course_lib model (with forward)")
NETWORK = InstanceOf(Network, _model, "course_lib network (nn.MLP or layers.Sequential)")
MOMENTUM = Real(0.0, 1.0, high_inclusive=False)
STATE = Optional(InstanceOf(dict, dict, "dict (the optimizer's velocities)"))


class _Targets(v.Constraint):
    """The targets: an array, or a tuple of arrays cut into batches together (labels, teacher logits)."""

    def check(self, y, name):
        if isinstance(y, tuple):
            return tuple(v.as_array(t, f"{name}[{i}]") for i, t in enumerate(y))
        return v.as_array(y, name)

    def good(self):
        return np.zeros(2, int)

    def bad(self):
        return ["abc", np.array([np.nan]), ("abc",)]


def _check_xy(X, y):
    n = len(X)
    for t in (y if isinstance(y, tuple) else (y,)):
        if len(t) != n:
            raise ValueError(f"y must have {n} rows (one per row of X), got {len(t)}")
    return n


@validate(model=NETWORK, Xb=Array(), yb=_Targets(), loss=LOSS, lr=Positive(), momentum=MOMENTUM, state=STATE)
def sgd_step(model, Xb, yb, loss="mse", lr=0.1, momentum=0.0, state=None):
    """Take one (momentum) SGD step on a batch and return its loss; masked weights stay exactly 0.

    v <- momentum * v - lr * g;  theta <- theta + v;  W <- W * m
    (Polyak 1964 momentum; equal to torch.optim.SGD(momentum=...) while lr is constant)
    """
    state = {} if state is None else state
    value, dW, db = model.loss_and_grads(Xb, yb, loss)
    for l in range(len(model.W)):
        for name, g in (("W", dW[l]), ("b", db[l])):
            vel = state.get((name, l), 0.0) * momentum - lr * g
            state[(name, l)] = vel
            getattr(model, name)[l] = getattr(model, name)[l] + vel
        if model.masks[l] is not None:
            model.W[l] = model.W[l] * model.masks[l]
    return value


@validate(model=NETWORK, X=Array(), y=_Targets(), epochs=Integer(minimum=0), lr=Positive(), batch_size=Integer(minimum=1),
          momentum=MOMENTUM, seed=Optional(Seed()), loss=LOSS, on_step=Optional(IsCallable()))
def train(model, X, y, epochs, lr=0.1, batch_size=32, momentum=0.9, seed=0, loss="cross_entropy",
          on_step=None):
    """Train `model` in place with minibatch SGD with momentum; return the mean loss of each epoch.

    The course's one training loop. `loss`: a name in LOSSES or a callable loss(output, *targets)
    -> (L, dL/doutput); `y`: the targets, or a tuple of arrays cut into batches together (e.g.
    (labels, teacher_logits) for distillation). `on_step(step, model)` runs at the START of every
    step (1, 2, ...), before that batch's update: where tfmot's pruning wrapper updates its masks.
    Masks stay applied (masked gradient, re-masked weights), so pruned weights remain exactly 0.
    """
    n = _check_xy(X, y)
    rng, state, step, history = np.random.default_rng(seed), {}, 0, []
    for _ in range(epochs):
        order, losses = rng.permutation(n), []
        for i in range(0, n, batch_size):
            step += 1
            if on_step is not None:
                on_step(step, model)
            idx = order[i:i + batch_size]
            losses.append(sgd_step(model, X[idx], _batch(y, idx), loss, lr, momentum, state))
        history.append(float(np.mean(losses)))
    return history


def _labels(outputs, y):
    y = y.reshape(-1)
    if len(y) != len(outputs):
        raise ValueError(f"y must have {len(outputs)} entries (one label per row of X), got {len(y)}")
    return y


@validate(outputs=Array(ndim=2), y=Array())
def top1_accuracy(outputs, y):
    """Return the fraction of rows whose largest output is the label: mean_i [argmax_k z_ik == y_i]."""
    return float(np.mean(outputs.argmax(axis=1) == _labels(outputs, y)))


@validate(model=MODEL, X=Array(), y=Array())
def accuracy(model, X, y):
    """Return the model's top-1 accuracy on (X, y): `top1_accuracy(model.forward(X), y)`."""
    _labels(X, y)
    return top1_accuracy(model.forward(X), y)


@validate(model=NETWORK, X=Array(), y=_Targets(), loss=Choice(*LOSSES), maxiter=Integer(minimum=1),
          frozen=Optional(Array()), stop_below=Optional(Real()))
def fit_lbfgs(model, X, y, loss="mse", maxiter=500, frozen=None, stop_below=None):
    """Train `model` in place with full-batch L-BFGS (scipy); return the final training loss.

    `frozen` (bool over theta, the layout of `get_flat`) holds entries fixed, e.g. pruned weights at 0;
    `stop_below` stops as soon as the loss falls below it (classic "train until the error is small").
    Used to reach a minimum before second-order pruning (OBD/OBS assume one).
    """
    theta0 = model.get_flat()
    free = np.ones(theta0.size, bool) if frozen is None else ~np.asarray(frozen, bool).reshape(-1)
    if free.size != theta0.size:
        raise ValueError(f"frozen must have {theta0.size} entries (one per parameter), got {free.size}")

    def f(t):
        theta = theta0.copy()
        theta[free] = t
        model.set_flat(theta)
        value, g = model.flat_grad(X, y, loss)
        return value, g[free]

    def stop(intermediate_result):
        if stop_below is not None and intermediate_result.fun < stop_below:
            raise StopIteration

    with np.errstate(over="ignore"):
        r = optimize.minimize(f, theta0[free], jac=True, method="L-BFGS-B", callback=stop, options={"maxiter": maxiter})
    theta = theta0.copy()
    theta[free] = r.x
    model.set_flat(theta)
    return float(f(r.x)[0])
