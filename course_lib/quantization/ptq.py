"""Post-training quantization of whole models: calibrate, convert to int8, run with integers only.

`convert(model, X_calib)` turns a trained course_lib MLP (ReLU) or conv Sequential (e.g.
`layers.digits_cnn`) into an `Int8Model`, the way TFLite's full-integer converter does
(Jacob et al. 2018, "Quantization and Training of Neural Networks for Efficient
Integer-Arithmetic-Only Inference", CVPR, sec. 2; TFLite's 8-bit quantization specification):
- activations (the input and every conv/dense output, after its fused ReLU): asymmetric int8
  [-128, 127], scale and zero point from an observer run on calibration data (MinMax by default);
- weights: symmetric int8 [-127, 127] (narrow range, zero point 0), one scale per output channel;
- biases: int32 with scale x_scale * w_scale and zero point 0;
- max pooling, reshape and flatten keep their input's scale and zero point.
`Int8Model.forward_int` then runs integers only (quantization.int8_conv2d / int8_dense /
int8_max_pool2d); `simulate` is the float "fake-quantized" twin used for fast experiments.
"""
from dataclasses import dataclass, field

import numpy as np

from ..core import validation as v
from ..core.nn import NETWORK
from ..core.validation import Array, Boolean, Callable, Choice, Optional, Positive, Sequence, validate
from . import primitives as Q
from .error import fake_quantize_weight
from .observers import MinMaxObserver
from ..core.layers import Activation, Conv2d, Dense, Flatten, MaxPool2d, Reshape

ROUNDING, BITS = Choice("single", "double", "fp32"), Q.SIGNED_BITS


@dataclass
class QLayer:
    """One op of an integer-only model: "conv", "dense", "maxpool", "reshape" or "flatten"."""

    kind: str
    q_w: np.ndarray = None          # int8 weights, course layout: conv (out, in, k, k), dense (out, in)
    w_scale: np.ndarray = None      # one scale per output channel (float32)
    q_bias: np.ndarray = None       # int32, scale x_scale * w_scale
    y_scale: float = None
    y_zero_point: int = None
    relu: bool = False
    k: int = 1                      # kernel size (conv, maxpool)
    stride: int = 1
    padding: int = 0
    shape: tuple = None             # reshape target (c, h, w)


@dataclass
class Int8Model:
    """An integer-only model: input qparams and a list of QLayer (Jacob et al. 2018, sec. 2.4)."""

    x_scale: float
    x_zero_point: int
    layers: list = field(default_factory=list)
    rounding: str = "fp32"          # requantization rule (quantization.requantize): XNNPACK's by default

    def quantize_input(self, X):
        """Return q_x = clamp(round(X / x_scale) + x_zero_point, -128, 127) as int64."""
        return Q.quantize(np.asarray(X, dtype=np.float32), np.float32(self.x_scale), np.int64(self.x_zero_point),
                          -128, 127)

    def forward_int(self, q_x, upto=None):
        """Run the integer-only forward pass on int8 inputs; return the int8 outputs of the last layer
        (or of layer `upto`, an index into `layers`)."""
        q, s, z = _int_input(q_x), float(self.x_scale), int(self.x_zero_point)
        for i, L in enumerate(self.layers):
            q, s, z = _run_layer(L, q, s, z, self.rounding)
            if upto is not None and i == upto:
                break
        return q

    def output_qparams(self, upto=None):
        """Return (scale, zero_point) of the output of the last layer (or of layer `upto`)."""
        s, z = self.x_scale, self.x_zero_point
        for L in self.layers[:None if upto is None else upto + 1]:
            if L.kind in ("conv", "dense"):
                s, z = L.y_scale, L.y_zero_point
        return s, z

    def predict(self, X):
        """Quantize X, run integers only, dequantize: the float outputs of the int8 model."""
        s, z = self.output_qparams()
        return Q.dequantize(self.forward_int(self.quantize_input(X)), np.float32(s), np.int64(z))

    def n_bytes(self, scales=False):
        """Return the bytes of the weights (1 per int8) and biases (4 per int32); with `scales`, + 4 per float32 weight scale."""
        scales = Boolean().check(scales, "scales")
        return int(sum(L.q_w.size + 4 * L.q_bias.size + (4 * np.size(L.w_scale) if scales else 0)
                       for L in self.layers if L.q_w is not None))


def _int_input(q_x):
    q = v.as_array(q_x, "q_x")
    if q.dtype.kind not in "iu" or q.min() < -128 or q.max() > 127:
        raise ValueError("q_x must hold int8 values (integers in [-128, 127])")
    return q.astype(np.int64)


