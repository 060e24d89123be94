"""The platform: the only package that touches storage.

:mod:`.tables` (the catalogue of every table), :mod:`.lakehouse` (the resource that reads and
writes them, holding the Spark resource), :mod:`.spark` (the session), :mod:`.incremental`
(triggered streams with checkpoints), :mod:`.artifacts` (reports, dashboard, alert log),
:mod:`.metadata` and :mod:`.sampling` (helpers the assets share), :mod:`.declare` (how every asset
is declared from the catalogue). It imports no domain module: a domain passes its declared columns
in.
"""
