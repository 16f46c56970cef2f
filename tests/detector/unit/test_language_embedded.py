"""The embedded language judge on messages written for these tests (not from dev.jsonl)."""

import asyncio
import threading

import pytest

from detector.language import Judgement, Utterance
from detector.language.embedded import EmbeddedJudge
from detector.language.topics import topic_and_area
from escalator_schemas.classification import Area, Topic, Urgency
from escalator_schemas.config import TriggerCondition


def one(judge: EmbeddedJudge, text: str, **context: object) -> Judgement:
    return judge.judge_sync([Utterance(text=text, **context)])[0]  # type: ignore[arg-type]


ANGRY = [
    "This is the second kettle that leaks. Completely useless, I'm furious.",
    "¡Es una vergüenza! Llevo dos semanas esperando y nadie me contesta.",
    "Das ist eine Frechheit, das Sofa ist schon wieder kaputt angekommen!",
    "C'est inadmissible, personne ne répond à mes mails depuis dix jours.",
    "Que absurdo, paguei o frete expresso e até agora nada!",
]


@pytest.mark.parametrize("text", ANGRY)
def test_anger_in_five_languages(judge: EmbeddedJudge, text: str) -> None:
    judgement = one(judge, text)
    assert judgement.anger.present, judgement
    assert not judgement.urgency.present


CALM = [
    "Do the wool socks come in a size 44?",
    "¿Cuánto tarda el envío a Sevilla?",
    "Kann ich die Lieferadresse noch ändern?",
    "Est-ce que la lampe existe en blanc ?",
    "Vocês entregam em Curitiba?",
    "Thanks, that solved it!",
]


@pytest.mark.parametrize("text", CALM)
def test_calm_questions_are_neither_angry_nor_urgent(judge: EmbeddedJudge, text: str) -> None:
    judgement = one(judge, text)
    assert not judgement.anger.present, judgement
    assert not judgement.urgency.present, judgement
    assert not judgement.legal_threat


@pytest.mark.parametrize(
    "text",
    [
        "Wonderful, another copy-paste reply. So helpful 🙄",
        "wow. the 'premium' strap snapped on day two 🤬",
        "Thanks for nothing, seriously.",
    ],
)
def test_sarcasm_and_angry_emojis(judge: EmbeddedJudge, text: str) -> None:
    assert one(judge, text).anger.present


@pytest.mark.parametrize(
    "text",
    [
        "THE RUG IS GORGEOUS!!! I LOVE IT SO MUCH!!!",
        "YES!!! IT CAME A DAY EARLY 😍😍",
    ],
)
def test_all_caps_excitement_is_not_anger(judge: EmbeddedJudge, text: str) -> None:
    assert not one(judge, text).anger.present


def test_mild_disappointment_that_the_customer_accepts_is_not_anger(judge: EmbeddedJudge) -> None:
    text = "Shame the teal one sold out, a little disappointing. I'll take the grey then, thanks!"
    assert not one(judge, text).anger.present


def test_shouting_about_a_problem_is_anger(judge: EmbeddedJudge) -> None:
    assert one(
        judge, "WHY DID YOU CHARGE ME TWICE AND CANCEL MY ORDER??? UNBELIEVABLE"
    ).anger.present


@pytest.mark.parametrize(
    "text",
    [
        "Our dog's seizure medication didn't come and he needs it tonight. Can you help?",
        "I need the tuxedo by Friday morning for my brother's wedding, is express possible?",
        "Necesito el cargador antes de mañana, tengo un vuelo a las 7.",
        # a date the order may miss
        "The replacement hose has to be here Thursday at the latest, the plumber comes then, and"
        " it still says 'not dispatched'.",
        "Necesito el cargador el viernes a más tardar y el pedido sigue sin salir del almacén,"
        " me voy de viaje el sábado.",
        "Das Kinderbett ist immer noch nicht verschickt und das Baby kommt Freitag. Ich brauche"
        " es bis dahin!",
        "O berço ainda não foi enviado e o bebê nasce na sexta. Preciso dele até lá!",
    ],
)
def test_polite_urgency_without_anger(judge: EmbeddedJudge, text: str) -> None:
    judgement = one(judge, text)
    assert judgement.urgency.present, judgement
    assert not judgement.anger.present


