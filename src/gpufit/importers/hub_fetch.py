"""The network side of a Hub lookup: one repo's file list, small files, and byte ranges.

Everything goes through `huggingface_hub` (imported here, on the first request, never at
start-up): `HfApi.model_info(files_metadata=True)` for the file list with sizes and the
commit, and its shared HTTP session with its headers (token from `HF_TOKEN` or the saved
login, user agent) for `resolve/<commit>/<file>` downloads. A range request reads only the
bytes asked for, even from a server that ignores `Range` and sends the whole file.
`HF_ENDPOINT` and `HF_HUB_OFFLINE` are read at each call, not when the library was imported.

Every failure becomes a `HubError` with one line saying what happened and what to do.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gpufit.importers.errors import ModelImportError

DEFAULT_ENDPOINT = "https://huggingface.co"
# config.json and the shard index are small (an index of 2,000 tensors is ~150 kB); a larger
# answer is not what was asked for.
MAX_TEXT_BYTES = 50_000_000
_TRUE = {"1", "on", "yes", "true"}
_DNS_WORDS = ("name or service not known", "nodename nor servname", "temporary failure in name "
              "resolution", "no address associated", "getaddrinfo failed", "name resolution")


class HubError(ModelImportError):
    """A Hub lookup that failed; `kind` says how (offline, dns, timeout, gated, not_found,
    no_revision, no_file, no_weights, rate_limit, truncated, http, bad_answer)."""

    def __init__(self, repo_id: str, kind: str, problem: str) -> None:
        super().__init__(repo_id, problem)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Listing:
    """A repo at one commit: every file's size in bytes, by its path in the repo."""

    commit: str
    sizes: dict[str, int]


def endpoint() -> str:
    """The Hub's address: `HF_ENDPOINT` (a mirror, or a test's fake) or huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def offline() -> bool:
    """Whether the user asked for no network (`HF_HUB_OFFLINE`, or transformers' own flag)."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().casefold() in _TRUE


def offline_error(repo_id: str, missing: str) -> HubError:
    return HubError(repo_id, "offline", f"offline (HF_HUB_OFFLINE is set) and the cache has no "
                    f"{missing} for it yet; look it up once with the network on")


class HubConnection:
    """Requests for one repo, each waiting at most `timeout_s`; counts the bytes received."""

    def __init__(self, repo_id: str, timeout_s: float) -> None:
        self.repo_id = repo_id
        self.timeout_s = timeout_s
        self.endpoint = endpoint()
        self.bytes_received = 0
        self._lock = threading.Lock()  # shard headers arrive on several threads at once

    def listing(self, revision: str | None) -> Listing:
        """The commit `revision` (None: the default branch) points at, and its files' sizes."""
        from huggingface_hub import HfApi

        with self._named_errors("the file list"):
            info = HfApi(endpoint=self.endpoint).model_info(
                self.repo_id, revision=revision, files_metadata=True, timeout=self.timeout_s)
        commit = info.sha
        if not isinstance(commit, str) or not re.fullmatch(r"[0-9a-f]{40}", commit):
            raise HubError(self.repo_id, "bad_answer", f"the Hub's answer names no commit "
                           f"(sha {commit!r}); is HF_ENDPOINT ({self.endpoint}) a Hub?")
        sizes: dict[str, int] = {}
        for sibling in info.siblings or ():
            size = sibling.lfs.size if sibling.lfs is not None else sibling.size
            if isinstance(size, int) and size >= 0:
                sizes[sibling.rfilename] = size
        return Listing(commit=commit, sizes=sizes)

    def text(self, commit: str, filename: str) -> str:
        """A small file (config.json, the shard index) in full, as text."""
        data, _total = self._get(commit, filename, None, MAX_TEXT_BYTES)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise HubError(self.repo_id, "bad_answer", f"{filename} on the Hub is not UTF-8 "
                           f"text ({error})") from error

    def byte_range(self, commit: str, filename: str, start: int, length: int) -> bytes:
        """Bytes `start` to `start + length - 1` of a file (fewer only at the file's end)."""
        data, total = self._get(commit, filename, (start, start + length - 1), length)
        expected = length if total is None else max(0, min(length, total - start))
        if len(data) < expected:
            raise HubError(self.repo_id, "truncated", f"the Hub's answer for {filename} was cut "
                           f"short ({len(data):,} of {expected:,} bytes from byte {start:,}); "
                           "try again")
        return data

    def _get(self, commit: str, filename: str, span: tuple[int, int] | None,
             limit: int) -> tuple[bytes, int | None]:
        """GET resolve/<commit>/<filename>, reading at most `limit` bytes; (bytes, total size)."""
        from huggingface_hub import get_session, hf_hub_url
        from huggingface_hub.utils import build_hf_headers

        url = hf_hub_url(self.repo_id, filename, revision=commit, endpoint=self.endpoint)
        headers = dict(build_hf_headers())
        if span is not None:
            headers["Range"] = f"bytes={span[0]}-{span[1]}"
        what = filename if span is None else f"bytes {span[0]:,}–{span[1]:,} of {filename}"
        with self._named_errors(what), get_session().stream(
                "GET", url, headers=headers, timeout=self.timeout_s,
                follow_redirects=True) as response:
            if response.status_code >= 400:
                raise http_error(self.repo_id, response.status_code,
                                 response.headers.get("X-Error-Code"), filename)
            total = _total_size(response.headers, span is not None and response.status_code == 206)
            if span is not None and response.status_code == 200 and span[0] > 0:
                raise HubError(self.repo_id, "bad_answer", f"the server at {self.endpoint} "
                               "ignores range requests; the Hub and its mirrors answer them")
            chunks: list[bytes] = []
            received = 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                received += len(chunk)
                if received >= limit:
                    break  # a server that sent the whole file: read no further than asked
            with self._lock:
                self.bytes_received += received
        data = b"".join(chunks)[:limit]
        if span is None and len(data) >= limit:
            raise HubError(self.repo_id, "bad_answer", f"{filename} on the Hub is larger than "
                           f"{limit:,} bytes, not a config or index file")
        length_header = response.headers.get("Content-Length")
        if span is None and length_header is not None and length_header.isdigit() \
                and len(data) < int(length_header):
            raise HubError(self.repo_id, "truncated", f"the Hub's answer for {filename} was cut "
                           f"short ({len(data):,} of {int(length_header):,} bytes); try again")
        return data, total

    def _named_errors(self, what: str) -> _ErrorNamer:
        return _ErrorNamer(self, what)


class _ErrorNamer:
    """Turns whatever the HTTP stack raises into a one-line HubError."""

    def __init__(self, connection: HubConnection, what: str) -> None:
        self.connection = connection
        self.what = what

    def __enter__(self) -> None:
        if offline():
            raise offline_error(self.connection.repo_id, self.what)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 _trace: Any) -> None:
        if error is None or isinstance(error, HubError) or not isinstance(error, Exception):
            return
        raise named_error(self.connection, error, self.what) from error


