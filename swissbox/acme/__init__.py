"""ACME (RFC 8555) certificates for the server's names, renewed while it runs."""