@pytest.mark.parametrize(
    "text",
    [
        "The tracking said today, now it says tomorrow, no worries at all.",
        "We're planning our wedding registry for next year, can we add the cookware set?",
        "Please close my account, effective immediately. Thank you.",
        # a date to plan around, nothing gone wrong: whether it can be met is the AI's to answer
        "I'd like the oak shelf delivered by Saturday, we have guests coming. Will standard"
        " delivery make it?",
        "Could I get the printed menus by Thursday for our restaurant opening? No rush if not.",
        "Die Lampe muss spätestens Samstag da sein, dann ziehen wir ein. Ist das machbar?",
        "Preciso do berço na sexta, o mais tardar.",
    ],
)
def test_time_and_event_words_alone_are_not_urgency(judge: EmbeddedJudge, text: str) -> None:
    assert not one(judge, text).urgency.present


def test_anger_with_an_urgent_demand(judge: EmbeddedJudge) -> None:
    judgement = one(
        judge, "Ridiculous. The party is TOMORROW and you sent the wrong balloons. Fix it NOW!"
    )
    assert judgement.anger.present
    assert judgement.urgency.present


@pytest.mark.parametrize(
    "text",
    [
        "If the deposit isn't back by Friday I'm taking you to small claims court.",
        "I've opened a dispute with PayPal for the missing jacket.",
        "Ich schalte jetzt meinen Anwalt ein.",
        "Vou registrar uma reclamação no Procon.",
        "I'll report your shop to the Better Business Bureau.",
    ],
)
def test_legal_threats(judge: EmbeddedJudge, text: str) -> None:
    assert one(judge, text).legal_threat


@pytest.mark.parametrize(
    "text",
    [
        "My cousin is a lawyer and loves fountain pens, any ideas?",
        "Can I pay through PayPal or my bank?",
        "Do you sell legal-size envelopes?",
    ],
)
def test_legal_words_in_passing_are_not_threats(judge: EmbeddedJudge, text: str) -> None:
    assert not one(judge, text).legal_threat


def test_repeated_complaint_across_earlier_messages(judge: EmbeddedJudge) -> None:
    condition = TriggerCondition(
        label="Repeat complaint", description="Escalate when the customer complains repeatedly."
    )
    earlier = ("The blender lid was cracked on arrival.", "Any news about the cracked lid?")
    judgement = one(
        judge,
        "It's been 12 days and I'm asking again about the cracked lid, nothing has happened.",
        earlier=earlier,
        conditions=(condition,),
    )
    assert judgement.conditions[0].matched
    assert judgement.conditions[0].urgency is Urgency.HIGH
    first_time = one(judge, "The blender lid was cracked on arrival.", conditions=(condition,))
    assert not first_time.conditions[0].matched


@pytest.mark.parametrize(
    ("keyword", "text", "real"),
    [
        ("manager", "Put me through to a manager, please.", True),
        ("supervisor", "Ich möchte mit einem Supervisor sprechen.", True),
        ("refund", "I'd rather have a refund than a replacement.", True),
        ("speak to a person", "Can I speak to a person about my order?", True),
        ("manager", "We need name tags for our 12 floor managers.", False),
        ("lawyer", "Gift ideas for my niece, who just qualified as a lawyer?", False),
        ("supervisor", "Do you print 'SUPERVISOR' on safety helmets?", False),
        ("refund", "Got the refund this morning, thank you!", False),
    ],
)
def test_keyword_intent_real_or_incidental(
    judge: EmbeddedJudge, keyword: str, text: str, real: bool
) -> None:
    intent = one(judge, text, keywords=(keyword,)).keyword_intent
    assert (intent >= 0.5) is real, intent


def test_keyword_intent_is_one_without_keywords(judge: EmbeddedJudge) -> None:
    assert one(judge, "Where is my parcel?").keyword_intent == 1.0


BULK = TriggerCondition(
    label="Bulk order",
    description="Escalate when a customer wants to buy more than 100 units or resell our goods.",
)
BIG_CART = TriggerCondition(
    label="Big cart", description="Escalate when the customer mentions a cart worth over $2,000."
)


@pytest.mark.parametrize(
    ("condition", "text", "matched"),
    [
        (BULK, "Could I get 3 bath towels in white?", False),
        (BULK, "We'd like 250 towels for our hotel every month.", True),
        (BULK, "I run a shop in Porto and would like to resell your towels.", True),
        (BIG_CART, "My cart is about $3,150 with the dining table, is assembly included?", True),
        (BIG_CART, "My cart is $85, do I get free shipping?", False),
    ],
)
def test_number_aware_conditions(
    judge: EmbeddedJudge, condition: TriggerCondition, text: str, matched: bool
) -> None:
    match = one(judge, text, conditions=(condition,)).conditions[0]
    assert match.matched is matched, match
    assert match.label == condition.label


