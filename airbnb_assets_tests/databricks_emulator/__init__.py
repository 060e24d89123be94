"""A local Databricks workspace emulator (test support, not product code).

:class:`~airbnb_assets_tests.databricks_emulator.server.Workspace` is an HTTP server on 127.0.0.1
that answers the REST endpoints ``dagster-databricks`` and ``databricks-sdk`` call -- DBFS
(``/api/2.0/dbfs/*``), the Files API (``/api/2.0/fs/*``), Jobs 2.2 (``runs/submit``, ``runs/get``,
``runs/cancel``) and ``clusters/get`` -- records every request, and answers 404 to anything else
(tests fail on such a request). A submitted run is **executed for real**
(:mod:`~airbnb_assets_tests.databricks_emulator.cluster`): its ``spark_python_task`` runs in a
subprocess on local Spark + Delta (:mod:`~airbnb_assets_tests.databricks_emulator.runtime`)
with the cluster spec's Spark conf and environment variables, ``{{secrets/scope/key}}``
references resolved from the emulator's secret store, ``/dbfs`` mapped to the emulator's DBFS
folder, and the globals a Databricks runtime provides (``spark``, ``sc``, ``dbutils``, native
SDK authentication). Life-cycle states follow Databricks: PENDING → RUNNING → TERMINATED with
SUCCESS, FAILED (with the error text) or CANCELED.
"""
