"""The console on a Chatwoot server: the desk interface over Chatwoot's Application API and its websocket."""
