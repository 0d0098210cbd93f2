"""Model Compression from Scratch: the course's shared library.

The core modules (sparsity, masks, schedules, data, ...) need numpy only. Framework bridges live in
`course_lib.frameworks` and are imported only where a lesson shows the framework twin.

Importing this package sets TF_USE_LEGACY_KERAS=1 (tfmot needs tf_keras, the Keras 2 API) and quiets
TensorFlow's C++ logging, so import `course_lib` before TensorFlow.
"""
import os as _os

_os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
