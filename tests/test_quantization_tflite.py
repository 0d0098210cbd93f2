"""An integer-only dense layer in numpy equals LiteRT's int8 FULLY_CONNECTED bit for bit."""
import numpy as np
import pytest

from course_lib.quantization import primitives as Q


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


@pytest.mark.tf
@pytest.mark.parametrize("seed", [0, 1])
def test_int8_dense_fp32_requantization_equals_litert(seed):
    """XNNPACK requantizes in float32 (rounding="fp32"); the fixed-point single rounding agrees with
    it on most sums but not all (see test_single_rounding_is_not_xnnpacks_rule_on_the_cnn)."""
    it, X = _int8_model(seed, relu=bool(seed % 2))
    from course_lib.frameworks.litert_bridge import litert_forward
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    (x_s, x_z), (y_s, y_z) = inp["quantization"], out["quantization"]
    details = it.get_tensor_details()
    w = next(t for t in details if t["dtype"] == np.int8 and len(t["shape"]) == 2 and tuple(t["shape"]) == (12, 16))
    b = next((t for t in details if t["dtype"] == np.int32), None)
    q_x = np.random.default_rng(seed).integers(-128, 128, (300, 16))
    ours = Q.int8_dense(q_x, x_s, x_z, it.get_tensor(w["index"]), w["quantization_parameters"]["scales"], y_s, y_z,
                        None if b is None else it.get_tensor(b["index"]), relu=bool(seed % 2), rounding="fp32")
    assert np.array_equal(ours, litert_forward(it, q_x))


# ----------------------------------------------------------------------- whole models: CNN and MLP
def _trained(kind, seed):
    from course_lib.core import data, layers, nn

    d = data.load_digits_split()
    m = layers.digits_cnn(seed) if kind == "cnn" else nn.MLP([64, 32, 16, 10], activation="relu", seed=seed)
    nn.train(m, d.X_train, d.y_train, 2, lr=0.05, seed=seed)
    return m, d


def _edge_inputs(seed):
    rng = np.random.default_rng(seed)
    ramp = np.tile(np.arange(-128, 128, 4), 1)[:64]
    return np.concatenate([rng.integers(-128, 128, (100, 64)),             # random int8
                           np.full((1, 64), -128), np.full((1, 64), 127),     # both ends: saturation
                           np.where(np.arange(64) % 2, 127, -128)[None],      # alternating extremes
                           ramp[None], np.zeros((1, 64), int)])


@pytest.mark.tf
@pytest.mark.parametrize("kind, seed", [("cnn", 0), ("cnn", 1), ("mlp", 0), ("mlp", 2)])
def test_integer_only_model_equals_litert_bit_for_bit(kind, seed):
    """The course's integer kernels, fed the converted model's own numbers, give LiteRT's int8 outputs."""
    from course_lib.frameworks import litert_bridge as TL

    m, d = _trained(kind, seed)
    it = TL.to_litert(m, d.X_train[:100])
    qm = TL.from_litert(it, m)
    for q_x in (qm.quantize_input(d.X_test), _edge_inputs(seed)):
        assert np.array_equal(qm.forward_int(q_x), TL.litert_forward(it, q_x))


@pytest.mark.tf
@pytest.mark.parametrize("kind", ["cnn", "mlp"])
def test_own_calibration_gives_litert_qparams(kind):
    """MinMax calibration + TFLite's rules: input qparams, int8 weights, weight scales and int32 biases
    equal exactly; activation scales to 1e-6 relative (LiteRT calibrates with its float32 kernels, we
    in float64, so a range can differ in the last float32 bit) and zero points exactly."""
    from course_lib.quantization import ptq
    from course_lib.frameworks import litert_bridge as TL

    m, d = _trained(kind, 3)
    X = d.X_train[:100]
    theirs, ours = TL.from_litert(TL.to_litert(m, X), m), ptq.convert(m, X)
    assert (theirs.x_scale, theirs.x_zero_point) == (ours.x_scale, ours.x_zero_point)
    for a, b in zip(theirs.layers, ours.layers):
        assert a.kind == b.kind
        if a.q_w is not None:
            assert np.array_equal(a.q_w, b.q_w) and np.array_equal(a.w_scale, b.w_scale)
            assert np.array_equal(a.q_bias, b.q_bias)
            assert a.y_zero_point == b.y_zero_point and abs(a.y_scale / b.y_scale - 1) < 1e-6


