"""Unit tests of swissbox.dav (pure functions and in-process pieces)."""
