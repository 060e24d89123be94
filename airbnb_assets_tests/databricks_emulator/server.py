"""The workspace: an HTTP server on 127.0.0.1 answering the REST calls of the launcher and the SDK.

It implements only what ``dagster-databricks`` and ``databricks-sdk`` call (read from their
source): DBFS ``create`` / ``add-block`` / ``close`` / ``read`` / ``put`` / ``mkdirs`` /
``get-status`` / ``delete``, the Files API on ``/Volumes`` paths, Jobs 2.2 ``runs/submit`` /
``runs/get`` / ``runs/cancel`` and ``clusters/get``. Every request is recorded in
:attr:`Workspace.requests`; any other endpoint gets a 404 and is listed in
:attr:`Workspace.unimplemented`. Requests must carry ``Authorization: Bearer`` with the user's
token or a cluster's token (what a runtime authenticates itself with).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from airbnb_assets_tests.databricks_emulator import cluster

#: Where ``/dbfs`` points while an emulator runs (shared: run ids keep workspaces apart).
DBFS_DIR = "/tmp/databricks-emulator/dbfs"
#: The path a Databricks runtime mounts DBFS on; the step entrypoint opens ``/dbfs/...`` files.
DBFS_MOUNT = "/dbfs"


class ApiError(Exception):
    """An error answered as Databricks does: ``{"error_code": ..., "message": ...}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Request:
    """One recorded request: method, path (without query), query and body (raw text)."""

    method: str
    path: str
    query: dict[str, str]
    body: str


