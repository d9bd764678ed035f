"""The wire: what crosses the monitor socket and who may say it.

``protocol`` defines every message (requests, replies, pushes) in one place, gathering
``fields`` (field types, bounds, the request base), ``feature_requests`` (the requests of
quotas, approvals, the cache and recovery) and ``push_messages``; ``transport`` binds
the socket; ``peer`` says who is on the other end; ``connection`` frames, dispatches and answers
one client; ``server`` admits and tracks connections, and is handed the table that maps each
request type to the service method that serves it (built in :mod:`chatops.api.door`). No
business logic lives here.
"""
