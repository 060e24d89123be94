"""Monitoring settings of an environment: sample cap, seed, check severities, alert identity."""

import dagster as dg


class MonitoringResource(dg.ConfigurableResource):
    """How drift is computed and how loudly the checks speak, per environment."""

    env: str = "dev"
    max_rows: int = 20_000
    seed: int = 42
    data_drift_severity: str = "WARN"
    model_drift_severity: str = "WARN"

    def severity(self, which: str) -> dg.AssetCheckSeverity:
        """Check severity for ``data`` or ``model`` drift (``WARN`` or ``ERROR``)."""
        value = self.data_drift_severity if which == "data" else self.model_drift_severity
        return dg.AssetCheckSeverity(value.upper())
