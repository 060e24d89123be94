"""The artefact store: local files get file:// links; volume paths get no link and no appends."""

from pathlib import Path

import pytest

from airbnb_assets.platform import artifacts
from airbnb_assets.platform.artifacts import ArtifactStore, append_line, is_machine_local


def test_machine_local_paths() -> None:
    assert is_machine_local("/tmp/lakehouse/dev")
    assert not is_machine_local("/Volumes/airbnb_prod/ops/lakehouse/prod")
    assert not is_machine_local("/dbfs/tmp/x") and not is_machine_local("abfss://c@a.dfs.core.windows.net/x")


def test_links_only_for_this_machine(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "_artifacts"))
    written = store.write_text("drift/2020-01-02/data drift.html", "<html/>")
    assert store.url(written) == (tmp_path / "_artifacts/drift/2020-01-02/data drift.html").as_uri()
    assert store.url("/Volumes/airbnb_prod/ops/lakehouse/prod/_artifacts/dashboard/index.html") is None


def test_volume_log_is_rewritten_whole_not_appended(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A volume takes no appends: there the log is read and written back with the new line."""
    volume = tmp_path / "volume"
    monkeypatch.setattr(artifacts, "CLUSTER_PREFIXES", (f"{volume}/",))
    log = volume / "alerts" / "alerts.jsonl"
    modes: list[str] = []
    real_open = open

    def spy(file, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        modes.append(mode)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", spy)
    append_line(str(log), '{"n": 1}')
    append_line(str(log), '{"n": 2}\n')
    assert log.read_text(encoding="utf-8") == '{"n": 1}\n{"n": 2}\n'
    assert "a" not in modes and modes.count("w") == 2

    local = tmp_path / "local.jsonl"
    append_line(str(local), "x")
    assert modes[-1] == "a" and local.read_text(encoding="utf-8") == "x\n"


def test_parquet_artefacts_round_trip(tmp_path: Path) -> None:
    import pandas as pd

    store = ArtifactStore(str(tmp_path / "_artifacts"))
    frame = pd.DataFrame({"room_type": ["Entire home/apt", None], "price": [120.0, float("nan")]})
    assert not store.exists("drift/reference/m/v1.parquet")
    path = store.write_parquet("drift/reference/m/v1.parquet", frame)
    assert path == str(tmp_path / "_artifacts/drift/reference/m/v1.parquet")
    assert store.exists("drift/reference/m/v1.parquet")
    assert list((tmp_path / "_artifacts/drift/reference/m").iterdir()) == [Path(path)]  # no partial left
    pd.testing.assert_frame_equal(store.read_parquet("drift/reference/m/v1.parquet"), frame)
