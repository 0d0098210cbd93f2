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
    _, tq = _torchao_module("torchao.quantization")

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


# ----------------------------------------------------------------------------- lesson 13: low-bit formats
# The twins of course_lib.quantization.{groupwise, mx, nf4, outliers} on the CPU, results as numpy.
# Their torchao modules are loaded on first use (__import__ with a fromlist returns the submodule), so
# importing course_lib never loads torch.
MX_ELEMENTS = {"mxfp8_e4m3": "float8_e4m3fn", "mxfp8_e5m2": "float8_e5m2", "mxfp6_e3m2": "fp6_e3m2",
               "mxfp6_e2m3": "fp6_e2m3", "mxfp4": "float4_e2m1fn_x2"}


def _torchao_module(name):
    """Return the torchao submodule `name`, imported quietly after import_torchao."""
    torch, _ = import_torchao()
    return torch, __import__(name, fromlist=["_"])


def torchao_groupwise(w, group_size, bits=4, symmetric=True, eps=None):
    """Return torchao's (q, scale, zero_point, w_hat) for block_size (1, group_size) (quant_primitives:
    choose_qparams_affine, quantize_affine, dequantize_affine); int8 container, uint8 if asymmetric."""
    torch, qp = _torchao_module("torchao.quantization.quant_primitives")
    w = np.asarray(w, dtype=np.float32)
    v.integer(group_size, "group_size", minimum=1)
    mapping = qp.MappingType.SYMMETRIC if symmetric else qp.MappingType.ASYMMETRIC
    dtype = torch.int8 if symmetric else torch.uint8
    q_min, q_max = (-2 ** (bits - 1), 2 ** (bits - 1) - 1) if symmetric else (0, 2 ** bits - 1)
    t, block = torch.from_numpy(w), (1, group_size)
    scale, zp = qp.choose_qparams_affine(t, mapping, block, dtype, q_min, q_max, eps=eps)
    q = qp.quantize_affine(t, block, scale, zp, dtype, q_min, q_max)
    w_hat = qp.dequantize_affine(q, block, scale, zp, dtype, q_min, q_max)
    n = w.shape[0]
    return (q.numpy().astype(np.int64), scale.numpy().reshape(n, -1), zp.numpy().astype(np.int64).reshape(n, -1),
            w_hat.numpy())


def torchao_mx(x, fmt, block_size=32):
    """Return torchao's MXTensor.to_mx (FLOOR mode) as numpy: (element codes, E8M0 codes, dequantized)."""
    torch, mxt = _torchao_module("torchao.prototype.mx_formats.mx_tensor")
    _, kernels = _torchao_module("torchao.prototype.mx_formats.kernels")
    elem = MX_ELEMENTS[v.choice(fmt, "fmt", set(MX_ELEMENTS))]
    x = np.ascontiguousarray(x, dtype=np.float32)
    t = mxt.MXTensor.to_mx(torch.from_numpy(x), getattr(torch, elem, elem), block_size)
    if fmt == "mxfp4":
        codes = kernels.unpack_uint4(t.qdata.view(torch.uint8)).numpy()
    else:
        codes = t.qdata.view(torch.uint8).numpy() if fmt.startswith("mxfp8") else t.qdata.numpy()
    return codes.reshape(x.shape), t.scale.view(torch.uint8).numpy(), t.dequantize(torch.float32).numpy()


def torchao_nf4(w, block_size=64, scaler_block_size=256):
    """Return torchao's NF4Tensor.from_tensor as a dict of numpy arrays: codes (unpacked), c_q, factor,
    mean, w_hat (get_original_weight), levels (its 16 NF4 values)."""
    torch, tq = _torchao_module("torchao.quantization")
    t = tq.NF4Tensor.from_tensor(torch.from_numpy(np.asarray(w, dtype=np.float32)), block_size, scaler_block_size)
    packed = t.quantized_data.numpy()
    return {"codes": np.stack([packed >> 4, packed & 0xF], axis=-1).ravel(), "c_q": t.quantized_scalers.numpy(),
            "factor": t.quantization_factor.numpy(), "mean": float(t.scaler_mean),
            "w_hat": t.get_original_weight().numpy(), "levels": t.nf4.numpy()}


def torchao_smoothquant(X, W, b=None, alpha=0.5):
    """Return (s, y): torchao's SmoothQuant (prototype) smoothing factor, calibrated on X, and the
    outputs on X of the converted layer (Int8DynamicActivationInt8WeightConfig: per-token activations)."""
    torch, sq = _torchao_module("torchao.prototype.smoothquant")
    _, tq = _torchao_module("torchao.quantization")
    _, step = _torchao_module("torchao.quantization.quantize_.common.quantization_step")
    X, W = np.asarray(X, dtype=np.float32), np.asarray(W, dtype=np.float32)
    m = torch.nn.Sequential(torch.nn.Linear(W.shape[1], W.shape[0], bias=b is not None))
    with torch.no_grad():
        m[0].weight.copy_(torch.from_numpy(W))
        if b is not None:
            m[0].bias.copy_(torch.from_numpy(np.asarray(b, dtype=np.float32)))
    base = tq.Int8DynamicActivationInt8WeightConfig()
    tq.quantize_(m, sq.SmoothQuantConfig(base, step=step.QuantizationStep.PREPARE, alpha=alpha))
    m(torch.from_numpy(X))
    s = m[0].obs.calculate_qparams()[0].detach().numpy()
    tq.quantize_(m, sq.SmoothQuantConfig(base, step=step.QuantizationStep.CONVERT, alpha=alpha))
    return s, torchao_forward(m, X)


def _intx_config(bits, group_size):
    _, tq = _torchao_module("torchao.quantization")
    _, gran = _torchao_module("torchao.quantization.granularity")
    torch, _ = import_torchao()
    v.choice(bits, "bits", {2, 3, 4, 5, 6, 7, 8})
    return tq.IntxWeightOnlyConfig(weight_dtype=getattr(torch, f"int{bits}"),
                                   granularity=gran.PerGroup(v.integer(group_size, "group_size", minimum=1)))


def torchao_intx_weight(W, bits=4, group_size=32):
    """Return torchao's IntxWeightOnlyConfig (symmetric, PerGroup) weights, dequantized, as numpy."""
    torch, tq = _torchao_module("torchao.quantization")
    m = torch.nn.Sequential(torch.nn.Linear(np.shape(W)[1], np.shape(W)[0], bias=False))
    with torch.no_grad():
        m[0].weight.copy_(torch.from_numpy(np.asarray(W, dtype=np.float32)))
    tq.quantize_(m, _intx_config(bits, group_size))
    return m[0].weight.dequantize().detach().numpy()


def torchao_awq_scales(X, W, bits=4, group_size=32, n_grid=20):
    """Return the scales torchao's AWQ prototype (AWQObserver, on IntxWeightOnlyConfig) picks on X."""
    torch, awq = _torchao_module("torchao.prototype.awq")
    _, tq = _torchao_module("torchao.quantization")
    m = torch.nn.Sequential(torch.nn.Linear(np.shape(W)[1], np.shape(W)[0], bias=False))
    with torch.no_grad():
        m[0].weight.copy_(torch.from_numpy(np.asarray(W, dtype=np.float32)))
    tq.quantize_(m, awq.AWQConfig(_intx_config(bits, group_size), step="prepare", scale_search_space_size=n_grid))
    m(torch.from_numpy(np.asarray(X, dtype=np.float32)))
    return m[0].act_obs.calculate_qparams().detach().numpy()
