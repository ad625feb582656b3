"""OptiRace: the command-line entry point and helpers that sit above the engine."""

__version__ = "0.1.0"
