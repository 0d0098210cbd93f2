"""Bridge to PyTorch: the course's MLP and conv Sequential as torch modules, and the one torch training loop.

    seq = to_torch(model)          # nn.Sequential with the same weights (NCHW, (out, in, k_h, k_w) kernels)
    torch_train(seq, X, y, epochs) # minibatch SGD on cross-entropy, batches in nn.train's order
"""
import numpy as np

from ._imports import import_torch
from ..core import validation as v
from ..core.layers import Activation, AvgPool2d, Conv2d, Dense, Flatten, MaxPool2d, Reshape


_ACT = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}


def to_torch(model, dtype="float64"):
    """Return an nn.Sequential with the weights, biases and layers of a course_lib MLP or conv Sequential.

    Masks are NOT copied (apply torch's own pruning to the result); pass the weights you want pruned.
    Both sides use NCHW and (out, in, k_h, k_w) kernels, so weights copy unchanged.
    """
    torch = import_torch()
    v.choice(dtype, "dtype", {"float32", "float64"})
    if hasattr(model, "layers"):
        return _sequential_to_torch(model, getattr(torch, dtype))
    layers = []
    for w, b, act in zip(model.effective_weights(), model.b, model.acts):
        lin = torch.nn.Linear(w.shape[1], w.shape[0], dtype=getattr(torch, dtype))
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(w))
            lin.bias.copy_(torch.tensor(b))
        layers.append(lin)
        if act != "identity":
            layers.append(getattr(torch.nn, _ACT[act])())
    return torch.nn.Sequential(*layers)


def _sequential_to_torch(model, dtype):
    torch = import_torch()
    out, i, W = [], 0, model.effective_weights()
    for layer in model.layers:
        if isinstance(layer, Reshape):
            out.append(torch.nn.Unflatten(1, layer.shape))
        elif isinstance(layer, (Conv2d, Dense)):
            mod = (torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.k, layer.stride, layer.padding, dtype=dtype)
                   if isinstance(layer, Conv2d) else torch.nn.Linear(layer.n_in, layer.n_out, dtype=dtype))
            with torch.no_grad():
                mod.weight.copy_(torch.tensor(W[i]))
                mod.bias.copy_(torch.tensor(model.b[i]))
            out.append(mod)
            i += 1
        elif isinstance(layer, MaxPool2d):
            out.append(torch.nn.MaxPool2d(layer.k, layer.stride))
        elif isinstance(layer, AvgPool2d):
            out.append(torch.nn.AvgPool2d(layer.k, layer.stride))
        elif isinstance(layer, Flatten):
            out.append(torch.nn.Flatten())
        elif isinstance(layer, Activation) and layer.name != "identity":
            out.append(getattr(torch.nn, _ACT[layer.name])())
    return torch.nn.Sequential(*out)


def linears(seq):
    """Return the nn.Linear modules of a Sequential, in order."""
    torch = import_torch()
    return [m for m in seq if isinstance(m, torch.nn.Linear)]


def torch_weights(seq):
    """Return each Linear's effective weight, weight_orig * weight_mask when pruned, as numpy.

    (The attribute `weight` of a pruned module is refreshed only by the forward pre-hook, so after an
    optimiser step it is stale; orig * mask is always current.)
    """
    out = []
    for lin in linears(seq):
        w = lin.weight_orig * lin.weight_mask if hasattr(lin, "weight_orig") else lin.weight
        out.append(w.detach().numpy().copy())
    return out


def torch_train(seq, X, y, epochs, lr=0.1, batch_size=32, momentum=0.9, seed=0, on_step=None):
    """Train a torch module in place with minibatch SGD with momentum on cross-entropy (torch's defaults);
    return the mean loss of each epoch. The batches follow numpy's permutation with `seed`, as `nn.train`.

    The course's one torch training loop. `on_step(step, seq)` runs at the START of every step (1, 2, ...),
    before that batch's update, exactly as in `nn.train` (where tfmot's pruning wrapper updates its masks).
    """
    torch = import_torch()
    epochs, batch_size = v.integer(epochs, "epochs", minimum=0), v.integer(batch_size, "batch_size", minimum=1)
    if on_step is not None and not callable(on_step):
        raise TypeError(f"on_step must be a function on_step(step, seq) or None, got {type(on_step).__name__}")
    dtype = next(seq.parameters()).dtype
    Xt, yt = torch.as_tensor(np.asarray(X), dtype=dtype), torch.as_tensor(np.asarray(y), dtype=torch.long)
    opt = torch.optim.SGD(seq.parameters(), lr=v.real(lr, "lr", low=0.0, low_inclusive=False), momentum=momentum)
    rng, history, step = np.random.default_rng(seed), [], 0
    for _ in range(epochs):
        order, losses = rng.permutation(len(Xt)), []
        for start in range(0, len(Xt), batch_size):
            step += 1
            if on_step is not None:
                on_step(step, seq)
            idx = torch.as_tensor(order[start:start + batch_size])
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(seq(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        history.append(float(np.mean(losses)))
    return history


def torch_accuracy(seq, X, y):
    """Return the fraction of argmax predictions of a torch module equal to the labels y."""
    torch = import_torch()
    with torch.no_grad():
        out = seq(torch.as_tensor(np.asarray(X), dtype=next(seq.parameters()).dtype))
    return float(np.mean(out.argmax(dim=1).numpy() == np.asarray(y)))

