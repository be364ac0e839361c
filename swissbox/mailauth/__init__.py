"""Mail authentication as pure functions over bytes (plus a resolver passed in where DNS is
needed): DKIM keys and signing, MTA-STS policies, and the MX's checks (SPF, DKIM
verification, DMARC, Authentication-Results). Imports nothing of swissbox."""
