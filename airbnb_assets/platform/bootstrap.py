"""``airbnb bootstrap``: create an environment's catalog objects, idempotently, from the catalogue.

In catalog mode, before the first run: one ``CREATE SCHEMA IF NOT EXISTS`` per layer, ``CREATE
VOLUME IF NOT EXISTS`` for the landing zone and the lakehouse root when they are Unity Catalog
volumes (``/Volumes/<catalog>/<schema>/<volume>/...``, Databricks only: the local catalog profile's
``spark_catalog`` has no volumes, so the landing *folder* is created instead), and ``CREATE TABLE
IF NOT EXISTS`` for every catalogued table with a declared schema, with the table's and each
column's ``COMMENT`` from the data dictionary (:mod:`~airbnb_assets.platform.tables`). Tables whose
columns come from a domain module (bronze, silver, gold) are created by their first write, which
also sets their comment (:class:`~airbnb_assets.platform.lakehouse.LakehouseResource`).

:func:`bootstrap_statements` is the pure SQL; :func:`run_bootstrap` runs it and says what it
created and what it found; :data:`bootstrap_job` is the same as a Dagster job. Running it again
creates nothing.
"""

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import dagster as dg
from pyspark.sql import types as T

from airbnb_assets.platform.databricks import SparkStep
from airbnb_assets.platform.lakehouse import LakehouseResource
from airbnb_assets.platform.tables import TABLES, Table
from airbnb_assets.platform.writes import sql_string

#: The schema of the registered model (``<catalog>.ml.airbnb_price``); it holds no table.
MODEL_SCHEMA = "ml"
#: Comment of each schema (layer) the bootstrap creates.
SCHEMA_COMMENTS = {
    "bronze": "Raw landed rows, all strings, with provenance (Auto Loader).",
    "silver": "Typed, validated listings and their quarantine.",
    "gold": "Model-ready features and the daily price predictions.",
    "ops": "Operational ledgers: landed files, data quality; the lakehouse volume (checkpoints, artefacts).",
    "monitoring": "Drift history.",
    "landing": "The landing volume: snapshot files as delivered.",
    MODEL_SCHEMA: "Registered models (MLflow in Unity Catalog: <catalog>.ml.airbnb_price).",
}


@dataclass(frozen=True)
class Volume:
    """A Unity Catalog volume: ``catalog.schema.name``, external when ``location`` is set."""

    catalog: str
    schema: str
    name: str
    comment: str = ""
    location: str | None = None

    @property
    def full_name(self) -> str:
        """``catalog.schema.name``."""
        return f"{self.catalog}.{self.schema}.{self.name}"


def volume_of(path: str, comment: str = "", location: str | None = None) -> Volume | None:
    """The volume a ``/Volumes/<catalog>/<schema>/<volume>/...`` path lives in, else ``None``."""
    parts = path.split("/")
    if len(parts) < 5 or parts[0] != "" or parts[1] != "Volumes" or not all(parts[2:5]):
        return None
    return Volume(parts[2], parts[3], parts[4], comment, location)


@dataclass(frozen=True)
class Step:
    """One idempotent statement of the bootstrap and the object it creates."""

    kind: str  # schema | volume | table
    name: str
    sql: str


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _comment(text: str | None) -> str:
    return f" COMMENT {sql_string(text)}" if text else ""


def column_ddl(column: T.StructField) -> str:
    """``name TYPE [NOT NULL] COMMENT '...'`` of a declared column."""
    ddl = f"{_quote(column.name)} {column.dataType.simpleString()}"
    if not column.nullable:
        ddl += " NOT NULL"
    return ddl + _comment(column.metadata.get("comment"))


def create_table_sql(catalog: str, table: Table, location: str | None = None) -> str:
    """``CREATE TABLE IF NOT EXISTS`` of a table with a declared schema (Delta, comments, partitioning)."""
    if table.schema is None:
        raise ValueError(f"{table.name} has no declared schema ({table.columns_from})")
    columns = ",\n  ".join(column_ddl(c) for c in table.schema.fields)
    sql = (
        f"CREATE TABLE IF NOT EXISTS {catalog}.{table.schema_name}.{table.table_name} (\n  {columns}\n) "
        "USING DELTA"
    )
    if table.partition_by:
        sql += f" PARTITIONED BY ({_quote(table.partition_by)})"
    if location:
        sql += f" LOCATION {sql_string(location)}"
    return sql + _comment(table.description)


def bootstrap_plan(
    catalog: str,
    tables: Iterable[Table] = TABLES,
    *,
    volumes: Sequence[Volume] = (),
    location: Callable[[Table], str] | None = None,
) -> list[Step]:
    """The bootstrap's steps in order: schemas, then volumes, then the tables with a declared schema.

    ``location`` gives an external location per table (the local catalog profile); Unity Catalog
    tables are managed (no location).
    """
    tables = list(tables)
    schemas = [(catalog, t.schema_name) for t in tables] + [(catalog, MODEL_SCHEMA)]
    schemas += [(v.catalog, v.schema) for v in volumes]
    steps = []
    for cat, schema in dict.fromkeys(schemas):
        comment = SCHEMA_COMMENTS.get(schema)
        sql = f"CREATE SCHEMA IF NOT EXISTS {cat}.{schema}"
        steps.append(Step("schema", f"{cat}.{schema}", sql + _comment(comment)))
    for v in volumes:
        kind = "EXTERNAL VOLUME" if v.location else "VOLUME"
        sql = f"CREATE {kind} IF NOT EXISTS {v.full_name}"
        if v.location:
            sql += f" LOCATION {sql_string(v.location)}"
        steps.append(Step("volume", v.full_name, sql + _comment(v.comment)))
    for t in tables:
        if t.schema is not None:
            sql = create_table_sql(catalog, t, location(t) if location else None)
            steps.append(Step("table", f"{catalog}.{t.schema_name}.{t.table_name}", sql))
    return steps


