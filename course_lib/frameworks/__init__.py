"""Thin bridges to the frameworks (torch, tf_keras + tfmot, torchao). Import only where needed."""
from ._imports import import_tf, import_torch, import_torchao, quiet_native_logs

__all__ = ["import_tf", "import_torch", "import_torchao", "quiet_native_logs"]
