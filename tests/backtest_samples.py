"""Four short conversations the backtest tests replay (the detector's replay, queue-api's API,
the settings page), as turns: (text, None) for a customer message, (text, the AI's confidence)
for the AI's. Under a threshold of 0.5 only KEYWORD escalates; a threshold of 0.6 adds UNSURE,
a turn limit of 3 adds LONG; CALM never escalates."""

Turns = list[tuple[str, float | None]]

KEYWORD: Turns = [("Order 12 is late.", None), ("I want a refund", None)]
UNSURE: Turns = [("Does the lamp fit an E14 socket?", None), ("I think so.", 0.55)]
LONG: Turns = [
    ("Hi", None),
    ("Hello!", 0.9),
    ("Colours?", None),
    ("Red.", 0.9),
    ("Sizes?", None),
    ("S to XL.", 0.9),
]
CALM: Turns = [("Thanks, all good", None), ("Glad to help!", 0.95)]
