"""System RAM detection: /proc/meminfo parsing (pure) and the OS fallbacks, which never raise."""

from __future__ import annotations

import os

import pytest

from gpufit.detect import host
from gpufit.detect.host import available_ram_bytes, parse_meminfo, system_ram_bytes

# The head of a real /proc/meminfo (64 GB desktop); the kernel's "kB" means KiB (proc(5)).
MEMINFO = """\
MemTotal:       65843212 kB
MemFree:         1234567 kB
MemAvailable:   48213456 kB
Buffers:          812344 kB
Cached:         30112788 kB
SwapCached:            0 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
"""


def test_parse_meminfo_reads_total_and_available_in_bytes():
    assert parse_meminfo(MEMINFO) == 65843212 * 1024
    assert parse_meminfo(MEMINFO, "MemAvailable") == 48213456 * 1024
    assert parse_meminfo(MEMINFO, "Hugepagesize") == 2048 * 1024


@pytest.mark.parametrize("text", [
    "",
    "not meminfo at all\n\x00\xff",
    "MemTotal: lots kB\n",
    "MemTotal:       0 kB\n",
    "MemTotal:       123 parsecs\n",
    "MemFree:         1234567 kB\n",  # no MemTotal line
    "MemTotalX:      65843212 kB\n",
])
def test_parse_meminfo_gives_none_for_garbage(text):
    assert parse_meminfo(text) is None


def test_system_ram_reads_meminfo(tmp_path):
    path = tmp_path / "meminfo"
    path.write_text(MEMINFO, encoding="ascii")
    assert system_ram_bytes(path) == 65843212 * 1024
    assert available_ram_bytes(path) == 48213456 * 1024


def test_system_ram_falls_back_to_sysconf(tmp_path, monkeypatch):
    values = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 1000}
    monkeypatch.setattr(os, "sysconf", lambda name: values[name])
    assert system_ram_bytes(tmp_path / "missing") == 4096 * 1000
    # A meminfo without MemTotal also falls back.
    path = tmp_path / "meminfo"
    path.write_text("MemFree: 12 kB\n", encoding="ascii")
    assert system_ram_bytes(path) == 4096 * 1000
    assert available_ram_bytes(tmp_path / "missing") is None


@pytest.mark.parametrize("error", [ValueError, OSError, AttributeError])
def test_system_ram_is_none_when_nothing_answers(tmp_path, monkeypatch, error):
    def failing(name: str) -> int:
        raise error(name)

    monkeypatch.setattr(os, "sysconf", failing)
    assert system_ram_bytes(tmp_path / "missing") is None


def test_system_ram_is_none_for_a_negative_sysconf(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sysconf", lambda name: -1 if name == "SC_PHYS_PAGES" else 4096)
    assert system_ram_bytes(tmp_path / "missing") is None


def test_this_machine_answers_without_raising():
    total = system_ram_bytes()
    assert total is None or total > 0
    available = available_ram_bytes()
    assert available is None or available > 0
    assert host.MEMINFO_PATH.name == "meminfo"
