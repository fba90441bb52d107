"""SQLite storage: entry history, changes and the last good publication. SQL lives only here."""
