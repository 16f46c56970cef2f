"""Concept detectors behind merchant conditions, on messages written for these tests (not
taken from any evaluation set): press and creators, price matching, denied purchases,
overheating, skin reactions in five languages, standing allergies, staff requests."""

import pytest

from detector.language import Utterance
from detector.language.embedded import EmbeddedJudge
from escalator_schemas.classification import Urgency
from escalator_schemas.config import TriggerCondition


def verdict(judge: EmbeddedJudge, description: str, text: str, *earlier: str) -> tuple[bool, str]:
    condition = TriggerCondition(label="test", description=description)
    utterance = Utterance(text=text, earlier=earlier, conditions=(condition,))
    match = judge.judge_sync([utterance])[0].conditions[0]
    return match.matched, match.urgency.value


PRESS = "Escalate when the sender is a journalist, blogger or creator, or proposes a partnership."


@pytest.mark.parametrize(
    "text",
    [
        "I'm a food blogger and would love to feature your olive oil in a recipe post.",
        "Ich bin Journalistin bei einer Wochenzeitung und hätte ein paar Fragen zu Ihrer Firma.",
        "Nous aimerions vous proposer un partenariat pour notre chaîne de cuisine.",
        "My podcast has about 40k listeners, could we talk about a sponsorship?",
        "I write for a cycling newsletter and wondered if you lend bikes for testing.",
    ],
)
def test_press_and_creators_in_their_own_voice(judge: EmbeddedJudge, text: str) -> None:
    assert verdict(judge, PRESS, text) == (True, Urgency.MEDIUM.value)


@pytest.mark.parametrize(
    "text",
    [
        "My cousin is a journalist and she recommended your kettles. Do you ship to Ireland?",
        "A blogger I follow raved about this lamp, is it dimmable?",
        "I read about the blender in a newspaper, does it crush ice?",
        "I spotted the scarf on a stylist's Instagram, is the grey one back in stock?",
    ],
)
def test_press_or_creators_merely_mentioned(judge: EmbeddedJudge, text: str) -> None:
    assert not verdict(judge, PRESS, text)[0]


PRICE_MATCH = "Escalate when the shopper wants us to price-match another retailer."


@pytest.mark.parametrize(
    "text",
    [
        "Hollow Oak Outfitters sells this tent for $40 less, can you match that price?",
        "¿Podéis igualar el precio de la otra web? Allí está a 30 euros.",
        "Fenwick & Co has it at 89 euros, would you beat their offer?",
    ],
)
def test_price_match_requests_name_any_shop(judge: EmbeddedJudge, text: str) -> None:
    assert verdict(judge, PRICE_MATCH, text)[0]


@pytest.mark.parametrize(
    "text",
    [
        "Does the price include the carrying case?",
        "Do the socks match the hat? And what is the price of the set?",
    ],
)
def test_prices_and_matching_colours_are_not_price_matching(
    judge: EmbeddedJudge, text: str
) -> None:
    assert not verdict(judge, PRICE_MATCH, text)[0]


FRAUD = "Escalate when the customer finds a charge they did not make."


@pytest.mark.parametrize(
    "text",
    [
        "There's a debit of €54 from your shop on my account and I have not purchased anything "
        "from you this year.",
        "Auf meinem Kontoauszug ist eine Abbuchung von Ihnen, aber ich habe nichts bestellt.",
    ],
)
def test_a_charge_for_a_purchase_the_customer_denies(judge: EmbeddedJudge, text: str) -> None:
    assert verdict(judge, FRAUD, text) == (True, Urgency.HIGH.value)


@pytest.mark.parametrize(
    "text",
    [
        "I haven't ordered yet, will I be charged for shipping to Norway?",
        "I haven't bought from you before; do you take PayPal?",
    ],
)
def test_not_having_bought_yet_is_not_fraud(judge: EmbeddedJudge, text: str) -> None:
    assert not verdict(judge, FRAUD, text)[0]


