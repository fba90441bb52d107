"""Pure renderers: (directory, history, site) -> bytes. See README.md in this folder."""
