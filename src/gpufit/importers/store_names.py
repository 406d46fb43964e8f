"""The names of the local model stores, and telling a store name (`ollama:qwen3:32b`) apart.

Kept apart from `stores` (which reads the stores and imports every file reader) so that the
command line can recognise a store name without importing what reading one needs.
"""

from __future__ import annotations

STORE_LABELS = {"hf": "Hugging Face cache", "ollama": "Ollama store", "lmstudio": "LM Studio folder",
                "llamacpp": "llama.cpp cache", "folder": "model folder"}
STORE_PREFIXES = tuple(f"{store}:" for store in STORE_LABELS)


class LocalLookupError(LookupError):
    """No local model, or several, answer to a store name; the message says which exist."""


def is_store_name(text: str) -> bool:
    """Whether `text` names a local model by store (`ollama:…`, `hf:…`, `lmstudio:…` …)."""
    return text.casefold().startswith(STORE_PREFIXES)
