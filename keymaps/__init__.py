"""Keymap presets (TOML) and their loader."""
