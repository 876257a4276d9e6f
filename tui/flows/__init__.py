"""The App's jobs beyond its layout, one mixin per file (ARCHITECTURE.md: The console's jobs)."""
