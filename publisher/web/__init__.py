"""HTTP only: serves publications, never renders them, never writes SQL."""
