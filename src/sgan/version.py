"""The package version, in one place (the checkpoint format records it)."""

__version__ = "0.2.0"