def named_error(connection: HubConnection, error: Exception, what: str) -> HubError:
    """The HubError for an exception from huggingface_hub or its HTTP client."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    repo_id, where = connection.repo_id, connection.endpoint
    if isinstance(error, OfflineModeIsEnabled):
        return offline_error(repo_id, what)
    if isinstance(error, HfHubHTTPError) and error.response is not None:
        return http_error(repo_id, error.response.status_code,
                          error.response.headers.get("X-Error-Code"), what)
    if isinstance(error, httpx2.TimeoutException):
        return HubError(repo_id, "timeout", f"timeout: {where} did not answer within "
                        f"{connection.timeout_s:g} s (for {what}); try again, or allow longer with "
                        "--hub-timeout or hub_timeout_s in settings.toml")
    if isinstance(error, httpx2.ConnectError):
        if _is_dns_failure(error):
            host = where.split("://", 1)[-1].split("/", 1)[0]
            return HubError(repo_id, "dns", f"DNS: cannot resolve {host} (no network, or a "
                            "DNS problem); check the connection, HF_ENDPOINT or the proxy")
        return HubError(repo_id, "offline", f"offline: cannot connect to {where} "
                        f"({_reason(error)}); check the connection or the proxy, or set "
                        "HF_HUB_OFFLINE=1 to use only cached lookups")
    if isinstance(error, httpx2.RemoteProtocolError | httpx2.ReadError):
        return HubError(repo_id, "truncated", f"the Hub's answer for {what} was cut short "
                        f"({_reason(error)}); try again")
    if isinstance(error, httpx2.HTTPError):
        return HubError(repo_id, "http", f"the request for {what} to {where} failed: "
                        f"{_reason(error)}")
    if isinstance(error, ValueError):  # a JSON answer that is not the Hub's shape
        return HubError(repo_id, "bad_answer", f"the answer for {what} from {where} is not "
                        f"the Hub's ({_reason(error)}); is HF_ENDPOINT right?")
    return HubError(repo_id, "http", f"the request for {what} to {where} failed: {_reason(error)}")


def http_error(repo_id: str, status: int, code: str | None, what: str) -> HubError:
    """The HubError for an HTTP error status (and the Hub's `X-Error-Code`)."""
    if code == "RepoNotFound" or (status == 404 and code is None and what == "the file list"):
        private = " (or a private one: set HF_TOKEN)" if status == 401 else ""
        return HubError(repo_id, "not_found", f"404 no such model repo on the Hub{private}; "
                        "check the org/name spelling")
    if code == "RevisionNotFound":
        return HubError(repo_id, "no_revision", "no such revision (branch, tag or commit) in "
                        "this repo")
    if code == "GatedRepo" or status in (401, 403):
        return HubError(repo_id, "gated", f"{status} gated or private repo: accept the licence "
                        "on the Hub and set HF_TOKEN")
    if status == 404 or code == "EntryNotFound":
        return HubError(repo_id, "no_file", f"404 {what} is missing from the repo")
    if status == 429:
        return HubError(repo_id, "rate_limit", "429 rate limit: the Hub refuses more requests "
                        "for now; wait a minute and retry (HF_TOKEN raises the limit)")
    return HubError(repo_id, "http", f"the Hub answered HTTP {status} for {what}; try again later")


def _total_size(headers: Any, partial: bool) -> int | None:
    """The whole file's size: `Content-Range: bytes a-b/TOTAL`, else Content-Length of a 200."""
    if partial:
        match = re.fullmatch(r"bytes \d+-\d+/(\d+)", headers.get("Content-Range", "").strip())
        return int(match.group(1)) if match else None
    length = headers.get("Content-Length")
    return int(length) if length is not None and length.isdigit() else None


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_dns_failure(error: BaseException) -> bool:
    return any(isinstance(item, socket.gaierror)
               or any(word in str(item).casefold() for word in _DNS_WORDS)
               for item in _causes(error))


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:160]
