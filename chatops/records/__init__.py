"""Domain records: the plain values every room reads.

The bottom of the room order (see ``docs/architecture.md``): records import nothing of chatops
but the clock helpers, so the store maps rows to them, services return them, and every door
(the socket API, the CLI, the Discord cogs) renders them without reaching into the store.
"""