def test_condition_urgency_follows_its_concept(judge: EmbeddedJudge) -> None:
    conditions = (
        TriggerCondition(label="Legal", description="Escalate when the customer threatens to sue."),
        TriggerCondition(
            label="Safety", description="Escalate when a product causes a burn or a fire."
        ),
    )
    legal, safety = one(
        judge,
        "The toaster caught fire in my kitchen. I'm calling my lawyer.",
        conditions=conditions,
    ).conditions
    assert (legal.matched, legal.urgency) == (True, Urgency.CRITICAL)
    assert (safety.matched, safety.urgency) == (True, Urgency.HIGH)


def test_a_hazard_asked_about_is_not_a_hazard_reported(judge: EmbeddedJudge) -> None:
    condition = TriggerCondition(
        label="Safety", description="Escalate when a product causes a burn, fire or smoke."
    )
    match = one(judge, "Does the fire pit come with a lid?", conditions=(condition,)).conditions[0]
    assert not match.matched


@pytest.mark.parametrize(
    ("text", "earlier", "topic", "area"),
    [
        ("Where is my parcel? Tracking hasn't moved in 4 days.", (), Topic.SHIPPING, Area.DELIVERY),
        ("I was charged twice for the same invoice.", (), Topic.BILLING, Area.PAYMENT),
        ("I can't log in, it says my password is wrong.", (), Topic.ACCOUNT, Area.ACCOUNT),
        (
            "I want my money back, please refund it.",
            ("The mixer stopped working.",),
            Topic.REFUND,
            Area.PAYMENT,
        ),
        # No order, payment, delivery, account or fault named: a question about what the
        # shop sells.
        ("Would the walnut desk lamp suit a reading nook?", (), Topic.PRODUCT, Area.PRODUCT),
        ("¿La mochila Trek 30 aguanta lluvia fuerte?", (), Topic.PRODUCT, Area.PRODUCT),
        # Bookings, rentals and tickets are none of the topics, and an order
        (
            "Wir haben die Ferienwohnung für August gebucht. Können wir die Buchung verschieben?",
            (),
            Topic.OTHER,
            Area.ORDER,
        ),
        ("Queria reservar 4 ingressos para o concerto de sábado.", (), Topic.OTHER, Area.ORDER),
        # instalments are billing; plans, tariffs and users are the account
        ("Puis-je payer la trottinette en plusieurs fois ?", (), Topic.BILLING, Area.PAYMENT),
        (
            "Does the Team plan cover 12 users, or do we need to upgrade?",
            (),
            Topic.ACCOUNT,
            Area.ACCOUNT,
        ),
        (
            "Since the update the scanner shows offline and won't connect.",
            (),
            Topic.TECHNICAL,
            Area.PRODUCT,
        ),
    ],
)
def test_topic_and_area(text: str, earlier: tuple[str, ...], topic: Topic, area: Area) -> None:
    assert topic_and_area((*earlier, text)) == (topic, area)


def test_batches_judge_each_utterance_in_order(judge: EmbeddedJudge) -> None:
    texts = ["Thanks!", "This is a scam, you useless lot 😡", "Do you ship to Malta?"]
    judged = judge.judge_sync([Utterance(text=t) for t in texts])
    assert [j.anger.present for j in judged] == [False, True, False]


async def test_the_model_runs_off_the_event_loop(judge: EmbeddedJudge) -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []
    original = judge.embedder.embed

    def spy(texts: list[str]) -> object:
        seen.append(threading.get_ident())
        return original(texts)

    judge.embedder.embed = spy  # type: ignore[method-assign,assignment]
    try:
        ticks = 0

        async def heartbeat() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        beating = asyncio.create_task(heartbeat())
        # An uncertain message (a sign of trouble, no clear anger) goes to the model.
        await judge.judge([Utterance(text="Hmm, the zip broke again after two days.")])
        beating.cancel()
    finally:
        del judge.embedder.embed
    assert seen, "the model was not consulted"
    assert all(thread != loop_thread for thread in seen)
    assert ticks > 0


def test_a_spent_budget_leaves_open_calls_to_the_cues() -> None:
    judge = EmbeddedJudge(model_time_share=1e-6, model_burst_s=0.05)
    texts = [f"Hmm, the zip broke again after {n} days." for n in range(2, 40)]
    judged = judge.judge_sync([Utterance(text=t) for t in texts])
    assert sum(j.used_model for j in judged) <= 3
    assert judge.skipped > 0
    assert any("budget" in note for j in judged for note in j.notes)
    assert sum(j.model_skipped == "budget" for j in judged) == judge.skipped


# "Hello, where is my order?" in Chinese: a language the cues do not cover.
CHINESE = "\u4f60\u597d\uff0c\u6211\u7684\u8ba2\u5355\u5462\uff1f"


