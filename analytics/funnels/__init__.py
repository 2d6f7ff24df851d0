"""Funnels over `fct_events`: where shoppers drop out between steps such as view, cart and purchase.

Public API:
    FunnelStep, FunnelQuery, parse_steps  the typed question (analytics.funnels.query)
    FunnelExclusion, parse_exclusions     excluded events between two steps
    run_funnel, FunnelResult              compute it over the warehouse (analytics.funnels.runner)
    count_funnel                          only the counts per step, the fast path
    compare_periods                       two periods step by step, with intervals and a z-test
    compute_levels, KeyLevels             the order modes' one-pass kernels over event arrays
    EventStore, load_event_store          the build's events in memory, for many fast funnels

The semantics of the order modes, windows and counting are in docs/funnels.md.
"""

from analytics.funnels.comparison import compare_periods
from analytics.funnels.core import KeyLevels, compute_levels
from analytics.funnels.query import FunnelExclusion, FunnelQuery, FunnelStep, parse_exclusions, parse_steps
from analytics.funnels.runner import FunnelResult, count_funnel, run_funnel
from analytics.funnels.store import EventStore, load_event_store

__all__ = ["EventStore", "FunnelExclusion", "FunnelQuery", "FunnelResult", "FunnelStep", "KeyLevels", "compare_periods",
           "compute_levels", "count_funnel", "load_event_store", "parse_exclusions", "parse_steps", "run_funnel"]
