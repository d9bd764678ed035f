"""The Discord UI kit every cog builds on, so nothing is drawn or checked twice:

* ``views``: ``ChatOpsView`` (errors to the trace-id reporter), ``ConfirmView``, ``Paginator``.
* ``buttons``: what persistent buttons share (each cog defines and registers its own).
* ``embeds``: the palette, progress bars, timestamps, fleet pages.
* ``checks``: who may do what, and the decorator stack every command wears.
* ``autocomplete``: bot names.
"""
