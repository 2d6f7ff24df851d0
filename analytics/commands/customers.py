"""`shoplens retention`, `shoplens rfm` and `shoplens clv`: cohorts, RFM segments and customer lifetime value."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics.commands.arguments import (
    format_parent, iso_date, positive_int, progress_bar, warehouse_parent, warehouse_path,
)
from analytics.commands.filters import add_filter_arguments, resolve_filters
from analytics.output import render_frame, render_json, write_csv

SEGMENT_CHOICES = ("Champions", "Loyal", "Potential loyalist", "New customers", "Promising", "Need attention",
                   "About to sleep", "At risk", "Can't lose them", "Hibernating", "Lost")
CLV_STAGES = 5


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `retention`, `rfm` and `clv` commands."""
    retention = commands.add_parser(
        "retention", parents=[warehouse_parent(), format_parent()],
        help="cohort retention matrix by acquisition day, week or month",
        description="Users enter the cohort of their first event (or purchase) and are counted in each later "
                    "period they come back in; see docs/customers.md. Without --from/--last every cohort is "
                    "shown. Table: the unbounded retention matrix; csv: the long matrix; json: cohorts and the "
                    "average curve.",
    )
    add_filter_arguments(retention)
    retention.add_argument("--period", choices=("day", "week", "month"), default="week",
                           help="cohort and period size (default: week, starting Monday)")
    retention.add_argument("--entry", choices=("event", "purchase"), default="event",
                           help="what puts a user in a cohort: the first event or the first purchase")
    retention.add_argument("--return-on", choices=("event", "purchase"), default="event",
                           help="what counts as coming back: any event or a purchase")
    retention.add_argument("--by", choices=("acquisition_channel", "first_category"), default=None,
                           help="split every cohort by acquisition channel or first category")
    retention.add_argument("--measure", choices=("retained_rate", "active_rate", "retained_users", "active_users",
                                                 "cumulative_revenue_per_user"),
                           default="retained_rate",
                           help="the table's cells: unbounded (retained) or N-period (active) retention, "
                                "counts, or cumulative revenue per user (default: retained_rate)")
    retention.set_defaults(handler=run_retention)

    rfm = commands.add_parser(
        "rfm", parents=[warehouse_parent(), format_parent()],
        help="RFM scores and the 11 named segments, or one segment's customers",
        description="Customers who bought in the period, scored 1-5 on recency, frequency and monetary value "
                    "(quintiles) and named by segment; see docs/customers.md. Without --from/--last the whole "
                    "history is used.",
    )
    add_filter_arguments(rfm)
    rfm.add_argument("--bins", type=positive_int, default=5, help="scores per dimension, 2-10 (default: 5)")
    rfm.add_argument("--segment", choices=SEGMENT_CHOICES, default=None, metavar="NAME",
                     help="list this segment's customers instead (csv for export); one of: "
                          + ", ".join(SEGMENT_CHOICES))
    rfm.set_defaults(handler=run_rfm)

    clv = commands.add_parser(
        "clv", parents=[warehouse_parent(), format_parent()],
        help="BG/NBD + Gamma-Gamma customer lifetime value (PyMC-Marketing)",
        description="Fits BG/NBD and Gamma-Gamma by maximum likelihood on purchases up to the calibration end "
                    "and predicts each customer's purchases, P(alive) and CLV with an interval; purchases after "
                    "the calibration end are the holdout. See docs/customers.md.",
    )
    add_filter_arguments(clv)
    clv.add_argument("--calibration-end", type=iso_date, default=None, metavar="DATE",
                     help="last day of the calibration period (default: the data's last day, no holdout)")
    clv.add_argument("--time-unit", choices=("day", "week", "month"), default="week",
                     help="unit of recency, T and the horizon (default: week)")
    clv.add_argument("--horizon", type=float, default=None,
                     help="future period for expected purchases, in time units (default: one year)")
    clv.add_argument("--clv-months", type=positive_int, default=12, help="months of value in CLV (default: 12)")
    clv.add_argument("--discount-rate", type=float, default=0.01,
                     help="monthly discount rate for CLV (default: 0.01)")
    clv.add_argument("--draws", type=int, default=200,
                     help="parameter draws for CLV intervals, 0 for none (default: 200)")
    clv.add_argument("--transactions", type=Path, default=None, metavar="PATH",
                     help="fit a transactions CSV (customer_id/user_id, date/order_date, dollar_value/revenue, "
                          "e.g. CDNOW) instead of the warehouse")
    clv.add_argument("--customers-csv", type=Path, default=None, metavar="PATH",
                     help="also write every customer's predictions to this CSV")
    clv.set_defaults(handler=run_clv)


def _whole_history(con, arguments: argparse.Namespace) -> None:
    # Retention and RFM read best over all the data; --from or --last narrows them.
    from analytics.overview import filter_options

    if arguments.start_date is None and arguments.last is None:
        arguments.start_date = filter_options(con).first_date


def run_retention(arguments: argparse.Namespace) -> int:
    from analytics.customers.retention import load_retention, matrix_table
    from analytics.warehouse import connect

    with connect(warehouse_path(arguments)) as con:
        _whole_history(con, arguments)
        filters = resolve_filters(con, arguments)
        retention = load_retention(con, filters, arguments.period, arguments.entry, arguments.return_on,
                                   arguments.by or "none")
    if arguments.format == "csv":
        sys.stdout.write(render_frame(retention.matrix, "csv"))
        return 0
    if arguments.format == "json":
        sys.stdout.write(render_json(retention_document(retention)))
        return 0
    segments = sorted(retention.matrix["segment"].unique()) if not retention.is_empty else ["All"]
    for segment in segments:
        table = matrix_table(retention, arguments.measure, segment)
        title = (f"{arguments.measure} by {arguments.period} cohort, {filters.start_date} to {filters.end_date}"
                 + (f", {segment}" if arguments.by else ""))
        sys.stdout.write(render_frame(table, "table", title=title))
    return 0


