"""Renderings of an alert: the e-mail subject, the Teams cards."""

from airbnb_assets.resources.notifier.formats import subject_line, teams_card
from airbnb_assets.resources.notifier.resource import Alert


def test_heading_does_not_double_the_env_prefix() -> None:
    assert subject_line({"env": "prod", "title": "Drift"}) == "[PROD] Drift"
    assert subject_line({"env": "prod", "title": "[prod] Drift"}) == "[prod] Drift"


def test_msteams_legacy_connector_card(alert: Alert) -> None:
    # Format only: a *.webhook.office.com host cannot be served locally without DNS or a proxy.
    card = teams_card(alert.to_payload(), legacy=True)
    (attachment,) = card["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.hero"
    assert alert.title in attachment["content"]["text"] and alert.summary in attachment["content"]["text"]
