"""Mail authentication as pure functions over bytes (plus a resolver passed in where DNS is
needed): DKIM keys and signing, MTA-STS policies. Imports nothing of swissbox."""
