"""Team mode: one desk served over a Unix socket, consoles attached to it (issue 16)."""
