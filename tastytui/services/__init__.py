"""The service layer: everything that talks to a broker or outlives a screen. No Textual here."""
