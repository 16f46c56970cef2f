"""Many conversations from a few, for measuring backtest speed honestly.

Variant ``k`` of a conversation repeats its messages with ``k`` extra trailing spaces: every
reading and every decision stays the same (so the outcome counts scale exactly), but no text
is the same as another variant's, so no cache answers for it — each variant costs what a new
conversation costs.
"""

from dataclasses import replace

from detector.evaluate import Case


def synthesise(cases: list[Case], scale: int) -> list[Case]:
    if scale <= 1:
        return cases
    variants = []
    for k in range(scale):
        for case in cases:
            conversation_id = f"{case.id}~{k}"
            messages = [
                message.model_copy(
                    update={
                        "message_id": f"{conversation_id}/{index}",
                        "conversation_id": conversation_id,
                        "text": message.text + " " * k,
                    }
                )
                for index, message in enumerate(case.messages)
            ]
            variants.append(replace(case, id=conversation_id, messages=messages))
    return variants
