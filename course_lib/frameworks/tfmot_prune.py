"""Bridge to tfmot pruning: tfmot's masks back as numpy, one-shot pruning, a sparsity tracker.

Every mask returned here is transposed to course_lib's (out, in) so it compares directly with
`course_lib.pruning.masks`.
"""
import numpy as np

from ._imports import LazyModule, import_tf
from ..core import validation as v

pruning_wrapper = LazyModule("tensorflow_model_optimization.python.core.sparsity.keras.pruning_wrapper")  # on first use


def wrappers(pruned):
    """Return the PruneLowMagnitude wrappers of a model made by prune_low_magnitude, in order."""
    import_tf()
    return [layer for layer in pruned.layers if isinstance(layer, pruning_wrapper.PruneLowMagnitude)]


def tfmot_masks(pruned):
    """Return each wrapped kernel's tfmot mask as a bool array in course_lib's (out, in) orientation."""
    out = []
    for wrapper in wrappers(pruned):
        for weight, mask, _ in wrapper.pruning_vars:
            m = mask.numpy().astype(bool)
            out.append(m.T if m.ndim == 2 else m)
    return out


def one_shot(net, sparsity, X, loss="sparse_categorical_crossentropy"):
    """Prune a Keras model once with tfmot: ConstantSparsity(sparsity, begin_step=0, frequency=1).

    tfmot updates masks only inside a training step, so this runs ONE fit step with learning rate 0
    (weights unchanged) and the UpdatePruningStep callback (step 1 is a schedule step). Returns
    (pruned wrapper model, stripped model). The masks equal masks.magnitude_mask(W, s, rule="tfmot").
    """
    tf, keras, tfmot = import_tf()
    s = v.fraction(sparsity, "sparsity", high_inclusive=False)
    sched = tfmot.sparsity.keras.ConstantSparsity(s, begin_step=0, frequency=1)
    pruned = tfmot.sparsity.keras.prune_low_magnitude(net, pruning_schedule=sched)
    pruned.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss=loss)
    X = np.asarray(X, np.float32)
    y = np.zeros(len(X), np.int64) if "categorical" in loss else np.zeros((len(X), net.output_shape[-1]), np.float32)
    pruned.fit(X, y, batch_size=len(X), epochs=1, verbose=0,
               callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
    return pruned, tfmot.sparsity.keras.strip_pruning(pruned)


def sparsity_tracker():
    """Return a Keras callback that records each wrapped kernel's sparsity at every epoch end.

    A stand-in for tfmot's PruningSummaries (which writes the same numbers to TensorBoard logs):
    `tracker.history` is a list of (epoch, [sparsity per kernel]).
    """
    _, keras, _ = import_tf()

    class SparsityTracker(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.history = []

        def on_epoch_end(self, epoch, logs=None):
            values = [float(1.0 - m.numpy().mean()) for w in wrappers(self.model) for _, m, _ in w.pruning_vars]
            self.history.append((epoch + 1, values))

    return SparsityTracker()