@pytest.mark.tf
def test_zero_point_at_the_top_end():
    """An output layer whose calibration outputs are all negative gets zero point 127 (the range is
    widened to hold 0), in LiteRT and in ptq.convert; the integer outputs still agree."""
    from course_lib.quantization import ptq
    from course_lib.frameworks import litert_bridge as TL

    m, d = _trained("mlp", 4)
    m.b[-1] = m.b[-1] - 50.0
    X = d.X_train[:50]
    it = TL.to_litert(m, X)
    qm = TL.from_litert(it, m)
    assert qm.layers[-1].y_zero_point == 127 == ptq.convert(m, X).layers[-1].y_zero_point
    q_x = _edge_inputs(4)
    assert np.array_equal(qm.forward_int(q_x), TL.litert_forward(it, q_x))


@pytest.mark.tf
def test_saturation_outside_the_calibrated_range():
    """Calibrated on dim images (x / 4), bright inputs overflow the hidden layers' ranges: both clamp
    at 127 the same way."""
    from course_lib.frameworks import litert_bridge as TL

    m, d = _trained("mlp", 5)
    it = TL.to_litert(m, d.X_train[:50] / 4)
    qm = TL.from_litert(it, m)
    q_x = np.concatenate([_edge_inputs(5), np.full((1, 64), 127)])
    assert (qm.forward_int(q_x, upto=0) == 127).any()
    assert np.array_equal(qm.forward_int(q_x), TL.litert_forward(it, q_x))


@pytest.mark.tf
def test_single_rounding_is_not_xnnpacks_rule_on_the_cnn():
    """Where the fixed-point and float32 requantizations disagree, LiteRT's default path follows fp32."""
    from course_lib.frameworks import litert_bridge as TL

    m, d = _trained("cnn", 0)
    it = TL.to_litert(m, d.X_train[:100])
    qm = TL.from_litert(it, m)
    q_x = np.concatenate([qm.quantize_input(d.X_test), _edge_inputs(0), _edge_inputs(1)])
    theirs = TL.litert_forward(it, q_x)
    assert np.array_equal(qm.forward_int(q_x), theirs)
    qm.rounding = "double"
    assert not np.array_equal(qm.forward_int(q_x), theirs)


@pytest.mark.tf
def test_conv_padding_with_a_zero_point_far_from_the_edge():
    """Inputs calibrated on [-1, 1] get a zero point near 0, so 'same' padding must add that zero point,
    not -128 and not the integer 0 by accident: still equal to LiteRT bit for bit."""
    from course_lib.frameworks import litert_bridge as TL

    m, d = _trained("cnn", 6)
    it = TL.to_litert(m, d.X_train[:100] * 2 - 1)
    qm = TL.from_litert(it, m)
    assert -20 < qm.x_zero_point < 20
    q_x = np.concatenate([qm.quantize_input(d.X_test * 2 - 1), _edge_inputs(6)])
    assert np.array_equal(qm.forward_int(q_x), TL.litert_forward(it, q_x))


@pytest.mark.tf
def test_builtin_kernels_conv_layers_use_double_rounding():
    """Without the XNNPACK delegate, LiteRT's int8 CONV_2D kernels requantize with gemmlowp's two
    roundings (docs/framework-semantics.md); their outputs equal ours with rounding="double"."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    from course_lib.frameworks import quiet_native_logs, litert_bridge as TL

    m, d = _trained("cnn", 0)
    flat = TL.convert_int8(m, d.X_train[:100])
    with quiet_native_logs():
        it = Interpreter(model_content=flat, experimental_preserve_all_tensors=True,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        it.allocate_tensors()
    qm = TL.from_litert(it, m, rounding="double")
    q_x = np.concatenate([qm.quantize_input(d.X_test), _edge_inputs(0)])
    TL.litert_forward(it, q_x)
    convs = [op for op in it._get_ops_details() if op["op_name"] == "CONV_2D"]
    conv_layers = [i for i, L in enumerate(qm.layers) if L.kind == "conv"]
    for op, i in zip(convs, conv_layers):
        theirs = it.get_tensor(op["outputs"][0]).astype(np.int64).transpose(0, 3, 1, 2)  # NHWC -> NCHW
        assert np.array_equal(qm.forward_int(q_x, upto=i), theirs)
    qm.rounding = "fp32"
    assert not all(np.array_equal(qm.forward_int(q_x, upto=i), it.get_tensor(op["outputs"][0]).astype(np.int64)
                                  .transpose(0, 3, 1, 2)) for op, i in zip(convs, conv_layers))
