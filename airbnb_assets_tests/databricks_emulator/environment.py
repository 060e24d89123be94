"""The emulated cluster's Python: Databricks Runtime 17.3 LTS, then exactly the libraries a run asks for.

Nothing here is the orchestrator's environment. Three layers, each a folder under
:data:`CACHE` (the user's cache, shared by every checkout, as uv's and Ivy's are), built once and
keyed by what it holds:

1. **The runtime** (``runtime-<key>``): CPython 3.12 (pyenv's, or ``EMULATOR_PYTHON``) with the
   runtime's preinstalled libraries at their versions (:data:`DBR_LIBRARIES`, with its source),
   pyspark 4.0.0 and delta-spark 4.0.0, and Delta's jars in the runtime's own Ivy folder (resolved
   once, here: no cluster start touches the orchestrator's ``~/.ivy2.5.2``). Key: the
   interpreter's version and the list.
2. **The run's PyPI libraries** (``libraries-<key>``): a virtual environment that sees the
   runtime's packages through a ``.pth`` line and gets ``pip install`` of the requested pins, as a
   cluster's library installation does (a pin the index lacks, or one that conflicts with
   another, fails with pip's message). Key: the runtime's key and the sorted pins. Caching it is
   the emulator's one shortcut: a real cluster installs them at every start.
3. **The cluster** (``<cluster dir>/python``): a fresh environment seeing layers 2 and 1, into
   which the run's wheels are installed (their dependencies must already be satisfied).

The project's code reaches a cluster only as the wheel a run names or the step launcher's zip.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from filelock import FileLock

from airbnb_assets.platform.session import existing_jars

REPO = Path(__file__).resolve().parents[2]
#: Where the built environments live: ``EMULATOR_CACHE``, else ``airbnb_assets/emulator`` in the
#: user's cache (``XDG_CACHE_HOME``, ``~/.cache``). Every layer is keyed by its content, so checkouts
#: share them safely, and a fresh clone does not build the runtime again (about 3 minutes).
CACHE = Path(
    os.environ.get("EMULATOR_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "airbnb_assets" / "emulator"
)
#: The runtime's preinstalled Python libraries (Databricks Runtime 17.3 LTS release notes).
DBR_LIBRARIES = Path(__file__).with_name("dbr_17_3.txt")
#: What the runtime ships outside the table: Spark's Python API, and Delta's (its jars on Spark).
RUNTIME_EXTRAS = ("pyspark==4.0.0", "delta-spark==4.0.0")
PYTHON_VERSION = "3.12"


class LibraryInstallError(RuntimeError):
    """A library the run asked for could not be installed (the installer's output is the message)."""


def dbr_pins() -> dict[str, str]:
    """The runtime's libraries as ``{normalized name: version}``."""
    pins = {}
    for line in DBR_LIBRARIES.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[normalize(name)] = version.strip()
    return pins


def normalize(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def python312() -> str:
    """The CPython 3.12 interpreter the runtime is built on."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [os.environ.get("EMULATOR_PYTHON")]
    candidates += [str(p / "bin" / "python3.12") for p in sorted(pyenv.glob("3.12*"), reverse=True)]
    candidates += [shutil.which("python3.12")]
    for candidate in candidates:
        if candidate and os.path.exists(candidate) and "shims" not in candidate and ".venv" not in candidate:
            return candidate
    raise RuntimeError(
        "the emulated Databricks runtime needs CPython 3.12 (pyenv install 3.12, or EMULATOR_PYTHON)"
    )


def _key(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def uv_command() -> list[str]:
    """``uv`` (on the path, or as this interpreter's module)."""
    uv = shutil.which("uv")
    return [uv] if uv else [sys.executable, "-m", "uv"]


def site_packages(env: Path) -> Path:
    """The ``site-packages`` folder of a virtual environment built here."""
    return env / "lib" / f"python{PYTHON_VERSION}" / "site-packages"


def runtime() -> Path:
    """Layer 1, built on first use: the runtime's Python with its preinstalled libraries."""
    python = python312()
    version = subprocess.run([python, "--version"], capture_output=True, text=True, check=True).stdout
    target = CACHE / f"runtime-{_key(version, DBR_LIBRARIES.read_text(), *RUNTIME_EXTRAS, 'ivy', 'pyc')}"
    if (target / ".ready").exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / ".ready").exists():
            return target
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run([*uv_command(), "venv", "-q", "--python", python, str(target)], check=True)
        subprocess.run(
            [
                *uv_command(),
                "pip",
                "install",
                "-q",
                "--compile-bytecode",  # a runtime's image ships its libraries compiled
                "--python",
                str(target / "bin" / "python"),
                "--only-binary",
                ":all:",
                "--no-binary",
                "pyspark",  # pyspark is published as source
                "-r",
                str(DBR_LIBRARIES),
                *RUNTIME_EXTRAS,
            ],
            check=True,
        )
        _resolve_delta_jars(target)
        (target / ".ready").touch()
    return target


#: Where a runtime keeps Delta's jars (Ivy's cache): DBR ships them; here they are resolved once,
#: while the runtime is built, so no cluster start shares or races the orchestrator's ``~/.ivy2.5.2``.
def ivy_dir(runtime_env: Path) -> Path:
    """The runtime's own Ivy folder (``spark.jars.ivy`` of every emulated cluster's driver)."""
    return runtime_env / "ivy"


def _resolve_delta_jars(runtime_env: Path) -> None:
    """Start and stop the runtime's Spark once so that Ivy fetches Delta's jars into its own folder.

    The jars that start resolved are listed in the folder (:func:`delta_jars`), for the drivers.
    """
    script = (
        "import sys; from delta import configure_spark_with_delta_pip as c; "
        "from pyspark.sql import SparkSession as S; "
        "b = S.builder.master('local[1]').config('spark.jars.ivy', sys.argv[1])"
        ".config('spark.ui.enabled', 'false'); s = c(b).getOrCreate(); "
        "jars = s.sparkContext.getConf().get('spark.jars'); "
        "open(sys.argv[1] + '/delta-jars.txt', 'w').write(jars); s.stop()"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYSPARK", "SPARK_"))}
    subprocess.run(
        [str(runtime_env / "bin" / "python"), "-c", script, str(ivy_dir(runtime_env))], env=env, check=True
    )


def delta_jars(runtime_env: Path) -> str:
    """The runtime's Delta jars (``spark.jars`` of its drivers), as its build resolved them.

    A driver passes them to Spark instead of resolving ``spark.jars.packages`` with Ivy at every
    cluster start (a DBR image has them installed). Empty when the list is missing or a jar is gone:
    the driver resolves them then.
    """
    listed = ivy_dir(runtime_env) / "delta-jars.txt"
    return ",".join(existing_jars(listed.read_text().split(",") if listed.exists() else []))


#: A small Delta workload whose JVM writes the runtime's class-data archive when it exits.
_ARCHIVE_WORKLOAD = """
import os, shutil, sys, tempfile
from delta import configure_spark_with_delta_pip
from pyspark.sql import SparkSession
ivy, work = sys.argv[1], tempfile.mkdtemp()
builder = (
    SparkSession.builder.master("local[2]")
    .config("spark.jars.ivy", ivy)
    .config("spark.ui.enabled", "false")
    .config("spark.sql.catalogImplementation", "hive")
    .config("spark.sql.warehouse.dir", os.path.join(work, "warehouse"))
    .config("spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={os.path.join(work, 'metastore_db')};create=true")
    .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={work}")
    .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
    .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
)
spark = configure_spark_with_delta_pip(builder).getOrCreate()
rows = spark.range(1000).selectExpr("cast(id as string) id", "id % 7 as k", "rand() as v")
rows.write.mode("overwrite").option("header", True).csv(os.path.join(work, "csv"))
landed = spark.read.option("header", True).option("multiLine", True).csv(os.path.join(work, "csv"))
spark.sql("CREATE SCHEMA s")
landed.write.format("delta").saveAsTable("s.t")
spark.sql("MERGE INTO s.t USING s.t AS u ON s.t.id = u.id WHEN MATCHED THEN UPDATE SET *")
spark.table("s.t").groupBy("k").count().collect()
spark.sql("DESCRIBE HISTORY s.t").collect()
process = spark.sparkContext._gateway.proc
spark.stop()
process.stdin.close()  # the gateway exits with its input: the JVM writes the archive, then ends
process.wait()
shutil.rmtree(work, ignore_errors=True)
"""


def java() -> str:
    """The ``java`` an emulated driver starts (``JAVA_HOME``'s, else the one on the cluster's path)."""
    home = os.environ.get("JAVA_HOME")
    found = (
        str(Path(home) / "bin" / "java")
        if home
        else shutil.which("java", path="/usr/local/bin:/usr/bin:/bin")
    )
    if not found:
        raise RuntimeError("the emulated Databricks runtime needs Java 17 (JAVA_HOME, or java on the path)")
    return found


@functools.cache
def _java_version(java: str) -> str:
    """What ``java -version`` prints (asked once per process: every cluster start keys on it)."""
    return subprocess.run([java, "-version"], capture_output=True, text=True, check=True).stderr


def class_archive(runtime_env: Path) -> Path:
    """The runtime's class-data sharing archive (AppCDS) for this ``java``, built on first use.

    An emulated driver is a new JVM that serves one Dagster run on small samples, so its run is
    mostly the JVM warming up: loading and verifying Spark's, Delta's and Hive's classes, and
    compiling them. Drivers map the classes from an archive dumped once by the same runtime and
    Java (``-XX:ArchiveClassesAtExit`` over a small Delta and metastore workload; keyed by
    ``java -version``, so another Java dumps its own). A JVM that cannot map it loads its classes
    as usual. About 220 MB; 54 s to dump here.
    """
    archive = runtime_env / f"spark-{_key(_java_version(java()))}.jsa"
    if archive.exists():
        return archive
    with FileLock(str(archive) + ".lock"):
        if archive.exists():
            return archive
        partial = archive.with_suffix(".partial")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYSPARK", "SPARK_"))}
        env["SPARK_SUBMIT_OPTS"] = f"-XX:ArchiveClassesAtExit={partial} -Xlog:cds=off -Xlog:cds+dynamic=off"
        done = subprocess.run(
            [str(runtime_env / "bin" / "python"), "-c", _ARCHIVE_WORKLOAD, str(ivy_dir(runtime_env))],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not partial.exists():
            raise RuntimeError("dumping the runtime's class archive failed:\n" + done.stderr[-3000:])
        os.replace(partial, archive)
    return archive


def java_options(runtime_env: Path) -> str:
    """``SPARK_SUBMIT_OPTS`` of an emulated driver: the class archive, and the client compiler only.

    ``-XX:TieredStopAtLevel=1`` keeps the JIT at C1, which compiles fast: right for a JVM that
    lives for a few runs of small samples (measured on the two-day emulator test: its five runs took
    487 s as JDK defaults, 436 s with the archive, 387 s with both). Neither changes what Spark
    computes; the product's own local sessions keep the JDK defaults (a long ``make demo`` JVM ran
    slower on C1). C1 alone shrinks the code cache to 48 MB, which a declared cluster's driver
    filled in its second run ("Out of space in CodeCache for method handle intrinsic" stopped its
    SparkContext), so it keeps the tiered default of 240 MB (reserved, not committed, memory).
    """
    return (
        f"-XX:SharedArchiveFile={class_archive(runtime_env)} -Xlog:cds=off -Xlog:class+path=off"
        " -XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"
    )


def _layered_env(target: Path, layers: list[Path]) -> Path:
    """A new virtual environment whose interpreter also sees ``layers``' packages (in that order)."""
    subprocess.run([*uv_command(), "venv", "-q", "--python", python312(), str(target)], check=True)
    lines = "".join(f"{site_packages(layer)}\n" for layer in layers)
    (site_packages(target) / "_databricks_runtime.pth").write_text(lines)
    return target


def pip_install(env: Path, *args: str) -> None:
    """``pip install`` into ``env`` (the runtime's pip, as a cluster's library installation runs it)."""
    done = subprocess.run(
        [
            str(env / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
            *args,
        ],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "PIP_NO_COLOR": "1"},
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip().splitlines()
        raise LibraryInstallError("pip install failed:\n" + "\n".join(output[-20:]))


def libraries(pins: list[str]) -> Path:
    """Layer 2: the runtime plus the run's PyPI pins (cached by the pins)."""
    base = runtime()
    pins = sorted(set(pins))
    target = CACHE / f"libraries-{_key(base.name, *pins)}"
    if (target / ".ready").exists():
        return target
    with FileLock(str(target) + ".lock"):
        if (target / ".ready").exists():
            return target
        shutil.rmtree(target, ignore_errors=True)
        try:
            env = _layered_env(target, [base])
            if pins:
                pip_install(env, *pins)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        (target / ".ready").touch()
    return target


def cluster_python(folder: Path, pins: list[str], wheels: list[str]) -> Path:
    """Layer 3: the cluster's own environment under ``folder`` with the run's wheels installed.

    Returns its interpreter. Raises :class:`LibraryInstallError` with pip's message when a pin or
    a wheel cannot be installed.
    """
    layer = libraries(pins)
    env = _layered_env(folder / "python", [layer, runtime()])
    if wheels:
        pip_install(env, *wheels)
    return env / "bin" / "python"


def orchestrator_paths() -> list[str]:
    """Where the orchestrator's Python finds packages: its environment's folders, and the checkout."""
    paths = {sys.prefix, sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    return sorted(p for p in paths if p)


def leaks(path: list[str]) -> list[str]:
    """The entries of a ``sys.path`` through which the orchestrator's packages or checkout import."""
    roots = orchestrator_paths()
    return [p for p in path if p.rstrip("/") == str(REPO) or any(p.startswith(r) for r in roots)]
