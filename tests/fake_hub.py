"""A fake Hugging Face Hub on 127.0.0.1 for Hub lookup tests: real-shaped answers, nothing more.

It answers the two kinds of request a lookup makes, in the shapes huggingface_hub and the Hub
use: `GET /api/models/<org>/<name>[/revision/<rev>]?blobs=True` (the model info with
`sha` and `siblings` carrying `size` and `lfs.size`) and
`GET /<org>/<name>/resolve/<rev>/<path>` (honouring `Range` with 206 and `Content-Range`,
with `X-Repo-Commit` and `ETag`). Repos can also answer with an HTTP error (and the Hub's
`X-Error-Code`), slowly, or cut short. Every request is logged with the body bytes sent.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


@dataclass
class Served:
    """One request: its path, its Range header and how many body bytes were sent."""

    path: str
    range: str | None
    body_bytes: int


@dataclass
class FakeRepo:
    files: dict[str, bytes]
    commit: str
    status: int = 200
    """An HTTP error status for every request (401, 403, 404, 429), or 200."""
    error_code: str | None = None
    delay_s: float = 0.0
    cut_resolve: bool = False
    """Answer file requests with half the promised body, then close the connection."""
    gated_files: bool = False
    """The real Hub's gated repo: its model info is public, its files answer 401 GatedRepo."""
    token: str | None = None
    """Files answer only requests carrying `Authorization: Bearer <token>`."""
    ignore_range: bool = False
    """Answer every file request with the whole file (200), as a plain web server might."""


@dataclass
class FakeHub:
    repos: dict[str, FakeRepo] = field(default_factory=dict)
    served: list[Served] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def add(self, repo_id: str, files: dict[str, bytes], **behaviour: object) -> FakeRepo:
        commit = hashlib.sha1(repo_id.encode()).hexdigest()
        repo = FakeRepo(files=files, commit=commit, **behaviour)  # type: ignore[arg-type]
        self.repos[repo_id] = repo
        return repo

    def start(self) -> str:
        hub = self

        class Handler(_Handler):
            fake = hub

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def bytes_for(self, filename: str) -> int:
        """Body bytes served for one repo file (by its path in the repo), over all requests."""
        return sum(item.body_bytes for item in self.served
                   if "/resolve/" in item.path and item.path.endswith("/" + filename))


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up (a timeout test) leaves a broken pipe behind: expected here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeHub

    def log_message(self, *_args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        record = Served(path, self.headers.get("Range"), 0)
        self.fake.served.append(record)
        api = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/(.+))?", path)
        resolve = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        repo_id = api.group(1) if api else resolve.group(1) if resolve else None
        repo = self.fake.repos.get(repo_id or "")
        if repo is None:
            self._error(404, "RepoNotFound" if repo_id else None)
            return
        if repo.delay_s:
            time.sleep(repo.delay_s)
        if repo.status != 200:
            self._error(repo.status, repo.error_code)
            return
        if api:
            revision = api.group(2)
            if revision not in (None, "main", repo.commit):
                self._error(404, "RevisionNotFound")
                return
            self._send(200, json.dumps(_model_info(repo_id or "", repo)).encode(),
                       {"Content-Type": "application/json"}, record)
            return
        assert resolve is not None
        revision, filename = resolve.group(2), resolve.group(3)
        if revision not in ("main", repo.commit):
            self._error(404, "RevisionNotFound")
            return
        if repo.gated_files or (repo.token is not None
                                and self.headers.get("Authorization") != f"Bearer {repo.token}"):
            self._error(401, "GatedRepo")
            return
        if filename not in repo.files:
            self._error(404, "EntryNotFound")
            return
        self._send_file(repo, repo.files[filename], record)

    def _send_file(self, repo: FakeRepo, data: bytes, record: Served) -> None:
        headers = {"X-Repo-Commit": repo.commit, "Accept-Ranges": "bytes",
                   "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
                   "Content-Type": "application/octet-stream"}
        wanted = self.headers.get("Range")
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted or "")
        if match is None or repo.ignore_range:
            self._send(200, data, headers, record, cut=repo.cut_resolve)
            return
        start = int(match.group(1))
        end = min(int(match.group(2)) if match.group(2) else len(data) - 1, len(data) - 1)
        if start >= len(data):
            self._error(416, None)
            return
        headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        self._send(206, data[start:end + 1], headers, record, cut=repo.cut_resolve)

    def _send(self, status: int, body: bytes, headers: dict[str, str], record: Served,
              cut: bool = False) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        if cut:
            self.send_header("Connection", "close")
        self.end_headers()
        sent = body[:len(body) // 2] if cut else body
        self.wfile.write(sent)
        record.body_bytes = len(sent)
        if cut:
            self.wfile.flush()
            self.close_connection = True

    def _error(self, status: int, code: str | None) -> None:
        body = json.dumps({"error": f"fake hub error {status}"}).encode()
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _model_info(repo_id: str, repo: FakeRepo) -> dict[str, object]:
    """The Hub's model info with `blobs=True`: LFS files carry `lfs.size` (the real size)."""
    siblings = []
    for name, data in sorted(repo.files.items()):
        sibling: dict[str, object] = {"rfilename": name, "blobId": hashlib.sha1(data).hexdigest()}
        if name.endswith((".gguf", ".safetensors", ".bin")):
            sibling["size"] = 134  # an LFS pointer's size; the real one is under "lfs"
            sibling["lfs"] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                              "pointerSize": 134}
        else:
            sibling["size"] = len(data)
        siblings.append(sibling)
    return {"_id": "fake", "id": repo_id, "modelId": repo_id, "author": repo_id.split("/")[0],
            "sha": repo.commit, "private": False, "gated": False, "disabled": False,
            "downloads": 0, "likes": 0, "tags": [], "siblings": siblings,
            "lastModified": "2025-01-01T00:00:00.000Z", "createdAt": "2025-01-01T00:00:00.000Z"}
