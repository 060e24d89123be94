"""The catalogue of hostile real-world inputs: what each one is, and what the pipeline does with it.

Each :class:`Case` is tested by the test function named in ``test`` (in this package), and the
table is rendered into ``docs/reliability.rst`` by the docs build, so the documented behaviour
cannot drift from the tested one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    """One bad input: ``given`` (what lands or happens), ``gets`` (what the pipeline does)."""

    id: str
    given: str
    gets: str
    test: str


CASES: tuple[Case, ...] = (
    Case(
        "fail_rule_few_rows",
        "A file where one row has an empty ``id`` (the ``fail`` rule ``id_not_null``).",
        "The row goes to ``silver/listings_quarantine`` with the rule name; the rest of the batch is "
        "committed. A ``fail`` rule holds back a file (never the whole batch) only when its failing "
        "share exceeds the rule's threshold (default: more than 1 % of the file's rows, or all of them).",
        "test_fail_rule_quarantines_a_few_rows",
    ),
    Case(
        "fail_rule_whole_file",
        "A file where every ``id`` is empty.",
        "That file is held back in the quarantine and reported (check ``expect_id_not_null`` fails and "
        "names it, ``ops/data_quality`` records ``committed = false``); the other files commit. "
        "``airbnb reject FILE`` keeps it quarantined, or ``airbnb release FILE`` commits its rows that "
        "pass (offenders stay quarantined with the rule name). A clean file landed the next day is "
        "processed normally.",
        "test_fail_rule_holds_one_file_not_the_next_day",
    ),
    Case(
        "utf16_bom",
        "A UTF-16 file with a byte-order mark.",
        "Decoded as UTF-16 (encoding recorded in ``ops/landing_files``); bronze stays readable by any "
        "Delta reader. A header with control characters is rejected: the file is ``failed`` with the reason.",
        "test_utf16_file_is_decoded_and_bronze_stays_readable",
    ),
    Case(
        "latin1_accents",
        'A Latin-1 / cp1252 file with accents ("Café crème", "José Muñoz", "270°").',
        "Encoding chosen by evidence and recorded in the ledger: UTF-16/32 by byte-order mark, else strict "
        "UTF-8, else windows-1252 or Mac Roman: bytes undefined in windows-1252 mean Mac Roman (the two "
        "historic spreadsheet re-saves), otherwise a detector (charset-normalizer) decides, windows-1252 on "
        "a tie. Latin-1 text is recorded as ``windows-1252``, which decodes it identically.",
        "test_cp1252_accents_survive",
    ),
    Case(
        "redelivery_v2",
        "A corrected re-delivery ``listings_<date>_v2.csv`` of a snapshot already ingested.",
        "It replaces that snapshot: corrected rows are updated, listings absent from it are removed "
        "from silver and gold for that date (the replaced rows move to the quarantine, reason "
        "``superseded by <file>``), the earlier file is marked ``superseded`` in the ledger, and "
        "predictions read the corrected gold from the next run on (re-running a past day re-scores it).",
        "test_redelivery_replaces_the_snapshot",
    ),
    Case(
        "concurrent_runs",
        "Two runs of ``daily_job`` at once (the same day twice).",
        "They never overlap: the instance's run queue allows one ``daily_job`` at a time (tag "
        "concurrency) and ``airbnb run`` refuses a second concurrent run with a clear message. The "
        "ledger is written in the same idempotent transaction discipline as the tables.",
        "test_second_concurrent_run_is_refused",
    ),
    Case(
        "renamed_column",
        "A column renamed in a new file (``room_type`` → ``accommodation_kind``).",
        "The ledger lists ``room_type`` as a missing contract column and ``accommodation_kind`` as a "
        "new column; the silver check ``expect_feature_present_room_type`` (ERROR: a model feature) fails, "
        "and ``no_declared_column_dropped`` (WARN) names ``room_type`` as a column the previous file had.",
        "test_renamed_column_is_reported",
    ),
    Case(
        "foreign_file",
        "``foo.csv`` in the landing folder; a snapshot name ending in a newline, or written with "
        "fullwidth digits.",
        "Recorded in the ledger as ``ignored`` with the reason (name does not match "
        "``listings_YYYY-MM-DD[_suffix].csv[.gz]``, matched whole and in ASCII), once; later runs "
        "go on.",
        "test_foreign_file_is_recorded_as_ignored",
    ),
    Case(
        "gzip_named_csv",
        "A gzip file named ``.csv``.",
        'Recognised by its magic bytes: ``failed`` with the reason "gzip content with a .csv name" '
        "(rename it ``.csv.gz`` and land it again).",
        "test_gzip_content_with_a_csv_name_fails_clearly",
    ),
    Case(
        "semicolon_export",
        "A spreadsheet's semicolon (or tab) export of a snapshot: its header parses as one mangled column.",
        "``failed`` with the reason (no ``id`` column; it counts the semicolons and says to re-export "
        "with commas); none of its rows reach bronze and bronze gains no column from it, locally and "
        "in the Databricks micro-batch handler.",
        "test_semicolon_export_is_refused_whole_and_adds_no_column",
    ),
    Case(
        "bad_dates",
        "``airbnb run --date`` for a day after today, or a malformed date; ``airbnb land --source`` on a "
        "missing or empty folder.",
        "One clear line naming the valid range or the problem, exit code 2, no traceback.",
        "test_cli_date_and_source_errors_are_one_line",
    ),
    Case(
        "killed_run",
        "A daily run killed (SIGKILL) after bronze committed, then rerun.",
        "The rerun completes: 0 rows lost and 0 duplicated in every table (distinct keys), all tables "
        "readable with ``deltalake``. The killed run is marked failed by run monitoring (``dagster.yaml`` "
        "of ``make dev`` / ``make demo``).",
        "test_killed_run_then_rerun_loses_and_duplicates_nothing",
    ),
    Case(
        "land_links_and_odd_names",
        "In the folder ``airbnb land`` reads: a symbolic link named like a snapshot (to "
        "``/etc/passwd``), a folder named like one, a name ending in a newline, a name with a space, "
        "a name in fullwidth digits.",
        "None is landed (only regular files with a snapshot's name are, matched whole and in ASCII); "
        "each is listed as ``skipped '<name>': <reason>``. Other files (a README) are passed over "
        "silently.",
        "test_land_refuses_links_folders_and_odd_names_and_says_why",
    ),
    Case(
        "land_disk_full",
        "The disk fills up while ``airbnb land`` copies a file.",
        "One line naming the file, the landing folder and the system's reason, exit code 2; the "
        "partial copy is removed (nothing half-written is left for bronze).",
        "test_land_on_a_full_disk_is_one_line_and_leaves_no_partial_file",
    ),
    Case(
        "show_mistakes",
        "``airbnb show`` of a name not in the catalogue, or of a table no run has written yet.",
        "One line (the catalogue's names, or where the table will be and what to run), exit code 2.",
        "test_show_mistakes_are_one_line",
    ),
    Case(
        "lost_registry",
        "``mlflow.db`` deleted (or the tracking URI moved) after days were scored.",
        "The predictions and model steps stop with ``RegistryMissing``: how many scored rows the "
        "lakehouse holds, the tracking URI, and the fix (restore the registry with the lakehouse). "
        "No new v1 is trained and nothing is scored meanwhile.",
        "test_a_lost_registry_is_an_error_with_the_fix_not_a_new_v1",
    ),
    Case(
        "mlflow_telemetry",
        "A client site where outbound calls to MLflow's telemetry host are forbidden.",
        "Importing the project sets ``MLFLOW_DISABLE_TELEMETRY=true`` unless the user set it: no "
        "telemetry client is started (``MLFLOW_DISABLE_TELEMETRY=false`` opts in).",
        "test_mlflow_sends_no_telemetry_unless_asked",
    ),
    Case(
        "xss_in_drift_report",
        "A listing whose neighbourhood, room type or other category is ``</script><script>…``, "
        "``<img onerror=…>``, ``<svg onload=…>`` or ``<iframe src=javascript:…>``: Evidently writes "
        "category values into an inline script without escaping.",
        "The drift report shows ``<`` and ``>`` of data values as the fullwidth ``＜`` ``＞``: no value "
        "can close the script or open a tag; opened in headless Chromium, none of the four payloads "
        "runs, in any categorical column, and every column is drawn.",
        "test_no_payload_executes_when_the_report_is_opened",
    ),
    Case(
        "decimal_comma_prices",
        "Prices written the European way, ``45,00 $`` (a re-saved export).",
        "Prices parse by Inside Airbnb's grammar only (optional leading ``$``, comma thousands, "
        "decimal point): those rows go to the quarantine with ``values_parse`` and their raw record; "
        "none reaches silver, gold or training as 4500.",
        "test_decimal_comma_prices_are_quarantined_not_read_as_hundreds",
    ),
    Case(
        "labels_jump",
        "Prices that passed every rule but are wrong as a whole: a snapshot read 100 times too high "
        "(what ``45,00`` as 4500 did), and a champion trained on the same rows that ties with it.",
        "The retrain refuses it with ``decision_reason=labels`` (median more than 1.5x apart, or more "
        "than 10 % above the training rows' 99th percentile) and holds the snapshot from every later "
        "training (metadata ``held_from_training``); a challenger whose MAE is more than twice the "
        "champion's own validation MAE is refused (``mae_jump``). Real moves stay far inside both.",
        "test_a_day_whose_labels_jump_is_held_from_training",
    ),
    Case(
        "small_files",
        "Day after day of small writes (a 2,000-row day used to add 32 files to ``silver/listings``, "
        "four to each bookkeeping table).",
        "A small day is one file per table (AQE coalesces cached shuffles too); the write that brings "
        "a table to 50 small files compacts it (an ``OPTIMIZE`` commit streams skip), and a new "
        "process's first write does not (Delta's auto compaction did: it is off); what the last "
        'write wrote stays readable behind it. See the runbook\'s "Small files".',
        "test_a_small_day_is_one_file_per_table",
    ),
    Case(
        "no_prices",
        "A snapshot whose every price is empty.",
        "Featured and scored, and gold's check ``snapshot_has_prices`` (WARN) names it: no model "
        "drift can be measured on it and no retrain can use it; the retrain sensor is not triggered.",
        "test_a_snapshot_without_prices_is_written_with_a_warning",
    ),
    Case(
        "deleted_data_file",
        "A ``part-*.parquet`` of ``silver/listings`` deleted by hand (its Delta log still lists it).",
        "Every run checks the local tables' logs against the disk before any step (delta-rs, no "
        "Spark): the run stops with ``MissingDataFiles`` naming the table, the file and the fix "
        "(restore it, or ``RESTORE TABLE … TO VERSION AS OF``); ``airbnb show`` says the same in one line.",
        "test_a_deleted_data_file_stops_the_next_run_and_show_with_the_fix",
    ),
    Case(
        "killed_registration",
        "A retrain killed while registering its version (before or after the promotion decision).",
        "A version without its decision does not count as judged, so ``retrain_sensor`` requests the "
        "snapshot again (a failed or killed attempt is retried under a new run key, 3 attempts in all). "
        "The next retrain first rolls the half version back (deleted, its MLflow run ``FAILED``) or, "
        "when the decision was made, completes it (the alias set, the run ``FINISHED``), one log line each.",
        "test_a_registration_killed_midway_is_completed_or_rolled_back_by_the_next_retrain",
    ),
)
