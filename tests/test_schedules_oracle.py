"""Oracle tests: course_lib.pruning.schedules equals tfmot's PolynomialDecay and ConstantSparsity at every step."""
import numpy as np
import pytest

import course_lib  # noqa: F401
from course_lib.pruning.schedules import ConstantSparsity, PolynomialDecay

pytestmark = pytest.mark.tf


@pytest.fixture(scope="module")
def tfmot():
    from course_lib.frameworks import import_tf
    return import_tf()[2]


def _both(ours, theirs, steps):
    for step in steps:
        should, s = theirs(step)
        got = ours(step)
        assert got[0] == bool(should.numpy()), f"should_prune differs at step {step}"
        # tfmot computes in float32; ours repeats the float32 operations, so the values are equal
        assert got[1] == float(s.numpy()), f"sparsity differs at step {step}: {got[1]} vs {float(s.numpy())}"


@pytest.mark.parametrize("kw", [
    dict(initial_sparsity=0.0, final_sparsity=0.8, begin_step=0, end_step=100, frequency=10),
    dict(initial_sparsity=0.1, final_sparsity=0.9, begin_step=7, end_step=53, frequency=3, power=2),
    dict(initial_sparsity=0.5, final_sparsity=0.5, begin_step=0, end_step=10, frequency=1, power=1),
    dict(initial_sparsity=0.2, final_sparsity=0.75, begin_step=20, end_step=21, frequency=1),
    dict(initial_sparsity=0.0, final_sparsity=0.99, begin_step=0, end_step=997, frequency=100, power=3),
    dict(initial_sparsity=0.6, final_sparsity=0.1, begin_step=5, end_step=40, frequency=7, power=0.5),
], ids=lambda kw: "-".join(f"{v}" for v in kw.values()))
def test_polynomial_decay_every_step(tfmot, kw):
    ours = PolynomialDecay(**kw)
    theirs = tfmot.sparsity.keras.PolynomialDecay(**kw)
    _both(ours, theirs, range(0, kw["end_step"] + 2 * kw["frequency"] + 3))


@pytest.mark.parametrize("kw", [
    dict(target_sparsity=0.5, begin_step=0, end_step=-1, frequency=100),
    dict(target_sparsity=0.9, begin_step=10, end_step=50, frequency=7),
    dict(target_sparsity=0.0, begin_step=3, end_step=3, frequency=1),
    dict(target_sparsity=0.3, begin_step=0, end_step=-1, frequency=1),
], ids=lambda kw: "-".join(f"{v}" for v in kw.values()))
def test_constant_sparsity_every_step(tfmot, kw):
    ours = ConstantSparsity(**kw)
    theirs = tfmot.sparsity.keras.ConstantSparsity(**kw)
    last = kw["end_step"] if kw["end_step"] > 0 else 250
    _both(ours, theirs, range(0, last + 2 * kw["frequency"] + 3))


@pytest.mark.parametrize("cls, kw", [
    ("PolynomialDecay", dict(initial_sparsity=1.0, final_sparsity=0.5, begin_step=0, end_step=10)),
    ("PolynomialDecay", dict(initial_sparsity=0.0, final_sparsity=-0.1, begin_step=0, end_step=10)),
    ("PolynomialDecay", dict(initial_sparsity=0.0, final_sparsity=0.5, begin_step=-1, end_step=10)),
    ("PolynomialDecay", dict(initial_sparsity=0.0, final_sparsity=0.5, begin_step=10, end_step=5)),
    ("PolynomialDecay", dict(initial_sparsity=0.0, final_sparsity=0.5, begin_step=0, end_step=10, frequency=0)),
    ("ConstantSparsity", dict(target_sparsity=1.0, begin_step=0)),
    ("ConstantSparsity", dict(target_sparsity=0.5, begin_step=-2)),
    ("ConstantSparsity", dict(target_sparsity=0.5, begin_step=0, frequency=-1)),
    ("ConstantSparsity", dict(target_sparsity=0.5, begin_step=5, end_step=2)),
])
def test_both_refuse_the_same_bad_arguments(tfmot, cls, kw):
    with pytest.raises(ValueError):
        getattr(tfmot.sparsity.keras, cls)(**kw)
    with pytest.raises(ValueError):
        {"PolynomialDecay": PolynomialDecay, "ConstantSparsity": ConstantSparsity}[cls](**kw)


def test_first_mask_update_happens_on_the_batch_the_schedule_says(tfmot):
    """tfmot counts training batches from step 1: with begin_step=0 and frequency=3, batch 3 prunes first."""
    from course_lib.frameworks import import_tf
    tf, keras, _ = import_tf(seed=0)
    base = keras.Sequential([keras.layers.Input((6,)), keras.layers.Dense(4)])
    sched = tfmot.sparsity.keras.ConstantSparsity(0.5, begin_step=0, frequency=3)
    model = tfmot.sparsity.keras.prune_low_magnitude(base, pruning_schedule=sched)
    model.compile(keras.optimizers.SGD(0.0), "mse")
    ours = ConstantSparsity(0.5, begin_step=0, frequency=3)
    pruned_at = None
    for batch in range(1, 6):
        model.fit(np.ones((1, 6), np.float32), np.zeros((1, 4), np.float32), epochs=1, verbose=0,
                  callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
        if pruned_at is None and not model.layers[0].pruning_vars[0][1].numpy().all():
            pruned_at = batch
    assert pruned_at == 3 == min(b for b in range(1, 6) if ours.should_prune(b))
