"""The private Dagster API that ``airbnb_assets.dagster_internals`` relies on still exists as used.

A Dagster upgrade that renames, moves or re-signs one of these fails here, with the name, rather
than in the middle of ``make demo``.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

#: (module, attribute, parameters the adapter passes by name or position).
USED = [
    ("dagster._core.definitions.reconstruct", "ReconstructableRepository", []),
    (
        "dagster._core.remote_origin",
        "InProcessCodeLocationOrigin",
        ["loadable_target_origin", "location_name"],
    ),
    (
        "dagster._core.types.loadable_target_origin",
        "LoadableTargetOrigin",
        ["executable_path", "module_name", "attribute", "working_directory"],
    ),
    ("dagster._core.workspace.context", "WorkspaceProcessContext", ["instance", "workspace_load_target"]),
    ("dagster._core.workspace.load_target", "InProcessWorkspaceLoadTarget", []),
    (
        "dagster._daemon.sensor",
        "execute_sensor_iteration",
        ["workspace_process_context", "logger", "threadpool_executor", "submit_threadpool_executor"],
    ),
    ("dagster._daemon.sensor", "get_elapsed", []),
]


@pytest.mark.parametrize(("module", "name", "parameters"), USED)
def test_private_name_exists_with_the_parameters_used(module: str, name: str, parameters: list[str]) -> None:
    target = getattr(importlib.import_module(module), name)
    # A record class (``LoadableTargetOrigin``) takes ``**kwargs``; its fields are its parameters.
    accepted = getattr(target, "_fields", None) or inspect.signature(target).parameters
    assert [p for p in parameters if p not in accepted] == []


def test_reconstructable_job_loads_the_daily_job_by_reference() -> None:
    from airbnb_assets.dagster_internals import reconstructable_job

    job = reconstructable_job("daily_job")
    assert job.get_definition().name == "daily_job"
    assert job.repository.pointer.module == "airbnb_assets.definitions"
