"""The GPUs added in 2026: each answers to the name its vendor's tool prints, Apple Silicon is
listed at every memory size Apple sells, and spot values agree with the cited spec pages.

Expected values are typed from the sources named beside them, not read back from the catalog.
"""

from __future__ import annotations

import pytest

from gpufit.core.resolve import resolve

GIB = 1024**3

# (what the vendor's tool prints, the entry it names)
VENDOR_NAMES = [
    ("NVIDIA GB10", "dgx-spark"),                                  # nvidia-smi on a DGX Spark
    ("NVIDIA Thor", "jetson-agx-thor"),                            # CUDA device name
    ("NVIDIA RTX PRO 4000 Blackwell", "rtx-pro-4000-blackwell"),   # nvidia-smi
    ("NVIDIA RTX PRO 4500 Blackwell", "rtx-pro-4500-blackwell"),
    ("NVIDIA RTX PRO 6000 Blackwell Workstation Edition", "rtx-pro-6000-blackwell"),
    ("NVIDIA RTX A400", "rtx-a400"),
    ("NVIDIA RTX A1000", "rtx-a1000"),
    ("NVIDIA L20", "l20"),
    ("NVIDIA H800 80GB HBM3", "h800-sxm"),
    ("NVIDIA H800 PCIe", "h800-pcie"),
    ("NVIDIA A800-SXM4-80GB", "a800-80gb-sxm"),
    ("NVIDIA A800 80GB PCIe", "a800-80gb-pcie"),
    ("NVIDIA A800 40GB Active", "a800-40gb-active"),
    ("NVIDIA B300 SXM6 AC", "b300"),
    ("NVIDIA GB300", "gb300"),
    ("AMD Radeon RX 9070 XT", "rx-9070-xt"),                       # rocm-smi Card Series
    ("AMD Radeon RX 9070", "rx-9070"),
    ("AMD Radeon AI PRO R9700", "radeon-ai-pro-r9700"),            # rocminfo Marketing Name
    ("Intel(R) Arc(TM) B580 Graphics", "arc-b580"),                # xpu-smi Device Name
    ("Intel(R) Arc(TM) Pro B50 Graphics", "arc-pro-b50"),
    ("Intel(R) Arc(TM) Pro B60 Graphics", "arc-pro-b60"),
]


@pytest.mark.parametrize(("printed", "expected"), VENDOR_NAMES)
def test_each_new_gpu_resolves_by_the_name_its_vendor_tool_prints(catalog, printed, expected):
    assert resolve(catalog.gpus, printed, "GPU").id == expected


@pytest.mark.parametrize(("printed", "memory", "expected"), [
    # system_profiler: "Chipset Model: Apple M3 Max" and, under Hardware, "Memory: 48 GB"
    ("Apple M3 Max", "48 GB", "m3-max-48gb"),
    ("Apple M4 Pro", "24 GB", "m4-pro-24gb"),
    ("Apple M2 Ultra", "192 GB", "m2-ultra-192gb"),
    ("NVIDIA RTX PRO 5000 Blackwell", "72 GB", "rtx-pro-5000-blackwell-72gb"),
    ("AMD RYZEN AI MAX+ 395 w/ Radeon 8060S", "128 GB", "ryzen-ai-max-395-128gb"),  # lscpu
])
def test_a_name_shared_by_several_sizes_resolves_with_the_memory(catalog, printed, memory,
                                                                 expected):
    assert resolve(catalog.gpus, f"{printed} {memory}", "GPU").id == expected


# Memory sizes Apple sells each chip with (apple.com newsroom and Mac tech specs)
APPLE_SIZES_GB = {
    "m1": {8, 16}, "m1-pro": {16, 32}, "m1-max": {32, 64}, "m1-ultra": {64, 128},
    "m2": {8, 16, 24}, "m2-pro": {16, 32}, "m2-max": {32, 64, 96}, "m2-ultra": {64, 128, 192},
    "m3": {8, 16, 24}, "m3-pro": {18, 36}, "m3-max": {36, 48, 64, 96, 128},
    "m3-ultra": {96, 256, 512},
    "m4": {16, 24, 32}, "m4-pro": {24, 48, 64}, "m4-max": {36, 48, 64, 128},
}


