"""Recommendations: popularity, co-occurrence, ALS, EASE, content and a LambdaRank hybrid with reasons.

Start at `service.train_recommenders` (serving from the warehouse), `evaluate` (offline leaderboards)
and `hybrid.train_ranker_model` (the ranker for the shared explanation layer); see docs/recommendations.md.
"""
