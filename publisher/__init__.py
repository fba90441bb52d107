"""publisher: a community directory published as feeds, pages and (later) calendars.

Kept nearly empty so that ``publisher.directory``, ``publisher.render`` and the store import
without Flask: the CLI and the benchmarks use them with no web app.
"""
