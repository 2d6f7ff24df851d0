"""`python -m analytics.access.guard --address ADDR`: refuse to serve open on the network.

`make run` calls it before starting Streamlit. Exit code 0 when ShopLens may listen on ADDR;
otherwise one line on stderr and exit code 2 (see `analytics.access.sign_in.serving_refusal`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics.access.sign_in import (
    auth_problem,
    default_secrets_files,
    is_loopback,
    open_access_allowed,
    read_auth_section,
    serving_refusal,
    sign_in_providers,
)


def main(argv: list[str] | None = None) -> int:
    """Check the listen address against the sign-in configuration; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m analytics.access.guard", description=__doc__)
    parser.add_argument("--address", default="127.0.0.1", help="the address Streamlit will listen on")
    parser.add_argument("--secrets", type=Path, action="append",
                        help="a secrets file to read (repeatable); default: Streamlit's own locations")
    arguments = parser.parse_args(argv)
    auth = read_auth_section(arguments.secrets or default_secrets_files())
    configured = bool(sign_in_providers(auth))
    reason = auth_problem(auth) or serving_refusal(arguments.address, signed_in_configured=configured, open_access=open_access_allowed())
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    if not configured and open_access_allowed() and not is_loopback(arguments.address):
        print("warning: OPEN_ACCESS=1: anyone who can reach ShopLens can use it as admin", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
