"""The Manager: the HTTP admin API (`/api/v1`) on the shared site; see README.md."""