def _run_layer(L, q, s, z, rounding):
    """Apply one QLayer to int8 values q of scale s, zero point z; return (q, s, z) after it."""
    if L.kind == "reshape":
        return q.reshape((len(q),) + tuple(L.shape)), s, z
    if L.kind == "flatten":
        return q.reshape(len(q), -1), s, z
    if L.kind == "maxpool":
        return Q.int8_max_pool2d(q, L.k, L.stride), s, z
    if L.kind == "conv":
        q = Q.int8_conv2d(q, s, z, L.q_w, L.w_scale, L.y_scale, L.y_zero_point, L.q_bias, L.stride, L.padding,
                          L.relu, rounding)
    else:
        q = Q.int8_dense(q, s, z, L.q_w, L.w_scale, L.y_scale, L.y_zero_point, L.q_bias, L.relu, rounding)
    return q, L.y_scale, L.y_zero_point


# ----------------------------------------------------------------------------- the float model as ops
@validate(model=NETWORK)
def float_ops(model):
    """Return the model as a list of float ops (kind, W, b, relu, k, stride, padding, shape), each
    ReLU fused into the conv or dense before it, as TFLite fuses it. MLPs need ReLU hidden layers.
    Each op also holds `layer`, the course layer whose own forward computes it, and `point`, where the
    model's forward(X, keep=True) cache holds its output (a conv/dense op: after its fused ReLU)."""
    if not hasattr(model, "layers"):
        if any(a not in ("relu", "identity") for a in model.acts):
            raise ValueError(f"model activations must be 'relu' or 'identity' for integer-only inference, got {model.acts}")
        return [dict(kind="dense", W=w, b=b, relu=a == "relu", layer=Dense(w.shape[1], w.shape[0]), point=l + 1)
                for l, (w, b, a) in enumerate(zip(model.effective_weights(), model.b, model.acts))]
    ops, W, i = [], model.effective_weights(), 0
    for n, layer in enumerate(model.layers):
        if isinstance(layer, (Conv2d, Dense)):
            conv = isinstance(layer, Conv2d)
            ops.append(dict(kind="conv" if conv else "dense", W=W[i], b=model.b[i], relu=False, layer=layer, point=n,
                            k=getattr(layer, "k", 1), stride=getattr(layer, "stride", 1), padding=getattr(layer, "padding", 0)))
            i += 1
        elif isinstance(layer, Activation) and layer.name in ("relu", "identity") and ops and "W" in ops[-1]:
            ops[-1]["relu"] |= layer.name == "relu"
            ops[-1]["point"] = n
        elif isinstance(layer, MaxPool2d):
            ops.append(dict(kind="maxpool", k=layer.k, stride=layer.stride, layer=layer))
        elif isinstance(layer, Reshape):
            ops.append(dict(kind="reshape", shape=layer.shape, layer=layer))
        elif isinstance(layer, Flatten):
            ops.append(dict(kind="flatten", layer=layer))
        else:
            raise ValueError(f"model layers must be Conv2d/Dense (+ ReLU), MaxPool2d, Reshape or Flatten, got {layer!r}")
    return ops


def _float_op(op, x, W=None):
    """Apply a float op to x with its course layer's own forward (W: replacement weights, e.g. fake-quantized)."""
    if not _has_weights(op):
        return op["layer"].forward(x)
    y = op["layer"].forward(x, op["W"] if W is None else W, op["b"])
    return np.maximum(y, 0.0) if op["relu"] else y


def _forward_points(model, X):
    """Return the model's own float forward of X at every quantization point (each conv/dense output,
    after its fused ReLU): model.forward(X, keep=True) with any fake quantizers switched off."""
    ops, state = float_ops(model), {k: getattr(model, k) for k in ("fake_quant", "cache", "fq_cache", "fq_masks")
                                     if hasattr(model, k)}
    model.fake_quant = None
    try:
        model.forward(X, keep=True)
        cache = model.cache
    finally:  # the model is left as it was (quantizers, caches)
        for k, value in state.items():
            setattr(model, k, value)
    if not hasattr(model, "layers"):
        return [cache[op["point"]][1] for op in ops]
    return [cache[op["point"]] for op in ops if _has_weights(op)]


def _check_input(ops, X, name):
    """Raise a ValueError naming `name` unless X (n, ...) fits the model's first op."""
    op, shape = ops[0], X.shape[1:]
    if op["kind"] == "dense":
        ok, want = shape == (op["W"].shape[1],), f"(n, {op['W'].shape[1]})"
    elif op["kind"] == "conv":
        ok, want = len(shape) == 3 and shape[0] == op["W"].shape[1], f"(n, {op['W'].shape[1]}, h, w)"
    elif op["kind"] == "reshape":
        ok, want = int(np.prod(shape)) == int(np.prod(op["shape"])), f"n inputs of {int(np.prod(op['shape']))} values"
    else:
        ok, want = X.ndim >= 2, "(n, ...)"
    if X.ndim < 2 or not ok:
        raise ValueError(f"{name} must have shape {want} for this model, got {X.shape}")