def retention_document(retention) -> dict:
    """The JSON document of `shoplens retention`."""
    cohorts = []
    for (cohort, segment), rows in retention.matrix.groupby(["cohort", "segment"], sort=True):
        cohorts.append({
            "cohort": cohort, "segment": segment, "cohort_size": int(rows["cohort_size"].iloc[0]),
            "active_users": rows["active_users"].tolist(), "retained_users": rows["retained_users"].tolist(),
            "active_rate": rows["active_rate"].round(6).tolist(),
            "retained_rate": rows["retained_rate"].round(6).tolist(),
            "cumulative_revenue_per_user": rows["cumulative_revenue_per_user"].round(6).tolist(),
            "complete_periods": int(rows["is_complete"].sum()),
        })
    return {
        "period": retention.period, "entry": retention.entry, "return_on": retention.return_on,
        "breakdown": retention.breakdown, "start_date": retention.filters.start_date,
        "end_date": retention.filters.end_date, "data_end_date": retention.data_end_date,
        "users": retention.users, "cohorts": cohorts,
        "average": retention.average_curve().to_dict("records"),
    }


def run_rfm(arguments: argparse.Namespace) -> int:
    from analytics.customers.rfm import RfmBins, load_rfm
    from analytics.warehouse import connect

    with connect(warehouse_path(arguments)) as con:
        _whole_history(con, arguments)
        filters = resolve_filters(con, arguments)
        rfm = load_rfm(con, filters, RfmBins(bins=arguments.bins))
    if arguments.segment:
        customers = rfm.segment_customers(arguments.segment)
        sys.stdout.write(render_frame(customers, arguments.format,
                                      title=f"{arguments.segment}: {len(customers):,} customers"))
        return 0
    segments = rfm.segments
    if arguments.format == "json":
        sys.stdout.write(render_json({
            "start_date": filters.start_date, "end_date": filters.end_date, "bins": arguments.bins,
            "customers": int(len(rfm.customers)),
            "revenue": float(rfm.customers["revenue"].sum()) if not rfm.is_empty else 0.0,
            "segments": segments[["segment", "customers", "revenue", "customer_share", "revenue_share",
                                  "average_recency_days", "average_orders", "average_revenue"]].to_dict("records"),
        }))
        return 0
    sys.stdout.write(render_frame(segments, arguments.format,
                                  title=f"RFM segments of {len(rfm.customers):,} customers, "
                                        f"{filters.start_date} to {filters.end_date}"))
    return 0


def run_clv(arguments: argparse.Namespace) -> int:
    import pandas as pd

    from analytics.customers.clv import analyse_clv, load_transactions, read_transactions_csv
    from analytics.errors import ShopLensError
    from analytics.warehouse import connect

    if arguments.transactions is not None:
        transactions = read_transactions_csv(arguments.transactions)
        source = str(arguments.transactions)
    else:
        with connect(warehouse_path(arguments)) as con:
            filters = resolve_filters(con, arguments)
            transactions = load_transactions(con, filters)
        source = str(warehouse_path(arguments))
    if transactions.empty:
        raise ShopLensError(f"{source} has no purchases to fit; check the filters or the file")
    last_day = pd.to_datetime(transactions["order_date"]).max().date()
    calibration_end = arguments.calibration_end or last_day
    if calibration_end > last_day:
        raise ShopLensError(f"--calibration-end {calibration_end} is after the last purchase day {last_day}; "
                            "choose an earlier date")
    update, close = progress_bar("clv")
    stage = {"done": 0}

    def progress(message: str) -> None:
        stage["done"] += 1
        update(stage["done"], CLV_STAGES)

    try:
        clv = analyse_clv(transactions, calibration_end, arguments.time_unit, arguments.horizon, arguments.clv_months,
                          arguments.discount_rate, max(0, arguments.draws), progress)
    finally:
        close()
    if arguments.customers_csv is not None:
        write_csv(clv.predictions, arguments.customers_csv)
    document = clv.document() | {"source": source}
    if arguments.format == "json":
        sys.stdout.write(render_json(document))
    elif arguments.format == "csv":
        sys.stdout.write(render_frame(clv.predictions, "csv"))
    else:
        parameters = pd.DataFrame(
            [{"model": "BG/NBD", "parameter": name, "value": round(value, 4)} for name, value in clv.bgnbd.items()]
            + [{"model": "Gamma-Gamma", "parameter": name, "value": round(value, 4)}
               for name, value in clv.gamma_gamma.items()])
        sys.stdout.write(render_frame(parameters, "table", title=(
            f"CLV fitted on {clv.fit_customers:,} customers ({clv.spend_customers:,} repeat buyers), calibration to "
            f"{clv.calibration_end}, time unit {clv.time_unit}, {clv.fit_seconds:.1f} s")))
        if not clv.holdout.empty:
            sys.stdout.write(render_frame(clv.holdout.round(3), "table", title=(
                f"\nHoldout {clv.calibration_end} to {clv.holdout_end}: actual "
                f"{clv.holdout_totals['actual_purchases']:,.0f} vs predicted "
                f"{clv.holdout_totals['predicted_purchases']:,.0f} repeat purchases")))
        sys.stdout.write(render_frame(clv.predictions.head(10).round(3), "table", title="\nTop customers by CLV"))
    return 0