SAFETY = "Escalate when the customer says a product was a fire or burn risk."


@pytest.mark.parametrize(
    "text",
    [
        "The charger brick gets hot to the touch within ten minutes of plugging in my phone.",
        "The toaster casing is scorched underneath and the handle has warped.",
        "Der Föhn wird heiß und riecht verschmort.",
    ],
)
def test_signs_of_overheating_are_a_hazard(judge: EmbeddedJudge, text: str) -> None:
    assert verdict(judge, SAFETY, text) == (True, Urgency.HIGH.value)


def test_hot_drinks_are_not_a_hazard(judge: EmbeddedJudge) -> None:
    assert not verdict(judge, SAFETY, "Is this travel mug fine for hot drinks?")[0]


SKIN = "Escalate when a shopper reports a skin reaction or feeling unwell after using our products."


@pytest.mark.parametrize(
    "text",
    [
        "Desde que uso la crema me salen ronchas en el cuello.",
        "Nach dem Duschgel juckt meine Haut am ganzen Körper.",
        "J'ai des plaques rouges sur les bras depuis que j'utilise le savon.",
        "Fiquei com manchas vermelhas no rosto depois do sérum.",
        "I think I'm allergic to the new formula of your hand soap.",
    ],
)
def test_skin_reactions_in_five_languages(judge: EmbeddedJudge, text: str) -> None:
    assert verdict(judge, SKIN, text) == (True, Urgency.HIGH.value)


@pytest.mark.parametrize(
    "text",
    [
        "I'm allergic to lanolin, is there any in the lip balm?",
        "Mein Sohn ist allergisch gegen Nüsse. Sind in den Riegeln Nüsse?",
    ],
)
def test_an_allergy_named_to_ask_about_ingredients_reports_no_reaction(
    judge: EmbeddedJudge, text: str
) -> None:
    assert not verdict(judge, SKIN, text)[0]


def test_asking_for_one_of_the_shops_staff(judge: EmbeddedJudge) -> None:
    human = "Escalate when the customer wants a human to take over."
    text = "I'd like one of your staff to look over my warranty claim."
    assert verdict(judge, human, text) == (True, Urgency.HIGH.value)


SERVICE_CONTRACT_DE = "Der Kunde möchte einen Servicevertrag kündigen oder nicht verlängern."
SERVICE_CONTRACT_ES = "El cliente quiere cancelar su servicio o no renovar."


@pytest.mark.parametrize(
    ("description", "text"),
    [
        (
            SERVICE_CONTRACT_DE,
            "Können wir den Servicetermin für die Spülmaschine auf Donnerstag legen?",
        ),
        (SERVICE_CONTRACT_ES, "¿El servicio técnico puede venir el jueves por la tarde?"),
    ],
)
def test_a_contract_named_without_ending_it(
    judge: EmbeddedJudge, description: str, text: str
) -> None:
    """Function words of other languages are not content the cancel detector leaves uncovered,
    so similarity to what the condition names cannot overrule it."""
    assert not verdict(judge, description, text)[0]


@pytest.mark.parametrize(
    ("description", "text"),
    [
        (
            SERVICE_CONTRACT_DE,
            "Bitte den Servicevertrag nicht mehr verlängern, er läuft im Mai aus.",
        ),
        (SERVICE_CONTRACT_ES, "Hola, quiero dar de baja el servicio a partir de junio."),
    ],
)
def test_a_contract_ended(judge: EmbeddedJudge, description: str, text: str) -> None:
    assert verdict(judge, description, text)[0]


REPEAT_CONTACTS = (
    "Escalate when the customer has written to us three or more times about one problem."
)


@pytest.mark.parametrize(
    "text",
    [
        "Second time I'm asking: is the walnut desk back in stock yet?",
        "Es la segunda vez que pregunto por el código de descuento, ¿me lo podéis reenviar?",
    ],
)
def test_fewer_contacts_than_the_condition_asks_for(judge: EmbeddedJudge, text: str) -> None:
    assert not verdict(judge, REPEAT_CONTACTS, text)[0]


