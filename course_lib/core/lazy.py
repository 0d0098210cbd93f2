"""Import a heavy module on first use, quietly: `LazyModule`, and `quiet_native_logs` for C++ chatter."""
import contextlib
import importlib
import os
import sys

from .validation import Text, validate


@contextlib.contextmanager
def quiet_native_logs():
    """Send what C++ code writes to file descriptor 2 (absl, oneDNN, XNNPACK notices) to /dev/null.

    TensorFlow prints these while loading, before TF_CPP_MIN_LOG_LEVEL takes effect; in a notebook they
    would appear as red stderr text. Python's own warnings and errors still show after the block.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


class LazyModule:
    """A module imported, quietly, the first time one of its attributes is read.

    For heavy dependencies that only some functions need: tfmot takes about 2 s to import and half the
    lessons that use TensorFlow never touch it; scikit-learn's datasets take about 1 s. The name is
    declared at the top of the module that uses it, so no import hides inside a function.
    """

    @validate(name=Text())
    def __init__(self, name):
        self._name, self._module = name, None

    def __getattr__(self, attr):
        if self._module is None:
            with quiet_native_logs():
                self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self):
        return f"<module {self._name!r} ({'imported' if self._module else 'imported on first use'})>"
