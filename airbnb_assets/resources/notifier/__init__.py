"""The notifier resource: delivers alerts (log, webhook, Slack, Teams, e-mail) without leaking secrets.

:mod:`.resource` (``NotifierResource``, its settings and variables), :mod:`.alert` (the
``Alert`` message), :mod:`.formats` (Slack / Teams / e-mail renderings) and :mod:`.backends`
(the delivery calls). It knows nothing about drift: the alerts room decides what to send.
"""
