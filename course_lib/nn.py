"""A tiny fully connected network in numpy: forward, backward, flat parameters, masks, SGD.

Layer l computes a_l = f_l(W_l a_{l-1} + b_l), with W_l shaped (out, in) as torch.nn.Linear.
Losses follow torch's defaults: `mse` = mean over all elements of (y_hat - y)^2 (MSELoss),
`cross_entropy` = mean over the batch of -log softmax(z)_y (CrossEntropyLoss on logits).
Masks (bool, True = keep) act in the forward pass (W * m) AND the backward pass (grad * m),
as torch.nn.utils.prune and tfmot do.
"""
import numpy as np

from . import _validate as v

ACTIVATIONS = {
    "identity": (lambda z: z, lambda z, a: np.ones_like(z)),
    "tanh": (np.tanh, lambda z, a: 1.0 - a ** 2),
    # clip: exp(-z) overflows below z = -709; the clipped value differs from 0 by < 1e-217
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-np.clip(z, -500.0, 500.0))), lambda z, a: a * (1.0 - a)),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(z.dtype)),
}


def mse(y_hat, y):
    """Return (L, dL/dy_hat) for L = mean((y_hat - y)^2) (torch.nn.MSELoss)."""
    y = np.asarray(y, dtype=y_hat.dtype).reshape(y_hat.shape)
    diff = y_hat - y
    return float(np.mean(diff ** 2)), 2.0 * diff / diff.size


def softmax(z, T=1.0):
    """Return softmax(z / T) along the last axis, computed stably (Hinton et al. 2015, eq. 1)."""
    z = np.asarray(z, dtype=float) / T
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy(logits, y):
    """Return (L, dL/dlogits) for L = mean_i -log softmax(z_i)[y_i] (torch.nn.CrossEntropyLoss)."""
    y = np.asarray(y).astype(int).reshape(-1)
    p = softmax(logits)
    n = logits.shape[0]
    loss = -np.mean(np.log(p[np.arange(n), y] + 1e-300))
    grad = p.copy()
    grad[np.arange(n), y] -= 1.0
    return float(loss), grad / n


LOSSES = {"mse": mse, "cross_entropy": cross_entropy}


