"""Forecasts for managers: series, models, the backtested arena, calibrated intervals, champions, drivers and stock.

Entry points: `analytics.forecasting.run.run_forecast` (warehouse or CSV series through the arena),
`analytics.forecasting.stock.stock_view`, `analytics.forecasting.global_model.train_global_model`.
"""
