"""Placeholder: filled in by its family's change."""

ALL = ()