class MLP:
    """A multilayer perceptron with `sizes = [n_in, h_1, ..., n_out]` and one activation per layer."""

    def __init__(self, sizes, activation="tanh", output="identity", seed=0, scale=None):
        if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
            raise ValueError(f"sizes must list >= 2 positive layer widths, got {sizes}")
        v.choice(activation, "activation", set(ACTIVATIONS))
        v.choice(output, "output", set(ACTIVATIONS))
        rng = np.random.default_rng(seed)
        self.sizes = [int(s) for s in sizes]
        self.acts = [activation] * (len(sizes) - 2) + [output]
        self.W, self.b = [], []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            std = scale if scale is not None else np.sqrt(1.0 / n_in)  # LeCun init for tanh/sigmoid
            self.W.append(rng.normal(0.0, std, size=(n_out, n_in)))
            self.b.append(np.zeros(n_out))
        self.masks = [None] * len(self.W)

    def effective_weights(self):
        """Return W_l * m_l for every layer (the weights the forward pass uses)."""
        return [w if m is None else w * m for w, m in zip(self.W, self.masks)]

    def forward(self, X, keep=False):
        """Return the network output for inputs X of shape (n, n_in); keep the cache for backward."""
        a = np.asarray(X, dtype=float)
        cache = [(None, a)]
        for w, b, act in zip(self.effective_weights(), self.b, self.acts):
            z = a @ w.T + b
            a = ACTIVATIONS[act][0](z)
            cache.append((z, a))
        if keep:
            self._cache = cache
        return a

    def backward(self, d_out):
        """Back-propagate dL/d(output); return (dW list, db list), masked gradients for masked layers."""
        dW, db = [None] * len(self.W), [None] * len(self.W)
        delta = d_out
        weights = self.effective_weights()
        for l in range(len(self.W) - 1, -1, -1):
            z, a = self._cache[l + 1]
            delta = delta * ACTIVATIONS[self.acts[l]][1](z, a)
            dW[l] = delta.T @ self._cache[l][1]
            db[l] = delta.sum(axis=0)
            if self.masks[l] is not None:
                dW[l] = dW[l] * self.masks[l]
            delta = delta @ weights[l]
        return dW, db

    def loss_and_grads(self, X, y, loss="mse"):
        """Return (L, dW, db) of `loss` ('mse' or 'cross_entropy') on (X, y)."""
        v.choice(loss, "loss", set(LOSSES))
        value, d_out = LOSSES[loss](self.forward(X, keep=True), y)
        dW, db = self.backward(d_out)
        return value, dW, db

    # --- flat parameter vectors: theta = [vec(W_1), b_1, vec(W_2), b_2, ...] ---
    def get_flat(self):
        """Return all parameters as one vector theta = [vec(W_1), b_1, ..., vec(W_L), b_L]."""
        return np.concatenate([p.reshape(-1) for w, b in zip(self.W, self.b) for p in (w, b)])

    def set_flat(self, theta):
        """Load parameters from a flat vector laid out as `get_flat` returns it."""
        theta = v.as_array(theta, "theta").astype(float)
        if theta.shape != (self.n_params,):
            raise ValueError(f"theta must have shape ({self.n_params},), got {theta.shape}")
        i = 0
        for l in range(len(self.W)):
            for name in ("W", "b"):
                p = getattr(self, name)[l]
                getattr(self, name)[l] = theta[i:i + p.size].reshape(p.shape).copy()
                i += p.size

    def flat_grad(self, X, y, loss="mse"):
        """Return (L, dL/dtheta) with the layout of `get_flat`."""
        value, dW, db = self.loss_and_grads(X, y, loss)
        return value, np.concatenate([p.reshape(-1) for w, b in zip(dW, db) for p in (w, b)])

    def param_names(self):
        """Return a name per entry of theta, e.g. 'W1[0,1]' (weight of layer 1 from input 1 to unit 0)."""
        names = []
        for l, (w, b) in enumerate(zip(self.W, self.b), start=1):
            names += [f"W{l}[{i},{j}]" for i in range(w.shape[0]) for j in range(w.shape[1])]
            names += [f"b{l}[{i}]" for i in range(b.size)]
        return names

    @property
    def n_params(self):
        return sum(w.size + b.size for w, b in zip(self.W, self.b))

    def copy(self):
        """Return an independent copy (weights, biases and masks)."""
        new = MLP.__new__(MLP)
        new.sizes, new.acts = list(self.sizes), list(self.acts)
        new.W = [w.copy() for w in self.W]
        new.b = [b.copy() for b in self.b]
        new.masks = [None if m is None else m.copy() for m in self.masks]
        return new


def sgd_epoch(model, X, y, loss="mse", lr=0.1, batch_size=32, rng=None, momentum=0.0, state=None):
    """Run one epoch of minibatch SGD (with optional momentum); return the mean training loss.

    Masked weights stay exactly zero: their gradient is masked and W is re-masked after each step.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    order = rng.permutation(len(X))
    state = {} if state is None else state
    losses = []
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        losses.append(sgd_step(model, X[idx], y[idx], loss, lr, momentum, state))
    return float(np.mean(losses))


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


def accuracy(model, X, y):
    """Return the fraction of argmax predictions equal to the labels y."""
    return float(np.mean(model.forward(X).argmax(axis=1) == np.asarray(y)))


def fit_lbfgs(model, X, y, loss="mse", maxiter=500, frozen=None, stop_below=None):
    """Train `model` in place with full-batch L-BFGS (scipy); return the final training loss.

    `frozen` (bool over theta, the layout of `get_flat`) holds entries fixed, e.g. pruned weights at 0;
    `stop_below` stops as soon as the loss falls below it (classic "train until the error is small").
    Used to reach a minimum before second-order pruning (OBD/OBS assume one).
    """
    from scipy.optimize import minimize

    v.choice(loss, "loss", set(LOSSES))
    maxiter = v.integer(maxiter, "maxiter", minimum=1)
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
        r = minimize(f, theta0[free], jac=True, method="L-BFGS-B", callback=stop, options={"maxiter": maxiter})
    theta = theta0.copy()
    theta[free] = r.x
    model.set_flat(theta)
    return float(f(r.x)[0])
