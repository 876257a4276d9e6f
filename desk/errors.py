"""The error the desk's commands raise for the agent to read."""


class DeskError(Exception):
    """A command that cannot be carried out; the message is meant for the agent."""
