"""The code location loads: every asset, check, job, schedule and sensor resolves."""

import subprocess
import sys

import dagster as dg

from airbnb_assets.definitions import build_definitions, defs
from airbnb_assets.silver.expectations import EXPECTATIONS


def test_definitions_load_and_resolve() -> None:
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {
        "bronze/listings",
        "ops/landing_files",
        "silver/listings",
        "silver/listings_quarantine",
        "ops/data_quality",
        "gold/listing_features",
    } <= keys
    checks = {k.name for k in repo.asset_graph.asset_check_keys}
    assert {f"expect_{r.name}" for r in EXPECTATIONS} <= checks
    job = defs.resolve_job_def("daily_job")
    assert job.partitions_def is not None
    schedule = defs.resolve_schedule_def("daily_schedule")
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "America/Los_Angeles"
    assert {s.name for s in repo.sensor_defs} == {"drift_alert_sensor", "retrain_sensor"}
    retrain = defs.resolve_job_def("retrain_job")
    assert retrain.partitions_def is not None
    # Training is its own job: the daily job scores and judges, the retrain job trains.
    model = dg.AssetKey(["ml", "price_model"])
    assert model not in job.asset_layer.executable_asset_keys
    assert retrain.asset_layer.executable_asset_keys == {model}
    assert repo.get_sensor_def("retrain_sensor").job_name == "retrain_job"
    assert {"no_dataset_drift", "model_performance_within_tolerance", "every_row_scored"} <= checks


def test_fail_rules_are_blocking_checks() -> None:
    repo = defs.get_repository_def()
    specs = {s.name: s for a in repo.assets_defs_by_key.values() for s in a.check_specs}
    for rule in EXPECTATIONS:
        assert specs[f"expect_{rule.name}"].blocking == (rule.action == "fail")


def test_environments_differ_only_by_configuration() -> None:
    from airbnb_assets.environments import Env, settings_for
    from airbnb_assets.platform.tables import SILVER

    prod = settings_for(Env.PROD, {"AIRBNB_PROD_CATALOG": "main_prod"})
    resources = build_definitions(prod).resources
    assert resources["lakehouse"].identifier(SILVER) == "main_prod.silver.listings"
    assert resources["lakehouse"].spark.master is None


def test_the_code_location_loads_without_the_ml_and_report_libraries() -> None:
    """MLflow, scikit-learn and Evidently load in the steps that use them: a daemon, a CLI command
    or a cluster step for bronze, silver or gold does not pay for them (about 2 s of 3 s here)."""
    code = (
        "import sys, airbnb_assets.definitions; "
        "print(sorted(m for m in ('mlflow', 'sklearn', 'evidently', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
