"""ManageSieve (RFC 5804): upload and activate the Sieve scripts that run at delivery."""
