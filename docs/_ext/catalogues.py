"""Sphinx extension: write the catalogue pages from the package's own declarations.

On ``builder-inited`` (before any document is read) this writes reStructuredText fragments into
``docs/_generated/``; the hand-written pages only ``.. include::`` them, so a rule, a column or a
feature that is declared in code appears in the docs on the next build, and nothing is copied by
hand:

* ``expectations.rst``   ← ``airbnb_assets.silver.expectations.EXPECTATIONS``
* ``data_dictionary.rst`` ← the table catalogue ``airbnb_assets.platform.tables.TABLES``: per
  table its location (through ``LakehouseResource``), description, keys, partition column,
  Dagster asset, and columns: ``struct_table(table.schema)`` when the catalogue declares the
  schema, else the renderer of :data:`DOMAIN_COLUMNS` for the domain declaration its
  ``columns_from`` names (``silver.schema``, ``gold.features``, ``ingest.bronze``); then the ML
  feature contract (``ml.contract.CONTRACT``)
* ``assets.rst``          ← the Dagster ``Definitions`` of ``airbnb_assets.definitions``

Adding a declaration
--------------------
Each page is a :class:`Page` made of :class:`Section` entries listed by :func:`pages`. A section
names the modules it reads and a function that turns those modules into lines of RST. Generic
renderers cover the usual declaration shapes:

* :func:`struct_table` for a Spark ``StructType`` (a field's ``metadata["comment"]``, if any,
  becomes its description),
* :func:`records_table` for a sequence of dataclass-like records (pick the attributes to show),
* :func:`mapping_table` for a ``dict``.

For example, the feature contract is one entry::

    Section("ML feature contract", ("airbnb_assets.ml.contract",),
            lambda m: records_table(m.CONTRACT, ["name", "spark_type", "kind"])),

A new *table* needs no entry here: add it to ``TABLES`` in ``airbnb_assets/platform/tables.py``
and the data dictionary lists it. Only a table whose columns come from a domain declaration
(``columns_from`` instead of ``schema``) may add a renderer to :data:`DOMAIN_COLUMNS`; without
one, its ``columns_from`` text is shown.

A section whose module does not exist (yet) is skipped with an info message, not an error. Any
other import error, or a missing attribute in a module that does exist, fails the build: a
renamed declaration must not silently disappear from the docs.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: Folder (relative to the Sphinx source dir) the fragments are written to; git-ignored.
OUT_DIR = "_generated"
#: Hand-written runbook whose ``.. _rule-<name>:`` labels the expectations table links to.
RUNBOOK = "runbook.rst"

Render = Callable[..., list[str]]


@dataclasses.dataclass(frozen=True)
class Section:
    """One titled block of a generated page (an empty title adds no heading).

    ``render`` receives the imported ``modules`` (positionally, in order) and returns RST lines.
    """

    title: str
    modules: tuple[str, ...]
    render: Render
    intro: str = ""
    label: str = ""  # an RST target ``.. _<label>:`` before the heading


@dataclasses.dataclass(frozen=True)
class Page:
    """A generated fragment ``docs/_generated/<filename>``."""

    filename: str
    intro: str
    sections: tuple[Section, ...]


# -- RST helpers ------------------------------------------------------------------------------------

_INLINE_SPECIALS = re.compile(r"([\\`*|_])")


def text(value: Any) -> str:
    """Plain text for a table cell or paragraph: inline markup characters are escaped."""
    if value is None:
        return ""
    return _INLINE_SPECIALS.sub(r"\\\1", " ".join(str(value).split()))


def literal(value: Any) -> str:
    """Inline code for any string (falls back to the ``:code:`` role when ```` is inside)."""
    raw = " ".join(str(value).split())
    if not raw:
        return ""
    if "``" not in raw and not raw.startswith(("`", " ")) and not raw.endswith(("`", " ", "\\")):
        return f"``{raw}``"
    escaped = raw.replace("\\", "\\\\").replace("`", "\\`")
    return f":code:`{escaped}`"


def heading(title: str, char: str = "-") -> list[str]:
    """A section title (``-`` under the page title ``=``, ``~`` below that)."""
    return [title, char * max(len(title), 3), ""]


def list_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    widths: Sequence[int] | None = None,
    name: str | None = None,
) -> list[str]:
    """A ``list-table`` directive; cells are RST already (use :func:`text` / :func:`literal`)."""
    rows = list(rows)
    if not rows:
        return ["*(none declared)*", ""]
    out = [".. list-table::", "   :header-rows: 1", "   :class: catalogue"]
    if widths:
        out.append(f"   :widths: {' '.join(str(w) for w in widths)}")
    if name:
        out.append(f"   :name: {name}")
    out.append("")
    for row in [list(headers), *rows]:
        if len(row) != len(headers):
            raise ValueError(f"row {row!r} has {len(row)} cells, expected {len(headers)}")
        for i, cell in enumerate(row):
            cell = cell.strip() or "\\-"
            out.append(f"   {'* -' if i == 0 else '  -'} {cell}")
    out.append("")
    return out


def struct_table(schema: Any) -> list[str]:
    """A Spark ``StructType``: column, Spark SQL type, nullable, and comment when any is set."""
    fields = list(schema.fields)
    comments = [(f.metadata or {}).get("comment", "") for f in fields]
    headers = ["Column", "Type", "Nullable"] + (["Description"] if any(comments) else [])
    rows = []
    for f, comment in zip(fields, comments, strict=True):
        row = [literal(f.name), literal(f.dataType.simpleString()), "yes" if f.nullable else "no"]
        rows.append(row + ([text(comment)] if any(comments) else []))
    return list_table(headers, rows, widths=[3, 2, 1, 6] if any(comments) else [3, 2, 1])


def records_table(
    records: Iterable[Any],
    attributes: Sequence[str],
    headers: Sequence[str] | None = None,
    code: Sequence[str] = ("name",),
    widths: Sequence[int] | None = None,
) -> list[str]:
    """Dataclass-like records, one row each; ``code`` attributes are shown as inline code."""
    rows = [
        [literal(getattr(r, a)) if a in code else text(getattr(r, a)) for a in attributes] for r in records
    ]
    return list_table(headers or [a.replace("_", " ").capitalize() for a in attributes], rows, widths)


def mapping_table(mapping: Mapping[Any, Any], headers: Sequence[str]) -> list[str]:
    """A ``dict`` as a two-column table of inline code."""
    return list_table(headers, [[literal(k), literal(v)] for k, v in mapping.items()], widths=[1, 1])


# -- expectations -----------------------------------------------------------------------------------


def runbook_labels(srcdir: Path) -> set[str]:
    """The ``rule-<name>`` labels defined in the runbook (used to link each rule to its advice)."""
    path = srcdir / RUNBOOK
    if not path.exists():
        return set()
    return set(re.findall(r"^\.\. _(rule-[\w-]+):\s*$", path.read_text(encoding="utf-8"), re.M))


def render_expectations(expectations: ModuleType, assets: ModuleType, *, labels: set[str]) -> list[str]:
    """The declared rules as a list-table, with the Dagster check each one reports to."""
    rules = expectations.EXPECTATIONS
    counts = {a: sum(1 for r in rules if r.action == a) for a in ("fail", "drop", "warn")}
    out = [
        f"{len(rules)} rules are declared in ``airbnb_assets.silver.expectations.EXPECTATIONS``: "
        + ", ".join(f"{n} ``{a}``" for a, n in counts.items())
        + ". Each rule is reported by a Dagster asset check on ``silver/listings``; a blocking "
        "check stops the assets downstream of it when it fails.",
        "",
    ]
    blocking = {c.name: c.blocking for c in assets.silver_listings.check_specs}
    rows = []
    for r in rules:
        label = f"rule-{r.name}"
        advice = f":ref:`runbook <{label}>`" if label in labels else ""
        if not advice:
            logger.info(f"[catalogues] no runbook entry '.. _{label}:' for rule {r.name}")
        name = assets.check_name(r)
        if name not in blocking:
            raise ValueError(f"rule {r.name!r} has no asset check {name!r} on silver_listings")
        check = literal(name) + (" (blocking)" if blocking[name] else "")
        rows.append(
            [literal(r.name), f"**{r.action}**", literal(r.predicate), text(r.description), check, advice]
        )
    out += list_table(
        ["Rule", "Action", "SQL predicate (true = pass)", "Description", "Dagster check", "When it fails"],
        rows,
        widths=[3, 1, 5, 5, 3, 2],
        name="expectations-table",
    )
    return out


# -- data dictionary --------------------------------------------------------------------------------


def render_silver(schema: ModuleType) -> list[str]:
    """``silver/listings``: declared columns (type from their parser) and the audit columns."""
    rows = [
        [literal(c.name), literal(c.spark_type), literal(c.parser), text(c.description)]
        for c in schema.SILVER_COLUMNS
    ]
    rows += [
        [literal(name), literal(kind), role, text(desc)]
        for columns, role in ((schema.AUDIT_COLUMNS, "*audit*"), (schema.SILVER_ONLY, "*silver only*"))
        for name, kind, desc in columns
    ]
    return [
        "One row per listing and snapshot: ``SILVER_COLUMNS`` (typed by their parser) followed by "
        "``AUDIT_COLUMNS`` and ``SILVER_ONLY`` (``airbnb_assets.silver.schema``).",
        "",
        *list_table(["Column", "Type", "Parser", "Description"], rows, widths=[3, 1, 1, 7]),
        *heading("Header aliases", "~"),
        "Source header variants folded into one silver column "
        "(``airbnb_assets.silver.schema.HEADER_ALIASES``).",
        "",
        *render_aliases(schema),
    ]


def render_aliases(schema: ModuleType) -> list[str]:
    """The header alias map: source header variants folded into one silver column."""
    return mapping_table(schema.HEADER_ALIASES, ["Source header", "Silver column"])


def render_gold(features: ModuleType, schema: ModuleType) -> list[str]:
    """``gold/listing_features``: keys, the declared features (typed) and the target."""
    silver = {c.name: c for c in schema.SILVER_COLUMNS}
    audit = {name: desc for name, _, desc in schema.AUDIT_COLUMNS}
    rows = [[literal(k), "key", "", "", text(audit.get(k, "Row key."))] for k in features.KEYS]
    rows += [
        [
            literal(f.name),
            f"feature ({f.kind})",
            literal(f.spark_type),
            literal(f.expression),
            text(f.description),
        ]
        for f in features.FEATURES
    ]
    target = silver.get(features.TARGET)
    rows.append(
        [
            literal(features.TARGET),
            "target (nullable)",
            literal(target.spark_type) if target else "",
            literal(features.TARGET),
            text(target.description if target else ""),
        ]
    )
    return [
        "Keys ``KEYS``, features ``FEATURES`` and target ``TARGET`` (``airbnb_assets.gold.features``).",
        "",
        *list_table(
            ["Column", "Role", "Type", "Expression over silver", "Description"],
            rows,
            widths=[3, 2, 1, 5, 5],
        ),
    ]


def render_bronze(bronze: ModuleType, schema: ModuleType) -> list[str]:
    """``bronze/listings``: source columns as landed, plus the declared provenance columns."""
    audit = {name: desc for name, _, desc in schema.AUDIT_COLUMNS}
    # Provenance columns carry no descriptions of their own; borrow silver's audit descriptions.
    rows = [[literal(p), text(audit.get(p) or audit.get(p.lstrip("_"), ""))] for p in bronze.PROVENANCE]
    return [
        "Every column of each landed file's own header, as a string, mapped by name (never by "
        "position); a file with new columns adds them (Delta ``mergeSchema``), so the table is the "
        "union of all source headers. Provenance columns added to every row "
        "(``airbnb_assets.ingest.bronze.PROVENANCE``):",
        "",
        *list_table(["Column", "Description (from silver ``AUDIT_COLUMNS``)"], rows, widths=[1, 3]),
    ]


@dataclasses.dataclass(frozen=True)
class Columns:
    """The columns of a table declared by a domain module (its ``Table.columns_from``)."""

    modules: tuple[str, ...]
    render: Render


#: Renderers for the catalogued tables without a ``schema``, by table name. A name that is not in
#: ``TABLES`` fails the build (a renamed table must not leave a stale renderer behind).
DOMAIN_COLUMNS: dict[str, Columns] = {
    "bronze/listings": Columns(("airbnb_assets.ingest.bronze", "airbnb_assets.silver.schema"), render_bronze),
    "silver/listings": Columns(("airbnb_assets.silver.schema",), render_silver),
    "gold/listing_features": Columns(
        ("airbnb_assets.gold.features", "airbnb_assets.silver.schema"), render_gold
    ),
}

#: What stands in for the environment's parts in the table locations shown.
LOCAL_ROOT = "<root>/<env>"
UC_CATALOG = "<catalog>"


def partitioning(partitions_def: Any) -> str:
    """How an asset is partitioned, in a word: ``daily`` or ``none``."""
    import dagster as dg

    if partitions_def is None:
        return "none"
    if isinstance(partitions_def, dg.DailyPartitionsDefinition):
        return "daily"
    return text(type(partitions_def).__name__)


#: What each partitioning means for an asset of this code location (``airbnb_assets.partitions``).
PARTITIONING_MEANS = {
    "none": "unpartitioned, incremental: each run processes what is new since its checkpoint",
    "daily": "daily partitions: one partition = one processing day; a backfill of a day redoes it",
}


def asset_partitions(definitions: ModuleType) -> dict[str, str]:
    """Each asset key of the code location → its partitioning (:func:`partitioning`)."""
    out = {}
    for assets_def in definitions.defs.assets or ():
        for spec in assets_def.specs:
            out[spec.key.to_user_string()] = partitioning(assets_def.partitions_def)
    return out


def writer_of(table: Any, definitions: ModuleType) -> str | None:
    """For a table that is no asset of its own: the asset whose description names it, if any."""
    for assets_def in definitions.defs.assets or ():
        for spec in assets_def.specs:
            if spec.key != table.key and table.table_name in (spec.description or ""):
                return spec.key.to_user_string()
    return None


def asset_cell(table: Any, definitions: ModuleType, *, long: bool) -> str:
    """The table's Dagster asset and partitioning, or the asset that writes it."""
    how = asset_partitions(definitions).get(table.key.to_user_string())
    if how is not None:
        meaning = PARTITIONING_MEANS.get(how, how)
        return f"{literal(table.key.to_user_string())}, {text(meaning)}" if long else text(how)
    writer = writer_of(table, definitions)
    if writer is None:
        return "none of its own (written by another asset)" if long else "not an asset"
    if long:
        return f"none of its own: written by {literal(writer)}, with its partition"
    return f"written by {literal(writer)}"


