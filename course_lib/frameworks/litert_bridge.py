"""Bridge to LiteRT (TFLite): full-integer conversion of a course_lib model and its int8 parameters.

    it = to_litert(model, X_calib)       # tf_keras twin -> TFLiteConverter (int8 in/out) -> Interpreter
    q_y = litert_forward(it, q_x)        # int8 in, int8 out, run by LiteRT (XNNPACK by default)
    qm = from_litert(it, model)          # the converted parameters as a course_lib.quantization.ptq.Int8Model

Layouts: LiteRT is NHWC with conv kernels (out, k_h, k_w, in) and flattens in (h, w, c) order;
`from_litert` turns every tensor back into course_lib's NCHW layout, so `qm.forward_int` runs the
course's own kernels on LiteRT's numbers.
"""
import numpy as np

from ._imports import LazyModule, import_tf, quiet_native_logs
from ..core import validation as v
from ..quantization.ptq import Int8Model, QLayer, float_ops
from .keras_bridge import to_keras

litert = LazyModule("ai_edge_litert.interpreter")  # LiteRT's Interpreter, imported quietly on first use

_WEIGHTED = {"CONV_2D": "conv", "FULLY_CONNECTED": "dense"}


def convert_int8(model, X_calib):
    """Return the flatbuffer (bytes) of a full-integer TFLite model: TFLiteConverter on the tf_keras
    twin (keras_bridge.to_keras), Optimize.DEFAULT, representative dataset X_calib (one example per
    step), TFLITE_BUILTINS_INT8 only, int8 input and output."""
    tf, _, _ = import_tf()
    X = v.as_array(X_calib, "X_calib").astype(np.float32)
    conv = tf.lite.TFLiteConverter.from_keras_model(to_keras(model))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([X[i:i + 1]] for i in range(len(X)))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    with quiet_native_logs():
        return conv.convert()


def convert_float32(model):
    """Return the flatbuffer (bytes) of the plain float32 TFLite model (no optimizations): the baseline."""
    tf, _, _ = import_tf()
    conv = tf.lite.TFLiteConverter.from_keras_model(to_keras(model))
    with quiet_native_logs():
        return conv.convert()


def interpreter(flat, delegate="xnnpack"):
    """Return an allocated ai_edge_litert Interpreter: delegate="xnnpack" (LiteRT's default path) or
    "builtin" (the reference/optimized builtin kernels, no delegate)."""
    v.choice(delegate, "delegate", {"xnnpack", "builtin"})
    kinds = litert.OpResolverType
    kind = kinds.AUTO if delegate == "xnnpack" else kinds.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    with quiet_native_logs():
        it = litert.Interpreter(model_content=flat, experimental_op_resolver_type=kind)
        it.allocate_tensors()
    return it


def to_litert(model, X_calib, delegate="xnnpack"):
    """Return a LiteRT Interpreter running the full-integer conversion of `model` (convert_int8)."""
    return interpreter(convert_int8(model, X_calib), delegate)


def litert_forward(it, q_x):
    """Run inputs q_x (n, features) through the interpreter in one batch: int8 values for an int8
    model (returned as int64), floats for a float32 model (returned as float32)."""
    q_x = v.as_array(q_x, "q_x")
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    if inp["dtype"] == np.int8 and (q_x.dtype.kind not in "iu" or q_x.min() < -128 or q_x.max() > 127):
        raise ValueError("q_x must hold int8 values (integers in [-128, 127])")
    if tuple(inp["shape"]) != q_x.shape:
        with quiet_native_logs():
            it.resize_tensor_input(inp["index"], list(q_x.shape))
            it.allocate_tensors()
    it.set_tensor(inp["index"], q_x.astype(inp["dtype"]))
    it.invoke()
    y = it.get_tensor(out["index"])
    return y.astype(np.int64) if y.dtype == np.int8 else y.copy()


def _qparams(t):
    qp = t["quantization_parameters"]
    return qp["scales"].astype(np.float32), qp["zero_points"].astype(np.int64)


def from_litert(it, model, rounding="fp32"):
    """Return the Int8Model whose numbers are the converted model's own: input/output scales and zero
    points, int8 weights with per-channel scales, int32 biases, read from the interpreter's tensors
    and put in course_lib's layout (ReLU, strides, padding and pooling come from `model`)."""
    details = {t["index"]: t for t in it.get_tensor_details()}
    ops = [op for op in it._get_ops_details() if op["op_name"] in _WEIGHTED]
    x_s, x_z = _qparams(details[it.get_input_details()[0]["index"]])
    qm, shape, j = Int8Model(float(x_s[0]), int(x_z[0]), rounding=rounding), None, 0
    for op in float_ops(model):
        L = QLayer(op["kind"], k=op.get("k", 1), stride=op.get("stride", 1), padding=op.get("padding", 0),
                   shape=op.get("shape"), relu=op.get("relu", False))
        if L.kind == "reshape":
            shape = tuple(L.shape)
        elif L.kind == "maxpool":
            shape = (shape[0], (shape[1] - L.k) // L.stride + 1, (shape[2] - L.k) // L.stride + 1)
        elif L.kind in ("conv", "dense"):
            if j >= len(ops) or _WEIGHTED[ops[j]["op_name"]] != L.kind:
                raise ValueError("the interpreter's ops do not match the model's conv/dense layers")
            x_i, w_i, b_i = ops[j]["inputs"][:3]
            q_w, (L.w_scale, _) = it.get_tensor(w_i).astype(np.int64), _qparams(details[w_i])
            L.q_bias = it.get_tensor(b_i).astype(np.int64)
            (y_s, y_z) = _qparams(details[ops[j]["outputs"][0]])
            L.y_scale, L.y_zero_point = float(y_s[0]), int(y_z[0])
            if L.kind == "conv":
                L.q_w = q_w.transpose(0, 3, 1, 2)  # (out, k, k, in) -> (out, in, k, k)
                shape = (len(q_w), shape[1] + 2 * L.padding - L.k + 1, shape[2] + 2 * L.padding - L.k + 1)
            else:
                if shape is not None and len(shape) == 3:  # LiteRT flattens (h, w, c); the course (c, h, w)
                    c, h, w = shape
                    q_w = q_w.reshape(-1, h, w, c).transpose(0, 3, 1, 2).reshape(len(q_w), -1)
                L.q_w, shape = q_w, (len(q_w),)
            j += 1
        qm.layers.append(L)
    return qm


def litert_predict(flat, X):
    """Return the outputs of a TFLite flatbuffer on the rows of X, run one row at a time by LiteRT's
    interpreter (ai_edge_litert); int8 inputs and outputs are (de)quantized with the model's parameters."""
    with quiet_native_logs():
        it = litert.Interpreter(model_content=flat)
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
