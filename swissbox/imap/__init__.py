"""IMAP4rev1 over the mail store, on Twisted's IMAP4Server (see server.py)."""
