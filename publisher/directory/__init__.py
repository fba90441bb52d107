"""The directory: data files in, a validated model out. No Flask, no database."""
