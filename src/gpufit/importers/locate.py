"""Whether a model value (a --model flag, a profile's model) names a local file or a catalog entry.

Kept apart from the readers so the CLI and profiles can ask without loading them.
"""

from __future__ import annotations

from pathlib import Path

# Linux's NAME_MAX (importers/files.py holds the same limit; this module stays import-light).
NAME_MAX_BYTES = 255


def looks_like_path(value: str) -> bool:
    """Whether a model value names a file or folder rather than a catalog entry.

    Hugging Face ids ("meta-llama/Llama-3.1-8B") are catalog aliases, not paths: a path starts
    with /, ~, ./ or ../, or ends in a model file's suffix. A bare folder name is a path only
    when nothing in the catalog answers to it (the CLI tries the catalog first). A value longer
    than any file name (255 bytes) is no catalog name either: it goes to the reader, which says
    in one line that the name is too long, where asking the OS about it would raise."""
    return (value.startswith(("/", "~", "./", "../", ".\\", "..\\")) or Path(value).is_absolute()
            or Path(value).suffix.lower() in {".gguf", ".safetensors", ".json", ".bin"}
            or len(value.encode("utf-8", "surrogateescape")) > NAME_MAX_BYTES)
