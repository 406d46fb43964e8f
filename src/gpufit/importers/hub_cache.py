"""What Hub lookups fetched, kept under the cache directory so a lookup works offline after.

Per repo (`<cache>/hub/models--<org>--<name>/`): `refs.json` maps each revision asked for
(`main` when none) to the commit it pointed at; `<commit>.json` holds that commit's file
sizes, its small files (config.json, the shard index) and, per weight file, the SHA-256 of
its fetched header bytes; `heads/<sha256>` holds those bytes. Headers are addressed by their
hash, so a damaged one is noticed and fetched again; an unreadable JSON file counts as
absent. Every write is atomic (`gpufit.persist.files.write_atomic`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpufit.persist import paths
from gpufit.persist.files import write_atomic

FORMAT = 1
DEFAULT_REVISION = "main"


def hub_cache_dir() -> Path:
    """Where every Hub lookup's metadata is kept."""
    return paths.cache_dir() / "hub"


@dataclass
class Manifest:
    """One commit of one repo, as far as lookups have fetched it."""

    repo_id: str
    commit: str
    sizes: dict[str, int]
    texts: dict[str, str] = field(default_factory=dict)
    heads: dict[str, str] = field(default_factory=dict)
    """Weight file → SHA-256 of its fetched header bytes (in heads/)."""


class HubCache:
    """The cache of one repo."""

    def __init__(self, repo_id: str, root: Path | None = None) -> None:
        self.repo_id = repo_id
        self.folder = (root or hub_cache_dir()) / ("models--" + repo_id.replace("/", "--"))

    def commit_for(self, revision: str | None) -> str | None:
        """The commit a revision pointed at when it was last looked up, if it was."""
        refs = _read_json(self.folder / "refs.json")
        commit = refs.get(revision or DEFAULT_REVISION) if refs is not None else None
        return commit if isinstance(commit, str) and _is_commit(commit) else None

    def remember_ref(self, revision: str | None, commit: str) -> None:
        refs = _read_json(self.folder / "refs.json") or {}
        refs = {key: value for key, value in refs.items()
                if isinstance(key, str) and isinstance(value, str)}
        refs[revision or DEFAULT_REVISION] = commit
        _write_json(self.folder / "refs.json", refs)

    def load(self, commit: str) -> Manifest | None:
        """The manifest of `commit`, or None if it is missing or damaged."""
        if not _is_commit(commit):
            return None
        data = _read_json(self.folder / f"{commit}.json")
        if data is None or data.get("format") != FORMAT or data.get("repo_id") != self.repo_id \
                or data.get("commit") != commit:
            return None
        sizes, texts, heads = data.get("sizes"), data.get("texts"), data.get("heads")
        if not (isinstance(sizes, dict) and isinstance(texts, dict) and isinstance(heads, dict)
                and _str_map(sizes, int) and _str_map(texts, str) and _str_map(heads, str)):
            return None
        return Manifest(self.repo_id, commit, sizes, texts, heads)

    def save(self, manifest: Manifest) -> None:
        _write_json(self.folder / f"{manifest.commit}.json", {
            "format": FORMAT, "repo_id": manifest.repo_id, "commit": manifest.commit,
            "sizes": manifest.sizes, "texts": manifest.texts, "heads": manifest.heads})

    def head(self, manifest: Manifest, filename: str) -> bytes | None:
        """A weight file's fetched header bytes, if cached and intact."""
        digest = manifest.heads.get(filename)
        if digest is None or not re.fullmatch(r"[0-9a-f]{64}", digest):
            return None
        try:
            data = (self.folder / "heads" / digest).read_bytes()
        except OSError:
            return None
        return data if hashlib.sha256(data).hexdigest() == digest else None

    def store_head(self, manifest: Manifest, filename: str, data: bytes) -> None:
        """Keep a weight file's header bytes (the manifest is saved by the caller)."""
        digest = hashlib.sha256(data).hexdigest()
        write_atomic(self.folder / "heads" / digest, data)
        manifest.heads[filename] = digest


def _is_commit(text: str) -> bool:
    return re.fullmatch(r"[0-9a-f]{40}", text) is not None


def _str_map(value: Any, kind: type) -> bool:
    return isinstance(value, dict) and all(
        isinstance(key, str) and isinstance(item, kind) and not isinstance(item, bool)
        for key, item in value.items())


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))