@pytest.mark.parametrize(
    "text",
    [
        "Third time writing about the wobbly table leg and still nothing.",
        "Ich schreibe jetzt zum vierten Mal wegen der fehlenden Schrauben!",
    ],
)
def test_as_many_contacts_as_the_condition_asks_for(judge: EmbeddedJudge, text: str) -> None:
    assert verdict(judge, REPEAT_CONTACTS, text)[0]


MEMBER = "The customer says they are a Silver Leaf member or quotes a Silver Leaf member number."


@pytest.mark.parametrize(
    "text",
    [
        "I'm a Silver Leaf member since 2019, is the early sale open to me?",
        "Soy socia Silver Leaf, ¿me aplican el envío gratis?",
    ],
)
def test_a_member_in_their_own_voice(judge: EmbeddedJudge, text: str) -> None:
    assert verdict(judge, MEMBER, text)[0]


@pytest.mark.parametrize(
    "text",
    [
        "My brother is a Silver Leaf member, can he order for me?",
        "I'm not a Silver Leaf member yet, how do I join?",
        "Wie kann ich Silver-Leaf-Mitglied werden?",
    ],
)
def test_a_membership_someone_else_holds_or_wants(judge: EmbeddedJudge, text: str) -> None:
    assert not verdict(judge, MEMBER, text)[0]


ACCESSIBILITY = (
    "Because of a disability (low vision, blindness, a motor impairment) the customer cannot "
    "use our app or website."
)


@pytest.mark.parametrize(
    "text",
    [
        "My screen reader skips the quantity field, so I can't change how many I buy.",
        "Je suis malvoyante et je n'arrive pas à lire le bouton de paiement.",
        "Ich bin sehbehindert und kann mit dem Screenreader die Größe nicht auswählen.",
    ],
)
def test_a_barrier_reported(judge: EmbeddedJudge, text: str) -> None:
    assert verdict(judge, ACCESSIBILITY, text) == (True, Urgency.HIGH.value)


def test_an_accessibility_word_without_a_barrier(judge: EmbeddedJudge) -> None:
    assert not verdict(judge, ACCESSIBILITY, "Is the garden bench wide enough for a wheelchair?")[0]


BEREAVEMENT = "The customer tells us that the subscriber or account holder has died."


@pytest.mark.parametrize(
    "text",
    [
        "My husband died in March and his razor subscription still bills our card.",
        "Mi madre falleció y quiero cerrar su cuenta.",
    ],
)
def test_a_death_in_the_family(judge: EmbeddedJudge, text: str) -> None:
    assert verdict(judge, BEREAVEMENT, text) == (True, Urgency.HIGH.value)


def test_a_device_that_died(judge: EmbeddedJudge) -> None:
    assert not verdict(judge, BEREAVEMENT, "The speaker died after an hour, is the battery bad?")[0]


def test_made_to_measure_and_business_purchases(judge: EmbeddedJudge) -> None:
    custom = "The customer asks for a made-to-measure or custom-size product."
    assert verdict(judge, custom, "Machen Sie die Vorhänge auch als Maßanfertigung?")[0]
    business = "The customer buys for a school or company and needs a purchase order or quote."
    assert verdict(judge, business, "Pouvez-vous nous envoyer un devis pour 20 chaises ?")[0]


HEALTH_QUESTION = "The customer asks whether a product is safe for them given a medical condition."


def test_a_condition_named_while_asking(judge: EmbeddedJudge) -> None:
    text = "Estoy embarazada, ¿puedo usar el aceite de romero?"
    assert verdict(judge, HEALTH_QUESTION, text) == (True, Urgency.HIGH.value)


