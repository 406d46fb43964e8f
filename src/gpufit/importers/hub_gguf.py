"""A GGUF repo on the Hub: which quants its files offer, which one was asked for, its header.

A quant's label comes from the file name (or its folder's, as in `Q4_K_M/…-00001-of-00003.gguf`),
the way repos name them; the file's own `general.file_type` still decides the quant the estimate
uses. A split model is one choice, offered only when every part is there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gpufit.core.specs import QuantSpec
from gpufit.importers.errors import ModelImportError
from gpufit.importers.hub_fetch import HubConnection, HubError

# A GGUF header is its metadata (a large vocabulary's strings take megabytes) and tensor
# infos: the first read takes 1 MiB and each retry doubles what was read, up to a limit far
# above any real header, which stops a corrupt length from downloading the whole file.
GGUF_FIRST_BYTES = 1 << 20
MAX_GGUF_HEADER_BYTES = 256 << 20
_SPLIT = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$")


@dataclass(frozen=True, slots=True)
class GgufChoice:
    """One quant a GGUF repo offers: its label (from the file name), files and exact size."""

    label: str
    files: tuple[str, ...]
    size_bytes: int


def gguf_choices(sizes: Mapping[str, int]) -> tuple[GgufChoice, ...]:
    """The GGUF models in a repo (a split model once, only when every part is there), by size.

    Multimodal projectors (mmproj) are not models and are left out."""
    groups: dict[str, list[str]] = {}
    for name in sizes:
        base = name.rsplit("/", 1)[-1].casefold()
        if not name.casefold().endswith(".gguf") or "mmproj" in base:
            continue
        groups.setdefault(_SPLIT.sub(".gguf", name), []).append(name)
    choices: list[GgufChoice] = []
    labels: set[str] = set()
    for key, names in sorted(groups.items()):
        parts = sorted(names)
        split = _SPLIT.search(parts[0])
        if split is not None and len(parts) != int(split.group(2)):
            continue  # an incomplete upload cannot be loaded
        label = gguf_label(key)
        if label in labels:
            label = key.removesuffix(".gguf")
        labels.add(label)
        choices.append(GgufChoice(label, tuple(parts), sum(sizes[name] for name in parts)))
    return tuple(sorted(choices, key=lambda choice: (choice.size_bytes, choice.label)))


def gguf_label(name: str) -> str:
    """The quant a GGUF file's name (or its folder's) says, upper-case: Q4_K_M, UD-Q4_K_XL;
    the file's stem when it says none."""
    from gpufit.importers.names import quant_label_from_filename

    label = quant_label_from_filename(name)
    return label if label is not None else _SPLIT.sub("", name).removesuffix(".gguf").rsplit("/", 1)[-1]


def match_choice(choices: tuple[GgufChoice, ...], wanted: str,
                 quants: Mapping[str, QuantSpec]) -> GgufChoice | None:
    """The choice labelled `wanted`, else the one whose label is the same catalog quant."""
    folded = wanted.casefold()
    exact = [choice for choice in choices if choice.label.casefold() == folded]
    if exact:
        return exact[0]
    target = _catalog_quant(wanted, quants)
    same = [choice for choice in choices
            if target is not None and _catalog_quant(choice.label, quants) == target]
    return min(same, key=lambda choice: len(choice.label)) if same else None


def _catalog_quant(name: str, quants: Mapping[str, QuantSpec]) -> str | None:
    from gpufit.core.exl2 import QuantChoiceError, resolve_quant
    from gpufit.core.resolve import ResolveError

    try:  # a copy: resolving an EXL2 bitrate adds it to the mapping it is given
        return resolve_quant(dict(quants), name).id
    except (ResolveError, QuantChoiceError):
        return None


def choose(repo_id: str, choices: tuple[GgufChoice, ...], quant: str | None,
           filename: str | None, quants: Mapping[str, QuantSpec]) -> GgufChoice:
    """The choice `filename` or `quant` names, or the only one; else a HubError listing all."""
    if filename is not None:
        for choice in choices:
            if filename in choice.files or any(name.rsplit("/", 1)[-1] == filename
                                               for name in choice.files):
                return choice
        raise HubError(repo_id, "no_file", f"no GGUF file {filename!r} in the repo; it offers "
                       f"{_offer(choices)}")
    if quant is not None:
        chosen = match_choice(choices, quant, quants)
        if chosen is None:
            raise HubError(repo_id, "no_quant", f"no {quant} GGUF in the repo; it offers "
                           f"{_offer(choices)}")
        return chosen
    if len(choices) == 1:
        return choices[0]
    raise HubError(repo_id, "choose_quant", f"the repo offers {len(choices)} GGUF quants: "
                   f"{_offer(choices)}; name one as {repo_id}:QUANT or with --quant")


def _offer(choices: tuple[GgufChoice, ...]) -> str:
    return ", ".join(f"{choice.label} ({choice.size_bytes / 1e9:.2f} GB)" for choice in choices)


def gguf_head(connection: HubConnection, commit: str, name: str, size: int) -> bytes:
    """The first bytes of a GGUF file, as many as its header takes (doubling until it parses)."""
    from gpufit.importers.gguf_file import TruncatedHeader, parse_gguf_header

    path = Path(connection.repo_id) / name
    data = b""
    wanted = min(GGUF_FIRST_BYTES, size)
    while True:
        data += connection.byte_range(commit, name, len(data), wanted - len(data))
        try:
            parse_gguf_header(path, data, size)
        except TruncatedHeader:
            if len(data) >= size:
                raise
            if wanted >= MAX_GGUF_HEADER_BYTES:
                raise ModelImportError(path, f"the GGUF header runs past "
                                       f"{MAX_GGUF_HEADER_BYTES:,} bytes (corrupt header?)") \
                    from None
            wanted = min(size, 2 * wanted, MAX_GGUF_HEADER_BYTES)
            continue
        return data
