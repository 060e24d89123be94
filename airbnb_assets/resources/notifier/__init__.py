"""The notifier resource: delivers alerts (log, webhook, Slack, Teams, e-mail) without leaking secrets.

:mod:`.channels` (one resource class per backend, each declaring its own variables and secrets),
:mod:`.resource` (``NotifierResource``: the JSONL audit log around any channel), :mod:`.alert`
(the ``Alert`` message), :mod:`.formats` (Slack / Teams / e-mail renderings) and :mod:`.backends`
(the delivery calls the channels make). It knows nothing about drift: the alerts room decides
what to send.
"""
