"""Monitoring, in three rooms.

:mod:`.drift` (the daily drift report), :mod:`.alerts` (the sensor and its episodes) and
:mod:`.dashboard` (the daily HTML page). Each room's ``__init__`` says what it owns and imports.
"""
