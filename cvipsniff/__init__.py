"""cvipsniff: a protocol analyzer for CVIPv2 and Milestone XProtect ImageServer traffic."""

__version__ = "0.1.0"
