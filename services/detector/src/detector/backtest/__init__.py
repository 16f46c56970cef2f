"""Backtests: what would a draft escalation policy have done with past conversations?

The detector's own decision code (``detector.replay`` over ``detector.engine``) replays stored
or uploaded conversations under each configuration; ``run`` compares the outcomes, ``api``
serves it to queue-api (``POST /internal/v1/backtest``), and ``python -m detector.backtest``
(``make backtest``) runs it on a JSON-lines file.
"""
