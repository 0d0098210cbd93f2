"""An integer-only dense layer in numpy equals LiteRT's int8 FULLY_CONNECTED bit for bit."""
import numpy as np
import pytest

from course_lib import quantization as Q


def _int8_model(seed, relu):
    from course_lib.frameworks import import_tf, quiet_native_logs

    tf, keras, _ = import_tf(seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, 16)).astype(np.float32)
    m = keras.Sequential([keras.Input((16,)), keras.layers.Dense(12, activation="relu" if relu else None)])
    m.layers[0].set_weights([rng.normal(0, 0.5, (16, 12)).astype(np.float32), rng.normal(0, 0.2, 12).astype(np.float32)])
    conv = tf.lite.TFLiteConverter.from_keras_model(m)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([X[i:i + 1]] for i in range(100))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    with quiet_native_logs():
        flat = conv.convert()
        from ai_edge_litert.interpreter import Interpreter
        it = Interpreter(model_content=flat)  # the default path: the XNNPACK delegate
        it.allocate_tensors()
    return it, X


@pytest.mark.tf
@pytest.mark.parametrize("seed, relu", [(0, True), (1, False), (2, True)])
def test_int8_dense_equals_litert(seed, relu):
    it, X = _int8_model(seed, relu)
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    (x_s, x_z), (y_s, y_z) = inp["quantization"], out["quantization"]
    details = {t["index"]: t for t in it.get_tensor_details()}
    w = next(t for t in details.values() if t["dtype"] == np.int8 and len(t["shape"]) == 2 and t["shape"][0] == 12
             and t["shape"][1] == 16)
    b = next((t for t in details.values() if t["dtype"] == np.int32), None)
    q_w, w_s = it.get_tensor(w["index"]), w["quantization_parameters"]["scales"]
    q_x = np.clip(np.round(X[:64] / x_s) + x_z, -128, 127).astype(np.int8)
    theirs = []
    for row in q_x:
        it.set_tensor(inp["index"], row[None])
        it.invoke()
        theirs.append(it.get_tensor(out["index"])[0].copy())
    ours = Q.int8_dense(q_x, x_s, x_z, q_w, w_s, y_s, y_z, None if b is None else it.get_tensor(b["index"]), relu)
    assert np.array_equal(ours, np.array(theirs, dtype=np.int64))
