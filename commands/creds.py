"""`frontdesk creds`: set, get or delete a secret in the system keyring: a channel's, a hook's,
or the Chatwoot access token (`frontdesk creds set chatwoot api_access_token`)."""

from __future__ import annotations

import argparse
import sys

from frontdesk.errors import CliError


def cmd_creds(args: argparse.Namespace) -> int:
    from frontdesk import credentials

    if args.action == "set":
        value = read_secret(prompt(args.channel, args.key))
        if not value:
            raise CliError("empty secret: nothing stored")
        credentials.set_secret(args.channel, args.key, value)
        print(f"stored {args.channel}/{args.key} in the system keyring")
    elif args.action == "get":
        value = credentials.get_secret(args.channel, args.key)
        if value is None:
            raise CliError(
                f"{args.channel}/{args.key} is not set — run `frontdesk creds set {args.channel} {args.key}`"
            )
        print(value if args.show else f"{args.channel}/{args.key} is set (use --show to print it)")
    else:
        credentials.delete_secret(args.channel, args.key)
        print(f"deleted {args.channel}/{args.key}")
    return 0


def prompt(owner: str, key: str) -> str:
    """What the hidden prompt asks for: a channel's secret, or the Chatwoot token and where it is."""
    from frontdesk.chatwoot import token

    if (owner, key) == (token.OWNER, token.KEY):
        return f"Chatwoot {key} ({token.WHERE_TO_FIND}): "
    return f"{key} for channel {owner}: "


def read_secret(text: str) -> str:
    """From a hidden prompt on a terminal, else the first line of stdin (never from argv)."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(text)
    return sys.stdin.readline().rstrip("\r\n")
