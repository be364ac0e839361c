"""swissbox: mail, DNS and groupware provider in one process."""

__version__ = "0.1.0"