def bootstrap_statements(
    catalog: str,
    tables: Iterable[Table] = TABLES,
    *,
    volumes: Sequence[Volume] = (),
    location: Callable[[Table], str] | None = None,
) -> list[str]:
    """The bootstrap's SQL statements, in order (pure: no Spark; see :func:`bootstrap_plan`)."""
    return [s.sql for s in bootstrap_plan(catalog, tables, volumes=volumes, location=location)]


@dataclass
class BootstrapReport:
    """What a bootstrap did: one ``(outcome, kind, name)`` per object.

    Outcomes: ``created``, ``found`` (already there), ``deferred`` (a table created by its first
    write), ``planned`` (a dry run).
    """

    catalog: str | None
    objects: list[tuple[str, str, str]] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)

    def names(self, outcome: str) -> list[str]:
        """Names of the objects with the given outcome."""
        return [name for o, _, name in self.objects if o == outcome]

    def lines(self) -> list[str]:
        """One line per object, for the CLI and the job's log."""
        return [f"{outcome:<9}{kind:<8}{name}" for outcome, kind, name in self.objects]


def lakehouse_volumes(lakehouse: LakehouseResource, landing_location: str | None = None) -> list[Volume]:
    """The volumes of a Databricks lakehouse: the landing zone's and the root's (checkpoints, artefacts)."""
    if lakehouse.platform != "databricks":
        return []
    found = [
        volume_of(lakehouse.landing_path, "Landed snapshot files (Auto Loader's source)", landing_location),
        volume_of(
            lakehouse.root,
            "Checkpoints, Auto Loader schemas and artefacts (reports, dashboard, alerts)",
        ),
    ]
    unique: dict[str, Volume] = {}
    for v in found:
        if v is not None:
            unique.setdefault(v.full_name, v)
    return list(unique.values())


def _exists(lakehouse: LakehouseResource, step: Step) -> bool:
    spark = lakehouse.session
    if step.kind == "schema":
        return bool(spark.catalog.databaseExists(step.name))
    if step.kind == "table":
        return bool(spark.catalog.tableExists(step.name))
    cat, schema, name = step.name.split(".")
    return spark.sql(f"SHOW VOLUMES IN {cat}.{schema} LIKE {sql_string(name)}").count() > 0


def run_bootstrap(
    lakehouse: LakehouseResource,
    tables: Iterable[Table] = TABLES,
    *,
    landing_location: str | None = None,
    dry_run: bool = False,
) -> BootstrapReport:
    """Create what :func:`bootstrap_plan` declares for ``lakehouse``; report what was created and found.

    ``landing_location`` (``abfss://...``) makes the landing volume external at that location (UC
    external location required). In path mode there is no catalog: only the landing folder is made.
    With ``dry_run`` nothing is run and no Spark is started: the statements are returned.
    """
    tables = list(tables)
    report = BootstrapReport(lakehouse.catalog)
    if lakehouse.catalog:
        location = lakehouse.path if lakehouse.external_tables else None
        volumes = lakehouse_volumes(lakehouse, landing_location)
        plan = bootstrap_plan(lakehouse.catalog, tables, volumes=volumes, location=location)
        report.statements = [s.sql for s in plan]
        for step in plan:
            if dry_run:
                report.objects.append(("planned", step.kind, step.name))
            elif _exists(lakehouse, step):
                report.objects.append(("found", step.kind, step.name))
            else:
                lakehouse.session.sql(step.sql)
                report.objects.append(("created", step.kind, step.name))
        for t in tables:
            if t.schema is None:
                name = lakehouse.identifier(t)
                exists = not dry_run and lakehouse.exists(t)
                report.objects.append(("found" if exists else "deferred", "table", name))
    if lakehouse.platform != "databricks" or not lakehouse.catalog:
        outcome = "planned" if dry_run else ("found" if os.path.isdir(lakehouse.landing_path) else "created")
        if not dry_run:
            lakehouse.ensure_landing()
        report.objects.append((outcome, "folder", lakehouse.landing_path))
    return report


class BootstrapConfig(dg.Config):
    """Run configuration of :data:`bootstrap_job`."""

    landing_location: str | None = None


@dg.op(description="Create the catalog's schemas, volumes and declared tables (idempotent).")
def bootstrap_catalog(
    context: dg.OpExecutionContext,
    config: BootstrapConfig,
    lakehouse: LakehouseResource,
    pyspark_step_launcher: SparkStep,
) -> list[str]:
    """Run :func:`run_bootstrap` on the environment's lakehouse; log and return one line per object."""
    report = run_bootstrap(lakehouse, landing_location=config.landing_location)
    for line in report.lines():
        context.log.info(line)
    return report.lines()


@dg.job(
    name="bootstrap_job",
    executor_def=dg.in_process_executor,
    description="`airbnb bootstrap` as a job: schemas, landing volume and commented tables, idempotently.",
)
def bootstrap_job() -> None:
    """Create the environment's catalog objects (on Databricks, on a cluster through the launcher)."""
    bootstrap_catalog()
