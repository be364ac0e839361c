"""Dynamic DNS over HTTP: the dyndns2 `/nic/update` protocol of ddclient, inadyn and routers."""