def table_locations(lakehouse: ModuleType, spark: ModuleType, table: Any) -> tuple[str, str]:
    """The local path and the Unity Catalog name of ``table``, as ``LakehouseResource`` derives them."""

    def resource(catalog: str | None) -> Any:
        return lakehouse.LakehouseResource(
            root=LOCAL_ROOT, landing_path="", catalog=catalog, spark=spark.SparkResource()
        )

    return resource(None).path(table), resource(UC_CATALOG).identifier(table)


def render_tables_overview(tables: ModuleType, definitions: ModuleType) -> list[str]:
    """One row per catalogued table: name, keys, partition column, Dagster partitioning."""
    rows = [
        [
            f":ref:`{table.name} <table-{table.schema_name}-{table.table_name}>`",
            ", ".join(literal(k) for k in table.keys),
            literal(table.partition_by) if table.partition_by else "",
            asset_cell(table, definitions, long=False),
            text(table.description),
        ]
        for table in tables.TABLES
    ]
    return list_table(
        ["Table", "Key columns", "Partition column", "Dagster partitions", "Description"],
        rows,
        widths=[3, 3, 2, 2, 6],
    )


def render_table(
    table_name: str,
    tables: ModuleType,
    lakehouse: ModuleType,
    spark: ModuleType,
    definitions: ModuleType,
) -> list[str]:
    """One catalogued table: location, keys, partitioning and its columns."""
    table = tables.by_name(table_name)
    local, uc = table_locations(lakehouse, spark, table)
    asset = asset_cell(table, definitions, long=True)
    out = [
        text(table.description),
        "",
        f":Local Delta table: {literal(local)}",
        f":Unity Catalog: {literal(uc)}",
        f":Key columns: {', '.join(literal(k) for k in table.keys) or '—'}",
        f":Partition column: {literal(table.partition_by) if table.partition_by else 'none'}",
        f":Dagster asset: {asset}",
    ]
    if table.schema is not None:
        out += [
            f":Columns: declared in the catalogue (``{tables.__name__}``)",
            "",
            *struct_table(table.schema),
        ]
        return out
    out += [f":Columns: {table.columns_from or '*not declared*'}", ""]
    domain = DOMAIN_COLUMNS.get(table.name)
    if domain is None:
        return out
    modules = [import_optional(m) for m in domain.modules]
    if any(m is None for m in modules):
        absent = [n for n, m in zip(domain.modules, modules, strict=True) if m is None]
        logger.info(f"[catalogues] columns of {table.name} skipped ({', '.join(absent)} absent)")
        return out
    return out + domain.render(*modules)


