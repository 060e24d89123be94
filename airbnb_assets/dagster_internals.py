"""The one module that uses Dagster's private API, and why.

The replay behind ``make demo`` (:mod:`airbnb_assets.replay`) must do two things Dagster's public
API does not offer:

* run a job **by reference** (a ``ReconstructableJob``), as the daemon and the step launchers do,
  so a step can be re-executed in another process or on a Databricks cluster; and
* evaluate a sensor **with the sensor daemon's own tick code** against an in-process workspace,
  so the demo's alerts, run keys and cursors are exactly what ``make dev``'s daemon continues from
  (``dg.build_sensor_context`` evaluates the function, but records no tick and no cursor).

Everything private is imported here and nowhere else (``test_layout.py`` checks it), and
``test_dagster_internals.py`` fails as soon as one of these names or signatures changes in a
Dagster upgrade.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import dagster as dg

#: The module and attribute the code location is loaded from (as ``workspace.yaml`` names it).
DEFINITIONS = ("airbnb_assets.definitions", "location_definitions")


def reconstructable_job(name: str) -> Any:
    """A job of the code location, loaded by reference (as the daemon and step launchers need)."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    repository = ReconstructableRepository.for_module(*DEFINITIONS)
    job = repository.get_reconstructable_job(name)
    # Dagster keeps the last loaded definition per equal reference; load it for *this* environment
    # (a process that runs under several environments, such as the tests, would get a stale one).
    type(job).get_definition.cache_clear()
    type(job).get_repository_definition.cache_clear()
    return job


@contextlib.contextmanager
def daemon_workspace(inst: dg.DagsterInstance, location_name: str) -> Iterator[Any]:
    """The in-process code location, as the sensor daemon sees a workspace."""
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget

    module, attribute = DEFINITIONS
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(
            executable_path=sys.executable,
            module_name=module,
            attribute=attribute,  # built from the current environment when loaded
            working_directory=os.getcwd(),
        ),
        location_name=location_name,
    )
    with WorkspaceProcessContext(inst, InProcessWorkspaceLoadTarget(origin)) as context:
        yield context


def evaluate_sensor(
    inst: dg.DagsterInstance, sensor_name: str, location_name: str, *, verbose: bool = False
) -> float:
    """One tick of the daemon's sensor loop for ``sensor_name``, after its minimum interval.

    Returns the seconds it waited for that interval to pass since the sensor's last tick (0.0
    when it had). The daemon's console lines are shown with ``verbose``; otherwise only its
    errors are.
    """
    from dagster._daemon.sensor import execute_sensor_iteration, get_elapsed

    log = logging.getLogger("airbnb_assets.replay.sensor")
    with daemon_workspace(inst, location_name) as context:
        location = next(iter(context.create_request_context().get_code_location_entries().values()))
        repo = next(iter(location.code_location.get_repositories().values()))
        sensor = repo.get_sensor(sensor_name)
        state = inst.get_instigator_state(sensor.get_remote_origin_id(), sensor.selector_id)
        elapsed = get_elapsed(state) if state is not None else None
        waited = 0.0
        if elapsed is not None and elapsed < sensor.min_interval_seconds:
            waited = sensor.min_interval_seconds - elapsed + 0.1
            time.sleep(waited)
        console = io.StringIO()
        with contextlib.redirect_stderr(sys.stderr if verbose else console):
            ticks = execute_sensor_iteration(
                context, log, threadpool_executor=None, submit_threadpool_executor=None
            )
            list(ticks)
        for line in console.getvalue().splitlines():
            if " - ERROR - " in line or " - CRITICAL - " in line:
                print(line, file=sys.stderr)
    return waited
