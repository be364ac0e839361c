"""SMTP: MX ingress, submission, outbound queue (aiosmtpd on the shared loop)."""
