"""Differential privacy for shared numbers: OpenDP noise, contribution bounds, the ε budget ledger.

Public API:
    noisy_count, noisy_sum, noisy_histogram, NoisyValue   analytics.privacy.mechanisms (OpenDP)
    PrivacySettings, load_privacy_settings                analytics.privacy.settings ([privacy] in roles.toml)
    PrivacyLedger, BudgetExhausted, ledger_path           analytics.privacy.ledger (per viewer and day)
    private_overview, PrivateOverview                     analytics.privacy.overview (the noisy tiles)
    private_funnel, PrivateFunnel, monotone_steps         analytics.privacy.funnel (noisy step counts)
    format_noisy, overview_export, funnel_export          analytics.privacy.display

What the guarantees are, and what they do not cover, is in docs/security.md.
"""

from analytics.privacy.display import format_noisy, funnel_export, overview_export
from analytics.privacy.funnel import PrivateFunnel, monotone_steps, private_funnel
from analytics.privacy.ledger import BudgetExhausted, PrivacyLedger, ledger_path
from analytics.privacy.mechanisms import NoisyValue, noisy_count, noisy_histogram, noisy_sum
from analytics.privacy.overview import PrivateOverview, private_overview
from analytics.privacy.settings import PrivacySettings, load_privacy_settings

__all__ = ["BudgetExhausted", "NoisyValue", "PrivacyLedger", "PrivacySettings", "PrivateFunnel", "PrivateOverview",
           "format_noisy", "funnel_export", "ledger_path", "load_privacy_settings", "monotone_steps",
           "noisy_count", "noisy_histogram", "noisy_sum", "overview_export", "private_funnel", "private_overview"]