def test_ending_a_subscription_without_the_word_cancel(judge: EmbeddedJudge) -> None:
    description = "The customer wants to stop their subscription."
    assert verdict(judge, description, "Please end my tea-of-the-month plan after June.")[0]


def test_one_order_cancelled_is_not_a_contract_ended(judge: EmbeddedJudge) -> None:
    description = "The customer wants to end their phone contract early (single orders aside)."
    assert not verdict(judge, description, "Can I still cancel the order I placed an hour ago?")[0]


DAMAGED = "The customer says an item arrived damaged (a damaged outer box alone does not count)."


def test_a_dented_box_around_an_intact_item(judge: EmbeddedJudge) -> None:
    text = "The carton was crushed at one end but the kettle inside is fine. Does it have a filter?"
    assert not verdict(judge, DAMAGED, text)[0]


def test_an_item_that_arrived_in_pieces(judge: EmbeddedJudge) -> None:
    assert verdict(judge, DAMAGED, "La lámpara de cristal llegó hecha pedazos.")[0]


PRIVACY = "The customer asks us to delete or send them the personal data we hold."


def test_data_mentioned_without_a_request(judge: EmbeddedJudge) -> None:
    text = "Do I need an account? I'd rather not hand over my personal data for one candle."
    assert not verdict(judge, PRIVACY, text)[0]


@pytest.mark.parametrize(
    "text",
    [
        "Bitte löschen Sie meine Daten, ich kaufe hier nicht mehr.",
        "Por favor, borrad mis datos personales de vuestra lista.",
        "Apaguem meus dados, por favor.",
    ],
)
def test_a_data_request(judge: EmbeddedJudge, text: str) -> None:
    assert verdict(judge, PRIVACY, text)[0]


WHOLESALE = "The customer wants 200 or more units, or asks about stockist or reseller pricing."


def test_buying_in_bulk_below_the_limit(judge: EmbeddedJudge) -> None:
    text = "Can I buy the soy candles in bulk? I'd need 12 for my sister's wedding tables."
    assert not verdict(judge, WHOLESALE, text)[0]


def test_a_reseller_below_the_unit_limit_still_asks_for_reseller_pricing(
    judge: EmbeddedJudge,
) -> None:
    text = "We're a reseller in Leeds; what's your reseller price for 30 candles to start?"
    assert verdict(judge, WHOLESALE, text)[0]


CREATORS = (
    "A blogger, or a creator with more than 50,000 followers, asks for samples or a sponsorship."
)


def test_a_creator_below_the_audience_limit(judge: EmbeddedJudge) -> None:
    text = "Ich bin Content Creator mit 800 Followern, habt ihr einen Rabattcode für mich?"
    assert not verdict(judge, CREATORS, text)[0]


@pytest.mark.parametrize(
    "text",
    [
        "I'm a lifestyle creator with 120k followers, could you send me samples to review?",
        "Sou criadora de conteúdo com 60 mil seguidores, vocês mandam amostras?",
    ],
)
def test_a_creator_above_the_audience_limit_written_with_its_scale(
    judge: EmbeddedJudge, text: str
) -> None:
    assert verdict(judge, CREATORS, text)[0]


LOST_PARCEL = "Escalate when the customer reports a parcel worth more than $400 as lost."


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("My $720 headphones were marked delivered yesterday but they never showed up.", True),
        ("The $60 scarf shows delivered but it isn't here.", False),
        ("My $540 sneakers arrived this morning, love them!", False),
        ("Is a $500 parcel insured if it gets lost?", False),
    ],
)
def test_a_number_within_the_limit_leaves_the_rest_to_similarity(
    judge: EmbeddedJudge, text: str, matched: bool
) -> None:
    """The number holds; no cue word says "lost", so similarity reads whether it is."""
    assert verdict(judge, LOST_PARCEL, text)[0] is matched


