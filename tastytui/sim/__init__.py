"""The embedded exchange: a tastytrade-compatible simulator on loopback."""