def table_sections(tables: ModuleType) -> tuple[Section, ...]:
    """A section per table of ``TABLES`` (in its order), labelled ``table-<schema>-<table>``."""
    names = {t.name for t in tables.TABLES}
    stale = sorted(set(DOMAIN_COLUMNS) - names)
    if stale:
        raise ValueError(f"DOMAIN_COLUMNS names tables that are not in TABLES: {', '.join(stale)}")
    modules = (
        "airbnb_assets.platform.tables",
        "airbnb_assets.platform.lakehouse",
        "airbnb_assets.platform.spark",
        "airbnb_assets.definitions",
    )
    return tuple(
        Section(
            t.name,
            modules,
            lambda *m, name=t.name: render_table(name, *m),
            label=f"table-{t.schema_name}-{t.table_name}",
        )
        for t in tables.TABLES
    )


# -- asset catalogue --------------------------------------------------------------------------------


def render_assets(definitions: ModuleType) -> list[str]:
    """Assets (key, group, upstream, description) and asset checks of the code location."""
    defs = definitions.defs
    asset_rows, check_rows = [], []
    for assets_def in defs.assets or ():
        node = assets_def.node_def.name
        for spec in assets_def.specs:
            deps = ", ".join(literal(d.asset_key.to_user_string()) for d in spec.deps)
            asset_rows.append(
                [
                    literal(spec.key.to_user_string()),
                    text(spec.group_name),
                    partitioning(assets_def.partitions_def),
                    literal(node),
                    deps,
                    text(spec.description),
                ]
            )
        for check in assets_def.check_specs:
            check_rows.append(
                [
                    literal(check.name),
                    literal(check.asset_key.to_user_string()),
                    "yes" if check.blocking else "no",
                    text(check.description),
                ]
            )
    out = heading("Assets", "~")
    out += list_table(
        ["Asset key", "Group", "Partitions", "Op", "Upstream", "Description"],
        asset_rows,
        widths=[3, 1, 1, 3, 3, 6],
    )
    out += heading("Asset checks", "~")
    out += list_table(["Check", "Asset", "Blocking", "Description"], check_rows, widths=[4, 3, 1, 6])
    job_rows = []
    for job in defs.jobs or ():
        job_rows.append(
            [
                literal(job.name),
                partitioning(getattr(job, "partitions_def", None)),
                text(getattr(job, "description", "") or ""),
            ]
        )
    out += heading("Jobs, schedules and sensors", "~")
    out += list_table(["Job", "Partitions", "Description"], job_rows, widths=[1, 1, 4])
    sched_rows = [
        [literal(s.name), literal(s.job_name), literal(s.cron_schedule), text(s.execution_timezone)]
        for s in defs.schedules or ()
    ]
    out += list_table(["Schedule", "Job", "Cron", "Timezone"], sched_rows, widths=[2, 2, 2, 2])
    sensor_rows = [
        [
            literal(s.name),
            ", ".join(literal(j.name) for j in s.jobs) if s.has_jobs else "none (launches no run)",
            text(s.default_status.value.lower()),
            text(s.description),
        ]
        for s in defs.sensors or ()
    ]
    out += list_table(
        ["Sensor", "Jobs it may launch", "Default status", "Description"], sensor_rows, widths=[2, 2, 1, 5]
    )
    return out


