"""``/metrics``: the controller's figures in Prometheus's form (a door, like the socket's).

Fleet, quota, alert and cache figures are read at scrape time from what the services hold
(:mod:`chatops.metrics.families`), never updated per heartbeat; what only events can tell (LLM
usage under the OpenTelemetry GenAI names, approval outcomes and decision times) is counted as
it is published on the bus (:mod:`chatops.metrics.events`). :mod:`chatops.metrics.scrape`
renders both without holding the loop. The names, and why, are in ``docs/metrics.md``.
"""
