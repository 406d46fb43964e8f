"""Running nvidia-smi: a subprocess with a timeout and an output cap that never hangs its caller.

The CSV query gives every GPU; only when a GPU has MIG enabled are `-L` (profile names) and
`-q -x` (per-instance memory) run as well. A driver that rejects one of the query fields is
asked again with the minimal set. `CUDA_VISIBLE_DEVICES` narrows the result the way CUDA
would (indices in nvidia-smi's PCI order, or GPU-/MIG- UUID prefixes).

Everything (running, reading, parsing) happens in a worker thread with plain `subprocess`:
the app's event loop never parses, and no asyncio transport is left behind for a process that
ignores its kill or a child that keeps its pipes open (those outlived `asyncio.run` and printed
"Event loop is closed" tracebacks at exit).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from gpufit.detect.limits import MAX_OUTPUT_BYTES, MAX_STDERR_BYTES
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
DRAIN_GRACE_S = 0.2
"""After nvidia-smi exits, how long a child it left holding its pipes may keep them open."""
_POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class CommandOutput:
    """What one nvidia-smi run printed (returncode None: it did not finish in time, or printed
    more than MAX_OUTPUT_BYTES, which `overflow` tells apart)."""

    returncode: int | None
    stdout: str
    stderr: str
    overflow: bool = False


async def run_command(argv: Sequence[str], timeout_s: float) -> CommandOutput:
    """`run_command_sync` in a worker thread."""
    return await asyncio.to_thread(run_command_sync, argv, timeout_s)


def run_command_sync(argv: Sequence[str], timeout_s: float) -> CommandOutput:
    """Run `argv` in its own process group; past `timeout_s`, or past MAX_OUTPUT_BYTES of
    stdout, kill the whole group and return returncode None. A process stuck in the kernel may
    ignore the kill: it is then left behind rather than waited for."""
    deadline = time.monotonic() + timeout_s
    process = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    stdout, stderr = bytearray(), bytearray()
    finished, overflow = _collect(process, stdout, stderr, deadline)
    if not finished or overflow:
        _kill_group(process)
        returncode = None
    else:
        returncode = process.returncode
        _kill_group(process)  # a child nvidia-smi left behind, still holding a pipe
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    return CommandOutput(returncode, stdout.decode("utf-8", "replace"),
                         stderr.decode("utf-8", "replace"), overflow)


def _collect(process: subprocess.Popen[bytes], stdout: bytearray, stderr: bytearray,
             deadline: float) -> tuple[bool, bool]:
    """Read both pipes until they close, the process has exited and DRAIN_GRACE_S passed, the
    deadline passes, or stdout exceeds its cap. Returns (finished, overflow)."""
    exited_at: float | None = None
    with selectors.DefaultSelector() as selector:
        for stream, buffer in ((process.stdout, stdout), (process.stderr, stderr)):
            if stream is not None:
                selector.register(stream, selectors.EVENT_READ, buffer)
        while True:
            now = time.monotonic()
            if process.poll() is not None:
                exited_at = exited_at or now
                if not selector.get_map() or now - exited_at > DRAIN_GRACE_S:
                    return True, False
            elif now >= deadline:
                return False, False
            if not selector.get_map():
                time.sleep(min(_POLL_S, max(deadline - now, 0)))
                continue
            for key, _ in selector.select(min(_POLL_S, max(deadline - now, 0))):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                buffer = key.data
                if buffer is stdout:
                    if len(stdout) + len(chunk) > MAX_OUTPUT_BYTES:
                        return False, True
                    stdout.extend(chunk)
                elif len(stderr) < MAX_STDERR_BYTES:
                    stderr.extend(chunk[:MAX_STDERR_BYTES - len(stderr)])


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):  # gone already, or not ours to signal
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(KILL_GRACE_S)


def _query_args(executable: str, fields: Sequence[str]) -> list[str]:
    return [executable, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"]


async def detect(executable: str = EXECUTABLE, timeout_s: float = DEFAULT_TIMEOUT_S,
                 environ: Mapping[str, str] | None = None) -> Snapshot:
    """Read the installed NVIDIA GPUs, in a worker thread. Never raises: problems come back in
    the snapshot."""
    return await asyncio.to_thread(detect_sync, executable, timeout_s, environ)


def detect_sync(executable: str = EXECUTABLE, timeout_s: float = DEFAULT_TIMEOUT_S,
                environ: Mapping[str, str] | None = None) -> Snapshot:
    """`detect`, in the calling thread."""
    environ = os.environ if environ is None else environ
    path = shutil.which(executable, path=environ.get("PATH"))
    if path is None:
        return failed("not-installed", f"{executable} is not installed or not on PATH "
                                       "(no NVIDIA driver here?).", executable)
    try:
        snapshot = _query(path, timeout_s)
        if snapshot.found and any(gpu.mig_enabled for gpu in snapshot.gpus):
            snapshot = _add_mig(path, snapshot, timeout_s)
    except OSError as error:
        return failed("exit", f"Could not run {path}: {error.strerror or error}", path)
    return visible(snapshot, environ.get("CUDA_VISIBLE_DEVICES"))


def _query(path: str, timeout_s: float) -> Snapshot:
    fields: Sequence[str] = QUERY_FIELDS
    output = run_command_sync(_query_args(path, fields), timeout_s)
    said = (output.stdout + output.stderr).casefold()
    if output.returncode and "field" in said and "valid" in said:
        fields = MINIMAL_FIELDS  # an older driver that lacks compute_cap or mig.mode.current
        output = run_command_sync(_query_args(path, fields), timeout_s)
    source = f"{path} --query-gpu"
    if output.overflow:
        return failed("garbage", f"nvidia-smi printed more than {MAX_OUTPUT_BYTES // 2**20} MiB "
                                 "for a GPU query; stopped reading it (not nvidia-smi?).", source)
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


def _add_mig(path: str, snapshot: Snapshot, timeout_s: float) -> Snapshot:
    """MIG instances: memory from `-q -x`, profile names and UUIDs from `-L` (run together)."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="nvidia-smi") as pool:
        listing = pool.submit(run_command_sync, [path, "-L"], timeout_s)
        querying = pool.submit(run_command_sync, [path, "-q", "-x"], timeout_s)
        listed, queried = listing.result(), querying.result()
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
