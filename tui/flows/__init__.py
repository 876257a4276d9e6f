"""The agent's multi-step flows (canned replies, contacts, escalation), mixed into the App."""
