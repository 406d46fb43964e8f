"""Plausibility bounds for every number the catalog (and anything built from it) may hold.

They are far beyond any released hardware or model, so no real entry is refused, and near
enough that per-layer and per-GPU loops stay cheap and every product stays a finite float.
The largest real values they leave room for, as of 2026: 126 layers (Llama 3.1 405B),
hidden size 16,384, vocabulary 262,208 (Gemma 3), 512 experts (Qwen3-Next), a 10M-token
context (Llama 4 Scout), 512 GiB of memory (Mac Studio M3 Ultra), 8 TB/s (B300),
15,000 FP4 TFLOPS, 1,400 W.
"""

from __future__ import annotations

MAX_LAYERS = 2048
"""16 × the deepest released model. The offload plan costs layers² (a `report` takes ~0.7 s at
2,000 layers, 10 s at 10,000), so this bound, not the readers' looser ones, keeps every command
and the app's first frame within seconds. Readers should refuse what the catalog would."""
MAX_WIDTH = 1 << 22
"""Hidden, intermediate, expert and state widths (4,194,304; the largest real is 53,248)."""
MAX_HEADS = 1 << 16
"""Attention heads, KV heads, head dimensions, experts, groups."""
MAX_VOCAB = 1 << 24
MAX_CONTEXT_TOKENS = 1 << 30
MAX_PARAMS = 1e15
"""A quadrillion parameters; the largest published model is about 1e12."""
MAX_FILE_BYTES = 1 << 53
"""Largest byte or parameter count of a model file (~9 PB); 2^53 is exact as a float too."""
MAX_MEMORY_MIB = 1 << 24
"""16 TiB of memory on one device."""
MAX_BANDWIDTH_GBPS = 100_000.0
MIN_BANDWIDTH_GBPS = 1.0
MAX_TFLOPS = 100_000.0
MIN_TFLOPS = 0.01
"""Below this a prompt of a large model would take years: a typo, not a device."""
MAX_WATTS = 10_000.0
MAX_LINK_GBPS = 100_000.0
MIN_LINK_GBPS = 0.1
MAX_BITS_PER_WEIGHT = 64.0
"""No storage type is wider than a double."""
MAX_BLOCK_WEIGHTS = 1 << 16
MAX_MIG_SLICES = 32
"""Compute slices of one MIG profile (7 on A100/H100/B200)."""
MAX_MIG_PROFILES = 64
