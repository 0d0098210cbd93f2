"""Bridge to tf_keras: the course's MLP and conv Sequential as Keras models.

Orientation: a Keras Dense kernel is (in, out), course_lib's W is (out, in) like torch; Keras is NHWC,
course_lib NCHW. This module converts, and nothing else does.
"""
import numpy as np

from ._imports import import_tf
from ..core.layers import Activation, AvgPool2d, Conv2d, Dense, Flatten, MaxPool2d, Reshape


_ACT = {"relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "identity": None}


def to_keras(model):
    """Return a tf_keras Sequential with the weights (float32) of a course_lib MLP or conv Sequential.

    Layout: Keras is NHWC with conv kernels (k_h, k_w, in, out) and Dense kernels (in, out); course_lib
    is NCHW with (out, in, k_h, k_w) and (out, in). Conv kernels are transposed, and the first Dense
    after a Flatten has its input rows permuted from (c, h, w) order to Keras' (h, w, c) order.
    """
    if not hasattr(model, "layers"):
        return _mlp_to_keras(model)
    _, keras, _ = import_tf()
    net, weights, shape, i = [], [], None, 0
    W, b = model.effective_weights(), model.b
    for layer in model.layers:
        if isinstance(layer, Reshape):
            if len(layer.shape) != 3 or layer.shape[0] != 1:
                raise ValueError("to_keras supports a Reshape to (1, h, w) only (one input channel)")
            net += [keras.Input(shape=(int(np.prod(layer.shape)),)), keras.layers.Reshape(layer.shape[1:] + layer.shape[:1])]
            shape = layer.shape
        elif isinstance(layer, Conv2d):
            net.append(keras.layers.Conv2D(layer.out_channels, layer.k, strides=layer.stride,
                                           padding="same" if layer.padding else "valid"))
            if layer.padding not in (0, (layer.k - 1) // 2) or layer.stride != 1 and layer.padding:
                raise ValueError("to_keras supports padding 0 ('valid') or 'same' padding with stride 1")
            weights += [W[i].transpose(2, 3, 1, 0), b[i]]
            shape, i = (layer.out_channels, shape[1] + 2 * layer.padding - layer.k + 1,
                        shape[2] + 2 * layer.padding - layer.k + 1), i + 1
        elif isinstance(layer, (MaxPool2d, AvgPool2d)):
            pool = keras.layers.MaxPooling2D if isinstance(layer, MaxPool2d) else keras.layers.AveragePooling2D
            net.append(pool(layer.k, strides=layer.stride))
            shape = (shape[0], (shape[1] - layer.k) // layer.stride + 1, (shape[2] - layer.k) // layer.stride + 1)
        elif isinstance(layer, Flatten):
            net.append(keras.layers.Flatten())
        elif isinstance(layer, Activation):
            net.append(keras.layers.Activation(layer.name if layer.name != "identity" else "linear"))
        elif isinstance(layer, Dense):
            w = W[i]
            if shape is not None and len(shape) == 3:  # after Flatten: inputs (c, h, w) -> Keras (h, w, c)
                c, h, wd = shape
                w = w.reshape(-1, c, h, wd).transpose(0, 2, 3, 1).reshape(w.shape[0], -1)
            net.append(keras.layers.Dense(layer.n_out))
            weights += [w.T, b[i]]
            shape, i = (layer.n_out,), i + 1
    keras_net = keras.Sequential(net)
    keras_net.set_weights([x.astype(np.float32) for x in weights])
    return keras_net


def _mlp_to_keras(model):
    """Return a tf_keras Sequential of Dense layers with the MLP's weights (float32) and activations."""
    _, keras, _ = import_tf()
    layers = [keras.Input(shape=(model.sizes[0],))]
    for w, act in zip(model.W, model.acts):
        layers.append(keras.layers.Dense(w.shape[0], activation=_ACT[act]))
    net = keras.Sequential(layers)
    weights = []
    for w, b in zip(model.effective_weights(), model.b):
        weights += [w.T.astype(np.float32), b.astype(np.float32)]
    net.set_weights(weights)
    return net


def kernels(net):
    """Return every Dense kernel of a (stripped or plain) Keras model as (out, in) float32 arrays."""
    return [w.T for w in net.get_weights() if w.ndim == 2]

