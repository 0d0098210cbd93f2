"""Inside the lessons' end-to-end flows, torch.nn.utils.prune and tfmot pick the same weights as course_lib.

The foundation's oracle tests compare the mask functions on random tensors; these tests compare them
where lessons 05-06 use them: on trained MLP weights, repeated pruning, a schedule in a training loop,
strip_pruning, and structured removal.
"""
import numpy as np
import pytest

from course_lib.pruning import prune as P
from course_lib.core.data import load_digits_split
from course_lib.pruning.masks import global_magnitude_masks, magnitude_mask, structured_mask
from course_lib.core.nn import train, MLP
from course_lib.pruning.schedules import PolynomialDecay


@pytest.fixture(scope="module")
def trained():
    d = load_digits_split()
    m = MLP([64, 24, 16, 10], activation="relu", seed=3)
    train(m, d.X_train, d.y_train, epochs=3, lr=0.05)
    return m, d


# ----------------------------------------------------------------- torch
@pytest.mark.torch
@pytest.mark.parametrize("s", [0.5, 0.8, 0.95])
def test_torch_l1_unstructured_and_remove_equal_one_shot(trained, s):
    from course_lib.frameworks import import_torch
    from course_lib.frameworks.torch_bridge import linears, to_torch, torch_weights
    from course_lib.frameworks.torch_prune import torch_masks
    import_torch(0)
    from torch.nn.utils import prune
    m, _ = trained
    seq = to_torch(m)
    for lin in linears(seq):
        prune.l1_unstructured(lin, "weight", amount=s)
    ours = P.prune_one_shot(m, s, rule="torch")
    for a, b in zip(torch_masks(seq), ours.masks):
        np.testing.assert_array_equal(a, b)
    for lin in linears(seq):
        prune.remove(lin, "weight")
        assert not hasattr(lin, "weight_mask") and not hasattr(lin, "weight_orig")
    for w, ow in zip(torch_weights(seq), ours.W):
        np.testing.assert_array_equal(w, ow)


@pytest.mark.torch
def test_torch_global_unstructured_equals_global_scope(trained):
    from course_lib.frameworks import import_torch
    from course_lib.frameworks.torch_bridge import linears, to_torch
    from course_lib.frameworks.torch_prune import torch_masks
    import_torch(0)
    from torch.nn.utils import prune
    m, _ = trained
    seq = to_torch(m)
    prune.global_unstructured([(lin, "weight") for lin in linears(seq)], prune.L1Unstructured, amount=0.85)
    ours = P.prune_one_shot(m, 0.85, scope="global")
    for a, b, c in zip(torch_masks(seq), ours.masks, global_magnitude_masks(m.W, 0.85)):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


@pytest.mark.torch
def test_torch_ln_structured_then_physical_removal_gives_same_outputs(trained):
    from course_lib.frameworks import import_torch
    from course_lib.frameworks.torch_bridge import linears, to_torch
    from course_lib.frameworks.torch_prune import torch_masks
    torch = import_torch(0)
    from torch.nn.utils import prune
    m, d = trained
    seq = to_torch(m)
    hidden = linears(seq)[:-1]
    for lin in hidden:
        prune.ln_structured(lin, "weight", amount=0.5, n=1, dim=0)
    for a, w in zip(torch_masks(seq)[:-1], m.W[:-1]):
        np.testing.assert_array_equal(a, structured_mask(w, 0.5, axis=0, p=1))
    # torch zeroes rows (weights only: the bias survives); removing the neurons physically equals
    # zeroing the rows AND their biases, i.e. dropping the next layer's matching columns
    for lin in hidden:
        with torch.no_grad():
            lin.bias[lin.weight_mask[:, 0] == 0] = 0.0
    small = P.prune_neurons(m, 0.5)
    assert small.sizes == [64, 12, 8, 10]
    out_torch = seq(torch.tensor(d.X_test, dtype=torch.float64)).detach().numpy()
    np.testing.assert_allclose(small.forward(d.X_test), out_torch, atol=1e-10)


@pytest.mark.torch
def test_torch_gradual_training_masks_equal_course_lib_at_every_update(trained):
    from course_lib.frameworks import import_torch
    from course_lib.frameworks.torch_prune import gradual_train
    from course_lib.frameworks.torch_bridge import to_torch
    import_torch(0)
    m, d = trained
    sched = PolynomialDecay(0.0, 0.9, begin_step=5, end_step=65, frequency=6)
    hist = gradual_train(to_torch(m), d.X_train[:320], d.y_train[:320], sched, epochs=7, lr=0.05)
    assert [h[0] for h in hist] == P.update_steps(sched, 70)
    assert all(h[3] for h in hist), [h for h in hist if not h[3]]
    assert hist[-1][2] == pytest.approx(0.9, abs=1e-3)


@pytest.mark.torch
def test_torch_gradual_training_is_the_numpy_gradual_prune(trained):
    """One training loop: gradual_train runs torch_train with an on_step hook, so its batches, steps and
    masks are nn.train's; in float64 the trajectory equals prune.gradual_prune(rule="torch")."""
    from course_lib.frameworks import import_torch
    from course_lib.frameworks.torch_prune import gradual_train
    from course_lib.frameworks.torch_bridge import to_torch, torch_weights
    import_torch(0)
    m, d = trained
    sched = PolynomialDecay(0.0, 0.9, begin_step=5, end_step=65, frequency=6)
    seq = to_torch(m)
    hist = gradual_train(seq, d.X_train[:320], d.y_train[:320], sched, epochs=7, lr=0.05, seed=4)
    pm, ph = P.gradual_prune(m, d.X_train[:320], d.y_train[:320], sched, epochs=7, lr=0.05, seed=4, rule="torch")
    assert [h[:3] for h in hist] == [tuple(h) for h in ph]
    for a, b in zip(torch_weights(seq), pm.W):
        assert np.array_equal(a == 0, b == 0)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)   # float64, same order of operations up to BLAS


