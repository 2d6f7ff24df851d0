"""`shoplens explain`: being built; registers nothing yet."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    """Add the command (not yet)."""
