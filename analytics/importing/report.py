"""What an import (or a validation) found and did, for people and for the Data page."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analytics.capabilities import Capability
from analytics.warehouse_files import KeptVersion


@dataclass(frozen=True)
class RuleResult:
    """One validation rule's outcome.

    Attributes:
        rule: the rule's name (see `REJECT_RULES`), or a note such as "converted from GBK".
        count: rows (or lines) it applied to.
        is_reject: whether those rows were rejected (False for notes and skipped rows).
        examples: up to three (file name, line, text) examples; with pseudonymisation the text
            shows user ids by pseudonym only.
    """

    rule: str
    count: int
    is_reject: bool
    examples: tuple[tuple[str, int, str], ...]


@dataclass(frozen=True)
class FileResult:
    """What one file contributed.

    Attributes:
        path: the file.
        layout: the mapping (preset variant) it was read with.
        sha256: hex digest of its bytes.
        rows_read: data lines in the file (including malformed ones).
        rows_loaded: rows appended to the warehouse (for catalogues and promotions: new or changed).
        rows_already_loaded: valid rows the warehouse already held (skipped).
        rows_ignored: rows that are not shop events (GA4 session_start and the like).
        rows_rejected: rows moved to `rejects`.
        target: what the file holds: events, orders, products or promotions.
    """

    path: Path
    layout: str
    sha256: str
    rows_read: int
    rows_loaded: int
    rows_already_loaded: int
    rows_ignored: int
    rows_rejected: int
    target: str = ""


@dataclass(frozen=True)
class ImportReport:
    """The outcome of `import_files` (or of a dry run).

    Attributes:
        warehouse: the target file.
        preset: the preset or mapping name.
        files: one FileResult per file.
        rules: rule outcomes with a non-zero count, rejects first.
        committed: whether the warehouse was changed (False for a dry run).
        replaced_sample: the target held the generated sample, which the import replaces (or, in a
            dry run, would replace) instead of appending to it.
        import_id: id of this import in `meta_imports` and `rejects`.
        data_version: the warehouse's new data version, when committed.
        capabilities: the verdicts after the import, when committed.
        preview: the first accepted canonical rows (for the Data page).
        derived_orders: orders made from purchase events (events imports; would be made, for a dry run).
        derived_order_lines: their lines, one per purchase event.
        derived_orders_skipped: purchase events were not made into orders because the warehouse
            holds orders read from an orders file (both would count the same sales).
        derived_orders_replaced: orders derived from purchase events by earlier imports that this
            orders import removed, because orders from a file take their place.
        derived_events: purchase events made from order lines (orders imports), so that
            recommendations and purchase-based analyses have events.
        derived_events_replaced: purchase events made from order lines by earlier imports that this
            events import removed, because its own purchase events take their place.
        revenue_adjustments: (lines, total amount) of zero-quantity lines with an amount, which are
            reported and kept in `rejects` rather than loaded.
        kept_version: the warehouse this import replaced, kept as a version (`shoplens restore`).
        time_zone: the time zone naive times were read in (None: UTC).
    """

    warehouse: Path
    preset: str
    files: tuple[FileResult, ...]
    rules: tuple[RuleResult, ...]
    committed: bool
    replaced_sample: bool
    import_id: str
    data_version: str | None = None
    capabilities: tuple[Capability, ...] = ()
    preview: pd.DataFrame = field(default_factory=pd.DataFrame)
    derived_orders: int = 0
    derived_order_lines: int = 0
    derived_orders_skipped: bool = False
    derived_orders_replaced: int = 0
    derived_events: int = 0
    derived_events_replaced: int = 0
    revenue_adjustments: tuple[int, float] = (0, 0.0)
    kept_version: KeptVersion | None = None
    time_zone: str | None = None

    @property
    def rows_rejected(self) -> int:
        return sum(file.rows_rejected for file in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(file.rows_loaded for file in self.files)

    @property
    def replaces_data(self) -> bool:
        """Whether the import replaces what the warehouse holds instead of appending to it."""
        return self.replaced_sample

    def rules_frame(self) -> pd.DataFrame:
        """The rules as a table: rule, rows, rejected, example (file:line: text)."""
        return pd.DataFrame(
            [{"rule": r.rule, "rows": r.count, "rejected": r.is_reject,
              "examples": "; ".join(f"{name}:{line}: {text[:80]}" for name, line, text in r.examples)}
             for r in self.rules],
            columns=["rule", "rows", "rejected", "examples"],
        )

    def summary(self) -> str:
        """A few lines for people: what is replaced, per file counts, derived rows, then each rule with examples."""
        lines = []
        if self.replaced_sample:
            verb = "REPLACED" if self.committed else "would REPLACE"
            lines.append(f"note: this import {verb} the data in {self.warehouse.name} (the generated sample) instead "
                         "of appending to it: a warehouse never mixes sample and imported data")
        if self.kept_version is not None:
            lines.append(f"the warehouse it replaced is kept as version {self.kept_version.version_id}; "
                         f"`shoplens restore {self.kept_version.version_id}` undoes this import")
        if self.time_zone:
            lines.append(f"times without an offset were read as {self.time_zone} time and stored as UTC")
        for file in self.files:
            lines.append(
                f"{file.path.name} ({file.layout}): {file.rows_read:,} rows read, {file.rows_loaded:,} loaded, "
                f"{file.rows_already_loaded:,} already loaded, {file.rows_ignored:,} ignored, "
                f"{file.rows_rejected:,} rejected"
            )
        if self.derived_orders:
            lines.append(f"purchase events made into {self.derived_orders:,} order(s) with "
                         f"{self.derived_order_lines:,} line(s)")
        if self.derived_orders_skipped:
            lines.append("note: purchase events were not made into orders, because the warehouse holds orders "
                         "from an orders file")
        if self.derived_orders_replaced:
            lines.append(f"note: {self.derived_orders_replaced:,} order(s) made earlier from purchase events were "
                         "removed; the orders from this file take their place")
        if self.derived_events:
            lines.append(f"order lines made into {self.derived_events:,} purchase event(s), so purchases feed "
                         "recommendations and purchase-based analyses")
        if self.derived_events_replaced:
            lines.append(f"note: {self.derived_events_replaced:,} purchase event(s) made earlier from order lines "
                         "were removed; the purchase events from this file take their place")
        adjustments, amount = self.revenue_adjustments
        if adjustments:
            lines.append(f"note: {adjustments:,} line(s) with quantity 0 carry {amount:,.2f} of sales (revenue "
                         "adjustments); an order line cannot hold revenue without units, so they are kept in "
                         "rejects and left out of revenue")
        for rule in self.rules:
            kind = "rejected" if rule.is_reject else "note"
            lines.append(f"  {kind}: {rule.rule}: {rule.count:,}")
            lines.extend(f"    {name} line {line}: {text[:120]}" for name, line, text in rule.examples)
        return "\n".join(lines)
