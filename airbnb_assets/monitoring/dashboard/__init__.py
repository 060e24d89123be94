"""Dashboard: one self-contained offline HTML page, rebuilt each day.

Owns the ``monitoring/dashboard`` asset (:mod:`.assets`), the reads that shape its data
(:mod:`.data`), the page (:mod:`.page`) and its Plotly figures (:mod:`.price_figures`,
:mod:`.drift_figures`, :mod:`.common`).

May import: ``platform`` (tables, lakehouse, artefact store), ``resources``. Never imports
``drift`` or ``alerts``: it reads the tables and the registry they leave behind.
"""