def test_a_reference_the_condition_says_how_to_recognise(judge: EmbeddedJudge) -> None:
    description = "The customer gives a Harbour Club number (these start with HC-)."
    assert verdict(judge, description, "Hi! hc-55102 here, can I book the tasting evening?")[0]
    assert not verdict(judge, description, "Hi! Can I book the tasting evening for 2?")[0]


ENGRAVING = "Escalate when the customer wants an engraving longer than 20 letters."


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("Could you engrave a message of 35 letters on the lid of the music box?", True),
        ("We need 45 candles for the reception on Saturday, do you ship to Cork?", False),
        ("Can the bracelet say 'Good luck, Ana'?", False),
    ],
)
def test_a_number_within_a_generic_limit_needs_the_topic_too(
    judge: EmbeddedJudge, text: str, matched: bool
) -> None:
    assert verdict(judge, ENGRAVING, text)[0] is matched


PLAN_EN = (
    "Escalate when the shopper wants to cancel their paid plan (putting the plan on hold does "
    "not count)."
)
PLAN_ES = "Escalar cuando el cliente quiere cancelar su membresía, salvo si solo quiere congelarla."
PLAN_DE = "Wenn der Kunde sein Abo kündigen will. Eine Lieferpause zählt nicht."
PLAN_FR = "Quand le client veut résilier son abonnement (une suspension temporaire ne compte pas)."
PLAN_PT = "Quando o cliente quer cancelar a assinatura, exceto quando só quer adiar uma entrega."


@pytest.mark.parametrize(
    ("description", "text", "matched"),
    [
        (PLAN_EN, "Could I put my plan on hold until March? Money is tight.", False),
        (PLAN_EN, "Please cancel my paid plan, I won't need it any more.", True),
        (PLAN_ES, "¿Puedo congelar mi membresía durante el verano?", False),
        (PLAN_ES, "Quiero cancelar mi membresía, ya no voy al gimnasio.", True),
        (PLAN_DE, "Kann ich eine Lieferpause von drei Wochen einlegen?", False),
        (PLAN_DE, "Ich möchte mein Abo kündigen, bitte bestätigen Sie das.", True),
        (PLAN_FR, "Est-ce possible de suspendre mon abonnement pendant un mois ?", False),
        (PLAN_FR, "Je veux résilier mon abonnement, merci de confirmer.", True),
        (PLAN_PT, "Posso adiar a entrega deste mês para o dia 20?", False),
        (PLAN_PT, "Quero cancelar a minha assinatura, não uso mais.", True),
    ],
)
def test_what_a_condition_excludes_does_not_match_it(
    judge: EmbeddedJudge, description: str, text: str, matched: bool
) -> None:
    assert verdict(judge, description, text)[0] is matched


REFUNDS = "Escalate when the customer asks for a refund, except for orders under $20."


def test_an_exclusion_with_a_limit_narrows_the_condition(judge: EmbeddedJudge) -> None:
    assert verdict(judge, REFUNDS, "I'd like a refund for the $12 socks, they itch.")[0] is False
    assert verdict(judge, REFUNDS, "I want a refund for the $80 boots, they leak.")[0] is True


CLUB = (
    "Escalate when the customer says they are a Harbour Club member or gives a member number "
    "(these start with HC-)."
)


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("My number is HC-20417, can I use the member discount on the lamp?", True),
        ("My brother is in the club (HC-55102), can he gift me his discount?", False),
        ("Mein Vater hat die Nummer HC-77310, gilt sein Rabatt auch für mich?", False),
    ],
)
def test_a_member_number_of_a_relative_is_not_the_customers(
    judge: EmbeddedJudge, text: str, matched: bool
) -> None:
    assert verdict(judge, CLUB, text)[0] is matched


INJURY_IN_CLASS = "Escalader quand un adhérent s'est blessé pendant un cours ou sur une machine."
INTRUDER = "Escalate when a member reports a lost access card or a stranger in the building."
MEMBER_CLAIM = (
    "Escalate when the customer says they are a Gold Club member or gives a member number."
)