# -- the pages --------------------------------------------------------------------------------------


def pages(labels: set[str]) -> tuple[Page, ...]:
    """Every generated page. Add new declarations here (see the module docstring)."""
    # The table catalogue decides which tables the data dictionary lists; it must import.
    tables = importlib.import_module("airbnb_assets.platform.tables")
    return (
        Page(
            "expectations.rst",
            "",
            (
                Section(
                    "Declared rules",
                    ("airbnb_assets.silver.expectations", "airbnb_assets.silver.assets"),
                    lambda e, a: render_expectations(e, a, labels=labels),
                ),
            ),
        ),
        Page(
            "data_dictionary.rst",
            "",
            (
                Section(
                    "",
                    ("airbnb_assets.platform.tables", "airbnb_assets.definitions"),
                    render_tables_overview,
                ),
                *table_sections(tables),
                Section(
                    "ML feature contract",
                    ("airbnb_assets.ml.contract",),
                    lambda m: records_table(m.CONTRACT, ["name", "spark_type", "kind"]),
                    "The model's inputs: scoring selects and casts exactly these columns of "
                    "``gold/listing_features`` (``airbnb_assets.ml.contract.CONTRACT``, derived "
                    "from the gold feature list).",
                    label="ml-feature-contract",
                ),
            ),
        ),
        Page(
            "assets.rst",
            "",
            (Section("", ("airbnb_assets.definitions",), render_assets),),
        ),
        Page(
            "reliability.rst",
            "",
            (
                Section(
                    "",
                    ("airbnb_assets_tests.reliability.cases",),
                    lambda m: records_table(
                        m.CASES,
                        ["id", "given", "gets", "test"],
                        headers=["Case", "Given", "What the pipeline does", "Test"],
                        code=("id", "test"),
                        widths=[2, 4, 7, 3],
                    ),
                ),
            ),
        ),
    )