def _has_weights(op):
    """Return True for the ops that carry weights and an output quantization point (conv, dense)."""
    return op["kind"] in ("conv", "dense")


# ----------------------------------------------------------------------------- calibration and convert
def _observer_kw(observer, kw):
    """Check the keywords passed on to `observer` with its declared constraints (a checked body's calls are
    not checked again): the subclass's own, and MinMaxObserver's grid keywords for its subclasses."""
    declared = dict(MinMaxObserver.__init__.constraints) if isinstance(observer, type) and \
        issubclass(observer, MinMaxObserver) else {}
    declared.update(getattr(getattr(observer, "__init__", None), "constraints", {}))
    return {k: declared[k].check(a, k) if k in declared else a for k, a in kw.items()}


@validate(model=NETWORK, X_calib=Array(), observer=Callable())
def calibrate(model, X_calib, observer=MinMaxObserver, **observer_kw):
    """Run X_calib through the float model; return one observer for the input and one per conv/dense
    output (after its ReLU), each having observed every value there (TFLite's calibration step)."""
    X = np.asarray(X_calib).astype(float)
    ops = float_ops(model)
    _check_input(ops, X, "X_calib")
    observer_kw = _observer_kw(observer, observer_kw)
    obs = [observer(**observer_kw)]
    obs[0].observe(X)
    for y in _forward_points(model, X):
        obs.append(observer(**observer_kw))
        obs[-1].observe(y)
    return obs


@validate(W=Array(), bits=BITS, per_channel=Boolean())
def weight_qparams(W, bits=8, per_channel=True):
    """Return (q_w, w_scale): W on the course's one weight grid (primitives.quantize_weights), symmetric
    narrow range q_w in [-(2^(b-1) - 1), 2^(b-1) - 1], scale = max|W| / (2^(b-1) - 1) per output channel
    (axis 0) or per tensor, as a float32 array with one entry per output channel (TFLite's int8 weights;
    Krishnamoorthi 2018, "Quantizing deep convolutional networks for efficient inference: A whitepaper",
    sec. 2.2 eq. 10 and sec. 2.6)."""
    q_w, scale = Q.quantize_weights(W, bits, per_channel)
    return q_w, np.broadcast_to(np.float32(scale), (len(W),)).astype(np.float32)


@validate(b=Array(), x_scale=Positive(), w_scale=Q.SCALES)
def quantize_bias(b, x_scale, w_scale):
    """Return the int32 bias q_b = round(b / (x_scale * w_scale)) (zero point 0; Jacob et al. 2018,
    eq. 11): the bias joins the int32 accumulator, whose scale is x_scale * w_scale."""
    b, w = np.asarray(b).astype(np.float64), np.asarray(w_scale, dtype=np.float32)
    bias_scale = (np.float32(x_scale) * w).astype(np.float64)
    return np.clip(np.rint(b / bias_scale), Q.INT32_MIN, Q.INT32_MAX).astype(np.int64)


@validate(model=NETWORK, X_calib=Array(), observer=Callable(), per_channel=Boolean(), rounding=ROUNDING)
def convert(model, X_calib, observer=MinMaxObserver, per_channel=True, rounding="fp32", **observer_kw):
    """Return the Int8Model of a trained float model, calibrated on X_calib (TFLite's full-integer
    conversion: int8 activations from the observers, per-channel int8 weights, int32 biases)."""
    obs = calibrate(model, X_calib, observer, **observer_kw)
    x_s, x_z = obs[0].qparams()
    qm, j, s = Int8Model(float(x_s), int(x_z), rounding=rounding), 1, float(x_s)
    for op in float_ops(model):
        L = QLayer(op["kind"], k=op.get("k", 1), stride=op.get("stride", 1), padding=op.get("padding", 0),
                   shape=op.get("shape"))
        if _has_weights(op):
            L.q_w, L.w_scale = weight_qparams(op["W"], 8, per_channel)
            L.q_bias = quantize_bias(op["b"], s, L.w_scale)
            y_s, y_z = obs[j].qparams()
            L.y_scale, L.y_zero_point, L.relu, s, j = float(y_s), int(y_z), op["relu"], float(y_s), j + 1
        qm.layers.append(L)
    return qm


# ----------------------------------------------------------------------------- simulated quantization
@validate(model=NETWORK, X=Array(), X_calib=Optional(Array()), w_bits=Optional(BITS), a_bits=Optional(BITS),
          per_channel=Boolean(), observer=Callable(), layer_bits=Optional(Sequence(Optional(BITS), min_len=0)),
          keep=Boolean())
