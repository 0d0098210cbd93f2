"""Model Compression from Scratch: the course's shared library.

The core modules (sparsity, masks, schedules, data, ...) need numpy only. Framework bridges live in
`course_lib.frameworks` and are imported only where a lesson shows the framework twin.

Importing this package sets TF_USE_LEGACY_KERAS=1 (tfmot needs tf_keras, the Keras 2 API) and quiets
TensorFlow's C++ logging, so import `course_lib` before TensorFlow. It also caps PyTorch's own vectorised
kernels at AVX2 (ATEN_CPU_CAPABILITY=avx2, unless set): with AVX-512 kernels lesson 14's 30-step QLoRA
run prints a perplexity 0.02 away from the AVX2 one, and most x86-64 CPUs have AVX2 but not AVX-512.
Import `course_lib` before torch too.
"""
import os as _os

_os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")

__version__ = "0.1.0"
