"""CalDAV/CardDAV: embedded Radicale with our auth, rights and storage plugins, and the
organization directory address book built from the directory database."""
