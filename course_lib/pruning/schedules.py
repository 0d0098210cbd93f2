"""Pruning schedules: how sparse a layer should be at training step t.

Every schedule is called as `schedule(step) -> (should_prune, sparsity)` with tfmot's semantics
(tensorflow_model_optimization/python/core/sparsity/keras/pruning_schedule.py):

    in_range     = step >= begin_step and (step <= end_step or end_step < 0)
    should_prune = in_range and (step - begin_step) % frequency == 0

tfmot counts steps from 1: its `pruning_step` variable starts at 0 and is incremented before each
training batch, so the first batch runs at step 1 (with begin_step=0, frequency=100 the first mask
update happens on the 100th batch).
"""
import numpy as np

from ..core import validation as v
from ..core.validation import AnyOf, Array, Boolean, Fraction, Integer, Real, validate


STEP, END, FREQUENCY = Integer(minimum=0), Integer(minimum=-1), Integer(minimum=1)  # end_step -1: prune forever
SPARSITY = Fraction(high_inclusive=False)


class PruningSchedule:
    """Shared step logic and validation of tfmot's schedules."""

    @validate(begin_step=STEP, end_step=END, frequency=FREQUENCY, allow_end_minus_1=Boolean())
    def __init__(self, begin_step, end_step, frequency, allow_end_minus_1):
        self.begin_step, self.end_step, self.frequency = begin_step, end_step, frequency
        if self.end_step == -1 and not allow_end_minus_1:
            raise ValueError("end_step must be >= begin_step for PolynomialDecay; -1 (prune forever) "
                             "is allowed only for ConstantSparsity")
        if self.end_step != -1 and self.end_step < self.begin_step:
            raise ValueError(f"end_step must be -1 or >= begin_step={self.begin_step}, got {self.end_step}")

    def should_prune(self, step):
        """Return True on the steps where the mask is updated."""
        step = v.integer(step, "step", minimum=0)
        in_range = step >= self.begin_step and (step <= self.end_step or self.end_step < 0)
        return bool(in_range and (step - self.begin_step) % self.frequency == 0)

    def __call__(self, step):
        return self.should_prune(step), self.sparsity(step)


class ConstantSparsity(PruningSchedule):
    """Prune to `target_sparsity` every `frequency` steps in [begin_step, end_step] (tfmot)."""

    @validate(target_sparsity=SPARSITY, begin_step=STEP, end_step=END, frequency=FREQUENCY)
    def __init__(self, target_sparsity, begin_step, end_step=-1, frequency=100):
        super().__init__(begin_step, end_step, frequency, allow_end_minus_1=True)
        self.target_sparsity = target_sparsity

    def sparsity(self, step):
        """Return the target sparsity (as tfmot, a float32 value at every step)."""
        v.integer(step, "step", minimum=0)
        return float(np.float32(self.target_sparsity))

    def __repr__(self):
        return (f"ConstantSparsity(target_sparsity={self.target_sparsity}, begin_step={self.begin_step}, "
                f"end_step={self.end_step}, frequency={self.frequency})")


class PolynomialDecay(PruningSchedule):
    """Raise sparsity from `initial_sparsity` to `final_sparsity` along a polynomial (tfmot).

    s(t) = s_f + (s_i - s_f) (1 - p)^power,  p = clip((t - begin_step) / (end_step - begin_step), 0, 1)
    Zhu & Gupta 2017, "To prune, or not to prune", eq. 1 (power = 3). Computed in float32 as tfmot.
    Unlike tfmot, end_step == begin_step is refused here (tfmot divides by zero).
    """

    @validate(initial_sparsity=SPARSITY, final_sparsity=SPARSITY, begin_step=STEP, end_step=END, power=Real(low=0.0),
              frequency=FREQUENCY)
    def __init__(self, initial_sparsity, final_sparsity, begin_step, end_step, power=3, frequency=100):
        super().__init__(begin_step, end_step, frequency, allow_end_minus_1=False)
        if self.end_step == self.begin_step:
            raise ValueError(f"end_step must be > begin_step={self.begin_step} (the ramp needs at least "
                             "one step), got the same value")
        self.initial_sparsity, self.final_sparsity, self.power = initial_sparsity, final_sparsity, power

    def sparsity(self, step):
        """Return s(step) in float32 arithmetic, as tfmot's graph computes it."""
        step = v.integer(step, "step", minimum=0)
        f32 = np.float32
        p = f32(step - self.begin_step) / f32(self.end_step - self.begin_step)
        p = np.minimum(f32(1.0), np.maximum(f32(0.0), p))
        # TF's float32 pow is correctly rounded; numpy's float32 power can be 1 ulp off, so take the
        # power in float64 and round once to float32 (equal to tfmot at every step, tests/test_schedules_oracle.py)
        decay = f32(np.float64(f32(1.0) - p) ** self.power)
        s = f32(self.initial_sparsity - self.final_sparsity) * decay
        return float(s + f32(self.final_sparsity))

    def __repr__(self):
        return (f"PolynomialDecay(initial_sparsity={self.initial_sparsity}, final_sparsity="
                f"{self.final_sparsity}, begin_step={self.begin_step}, end_step={self.end_step}, "
                f"power={self.power}, frequency={self.frequency})")


@validate(t=AnyOf(Integer(minimum=0), Array(integer=True), what="a non-negative integer step (or an array of them)"),
          s_i=Fraction(), s_f=Fraction(), t_0=Integer(minimum=0), n=Integer(minimum=1), delta_t=Integer(minimum=1))
def zhu_gupta_sparsity(t, s_i, s_f, t_0, n, delta_t):
    """Return s_t = s_f + (s_i - s_f) (1 - (t - t_0) / (n delta_t))^3 (Zhu & Gupta 2017, eq. 1).

    Defined for t in {t_0, t_0 + delta_t, ..., t_0 + n delta_t}; before t_0 it is s_i, after the
    last step s_f. Vectorised over t. In float64 (the paper's formula, not a framework's).
    """
    t = np.asarray(t)
    if not np.issubdtype(t.dtype, np.integer) or np.any(t < 0):
        raise ValueError("t must be a non-negative integer step (or an array of them)")
    p = np.clip((t - t_0) / (n * delta_t), 0.0, 1.0)
    s = s_f + (s_i - s_f) * (1.0 - p) ** 3
    return float(s) if s.ndim == 0 else s