@dataclass
class Workspace:
    """A Databricks workspace on ``http://127.0.0.1:<port>`` (use as a context manager).

    ``secrets`` is the secret store, ``{scope: {key: value}}`` (what a Key Vault-backed scope
    resolves to). ``volumes_dir`` backs ``/Volumes/...`` for the Files API.
    """

    volumes_dir: str
    token: str = "dapi-emulator-user-token"
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    unimplemented: list[str] = field(default_factory=list)
    runs: dict[int, cluster.Run] = field(default_factory=dict)
    _handles: dict[int, str] = field(default_factory=dict)
    _opened: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Workspace:
        mount_dbfs()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for run in list(self.runs.values()):
            run.cancel()
        self._server.shutdown()
        self._server.server_close()

    @property
    def host(self) -> str:
        """The workspace URL to give ``DATABRICKS_HOST``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def calls(self, method: str, path: str) -> list[Request]:
        """The recorded requests to one endpoint."""
        return [r for r in self.requests if r.method == method and r.path == path]

    def local(self, path: str) -> str:
        """The local file behind a DBFS (``dbfs:/x``, ``/x``) or ``/Volumes/...`` path."""
        if path.startswith("/Volumes/"):
            return os.path.join(self.volumes_dir, path[len("/Volumes/") :])
        path = path.removeprefix("dbfs:").removeprefix("//")
        return os.path.join(DBFS_DIR, path.lstrip("/"))

    # -- the API ----------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> Any:
        """Dispatch one authenticated request to its endpoint."""
        route = ROUTES.get((method, path))
        if route is None and path.startswith("/api/2.0/fs/"):
            return self._files(method, path, body)
        if route is None:
            self.unimplemented.append(f"{method} {path}")
            raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")
        return route(self, {**query, **body})

    def dbfs_create(self, args: dict[str, Any]) -> dict[str, Any]:
        local = self._writable(args["path"], bool(args.get("overwrite")))
        with open(local, "wb"):
            pass
        with self._lock:
            self._opened += 1
            handle = self._opened  # 1, 2, ... in the order files are created
            self._handles[handle] = local
        return {"handle": handle}

    def dbfs_add_block(self, args: dict[str, Any]) -> dict[str, Any]:
        with open(self._handles[int(args["handle"])], "ab") as fh:
            fh.write(base64.b64decode(args["data"]))
        return {}

    def dbfs_close(self, args: dict[str, Any]) -> dict[str, Any]:
        self._handles.pop(int(args["handle"]))
        return {}

    def dbfs_put(self, args: dict[str, Any]) -> dict[str, Any]:
        with open(self._writable(args["path"], bool(args.get("overwrite"))), "wb") as fh:
            fh.write(base64.b64decode(args.get("contents", "")))
        return {}

    def dbfs_read(self, args: dict[str, Any]) -> dict[str, Any]:
        local = self._existing(args["path"])
        offset, length = int(args.get("offset", 0)), int(args.get("length", 1 << 20))
        with open(local, "rb") as fh:
            fh.seek(offset)
            data = fh.read(length)
        return {"bytes_read": len(data), "data": base64.b64encode(data).decode()}

    def dbfs_mkdirs(self, args: dict[str, Any]) -> dict[str, Any]:
        os.makedirs(self.local(args["path"]), exist_ok=True)
        return {}

    def dbfs_get_status(self, args: dict[str, Any]) -> dict[str, Any]:
        local = self._existing(args["path"])
        is_dir = os.path.isdir(local)
        return {"path": args["path"], "is_dir": is_dir, "file_size": 0 if is_dir else os.path.getsize(local)}

    def dbfs_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        local = self.local(args["path"])
        if os.path.isdir(local):
            shutil.rmtree(local) if args.get("recursive") else os.rmdir(local)
        elif os.path.exists(local):
            os.remove(local)
        return {}

    def runs_submit(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            run_id = 1000 + len(self.runs)
            run = cluster.Run(run_id, args, self)
            self.runs[run_id] = run
        run.start()
        return {"run_id": run_id}

    def runs_get(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._run(args).as_json(self.host)

    def runs_cancel(self, args: dict[str, Any]) -> dict[str, Any]:
        self._run(args).cancel()
        return {}

    def clusters_get(self, args: dict[str, Any]) -> dict[str, Any]:
        for run in self.runs.values():
            if run.cluster_id == args["cluster_id"]:
                return {"cluster_id": run.cluster_id, "state": "TERMINATED", **run.cluster_spec}
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Cluster {args['cluster_id']} does not exist")

    def _files(self, method: str, path: str, body: dict[str, Any]) -> Any:
        kind, _, target = path.removeprefix("/api/2.0/fs/").partition("/")
        local = self.local("/" + target)
        if kind == "directories" and method == "PUT":
            os.makedirs(local, exist_ok=True)
            return {}
        if kind == "files" and method == "PUT":
            os.makedirs(os.path.dirname(local), exist_ok=True)
            with open(local, "wb") as fh:
                fh.write(body["__raw__"])
            return {}
        if kind == "files" and method in ("GET", "HEAD"):
            if not os.path.isfile(local):
                raise ApiError(404, "NOT_FOUND", f"The file /{target} does not exist")
            with open(local, "rb") as fh:
                return fh.read()
        if kind == "files" and method == "DELETE":
            if os.path.isfile(local):
                os.remove(local)
            return {}
        self.unimplemented.append(f"{method} {path}")
        raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")

    def _run(self, args: dict[str, Any]) -> cluster.Run:
        run = self.runs.get(int(args["run_id"]))
        if run is None:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Run {args['run_id']} does not exist")
        return run

    def _existing(self, path: str) -> str:
        local = self.local(path)
        if not os.path.exists(local):
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"No file or directory exists on path {path}.")
        return local

    def _writable(self, path: str, overwrite: bool) -> str:
        local = self.local(path)
        if os.path.exists(local) and not overwrite:
            raise ApiError(400, "RESOURCE_ALREADY_EXISTS", f"A file or directory already exists at {path}.")
        os.makedirs(os.path.dirname(local), exist_ok=True)
        return local


ROUTES = {
    ("POST", "/api/2.0/dbfs/create"): Workspace.dbfs_create,
    ("POST", "/api/2.0/dbfs/add-block"): Workspace.dbfs_add_block,
    ("POST", "/api/2.0/dbfs/close"): Workspace.dbfs_close,
    ("POST", "/api/2.0/dbfs/put"): Workspace.dbfs_put,
    ("GET", "/api/2.0/dbfs/read"): Workspace.dbfs_read,
    ("POST", "/api/2.0/dbfs/mkdirs"): Workspace.dbfs_mkdirs,
    ("GET", "/api/2.0/dbfs/get-status"): Workspace.dbfs_get_status,
    ("POST", "/api/2.0/dbfs/delete"): Workspace.dbfs_delete,
    ("POST", "/api/2.2/jobs/runs/submit"): Workspace.runs_submit,
    ("GET", "/api/2.2/jobs/runs/get"): Workspace.runs_get,
    ("POST", "/api/2.2/jobs/runs/cancel"): Workspace.runs_cancel,
    ("GET", "/api/2.0/clusters/get"): Workspace.clusters_get,
}


def mount_dbfs() -> None:
    """Point ``/dbfs`` at :data:`DBFS_DIR`, as a runtime mounts DBFS (needs root, like CI)."""
    os.makedirs(DBFS_DIR, exist_ok=True)
    if os.path.islink(DBFS_MOUNT) and os.readlink(DBFS_MOUNT) == DBFS_DIR:
        return
    if os.path.lexists(DBFS_MOUNT):
        raise RuntimeError(f"{DBFS_MOUNT} exists and is not the emulator's link to {DBFS_DIR}")
    try:
        os.symlink(DBFS_DIR, DBFS_MOUNT)
    except FileExistsError:  # another emulator linked it meanwhile
        pass
    except PermissionError as exc:
        raise RuntimeError(f"the emulator links {DBFS_MOUNT} -> {DBFS_DIR}; that needs root") from exc


def _handler(workspace: Workspace) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _serve(self) -> None:
            url = urlparse(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            workspace.requests.append(Request(self.command, url.path, query, raw.decode("utf-8", "replace")))
            try:
                if self.headers.get("Authorization") not in _tokens(workspace):
                    raise ApiError(401, "UNAUTHENTICATED", "Invalid access token.")
                if url.path.startswith("/api/2.0/fs/files"):
                    body: dict[str, Any] = {"__raw__": raw}
                else:
                    body = json.loads(raw) if raw else {}
                result = workspace.handle(self.command, url.path, query, body)
                status, payload = 200, result if isinstance(result, bytes) else json.dumps(result).encode()
            except ApiError as err:
                status = err.status
                payload = json.dumps({"error_code": err.code, "message": err.message}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

    return Handler


def _tokens(workspace: Workspace) -> set[str]:
    tokens = {workspace.token} | {run.cluster_token for run in workspace.runs.values()}
    return {f"Bearer {t}" for t in tokens}