@pytest.mark.parametrize("text", ["", "😡", "a" * 16_000, CHINESE, "1 2 3 $4 €5"])
def test_odd_inputs_are_judged_without_failing(judge: EmbeddedJudge, text: str) -> None:
    degenerate = (
        TriggerCondition(label="Only a verb", description="Escalate"),
        TriggerCondition(label="Only a number", description="100"),
    )
    judgement = one(judge, text, conditions=degenerate)
    assert [match.matched for match in judgement.conditions] == [False, False]
    assert 0.0 <= judgement.anger.score <= 1.0
    assert 0.0 <= judgement.urgency.score <= 1.0


class CountingEmbedder:
    """The shared model, counting the texts it is asked to embed."""

    def __init__(self, judge: EmbeddedJudge) -> None:
        self.inner = judge.embedder
        self.texts: list[str] = []

    def embed(self, texts: list[str]) -> object:
        self.texts.extend(texts)
        return self.inner.embed(texts)


# Anger and urgency both open for the cues; "refund" escalates it whatever they turn out to be.
BROKEN_REFUND = "The tent arrived broken and I need a refund today, I'm not waiting two weeks."


def test_a_keyword_escalation_does_not_wait_for_the_model(judge: EmbeddedJudge) -> None:
    counting = CountingEmbedder(judge)
    fast = EmbeddedJudge(embedder=counting, model_time_share=None)  # type: ignore[arg-type]
    with_keyword, without = fast.judge_sync(
        [Utterance(text=BROKEN_REFUND, keywords=("refund",)), Utterance(text=BROKEN_REFUND)]
    )
    assert not with_keyword.used_model
    assert with_keyword.model_skipped == "keyword"
    assert any("cues set the urgency" in note for note in with_keyword.notes)
    assert with_keyword.urgency.present  # "today": the cues still read the urgent need
    assert without.used_model  # without the keyword, whether to escalate is the model's call
    assert counting.texts == [BROKEN_REFUND]


# Urgent beyond doubt for the cues ("by tomorrow morning", a party); whether it is angry too is
# open, and only decides between high and critical.
SURE_DEADLINE = (
    "The cake stand has to be here by tomorrow morning, it's for my son's party. Tracking"
    " hasn't moved in four days."
)


def test_an_escalation_the_cues_are_sure_of_does_not_wait_for_the_model(
    judge: EmbeddedJudge,
) -> None:
    counting = CountingEmbedder(judge)
    fast = EmbeddedJudge(embedder=counting, model_time_share=None)  # type: ignore[arg-type]
    (judged,) = fast.judge_sync([Utterance(text=SURE_DEADLINE)])
    assert judged.urgency.present
    assert not judged.used_model
    assert judged.model_skipped == "sentiment"
    assert any("cues set the urgency" in note for note in judged.notes)
    assert counting.texts == []
    careful = EmbeddedJudge(
        embedder=counting,  # type: ignore[arg-type]
        model_time_share=None,
        model_for_escalation_urgency=True,
    )
    (refined,) = careful.judge_sync([Utterance(text=SURE_DEADLINE)])
    assert refined.used_model  # the anger call was open: with the flag, the model makes it
    assert refined.urgency.present


def test_the_model_may_still_set_a_keyword_escalations_urgency(judge: EmbeddedJudge) -> None:
    counting = CountingEmbedder(judge)
    careful = EmbeddedJudge(
        embedder=counting,  # type: ignore[arg-type]
        model_time_share=None,
        model_for_escalation_urgency=True,
    )
    (judged,) = careful.judge_sync([Utterance(text=BROKEN_REFUND, keywords=("refund",))])
    assert judged.used_model
    assert counting.texts == [BROKEN_REFUND]


def test_a_keyword_escalation_waits_for_a_condition_that_needs_similarity(
    judge: EmbeddedJudge,
) -> None:
    counting = CountingEmbedder(judge)
    fast = EmbeddedJudge(embedder=counting, model_time_share=None)  # type: ignore[arg-type]
    trip = TriggerCondition(
        label="Trip", description="Escalate when the customer is planning a camping trip."
    )
    (judged,) = fast.judge_sync(
        [Utterance(text=BROKEN_REFUND, keywords=("refund",), conditions=(trip,))]
    )
    assert judged.used_model  # the condition adds a trigger of its own: its call is open
    assert BROKEN_REFUND in counting.texts


