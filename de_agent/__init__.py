"""de-agent: a terminal coding assistant that works like a senior data engineer."""

__version__ = "0.1.0"
