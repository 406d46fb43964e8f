"""Two instances saving the same profile name at once (issue 17, item 20), and deleting a name
that more than one file holds: the name ends up in one file, and `delete` leaves no copy behind
that could come back with stale data."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gpufit.persist.profiles import Profile, ProfileExists, ProfileNotFound, ProfileStore

OLD = Profile(name="x", gpu="rtx-4090", model="qwen3-8b", quant="Q4_K_M", context_tokens=4096)
NEW = Profile(name="x", gpu="a100-80gb-sxm", model="qwen3-8b", quant="Q8_0", context_tokens=8192)


def holders(directory: Path, name: str) -> list[str]:
    """Files (by name) whose profile is called `name`, read independently of the store."""
    import tomllib

    found = []
    for path in sorted(directory.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        if str(data.get("name", "")).casefold() == name.casefold():
            found.append(path.name)
    return found


def test_a_save_that_loses_the_race_is_told_the_name_is_taken(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = ProfileStore(tmp_path), ProfileStore(tmp_path)
    # The second instance scanned before the first wrote: it believes the name is free.
    monkeypatch.setattr(second, "_scan", lambda: [])
    first.save(OLD)
    with pytest.raises(ProfileExists):
        second.save(NEW)
    assert holders(tmp_path, "x") == ["x.toml"]
    assert ProfileStore(tmp_path).load("x").gpu == OLD.gpu


def _save_one(directory: str, gpu: str, start: Any) -> None:
    start.wait()
    with contextlib.suppress(ProfileExists):  # losing the race is an answer, not a failure
        ProfileStore(Path(directory)).save(Profile(name="race", gpu=gpu, model="qwen3-8b",
                                                   quant="Q4_K_M"))


def test_processes_creating_one_name_at_once_leave_one_file(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for round_number in range(8):
        directory = tmp_path / str(round_number)
        directory.mkdir()
        start = context.Event()
        workers = [context.Process(target=_save_one, args=(str(directory), gpu, start))
                   for gpu in ("rtx-4090", "a100-80gb-sxm", "h100-sxm", "l4")]
        for worker in workers:
            worker.start()
        start.set()
        for worker in workers:
            worker.join(30)
            assert worker.exitcode == 0
        assert len(holders(directory, "race")) == 1, os.listdir(directory)


def _two_files_holding_x(directory: Path) -> None:
    """x.toml (newer data) and x-2.toml (older data), as the race used to leave them."""
    store = ProfileStore(directory)
    store.save(OLD)
    shutil.copyfile(directory / "x.toml", directory / "x-2.toml")
    store.save(NEW, overwrite=True)


def test_delete_removes_every_file_holding_the_name(tmp_path: Path) -> None:
    _two_files_holding_x(tmp_path)
    store = ProfileStore(tmp_path)
    removed = store.delete("x")
    assert sorted(path.name for path in removed) == ["x-2.toml", "x.toml"]
    assert holders(tmp_path, "x") == []
    with pytest.raises(ProfileNotFound):  # the stale copy does not come back
        ProfileStore(tmp_path).load("x")


def test_cli_delete_says_how_many_files_held_the_name() -> None:
    directory = Path(os.environ["GPUFIT_CONFIG_DIR"]) / "profiles"
    _two_files_holding_x(directory)
    done = subprocess.run([sys.executable, "-m", "gpufit.cli", "profiles", "delete", "x", "--yes"],
                          capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ), stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert "2 files" in done.stdout and "x-2.toml" in done.stdout
    assert holders(directory, "x") == []
