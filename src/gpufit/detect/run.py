"""Running nvidia-smi: an async subprocess with a timeout that never hangs its caller.

The CSV query gives every GPU; only when a GPU has MIG enabled are `-L` (profile names) and
`-q -x` (per-instance memory) run as well. A driver that rejects one of the query fields is
asked again with the minimal set. `CUDA_VISIBLE_DEVICES` narrows the result the way CUDA
would (indices in nvidia-smi's PCI order, or GPU-/MIG- UUID prefixes).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from gpufit.detect.parse import (
    MINIMAL_FIELDS,
    QUERY_FIELDS,
    failure,
    parse_any,
    parse_csv,
    parse_list,
    parse_xml,
)
from gpufit.detect.snapshot import Snapshot, failed

DEFAULT_TIMEOUT_S = 2.0
EXECUTABLE = "nvidia-smi"
KILL_GRACE_S = 0.5


@dataclass(frozen=True, slots=True)
class CommandOutput:
    """What one nvidia-smi run printed (returncode None: it did not finish in time)."""

    returncode: int | None
    stdout: str
    stderr: str


async def run_command(argv: Sequence[str], timeout_s: float) -> CommandOutput:
    """Run `argv`; past `timeout_s` kill it and return returncode None. A process stuck in the
    kernel may ignore the kill: it is then left behind rather than waited for."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), KILL_GRACE_S)
        return CommandOutput(None, "", "")
    return CommandOutput(process.returncode, stdout.decode("utf-8", "replace"),
                         stderr.decode("utf-8", "replace"))


def _query_args(executable: str, fields: Sequence[str]) -> list[str]:
    return [executable, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"]


async def detect(executable: str = EXECUTABLE, timeout_s: float = DEFAULT_TIMEOUT_S,
                 environ: Mapping[str, str] | None = None) -> Snapshot:
    """Read the installed NVIDIA GPUs. Never raises: problems come back in the snapshot."""
    environ = os.environ if environ is None else environ
    path = shutil.which(executable, path=environ.get("PATH"))
    if path is None:
        return failed("not-installed", f"{executable} is not installed or not on PATH "
                                       "(no NVIDIA driver here?).", executable)
    try:
        snapshot = await _query(path, timeout_s)
        if snapshot.found and any(gpu.mig_enabled for gpu in snapshot.gpus):
            snapshot = await _add_mig(path, snapshot, timeout_s)
    except OSError as error:
        return failed("exit", f"Could not run {path}: {error.strerror or error}", path)
    return visible(snapshot, environ.get("CUDA_VISIBLE_DEVICES"))


async def _query(path: str, timeout_s: float) -> Snapshot:
    fields: Sequence[str] = QUERY_FIELDS
    output = await run_command(_query_args(path, fields), timeout_s)
    said = (output.stdout + output.stderr).casefold()
    if output.returncode and "field" in said and "valid" in said:
        fields = MINIMAL_FIELDS  # an older driver that lacks compute_cap or mig.mode.current
        output = await run_command(_query_args(path, fields), timeout_s)
    source = f"{path} --query-gpu"
    if output.returncode is None:
        return failed("timeout", f"nvidia-smi did not answer within {timeout_s:g} s (a hung "
                                 "driver or GPU?).", source)
    if output.returncode != 0:
        problem = failure(output.stdout + output.stderr, output.returncode)
        assert problem is not None  # a non-zero exit always yields a failure
        return replace(problem, source=source)
    # Exit 0: the CSV is the truth; "[Insufficient Permissions]" in one cell is not a failure.
    snapshot = parse_csv(output.stdout, fields, source)
    if not snapshot.found:
        problem = failure(output.stdout + output.stderr)
        if problem is not None:
            return replace(problem, source=source)
        # A wrapper script or an odd build may answer in another format: read what it says.
        other = parse_any(output.stdout, source)
        if other.found:
            return other.with_note("nvidia-smi did not answer the CSV query in CSV; read its "
                                   "output as another format")
    return snapshot
    return snapshot


async def _add_mig(path: str, snapshot: Snapshot, timeout_s: float) -> Snapshot:
    """MIG instances: memory from `-q -x`, profile names and UUIDs from `-L`."""
    listed, queried = await asyncio.gather(run_command([path, "-L"], timeout_s),
                                           run_command([path, "-q", "-x"], timeout_s))
    names = parse_list(listed.stdout) if listed.returncode == 0 else Snapshot()
    details = parse_xml(queried.stdout) if queried.returncode == 0 else Snapshot()
    by_key = {(mig.gpu_index, mig.device_index): mig for mig in names.mig_devices}
    # Instances with memory figures: from -q -x, else whatever the first answer held.
    measured = details.mig_devices or snapshot.mig_devices
    migs = []
    for mig in measured:
        named = by_key.pop((mig.gpu_index, mig.device_index), None)
        migs.append(replace(mig, profile=named.profile if named else mig.profile,
                            uuid=named.uuid if named else mig.uuid))
    migs.extend(by_key.values())  # listed by -L but without memory figures
    result = replace(snapshot, mig_devices=tuple(migs),
                     cuda_version=details.cuda_version or snapshot.cuda_version)
    if not measured:
        result = result.with_note("MIG is enabled but nvidia-smi gave no instance memory; "
                                  "slices are sized from their profile names.")
    return result


def visible(snapshot: Snapshot, cuda_visible_devices: str | None) -> Snapshot:
    """Only what CUDA_VISIBLE_DEVICES lets a program see (unset: everything)."""
    if cuda_visible_devices is None or not snapshot.found:
        return snapshot
    entries = [entry.strip() for entry in cuda_visible_devices.split(",")]
    chosen_gpus, chosen_migs = [], []
    for entry in entries:
        if not entry:
            break
        if entry.isdigit():
            gpu = next((gpu for gpu in snapshot.gpus if gpu.index == int(entry)), None)
            if gpu is None:
                break  # CUDA stops at the first invalid entry
            chosen_gpus.append(gpu)
        elif entry.startswith("MIG-"):
            chosen_migs += [mig for mig in snapshot.mig_devices
                            if mig.uuid and mig.uuid.startswith(entry)]
        else:
            prefix = entry if entry.startswith("GPU-") else f"GPU-{entry}"
            found = [gpu for gpu in snapshot.gpus if gpu.uuid and gpu.uuid.startswith(prefix)]
            if len(found) != 1:
                break
            chosen_gpus += found
    parents = {mig.gpu_index for mig in chosen_migs}
    gpus = tuple(dict.fromkeys([*chosen_gpus, *(gpu for gpu in snapshot.gpus
                                                if gpu.index in parents)]))
    migs = tuple(chosen_migs) or tuple(mig for mig in snapshot.mig_devices
                                       if mig.gpu_index in {gpu.index for gpu in chosen_gpus})
    note = f"CUDA_VISIBLE_DEVICES={cuda_visible_devices!r} applied"
    if not gpus:
        return replace(failed("hidden", f"CUDA_VISIBLE_DEVICES={cuda_visible_devices!r} hides "
                                        f"all {len(snapshot.gpus)} GPUs.", snapshot.source),
                       driver_version=snapshot.driver_version)
    return replace(snapshot, gpus=gpus, mig_devices=migs).with_note(note)
