"""Pure domain code: no I/O, no Textual, no network. Shared by services, UI and simulator."""
