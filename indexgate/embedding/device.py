"""Where the model runs: ``device: auto`` picks CUDA when a GPU is usable, else the CPU."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Placement:
    """``device`` for torch ("cpu", "cuda", "cuda:1"), ``precision`` of the weights there."""

    device: str
    precision: str = "float32"

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")


def gpu_visible() -> bool:
    """Whether an NVIDIA driver is present (no import): part of the model record's key, so that a
    record made without a GPU is not reused where ``auto`` would now pick one."""
    return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidia0")


def torch_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def onnx_cuda() -> bool:
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers() and gpu_visible()


def place(device: str, backend: str, cuda_available: Callable[[], bool] | None = None) -> Placement:
    """The placement of ``device`` for ``backend``.

    A named device is taken as given, in float32 (as before ``auto`` existed). ``auto`` gives CUDA
    when ``cuda_available()`` says so: float16 with the torch backend, float32 with onnx; int8
    stays on the CPU, where its kernels are. ``cuda_available`` defaults to the backend's own probe
    (torch or onnxruntime); tests pass another."""
    if device != "auto":
        return Placement(device)
    if backend == "onnx-int8":
        return Placement("cpu")
    probe = cuda_available or (torch_cuda if backend == "torch" else onnx_cuda)
    if not probe():
        return Placement("cpu")
    return Placement("cuda", "float16" if backend == "torch" else "float32")