@pytest.mark.torch
def test_torch_train_calls_on_step_before_every_batch():
    from course_lib.frameworks import import_torch
    from course_lib.frameworks.torch_bridge import to_torch, torch_train, torch_weights
    import_torch(0)
    d = load_digits_split()
    m = MLP([64, 8, 10], activation="relu", seed=0)
    seq, seen = to_torch(m), []
    torch_train(seq, d.X_train[:100], d.y_train[:100], 2, lr=0.05, batch_size=32,
                on_step=lambda step, net: seen.append((step, net is seq, torch_weights(net)[0].copy())))
    assert [s for s, _, _ in seen] == list(range(1, 9))          # 4 batches of 100 rows per epoch, 2 epochs
    assert all(same for _, same, _ in seen)
    assert np.array_equal(seen[0][2], m.W[0])                      # step 1 runs before the first update
    assert not np.array_equal(seen[1][2], m.W[0])
    with pytest.raises(TypeError, match="on_step must be a function"):
        torch_train(seq, d.X_train[:10], d.y_train[:10], 1, on_step=3)


@pytest.mark.torch
def test_torch_repeated_prune_ranks_the_stale_weight_attribute():
    """Without importance_scores, a second prune call ranks `module.weight` as the last forward set it."""
    from course_lib.frameworks import import_torch
    torch = import_torch(0)
    from torch.nn.utils import prune
    lin = torch.nn.Linear(4, 1, bias=False, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 2.0, 3.0, 4.0]]))
    prune.l1_unstructured(lin, "weight", amount=1)              # prunes 1.0
    with torch.no_grad():
        lin.weight_orig.copy_(torch.tensor([[1.0, 5.0, 0.5, 6.0]]))  # an optimiser step, no forward yet
    current = (lin.weight_orig * lin.weight_mask).detach().numpy()   # [0, 5, 0.5, 6]
    prune.l1_unstructured(lin, "weight", amount=1)              # ranks the stale [0, 2, 3, 4]: prunes 2
    np.testing.assert_array_equal(lin.weight_mask.numpy(), [[0, 0, 1, 1]])
    np.testing.assert_array_equal(magnitude_mask(current, 0.5), [[False, True, False, True]])


# ----------------------------------------------------------------- tfmot
@pytest.mark.tf
@pytest.mark.parametrize("s", [0.5, 0.9])
def test_tfmot_prune_low_magnitude_and_strip_equal_tfmot_rule(trained, s):
    from course_lib.frameworks import import_tf
    from course_lib.frameworks.keras_bridge import kernels, to_keras
    from course_lib.frameworks.tfmot_prune import one_shot, tfmot_masks
    import_tf(0)
    m, d = trained
    pruned, stripped = one_shot(to_keras(m), s, d.X_train[:32])
    masks = tfmot_masks(pruned)
    assert len(masks) == 3
    for a, w in zip(masks, m.W):
        np.testing.assert_array_equal(a, magnitude_mask(w, s, rule="tfmot"))
    for k, a, w in zip(kernels(stripped), masks, m.W):
        np.testing.assert_array_equal(k, (w * a).astype(np.float32))
    assert all(type(layer).__name__ == "Dense" for layer in stripped.layers)


@pytest.mark.tf
def test_tfmot_polynomial_decay_in_fit_masks_equal_course_lib_on_the_weights_it_saw(trained):
    """Record every kernel before each batch; at each update step tfmot's new mask must be
    course_lib's tfmot rule on exactly those (unmasked) weights at schedule.sparsity(step)."""
    from course_lib.frameworks import import_tf
    from course_lib.frameworks.tfmot_prune import tfmot_masks, wrappers
    from course_lib.frameworks.keras_bridge import to_keras
    tf, keras, tfmot = import_tf(0)
    m, d = trained
    ours = PolynomialDecay(0.0, 0.8, begin_step=2, end_step=14, frequency=4)
    theirs = tfmot.sparsity.keras.PolynomialDecay(0.0, 0.8, begin_step=2, end_step=14, frequency=4)
    pruned = tfmot.sparsity.keras.prune_low_magnitude(to_keras(m), pruning_schedule=theirs)
    pruned.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    seen, after = [], []

    class Spy(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append([w.numpy().T.copy() for wr in wrappers(self.model) for w, _, _ in wr.pruning_vars])

        def on_train_batch_end(self, batch, logs=None):
            after.append(tfmot_masks(self.model))

    pruned.fit(d.X_train[:512], d.y_train[:512], batch_size=32, epochs=1, shuffle=False, verbose=0,
               callbacks=[tfmot.sparsity.keras.UpdatePruningStep(), Spy()])
    steps = P.update_steps(ours, 16)
    assert steps == [2, 6, 10, 14]
    for t in steps:
        for mask, w in zip(after[t - 1], seen[t - 1]):
            np.testing.assert_array_equal(mask, magnitude_mask(w, ours.sparsity(t), rule="tfmot"))
    for t in range(2, 17):  # between updates the mask does not move
        if t not in steps:
            for a, b in zip(after[t - 1], after[t - 2]):
                np.testing.assert_array_equal(a, b)
    stripped = tfmot.sparsity.keras.strip_pruning(pruned)
    for k, mask in zip([w.T for w in stripped.get_weights() if w.ndim == 2], after[-1]):
        assert np.all(k[~mask] == 0)