def simulate(model, X, X_calib=None, w_bits=8, a_bits=8, per_channel=True, observer=MinMaxObserver,
             layer_bits=None, keep=False, **observer_kw):
    """Return the float outputs of the fake-quantized model ("simulated quantization"): weights
    rounded to w_bits (symmetric, per channel or per tensor), and, if a_bits is given, the input and
    every conv/dense output rounded to a_bits with qparams from observers calibrated on X_calib.
    layer_bits: a list of weight bit widths, one per conv/dense layer (None = float), overrides w_bits.
    keep=True returns the list of every conv/dense output instead (for layer-by-layer error)."""
    ops = float_ops(model)
    n_w = sum(_has_weights(op) for op in ops)
    bits = [w_bits] * n_w if layer_bits is None else list(layer_bits)
    if len(bits) != n_w:
        raise ValueError(f"layer_bits must have one entry per conv/dense layer ({n_w}), got {len(bits)}")
    fq = _act_fake_quant(model, X_calib, a_bits, observer, observer_kw)
    X = np.asarray(X).astype(float)
    _check_input(ops, X, "X")
    x, j, outs = fq[0](X), 0, []
    for op in ops:
        if _has_weights(op):
            W = op["W"] if bits[j] is None else fake_quantize_weight(op["W"], bits[j], per_channel)
            x = fq[j + 1](_float_op(op, x, W))
            outs.append(x)
            j += 1
        else:
            x = _float_op(op, x)
    return outs if keep else x


def _act_fake_quant(model, X_calib, a_bits, observer, observer_kw):
    """Return one function per quantization point: identity (a_bits None) or its fake quantizer."""
    n = 1 + sum(_has_weights(op) for op in float_ops(model))
    if a_bits is None:
        return [lambda x: x] * n
    if X_calib is None:
        raise ValueError("X_calib must be given when a_bits is set (activations need calibration)")
    q_min, q_max = Q.q_range(a_bits)
    obs = calibrate(model, X_calib, observer, bits=a_bits, **observer_kw)

    def fake(o):
        s, z = o.qparams()
        return lambda x: Q.fake_quantize(x, s, z, q_min, q_max)
    return [fake(o) for o in obs]


@validate(model=NETWORK, X=Array())
def float_layer_outputs(model, X):
    """Return the float output of every conv/dense layer (after its ReLU) for inputs X (model.forward)."""
    X = np.asarray(X).astype(float)
    _check_input(float_ops(model), X, "X")
    return _forward_points(model, X)


# ----------------------------------------------------------------------------- dynamic quantization
@validate(x=Array(), W=Array(), b=Optional(Array()), weight_only=Boolean())
def dynamic_int8_linear(x, W, b=None, weight_only=False):
    """Return x W^T + b with int8 weights (symmetric, one scale per row of W) and, unless weight_only,
    int8 activations quantized at run time (symmetric, one scale per row of x), in float32 as
    torchao's Int8DynamicActivationInt8WeightConfig / Int8WeightOnlyConfig on CPU:

        s = max|row| / 127.5,  q = clamp(round(v * (1 / s)), -128, 127)     (torchao's quant_primitives)
        y = (float32(q_x q_w^T) * s_x) * s_w + b     or, weight-only,   y = (x q_w^T) * s_w + b
    """
    x32, W32 = (np.asarray(a).astype(np.float32) for a in (x, W))
    if x32.ndim != 2 or W32.ndim != 2 or x32.shape[1] != W32.shape[1]:
        raise ValueError(f"x must be (n, in) and W (out, in) with the same in, got {x32.shape} and {W32.shape}")
    q_w, s_w = _rows_int8(W32)
    if weight_only:
        y = (x32 @ q_w.T.astype(np.float32)) * s_w
    else:
        q_x, s_x = _rows_int8(x32)
        y = ((q_x @ q_w.T).astype(np.float32) * s_x[:, None]) * s_w  # the int32 product is exact
    return y if b is None else y + np.asarray(b, dtype=np.float32)


def _rows_int8(a):
    """Return (q, scale): a per-row symmetric int8 quantization of a float32 matrix (torchao's rule)."""
    scale, zp = Q.qparams(a.min(axis=1), a.max(axis=1), symmetric=True)
    return Q.quantize(a, scale, zp, -128, 127, axis=0, rule="torch"), scale


@validate(model=NETWORK, X=Array(), weight_only=Boolean())
def dynamic_forward(model, X, weight_only=False):
    """Run an MLP (ReLU) with every dense layer in dynamic_int8_linear; return float32 outputs."""
    x = np.asarray(X).astype(np.float32)
    for op in float_ops(model):
        if op["kind"] != "dense":
            raise ValueError("dynamic_forward supports MLPs (dense layers) only")
        x = dynamic_int8_linear(x, op["W"], op["b"], weight_only)
        x = np.maximum(x, np.float32(0)) if op["relu"] else x
    return x
