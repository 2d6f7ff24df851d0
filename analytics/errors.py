"""Errors the engine raises for problems a user can fix.

The CLI prints them as one line and exits with code 2; the app shows them in
an info box. Each message names what is wrong and says how to fix it.
"""


class ShopLensError(Exception):
    """A problem with the user's input, data or warehouse, with a fix in its message."""


class SourceDataError(ShopLensError):
    """Source files are missing, unreadable or break the canonical schema."""


class WarehouseNotReady(ShopLensError):
    """The warehouse is missing, from another schema version, or unreadable."""
