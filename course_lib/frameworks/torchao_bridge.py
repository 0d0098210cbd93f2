"""Bridge to torchao: quantize the course's MLP with torchao's int8 configs, outputs back as numpy.

    seq = quantize_mlp(model, "dynamic")      # Int8DynamicActivationInt8WeightConfig via quantize_
    y = torchao_forward(seq, X)               # float32 numpy outputs

`course_lib.quantization.ptq.dynamic_forward` is the numpy reference of the same arithmetic.
"""
import copy

import numpy as np

from ._imports import import_torchao
from .torch_bridge import to_torch
from ..core import validation as v

CONFIGS = {"dynamic": "Int8DynamicActivationInt8WeightConfig", "weight_only": "Int8WeightOnlyConfig"}


def quantize_mlp(model, config="dynamic"):
    """Return a float32 torch copy of `model` whose Linear layers torchao's quantize_ has converted
    to int8 (config "dynamic": int8 weights and per-row dynamic int8 activations; "weight_only")."""
    v.choice(config, "config", set(CONFIGS))
    _, torchao = import_torchao()
    import torchao.quantization as tq

    seq = to_torch(model, dtype="float32")
    tq.quantize_(seq, getattr(tq, CONFIGS[config])())
    return seq


def torchao_forward(seq, X):
    """Run a torch module on float32 inputs without autograd; return numpy outputs."""
    torch, _ = import_torchao()
    with torch.no_grad():
        return seq(torch.as_tensor(np.asarray(X, dtype=np.float32))).numpy()


def int8_weights(seq):
    """Return (q_w int8 as int64, per-row scale float32) of every quantized Linear, in order."""
    torch, _ = import_torchao()
    out = []
    for m in seq:
        if isinstance(m, torch.nn.Linear):
            w = m.weight
            out.append((w.qdata.numpy().astype(np.int64), w.scale.detach().numpy().reshape(-1).astype(np.float32)))
    return out
