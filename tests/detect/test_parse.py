"""The parsers against recorded real nvidia-smi outputs: the facts each must yield come from
tests/fixtures/nvidia-smi/INDEX.md, written from the sources, not from the parser."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpufit.detect.parse import (
    parse_any,
    parse_csv,
    parse_list,
    parse_query,
    parse_table,
    parse_xml,
    size_bytes,
)
from gpufit.detect.snapshot import Snapshot

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nvidia-smi"
MIB = 1024**2


def read(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def memory_mib(snapshot: Snapshot) -> list[int | None]:
    return [None if gpu.memory_total_bytes is None else gpu.memory_total_bytes // MIB
            for gpu in snapshot.gpus]


def test_csv_with_header_and_units_h100():
    snapshot = parse_csv(read("csv_query_allfields_header_units_h100_driver590.txt"))
    assert [gpu.name for gpu in snapshot.gpus] == ["NVIDIA H100 80GB HBM3"]
    gpu = snapshot.gpus[0]
    assert (gpu.index, gpu.bus_id) == (0, "00000000:00:09.0")
    assert gpu.memory_total_bytes == 81559 * MIB
    assert gpu.memory_used_bytes == 0
    assert gpu.memory_free_bytes == 81081 * MIB
    assert gpu.power_limit_watts == 700.0
    assert gpu.compute_capability == "9.0"
    assert gpu.mig_enabled is False
    assert snapshot.driver_version == "590.48.01"


def test_csv_without_header_seven_a100s():
    fields = ["index", "name", "memory.total", "memory.used", "utilization.gpu"]
    snapshot = parse_csv(read("csv_query_noheader_units_7x_a100_80gb.txt"), fields)
    assert len(snapshot.gpus) == 7
    assert [gpu.index for gpu in snapshot.gpus] == list(range(7))
    assert set(memory_mib(snapshot)) == {81920}
    assert [gpu.memory_used_bytes // MIB for gpu in snapshot.gpus] == [1221] + [4] * 6
    assert all(gpu.memory_free_bytes is None for gpu in snapshot.gpus)  # not asked, not guessed


def test_csv_unknown_cells_are_unknown_not_zero():
    gb10 = parse_csv(read("csv_query_noheader_nounits_gb10_unified_memory.txt"),
                     ["index", "name", "memory.total", "memory.used", "memory.free"])
    assert gb10.gpus[0].name == "NVIDIA GB10"
    assert gb10.gpus[0].memory_total_bytes is None
    assert gb10.gpus[0].memory_free_bytes is None
    fields = ["gpu_name", "utilization.gpu", "utilization.memory", "temperature.gpu",
              "power.draw", "power.limit", "fan.speed", "pstate", "clocks.current.graphics",
              "clocks.current.memory", "power.max_limit", "power.default_limit"]
    gtx = parse_csv(read("csv_query_noheader_units_gtx770_not_supported_windows.txt"), fields)
    assert gtx.gpus[0].name == "GeForce GTX 770"
    assert gtx.gpus[0].power_limit_watts is None


def test_csv_saved_without_header_is_read_by_guessing_columns():
    snapshot = parse_any(read("csv_query_noheader_units_7x_a100_80gb.txt"))
    assert len(snapshot.gpus) == 7 and set(memory_mib(snapshot)) == {81920}


def test_list_with_mig_profiles():
    snapshot = parse_list(read("list_h100_mig_4instances_driver590.txt"))
    assert [gpu.name for gpu in snapshot.gpus] == ["NVIDIA H100 80GB HBM3"]
    assert [mig.profile for mig in snapshot.mig_devices] == ["3g.40gb", "2g.20gb", "1g.10gb",
                                                             "1g.10gb"]
    assert [mig.device_index for mig in snapshot.mig_devices] == [0, 1, 2, 3]
    assert all(mig.uuid and mig.uuid.startswith("MIG-") for mig in snapshot.mig_devices)


def test_list_mixed_box():
    snapshot = parse_list(read("list_mixed_2x_a10_2x_t4.txt"))
    assert [gpu.name for gpu in snapshot.gpus] == ["NVIDIA A10", "NVIDIA A10", "Tesla T4",
                                                   "Tesla T4"]
    assert snapshot.gpus[2].uuid == "GPU-bf507abe-ec25-2053-5435-1c82511a3ae8"


def test_query_text_with_mig_devices():
    snapshot = parse_query(read("q_h100_mig_driver590.txt"))
    assert (snapshot.driver_version, snapshot.cuda_version) == ("590.48.01", "13.1")
    gpu = snapshot.gpus[0]
    assert (gpu.name, gpu.bus_id) == ("NVIDIA H100 80GB HBM3", "00000000:00:09.0")
    assert (gpu.memory_total_bytes, gpu.memory_used_bytes, gpu.memory_free_bytes) == \
        (81559 * MIB, 59 * MIB, 81022 * MIB)
    assert gpu.mig_enabled is True
    assert gpu.power_limit_watts == 700.0
    assert [(mig.device_index, mig.gpu_instance_id, mig.compute_instance_id,
             mig.memory_total_bytes // MIB) for mig in snapshot.mig_devices] == \
        [(0, 2, 0, 40448), (1, 3, 0, 20096), (2, 9, 0, 9984), (3, 10, 0, 9984)]


def test_query_text_eight_a100s():
    snapshot = parse_query(read("q_8x_a100_sxm4_40gb_driver535.txt"))
    assert (snapshot.driver_version, snapshot.cuda_version) == ("535.129.03", "12.2")
    assert len(snapshot.gpus) == 8
    assert {gpu.name for gpu in snapshot.gpus} == {"NVIDIA A100-SXM4-40GB"}
    assert [gpu.bus_id[-7:-5] for gpu in snapshot.gpus] == \
        ["2F", "35", "62", "67", "9F", "A5", "C8", "CD"]
    assert {(gpu.memory_total_bytes // MIB, gpu.memory_used_bytes // MIB,
             gpu.memory_free_bytes // MIB) for gpu in snapshot.gpus} == {(40960, 4, 40334)}
    assert not any(gpu.mig_enabled for gpu in snapshot.gpus)


def test_xml_mig():
    snapshot = parse_xml(read("xml_q_a100_sxm4_40gb_mig_driver510.xml"))
    assert (snapshot.driver_version, snapshot.cuda_version) == ("510.47.03", "11.6")
    gpu = snapshot.gpus[0]
    assert gpu.uuid == "GPU-27b94a00-ed54-5c24-b1fd-1054085de32a"
    assert (gpu.memory_total_bytes // MIB, gpu.memory_used_bytes // MIB,
            gpu.memory_free_bytes // MIB) == (40960, 38, 40315)
    assert gpu.mig_enabled is True
    assert [(mig.device_index, mig.gpu_instance_id, mig.memory_total_bytes // MIB)
            for mig in snapshot.mig_devices] == [(0, 1, 19968), (1, 2, 19968)]


def test_xml_index_is_bus_order_not_minor_number():
    snapshot = parse_xml(read("xml_q_dual_rtx_a5000_driver590.xml"))
    assert [gpu.bus_id for gpu in snapshot.gpus] == ["00000000:81:00.0", "00000000:C1:00.0"]
    assert [gpu.index for gpu in snapshot.gpus] == [0, 1]
    assert [gpu.memory_used_bytes // MIB for gpu in snapshot.gpus] == [22437, 17253]
    assert [gpu.power_limit_watts for gpu in snapshot.gpus] == [230.0, 230.0]


def test_xml_rtx4090():
    snapshot = parse_xml(read("xml_q_rtx4090_driver535.xml"))
    gpu = snapshot.gpus[0]
    assert (gpu.name, gpu.bus_id) == ("NVIDIA GeForce RTX 4090", "00000000:84:00.0")
    assert (gpu.memory_total_bytes // MIB, gpu.memory_free_bytes // MIB) == (24564, 24214)
    assert gpu.power_limit_watts == 450.0


@pytest.mark.parametrize(("name", "driver", "cuda", "count", "total_mib"), [
    ("table_8x_h100_sxm_driver565.txt", "565.57.01", "12.7", 8, 81559),
    ("table_4x_tesla_k80_driver390_no_cuda_version.txt", "390.30", None, 4, 11441),
    ("table_rtx2080super_driver610_kmd_header.txt", "610.57.04", "13.3", 1, 8192),
    ("table_laptop_rtx_a2000_8gb_driver560.txt", "560.28.03", "12.6", 1, 8192),
])
def test_default_tables(name, driver, cuda, count, total_mib):
    snapshot = parse_table(read(name))
    assert (snapshot.driver_version, snapshot.cuda_version) == (driver, cuda)
    assert len(snapshot.gpus) == count
    assert set(memory_mib(snapshot)) == {total_mib}


def test_table_bus_ids_power_and_truncated_names():
    h100 = parse_table(read("table_8x_h100_sxm_driver565.txt"))
    assert [gpu.bus_id[-7:-5] for gpu in h100.gpus] == \
        ["18", "2A", "3A", "5D", "9A", "AB", "BA", "DB"]
    assert {gpu.power_limit_watts for gpu in h100.gpus} == {700.0}
    assert not any(gpu.mig_enabled for gpu in h100.gpus)
    super_card = parse_table(read("table_rtx2080super_driver610_kmd_header.txt")).gpus[0]
    assert super_card.name_truncated and super_card.name == "NVIDIA GeForce RTX 2080"
    assert super_card.memory_used_bytes == 211 * MIB


def test_table_mig_section():
    snapshot = parse_table(read("table_h100_mig_4instances_driver590.txt"))
    assert snapshot.gpus[0].mig_enabled is True
    assert [(mig.gpu_instance_id, mig.compute_instance_id, mig.device_index,
             mig.memory_total_bytes // MIB) for mig in snapshot.mig_devices] == \
        [(2, 0, 0, 40448), (3, 0, 1, 20096), (9, 0, 2, 9984), (10, 0, 3, 9984)]
    assert snapshot.mig_devices[0].memory_used_bytes == 26 * MIB


def test_jetson_memory_not_supported_is_unknown():
    snapshot = parse_table(read("table_jetson_agx_orin_nvgpu_not_supported.txt"))
    gpu = snapshot.gpus[0]
    assert gpu.name == "Orin (nvgpu)"
    assert gpu.bus_id is None
    assert gpu.memory_total_bytes is None and gpu.memory_used_bytes is None


@pytest.mark.parametrize(("name", "kind", "words"), [
    ("failed_driver_communication.txt", "driver", "driver"),
    ("failed_no_devices_found.txt", "no-devices", "no GPUs"),
    ("failed_nvml_insufficient_permissions.txt", "permission", "not allowed"),
])
def test_failure_messages(name, kind, words):
    snapshot = parse_any(read(name))
    assert not snapshot.found
    assert snapshot.problem_kind == kind
    assert words in (snapshot.problem or "")


def test_amd_output_is_named_not_misread():
    snapshot = parse_any(read("rocm_smi_json_productname_use_meminfo_rx7900xt.txt"))
    assert not snapshot.found and "rocm-smi" in (snapshot.problem or "")


@pytest.mark.parametrize("name", [
    "table_8x_h100_sxm_driver565.txt", "q_h100_mig_driver590.txt",
    "xml_q_rtx4090_driver535.xml", "list_mixed_2x_a10_2x_t4.txt",
    "csv_query_allfields_header_units_h100_driver590.txt",
])
def test_parse_any_recognises_each_format(name):
    assert parse_any(read(name)).found


def test_same_machine_agrees_across_formats():
    # The NGE H100 MIG capture: table, -q and -L of one machine.
    table = parse_table(read("table_h100_mig_4instances_driver590.txt"))
    query = parse_query(read("q_h100_mig_driver590.txt"))
    listed = parse_list(read("list_h100_mig_4instances_driver590.txt"))
    assert table.gpus[0].name == query.gpus[0].name == listed.gpus[0].name
    assert table.gpus[0].memory_total_bytes == query.gpus[0].memory_total_bytes
    assert [mig.memory_total_bytes for mig in table.mig_devices] == \
        [mig.memory_total_bytes for mig in query.mig_devices]


@pytest.mark.parametrize(("text", "expected"), [
    ("81920 MiB", 81920 * MIB), ("81920", 81920 * MIB), ("[N/A]", None),
    ("[Not Supported]", None), ("", None), ("Insufficient Permissions", None), ("12 GiB", 12 * 1024**3),
    ("lots", None),
])
def test_sizes(text, expected):
    assert size_bytes(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parsers_never_raise_on_arbitrary_text(text):
    for parser in (parse_any, parse_csv, parse_list, parse_query, parse_table, parse_xml):
        result = parser(text)
        assert isinstance(result, Snapshot)
        assert result.found or result.problem


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([
    "GPU 0: NVIDIA A10 (UUID: GPU-1)", "  MIG 1g.5gb Device 0: (UUID: MIG-1)", "| 0 NVIDIA",
    "|   0  Tesla K80           Off  | 00000000:04:00.0 Off |", "Driver Version: 1",
    "<nvidia_smi_log><gpu>", "    FB Memory Usage", "        Total : x MiB", "GPU 0000:01:00.0",
    "==============NVSMI LOG==============", "0, NVIDIA, 1 MiB", "[N/A]", "MIG devices:",
    "|  0    2   0   0  |  26MiB / 40448MiB |", "NVIDIA-SMI 1", "+---",
]), max_size=12).map("\n".join))
def test_parsers_never_raise_on_shuffled_real_fragments(text):
    for parser in (parse_any, parse_csv, parse_list, parse_query, parse_table, parse_xml):
        assert isinstance(parser(text), Snapshot)
