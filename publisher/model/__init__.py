"""The value types every part shares, and the pure rules over them; imports nothing of ours.

The directory as validated, the history of its entries and their changes, calendar events'
states, publications, the database's time format and time-zone rules, and the errors shown
to people. Every other part imports from here and never the other way (docs/ARCHITECTURE.md,
enforced by ``lint-imports``).
"""
