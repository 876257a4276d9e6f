"""frontdesk: a keyboard-first terminal console for customer-support agents."""

__version__ = "0.1.0"
