"""Delivery of queued mail to other domains: MX lookup, SMTP client, retries, bounces (DSN)."""