def test_apple_silicon_is_listed_at_every_memory_size(catalog):
    listed: dict[str, set[int]] = {}
    for gpu in catalog.gpus.values():
        if gpu.vendor == "apple":
            chip, _, size = gpu.id.rpartition("-")
            listed.setdefault(chip, set()).add(int(size.removesuffix("gb")))
            assert gpu.memory_mib == int(size.removesuffix("gb")) * 1024, gpu.id
    assert listed == APPLE_SIZES_GB


@pytest.mark.parametrize(("query", "size_gb"), [
    (f"{chip.replace('-', ' ')} {size}GB", size)
    for chip, sizes in APPLE_SIZES_GB.items() for size in sorted(sizes)])
def test_every_apple_size_resolves_by_chip_and_memory(catalog, query, size_gb):
    gpu = resolve(catalog.gpus, query, "GPU")
    assert gpu.vendor == "apple"
    assert gpu.memory_mib == size_gb * 1024


def test_macos_wires_two_thirds_up_to_36_gb_and_three_quarters_above(catalog):
    for gpu in catalog.gpus.values():
        if gpu.vendor == "apple":
            expected = 0.75 if gpu.memory_mib > 36 * 1024 else 0.67
            assert gpu.gpu_usable_fraction == expected, gpu.id


@pytest.mark.parametrize(("gpu_id", "field", "expected"), [
    # purepc.pl / itdaily.com: RTX PRO 6000 Blackwell, 96 GB GDDR7 at 1792 GB/s
    ("rtx-pro-6000-blackwell", "bandwidth_gbps", 1792.0),
    # svethardware.cz: RTX PRO 5000 (both sizes) 1344 GB/s, 300 W, 2064 AI TOPS sparse FP4
    ("rtx-pro-5000-blackwell-48gb", "bandwidth_gbps", 1344.0),
    ("rtx-pro-5000-blackwell-72gb", "tdp_watts", 300.0),
    ("rtx-pro-5000-blackwell-72gb", "fp4_tflops", 2064 / 2),
    # technical.city: RTX PRO 4500 Blackwell 896 GB/s, 200 W; cputronic: RTX PRO 4000 672 GB/s
    ("rtx-pro-4500-blackwell", "bandwidth_gbps", 896.0),
    ("rtx-pro-4500-blackwell", "tdp_watts", 200.0),
    ("rtx-pro-4000-blackwell", "bandwidth_gbps", 672.0),
    # NVIDIA RTX A400 datasheet: FP16 tensor 21.7 TFLOPS, INT8 43.3 TOPS (sparse), 96 GB/s
    ("rtx-a400", "fp16_tflops", 21.7 / 2),
    ("rtx-a400", "int8_tops", 43.3 / 2),
    ("rtx-a400", "bandwidth_gbps", 96.0),
    ("rtx-a1000", "bandwidth_gbps", 192.0),
    # DGX Spark: 273 GB/s, "1 PFLOP FP4" with sparsity
    ("dgx-spark", "bandwidth_gbps", 273.0),
    ("dgx-spark", "fp4_tflops", 1000 / 2),
    # Jetson AGX Orin data sheet: 204.8 GB/s; GPU 170 (64 GB) and 108 (32 GB) sparse INT8 TOPS
    ("jetson-agx-orin-64gb", "bandwidth_gbps", 204.8),
    ("jetson-agx-orin-64gb", "int8_tops", 170 / 2),
    ("jetson-agx-orin-32gb", "int8_tops", 108 / 2),
    # RidgeRun T5000 overview: 2070 FP4 TFLOPS (sparse), 273 GB/s
    ("jetson-agx-thor", "fp4_tflops", 2070 / 2),
    ("jetson-agx-thor", "bandwidth_gbps", 273.0),
    # FlashMLA #75: H800 SXM5 3.35 TB/s, 989 TFLOPS dense; a kernel README: H800 PCIe 3026 sparse
    ("h800-sxm", "bandwidth_gbps", 3350.0),
    ("h800-pcie", "fp8_tflops", 3026 / 2),
    # Tweakers: A800 NVLink 400 GB/s, 300 W PCIe, 400 W SXM
    ("a800-80gb-sxm", "interconnect_gbps", 400.0),
    ("a800-80gb-sxm", "tdp_watts", 400.0),
    ("a800-80gb-pcie", "tdp_watts", 300.0),
    # technical.city: L20 864 GB/s, 275 W
    ("l20", "bandwidth_gbps", 864.0),
    ("l20", "tdp_watts", 275.0),
    # DGX B300: 108 PFLOPS dense FP4 over eight GPUs; GB300 NVL72: 1080 / 360 PFLOPS dense
    # FP4 / FP8 over 72 GPUs
    ("b300", "fp4_tflops", 108_000 / 8),
    ("gb300", "fp4_tflops", 1_080_000 / 72),
    ("gb300", "fp8_tflops", 360_000 / 72),
    # purepc.pl: RX 9070 XT 779 INT8 TOPS (sparse), 304 W; multiplayer.it: RX 9070 220 W
    ("rx-9070-xt", "int8_tops", 779 / 2),
    ("rx-9070-xt", "tdp_watts", 304.0),
    ("rx-9070", "tdp_watts", 220.0),
    # Hugging Face: R9700 95.7 TFLOPS vector FP16, 300 W
    ("radeon-ai-pro-r9700", "fp16_tflops", 2 * 95.7),
    ("radeon-ai-pro-r9700", "tdp_watts", 300.0),
    # svethardware.cz: Ryzen AI Max+ 395, 256-bit LPDDR5X-8000, 256 GB/s
    ("ryzen-ai-max-395-128gb", "bandwidth_gbps", 256.0),
    # Intel via zolotukhin.ai: B580 233 INT8 TOPS, 456 GB/s; Pro B50 224 GB/s, 70 W; B60 197
    ("arc-b580", "int8_tops", 233.0),
    ("arc-b580", "bandwidth_gbps", 456.0),
    ("arc-pro-b50", "bandwidth_gbps", 224.0),
    ("arc-pro-b50", "tdp_watts", 70.0),
    ("arc-pro-b60", "int8_tops", 197.0),
    # Apple newsroom: M4 Pro 273 GB/s, M4 Max 546 GB/s, M3 Pro 150 GB/s, M2 3.6 TFLOPS,
    # M1 Pro 5.2 TFLOPS, M2 Ultra 800 GB/s and 27.2 TFLOPS
    ("m4-pro-48gb", "bandwidth_gbps", 273.0),
    ("m4-max-64gb", "bandwidth_gbps", 546.0),
    ("m4-max-36gb", "bandwidth_gbps", 410.0),
    ("m3-max-36gb", "bandwidth_gbps", 300.0),
    ("m3-pro-18gb", "bandwidth_gbps", 150.0),
    ("m2-16gb", "fp16_tflops", 3.6),
    ("m1-pro-32gb", "fp16_tflops", 5.2),
    ("m2-ultra-64gb", "bandwidth_gbps", 800.0),
    ("m2-ultra-64gb", "fp16_tflops", 27.2),
])
def test_spec_values_match_the_cited_pages(catalog, gpu_id, field, expected):
    assert getattr(catalog.gpus[gpu_id], field) == pytest.approx(expected, rel=0.002)


def test_the_h800_sxm_is_an_h100_sxm_with_nvlink_cut(catalog):
    h800, h100 = catalog.gpus["h800-sxm"], catalog.gpus["h100-sxm"]
    assert h800.fp16_tflops == pytest.approx(989, rel=0.001)  # FlashMLA #75, dense
    assert (h800.bandwidth_gbps, h800.fp16_tflops) == (h100.bandwidth_gbps, h100.fp16_tflops)
    assert h800.interconnect_gbps < h100.interconnect_gbps


def test_strix_halo_gives_the_gpu_96_of_its_128_gb(catalog):
    # computerbase.de: Variable Graphics Memory lets the Ryzen AI Max+ 395 use 96 GB as VRAM
    assert catalog.gpus["ryzen-ai-max-395-128gb"].usable_memory_bytes == 96 * GIB


def test_unified_memory_parts_say_so(catalog):
    for gpu_id in ("dgx-spark", "jetson-agx-orin-64gb", "jetson-agx-thor",
                   "ryzen-ai-max-395-64gb", "m4-max-128gb"):
        assert catalog.gpus[gpu_id].interconnect == "unified", gpu_id
