"""Notifier fixtures: a realistic alert, a log path, and checks that no secret leaks."""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from airbnb_assets.resources.notifier.resource import Alert

WEBHOOK_SECRET = "s3cr3t-webhook-T0KEN"
TEAMS_SECRET = "s3cr3t-teams-SIG"
SLACK_TOKEN = "xoxb-s3cr3t-slack-token"
SMTP_PASSWORD = "s3cr3t-smtp-pw"
SECRETS = (WEBHOOK_SECRET, TEAMS_SECRET, SLACK_TOKEN, SMTP_PASSWORD)


@pytest.fixture
def alert() -> Alert:
    return Alert(
        kind="data_drift",
        env="prod",
        title="Data drift in gold/listing_features",
        summary="3 of 12 columns drifted: price, accommodates, review_scores_rating.",
        details={
            "drifted_columns": {
                "price": 0.41,
                "accommodates": np.float64(0.22),
                "review_scores_rating": 0.18,
            },
            "share_drifted": 0.25,
            "rows": np.int64(4021),
        },
        report_url="file:///tmp/lakehouse/prod/_monitoring/drift_2017-03-02.html",
        run_date="2017-03-02",
    )


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "monitoring" / "alerts" / "alerts.jsonl"


def log_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def assert_clean_error(exc: BaseException, *also_absent: str) -> None:
    """No secret or URL in the message, the repr or the printed traceback; no chained exception."""
    printed = "".join(traceback.format_exception(exc))
    assert_no_secret(str(exc), repr(exc), printed)
    for text in also_absent:
        assert text not in printed
    assert exc.__cause__ is None and exc.__context__ is None
