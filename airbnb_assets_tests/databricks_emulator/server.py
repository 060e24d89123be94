"""The workspace: an HTTP server on 127.0.0.1 answering the REST calls of the launcher and the SDK.

It implements only what ``dagster-databricks`` and ``databricks-sdk`` call (read from their
source): DBFS ``create`` / ``add-block`` / ``close`` / ``read`` / ``put`` / ``mkdirs`` /
``get-status`` / ``delete``, the Files API on ``/Volumes`` paths, Jobs 2.2 ``runs/submit`` /
``runs/get`` / ``runs/cancel`` and ``clusters/get``. Every request is recorded in
:attr:`Workspace.requests`; any other endpoint gets a 404 and is listed in
:attr:`Workspace.unimplemented`. Requests must carry ``Authorization: Bearer`` with the user's
token or a cluster's token (what a runtime authenticates itself with).

``dbfs_root=False`` is a Unity Catalog workspace whose DBFS root is disabled: every DBFS call and
every ``/dbfs`` path a task names is refused with ``PERMISSION_DENIED``; files live on volumes
(``/Volumes/...``, the Files API). :attr:`Workspace.clusters` and :attr:`Workspace.terminated`
count what was started and stopped.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from airbnb_assets_tests.databricks_emulator import cluster

#: Where ``/dbfs`` points while an emulator runs (shared: run ids keep workspaces apart).
DBFS_DIR = "/tmp/databricks-emulator/dbfs"
#: The path a Databricks runtime mounts DBFS on; the step entrypoint opens ``/dbfs/...`` files.
DBFS_MOUNT = "/dbfs"
#: Where ``/Volumes`` points (a runtime mounts Unity Catalog volumes there; Pipes opens its files).
VOLUMES_DIR = "/tmp/databricks-emulator/volumes"
VOLUMES_MOUNT = "/Volumes"


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
    resolves to). ``/Volumes/...`` is :data:`VOLUMES_DIR`, for the Files API and the clusters.
    """

    volumes_dir: str = VOLUMES_DIR
    token: str = "dapi-emulator-user-token"
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    unimplemented: list[str] = field(default_factory=list)
    runs: dict[int, cluster.Run] = field(default_factory=dict)
    #: Whether DBFS root is usable (legacy workspaces); ``False``: volumes only.
    dbfs_root: bool = True
    #: The principal the user's token belongs to (SCIM ``Me``).
    user: str = "ci-service-principal@example.invalid"
    clusters: dict[str, cluster.Cluster] = field(default_factory=dict)
    terminated: list[str] = field(default_factory=list)
    _handles: dict[int, str] = field(default_factory=dict)
    _opened: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Workspace:
        if self.dbfs_root:
            mount(DBFS_DIR, DBFS_MOUNT)
        mount(self.volumes_dir, VOLUMES_MOUNT)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for run in list(self.runs.values()):
            run.cancel()
        for one in list(self.clusters.values()):
            one.terminate()
        self._server.shutdown()
        self._server.server_close()
        # The clusters' folders (Spark scratch, driver logs) and the runs' logs: kept while the
        # workspace lives (a failing test reads them), gone with it.
        for one in self.clusters.values():
            shutil.rmtree(one.folder, ignore_errors=True)
        for run in self.runs.values():
            Path(run.output).unlink(missing_ok=True)

    @property
    def host(self) -> str:
        """The workspace URL to give ``DATABRICKS_HOST``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def calls(self, method: str, path: str) -> list[Request]:
        """The recorded requests to one endpoint."""
        return [r for r in self.requests if r.method == method and r.path == path]

    def readable(self, path: str) -> str:
        """The local file behind a path a task names (a volume, or DBFS when DBFS root is enabled)."""
        if not path.startswith("/Volumes/") and not self.dbfs_root:
            raise ApiError(403, "PERMISSION_DENIED", f"DBFS root is disabled in this workspace: {path}")
        local = self.local(path)
        if not os.path.exists(local):
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"No file or directory exists on path {path}.")
        return local

    def cluster_for(self, task: dict[str, Any]) -> cluster.Cluster:
        """The cluster a task runs on: an existing RUNNING one, or a new job cluster."""
        if task.get("existing_cluster_id"):
            found = self.clusters.get(task["existing_cluster_id"])
            if found is None or found.state == "TERMINATED":
                raise RuntimeError(f"Cluster {task['existing_cluster_id']} does not exist or is terminated")
            return found
        return self._new_cluster(task.get("new_cluster") or {}, job=True)

    def _new_cluster(self, spec: dict[str, Any], *, job: bool) -> cluster.Cluster:
        if not spec.get("data_security_mode"):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "data_security_mode is required (Unity Catalog)")
        owner = spec.get("single_user_name")
        if (
            spec["data_security_mode"] in ("SINGLE_USER", "DATA_SECURITY_MODE_DEDICATED")
            and owner != self.user
        ):
            raise ApiError(
                403, "PERMISSION_DENIED", f"Single-user cluster of {owner!r} cannot be used by {self.user!r}"
            )
        with self._lock:
            cluster_id = f"{1000 + len(self.clusters):04d}-emulated-{'job' if job else 'cluster'}"
            new = cluster.Cluster(cluster_id, spec, self, job=job)
            self.clusters[cluster_id] = new
        new.start()
        return new

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
        if path.startswith("/api/2.0/dbfs/") and not self.dbfs_root:
            target = body.get("path") or query.get("path") or ""
            if not str(target).removeprefix("dbfs:").startswith("/Volumes/"):
                raise ApiError(403, "PERMISSION_DENIED", f"DBFS root is disabled in this workspace: {target}")
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

    def clusters_create(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"cluster_id": self._new_cluster(args, job=False).cluster_id}

    def clusters_get(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._cluster(args).as_json()

    def clusters_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        self._cluster(args).terminate("Terminated by the user")
        return {}

    def scim_me(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"id": "1", "userName": self.user, "active": True}

    def _cluster(self, args: dict[str, Any]) -> cluster.Cluster:
        found = self.clusters.get(args["cluster_id"])
        if found is None:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Cluster {args['cluster_id']} does not exist")
        return found

    def _files(self, method: str, path: str, body: dict[str, Any]) -> Any:
        kind, _, target = path.removeprefix("/api/2.0/fs/").partition("/")
        local = self.local("/" + target)
        if kind == "directories" and method == "PUT":
            os.makedirs(local, exist_ok=True)
            return {}
        if kind == "directories" and method == "GET":
            if not os.path.isdir(local):
                raise ApiError(404, "NOT_FOUND", f"The directory /{target} does not exist")
            contents = []
            for name in sorted(os.listdir(local)):
                entry = os.path.join(local, name)
                contents.append(
                    {
                        "path": f"/{target.rstrip('/')}/{name}",
                        "name": name,
                        "is_directory": os.path.isdir(entry),
                    }
                    | ({} if os.path.isdir(entry) else {"file_size": os.path.getsize(entry)})
                )
            return {"contents": contents}
        if kind == "directories" and method == "DELETE":
            if os.path.isdir(local):
                os.rmdir(local)
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
    ("GET", "/api/2.1/clusters/get"): Workspace.clusters_get,
    ("POST", "/api/2.1/clusters/create"): Workspace.clusters_create,
    ("POST", "/api/2.1/clusters/delete"): Workspace.clusters_delete,
    ("GET", "/api/2.0/preview/scim/v2/Me"): Workspace.scim_me,
}


def mount(folder: str, mount_point: str) -> None:
    """Point ``mount_point`` (``/dbfs``, ``/Volumes``) at ``folder``, as a runtime mounts them (root)."""
    os.makedirs(folder, exist_ok=True)
    if os.path.islink(mount_point) and os.readlink(mount_point) == folder:
        return
    if os.path.lexists(mount_point):
        raise RuntimeError(f"{mount_point} exists and is not the emulator's link to {folder}")
    try:
        os.symlink(folder, mount_point)
    except FileExistsError:  # another emulator linked it meanwhile
        pass
    except PermissionError as exc:
        raise RuntimeError(f"the emulator links {mount_point} -> {folder}; that needs root") from exc


def _handler(workspace: Workspace) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _serve(self) -> None:
            url = urlparse(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            path = unquote(url.path)  # the SDK escapes volume paths (``+`` of a wheel's version)
            workspace.requests.append(Request(self.command, path, query, raw.decode("utf-8", "replace")))
            try:
                if self.headers.get("Authorization") not in _tokens(workspace):
                    raise ApiError(401, "UNAUTHENTICATED", "Invalid access token.")
                if path.startswith("/api/2.0/fs/files"):
                    body: dict[str, Any] = {"__raw__": raw}
                else:
                    body = json.loads(raw) if raw else {}
                result = workspace.handle(self.command, path, query, body)
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
    tokens = {workspace.token} | {
        one.token for one in workspace.clusters.values() if one.state != "TERMINATED"
    }
    return {f"Bearer {t}" for t in tokens}
