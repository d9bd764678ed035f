"""The Discord front end: ``ChatOpsBot``, the alert channel sink and the error reporter.

Only this package and ``cogs/`` import discord.py.
"""