def test_a_message_read_from_a_backlog_is_left_to_the_cues(judge: EmbeddedJudge) -> None:
    counting = CountingEmbedder(judge)
    hurried = EmbeddedJudge(
        embedder=counting,  # type: ignore[arg-type]
        model_time_share=None,
        model_max_wait_s=0.3,
    )
    fresh, late = hurried.judge_sync(
        [Utterance(text=BROKEN_REFUND, waited_s=0.05), Utterance(text=BROKEN_REFUND, waited_s=2.0)]
    )
    assert fresh.used_model
    assert fresh.model_skipped is None
    assert not late.used_model
    assert late.model_skipped == "backlog"
    assert any("a backlog" in note for note in late.notes)
    assert hurried.behind == 1
    assert counting.texts == [BROKEN_REFUND]


def test_cues_alone_never_touch_the_model() -> None:
    judge = EmbeddedJudge(use_model=False)
    judged = judge.judge_sync([Utterance(text="Hmm, the zip broke again after two days.")])
    assert not judged[0].used_model


def test_a_failing_model_leaves_the_decision_to_the_cues(judge: EmbeddedJudge) -> None:
    class BrokenEmbedder:
        def embed(self, texts: object) -> object:
            raise RuntimeError("model file unreadable")

    broken = EmbeddedJudge(embedder=BrokenEmbedder(), model_time_share=None)  # type: ignore[arg-type]
    clear, open_ = broken.judge_sync(
        [
            Utterance(text="Fix it TODAY, this is useless!!"),  # evident from the cues alone
            Utterance(text="Hmm, the zip broke again after two days."),  # needs the model
        ]
    )
    assert clear.anger.present
    assert not open_.used_model
    assert open_.model_skipped == "failed"
    assert any("model failed" in note for note in open_.notes)


@pytest.mark.parametrize(
    "text",
    [
        "I'm on my feet for ten-hour shifts at the hospital, which of your insoles helps most?",
        "Ordering 25 tote bags for our team party, do you print on both sides if I order today?",
        "Für unsere Hochzeit: gibt es die Servietten auch in Salbeigrün, wenn ich heute bestelle?",
    ],
)
def test_a_question_planning_a_purchase_is_not_urgency(judge: EmbeddedJudge, text: str) -> None:
    assert not one(judge, text).urgency.present


def test_an_occasion_with_a_delivery_gone_wrong_is_urgency(judge: EmbeddedJudge) -> None:
    text = "The dress for my sister's wedding tomorrow still hasn't arrived, can you help today?"
    assert one(judge, text).urgency.present


@pytest.mark.parametrize(
    "text",
    [
        "this checkout page is trash on my tablet 🙄 anyway, is the linen shirt pre-washed?",
        "Eure App ist echt Müll 🙄 egal, gibt es die Jacke auch in Oliv?",
    ],
)
def test_a_jab_in_passing_then_a_plain_question(judge: EmbeddedJudge, text: str) -> None:
    assert not one(judge, text).anger.present


def test_moving_on_does_not_excuse_a_problem(judge: EmbeddedJudge) -> None:
    text = "Your courier is useless and my parcel is lost 🙄 anyway, when do I get my refund?"
    assert one(judge, text).anger.present


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("The app told me to write 'complaint' in the chat: the lid of my cooler is cracked.",
         "complaint"),
        ("Somebody bought two gift cards with my account, I never ordered them. Is it fraud?",
         "fraud"),
    ],
)  # fmt: skip
def test_a_keyword_the_message_backs_is_meant(
    judge: EmbeddedJudge, text: str, keyword: str
) -> None:
    assert one(judge, text, keywords=(keyword,)).keyword_intent >= 0.5


def test_asking_whether_one_must_talk_to_a_person(judge: EmbeddedJudge) -> None:
    text = "If the blender stops working, would I need to speak to a person, or is there a form?"
    assert one(judge, text, keywords=("speak to a person",)).keyword_intent < 0.5


async def test_start_settles_what_the_cues_can_and_leaves_the_rest_for_the_model(
    judge: EmbeddedJudge,
) -> None:
    counting = CountingEmbedder(judge)
    staged = EmbeddedJudge(embedder=counting, model_time_share=None)  # type: ignore[arg-type]
    texts = ["Thanks, that's all!", "Hmm, the zip broke again after two days.", "Do you ship?"]
    utterances = [Utterance(text=t) for t in texts]
    judging = staged.start(utterances)
    ready = list(judging.ready)
    assert [j is None for j in ready] == [False, True, False]
    assert counting.texts == []  # the model has not been asked yet
    finished = await judging.finish()
    assert counting.texts == [texts[1]]
    assert [finished[0], finished[2]] == [ready[0], ready[2]]
    assert finished[1].used_model
    assert finished == judge.judge_sync(utterances)
