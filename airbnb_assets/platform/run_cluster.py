"""One Databricks cluster per Dagster run: created on first use, shared by every step, always terminated.

A job cluster per step costs a cluster start (3-6 minutes on Azure) and a library installation
for each of the daily job's Spark steps. :class:`RunCluster` creates one cluster (Clusters API)
when the run's first Spark step needs it, every step of the run is submitted to it with
``existing_cluster_id``, and the resource that owns it terminates it when the run ends, whatever
the outcome (the in-process executor tears resources down after success, failure and
interruption alike). ``autotermination_minutes`` is the backstop if the orchestrator itself dies.

Before creating anything it asks the workspace who is submitting (SCIM ``Me``): the cluster is
dedicated (``SINGLE_USER``) to that principal, and a declared ``RUN_AS`` that is someone else
stops the run with a clear error instead of a cluster nobody can use.
"""

from __future__ import annotations

import threading
from typing import Any

#: Minutes of inactivity after which Databricks terminates the cluster if nobody else did.
AUTOTERMINATION_MINUTES = 30


class RunAsMismatch(RuntimeError):
    """``RUN_AS`` names a principal other than the one submitting the runs."""


class RunCluster:
    """The cluster of one Dagster run (``spec`` is a Clusters API ``create`` body without a name)."""

    def __init__(self, spec: dict[str, Any], name: str, host: str | None, token: str | None) -> None:
        self.spec, self.name, self.host, self.token = spec, name, host, token
        self.cluster_id: str | None = None
        self._lock = threading.Lock()

    def _client(self) -> Any:
        from databricks.sdk import WorkspaceClient

        return (
            WorkspaceClient(host=self.host, token=self.token)
            if self.token
            else WorkspaceClient(host=self.host)
        )

    def ensure(self, log: Any = None, run_id: str | None = None) -> str:
        """The cluster's id, creating the cluster on the first call (named after the Dagster run)."""
        with self._lock:
            if self.cluster_id is None:
                client = self._client()
                me = client.current_user.me().user_name
                run_as = self.spec.get("single_user_name")
                if run_as and run_as != me:
                    raise RunAsMismatch(
                        f"RUN_AS is {run_as!r} but runs are submitted as {me!r}: a cluster dedicated to "
                        f"{run_as!r} cannot run them; submit as {run_as!r} or unset RUN_AS"
                    )
                body = {
                    **self.spec,
                    "cluster_name": f"{self.name} {run_id[:8]}" if run_id else self.name,
                    "custom_tags": {
                        **self.spec.get("custom_tags", {}),
                        **({"dagster_run_id": run_id} if run_id else {}),
                    },
                    "single_user_name": me,
                    "autotermination_minutes": AUTOTERMINATION_MINUTES,
                }
                response = client.api_client.do("POST", "/api/2.1/clusters/create", body=body)
                self.cluster_id = str(response["cluster_id"])
                if log is not None:
                    log.info(f"Created cluster {self.cluster_id} ({self.name}) for this run's Spark steps")
            return self.cluster_id

    def terminate(self, log: Any = None) -> None:
        """Terminate the cluster if this run created one (idempotent)."""
        with self._lock:
            if self.cluster_id is None:
                return
            cluster_id, self.cluster_id = self.cluster_id, None
        self._client().api_client.do("POST", "/api/2.1/clusters/delete", body={"cluster_id": cluster_id})
        if log is not None:
            log.info(f"Terminated cluster {cluster_id}")
