"""Detection of the installed NVIDIA GPUs from nvidia-smi: run (async), parse (pure), match.

`detect()` runs nvidia-smi and returns a `Snapshot`; `hardware_options()` turns a snapshot into
choices for the estimator. Depends on the core, never on the UI.
"""

from gpufit.detect.match import DETECTED_PREFIX, DetectedOption, hardware_options, match_gpu
from gpufit.detect.parse import parse_any
from gpufit.detect.run import detect
from gpufit.detect.snapshot import GpuReading, MigReading, Snapshot

__all__ = ["DETECTED_PREFIX", "DetectedOption", "GpuReading", "MigReading", "Snapshot", "detect",
           "hardware_options", "match_gpu", "parse_any"]
