"""Landing zone replay: next, until, all, reset, any source folder."""

import datetime as dt
import shutil
from pathlib import Path

from airbnb_assets.environments import SNAPSHOTS_DIR
from airbnb_assets.ingest import landing


def test_land_next_until_all_and_reset(tmp_path: Path) -> None:
    zone = tmp_path / "landing"
    first = landing.land(SNAPSHOTS_DIR, zone)
    assert [p.name for p in first] == ["listings_2015-05-04.csv.gz"]
    until = landing.land(SNAPSHOTS_DIR, zone, until=dt.date(2017, 3, 2))
    assert [p.name for p in until] == ["listings_2016-07-02.csv.gz", "listings_2017-03-02.csv.gz"]
    rest = landing.land(SNAPSHOTS_DIR, zone, all_files=True)
    assert len(rest) == 3
    assert landing.land(SNAPSHOTS_DIR, zone, all_files=True) == []
    assert (zone / "listings_2019-10-14.csv.gz").read_bytes() == (
        SNAPSHOTS_DIR / "listings_2019-10-14.csv.gz"
    ).read_bytes()
    assert not list(zone.glob(".*"))  # no temporary files left behind
    assert landing.reset(zone) == 6
    assert landing.landed(zone) == set()


def test_land_from_any_source_folder(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(SNAPSHOTS_DIR / "listings_2017-04-02.csv.gz", source / "listings_2017-04-02.csv.gz")
    (source / "notes.txt").write_text("not a snapshot")
    landed = landing.land(source, tmp_path / "zone", all_files=True)
    assert [p.name for p in landed] == ["listings_2017-04-02.csv.gz"]