def import_optional(name: str) -> ModuleType | None:
    """Import ``name``; ``None`` if that module (or a parent package) does not exist."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (name == missing or name.startswith(missing + ".")):
            return None
        raise


def render_page(page: Page) -> str:
    """The RST of one page; sections whose modules are missing are skipped."""
    lines = [
        ".. Generated by docs/_ext/catalogues.py from the package's declarations; do not edit.",
        "",
    ]
    if page.intro:
        lines += [page.intro, ""]
    for section in page.sections:
        modules = [import_optional(m) for m in section.modules]
        if any(m is None for m in modules):
            absent = [n for n, m in zip(section.modules, modules, strict=True) if m is None]
            logger.info(
                f"[catalogues] {page.filename}: skipped {section.title!r} ({', '.join(absent)} absent)"
            )
            continue
        if section.label:
            lines += [f".. _{section.label}:", ""]
        if section.title:  # an untitled section continues the including page's section
            lines += heading(section.title)
        if section.intro:
            lines += [section.intro, ""]
        lines += section.render(*modules)
    return "\n".join(lines).rstrip() + "\n"


def write_if_changed(path: Path, content: str) -> bool:
    """Write ``content`` unless the file already holds it (keeps incremental builds incremental)."""
    if path.exists() and path.read_text(encoding="utf-8") == content:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return True


def generate(app: Sphinx) -> None:
    """``builder-inited`` handler: write every page of :func:`pages` into ``<srcdir>/_generated``."""
    srcdir = Path(app.srcdir)
    out = srcdir / OUT_DIR
    for page in pages(runbook_labels(srcdir)):
        changed = write_if_changed(out / page.filename, render_page(page))
        logger.info(f"[catalogues] {OUT_DIR}/{page.filename} {'written' if changed else 'unchanged'}")


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the generator."""
    app.connect("builder-inited", generate)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
