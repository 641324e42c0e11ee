"""The package version: one source, read by the build (pyproject.toml) and by saved files."""

__version__ = "0.1.0"
