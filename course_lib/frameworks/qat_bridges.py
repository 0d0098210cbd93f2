"""Bridges for lesson 09: train a torch model as nn.train trains a numpy one, run a TFLite model in LiteRT.

The quantization-aware flows themselves (tfmot's quantize_model, torchao's QATConfig) are written out
in the lesson, where they are the topic; these helpers are the plumbing around them.
"""
import numpy as np

from ._imports import import_torch, quiet_native_logs
from .. import _validate as v


def torch_train(seq, X, y, epochs, lr=0.1, batch_size=32, momentum=0.9, seed=0):
    """Train a torch module in place with minibatch SGD with momentum on cross-entropy (torch's defaults);
    return the mean loss of each epoch. The batches follow numpy's permutation with `seed`, as `nn.train`."""
    torch = import_torch()
    epochs, batch_size = v.integer(epochs, "epochs", minimum=0), v.integer(batch_size, "batch_size", minimum=1)
    dtype = next(seq.parameters()).dtype
    Xt, yt = torch.as_tensor(np.asarray(X), dtype=dtype), torch.as_tensor(np.asarray(y), dtype=torch.long)
    opt = torch.optim.SGD(seq.parameters(), lr=v.real(lr, "lr", low=0.0, low_inclusive=False), momentum=momentum)
    rng, history = np.random.default_rng(seed), []
    for _ in range(epochs):
        order, losses = rng.permutation(len(Xt)), []
        for start in range(0, len(Xt), batch_size):
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


def litert_predict(flat, X):
    """Return the outputs of a TFLite flatbuffer on the rows of X, run one row at a time by LiteRT's
    interpreter (ai_edge_litert); int8 inputs and outputs are (de)quantized with the model's parameters."""
    with quiet_native_logs():
        from ai_edge_litert.interpreter import Interpreter
        it = Interpreter(model_content=flat)
        it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    X = v.as_array(X, "X").astype(np.float32)
    rows = []
    for row in X:
        x = row[None]
        if inp["dtype"] != np.float32:
            s, z = inp["quantization"]
            x = np.clip(np.rint(x / s) + z, -128, 127).astype(inp["dtype"])
        it.set_tensor(inp["index"], x)
        it.invoke()
        o = it.get_tensor(out["index"])[0].astype(np.float32)
        if out["dtype"] != np.float32:
            s, z = out["quantization"]
            o = (o - z) * s
        rows.append(o)
    return np.array(rows)
