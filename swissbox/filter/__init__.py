"""Spam and malware defence around the SMTP path: rspamd, clamd, DNS blocklists, outbound
sending limits, and learning from the Junk folder. See README.md in this folder."""