@pytest.mark.parametrize(
    ("description", "text", "expected"),
    [
        (
            INJURY_IN_CLASS,
            "Pendant le cours de spinning hier, la selle s'est détachée et je suis tombé, j'ai le "
            "coude ouvert et trois points de suture.",
            True,
        ),
        (
            INJURY_IN_CLASS,
            "Je me suis fait une entorse au ski l'an dernier, c'est guéri. Quel cours me "
            "conseillez-vous pour reprendre ?",
            False,
        ),
        (
            INTRUDER,
            "There was a guy I've never seen wandering around the third floor offices last "
            "night, he didn't have a badge.",
            True,
        ),
    ],
)
def test_a_clause_that_names_a_member_is_about_what_happened(
    judge: EmbeddedJudge, description: str, text: str, expected: bool
) -> None:
    # "a member" says who: the customer need not say they are one, what happened decides
    assert verdict(judge, description, text)[0] is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm a Gold Club member, can I get early access to the sale?", True),
        ("Can I get early access to the sale?", False),
    ],
)
def test_a_clause_about_being_a_member_still_asks_for_the_claim(
    judge: EmbeddedJudge, text: str, expected: bool
) -> None:
    assert verdict(judge, MEMBER_CLAIM, text)[0] is expected


@pytest.mark.parametrize(
    ("text", "earlier"),
    [
        (
            "There's also a €87 payment to 'Nordlicht Media' on Friday. I never bought anything "
            "from them.",
            (),
        ),
        (
            "Both at 4 in the morning, €19.99 each. I was asleep, and I've never even heard of "
            "that app.",
            ("There are two charges on my card I want to ask about.",),
        ),
    ],
)
def test_a_disowned_payment_is_fraud_where_the_charge_was_told(
    judge: EmbeddedJudge, text: str, earlier: tuple[str, ...]
) -> None:
    assert verdict(judge, FRAUD, text, *earlier)[0]


def test_never_having_heard_of_the_shop_charges_nothing(judge: EmbeddedJudge) -> None:
    text = "I'd never heard of your shop before a friend sent me the link. Do you ship to Malta?"
    assert not verdict(judge, FRAUD, text)[0]


DOUBLE_BILLED = (
    "Escalate when a customer says they were billed two or more times for the same month."
)


@pytest.mark.parametrize(
    "text",
    [
        "I can see two charges of £12.50 for March on my card, I only have one plan.",
        "Me habéis cobrado dos veces la cuota de abril, ¿me lo podéis revisar?",
        "Ihr habt mir den Mai doppelt abgebucht.",
        "J'ai été prélevé deux fois ce mois-ci pour le même abonnement.",
        "Fui cobrado duas vezes na fatura de junho.",
    ],
)
def test_a_payment_taken_twice_is_a_duplicate_charge(judge: EmbeddedJudge, text: str) -> None:
    # "two or more times" counts charges here, not contacts: no repeated-complaint clause
    assert verdict(judge, DOUBLE_BILLED, text) == (True, Urgency.HIGH.value)


@pytest.mark.parametrize(
    "text",
    [
        "I've written to you three times about my parcel and nobody answers.",
        "When will the charge for next month go through?",
    ],
)
def test_contacts_and_a_single_charge_are_no_duplicate(judge: EmbeddedJudge, text: str) -> None:
    assert verdict(judge, DOUBLE_BILLED, text)[0] is False


# "reseller" makes the clause about buying to resell: the cues decide, similarity is not asked
RESELLER = "Escalate when a shop asks for reseller or trade pricing."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I own a gift shop in York. Do you offer trade pricing on the candles?", True),
        ("We'd like to sell your teas in our café, what are your trade prices?", True),
        ("Do you sell your teas in any shops in York?", False),
    ],
)
def test_trade_pricing_is_asked_by_resellers(
    judge: EmbeddedJudge, text: str, expected: bool
) -> None:
    assert verdict(judge, RESELLER, text)[0] is expected
