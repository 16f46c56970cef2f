"""The words of notification emails, in the languages supervisors can be written to.

An agent's ``summary_language`` (a BCP 47 tag) picks the catalogue by its primary subtag
(``pt-BR`` → ``pt``); a language without one falls back to English. The escalation's reason is
the detector's own sentence and is shown as written.
"""

from dataclasses import dataclass

from escalator_schemas.classification import Severity, Urgency

DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True, slots=True)
class Catalogue:
    urgency: dict[Urgency, str]
    severity: dict[Severity, str]
    subject_escalation: str
    subject_reminder: str  # {minutes}
    preview: str
    heading_escalation: str
    heading_reminder: str  # {minutes}
    intro_escalation: str
    intro_reminder: str
    customer: str
    customer_unknown: str
    reason: str
    urgency_label: str
    severity_label: str
    category: str
    open_escalation: str
    preview_note: str
    footer: str


_EN = Catalogue(
    urgency={
        Urgency.LOW: "Low",
        Urgency.MEDIUM: "Medium",
        Urgency.HIGH: "High",
        Urgency.CRITICAL: "Critical",
    },
    severity={
        Severity.INFORMATIONAL: "Informational",
        Severity.WARNING: "Warning",
        Severity.CRITICAL: "Critical",
    },
    subject_escalation="Escalation",
    subject_reminder="Unclaimed for {minutes} min",
    preview="(preview)",
    heading_escalation="A conversation needs a human",
    heading_reminder="Still unclaimed after {minutes} min",
    intro_escalation="This escalation was routed to you.",
    intro_reminder="Nobody has claimed this escalation yet. Please take a look.",
    customer="Customer",
    customer_unknown="Not known",
    reason="Reason",
    urgency_label="Urgency",
    severity_label="Severity",
    category="Category",
    open_escalation="Open the escalation",
    preview_note="From a preview conversation (draft configuration), not a live customer.",
    footer="You receive this email because you are an escalation supervisor of this AI agent.",
)

_ES = Catalogue(
    urgency={
        Urgency.LOW: "Baja",
        Urgency.MEDIUM: "Media",
        Urgency.HIGH: "Alta",
        Urgency.CRITICAL: "Crítica",
    },
    severity={
        Severity.INFORMATIONAL: "Informativa",
        Severity.WARNING: "Advertencia",
        Severity.CRITICAL: "Crítica",
    },
    subject_escalation="Escalación",
    subject_reminder="Sin asignar desde hace {minutes} min",
    preview="(vista previa)",
    heading_escalation="Una conversación necesita a una persona",
    heading_reminder="Sigue sin asignar tras {minutes} min",
    intro_escalation="Esta escalación se ha dirigido a usted.",
    intro_reminder="Nadie ha tomado todavía esta escalación. Por favor, revísela.",
    customer="Cliente",
    customer_unknown="Desconocido",
    reason="Motivo",
    urgency_label="Urgencia",
    severity_label="Gravedad",
    category="Categoría",
    open_escalation="Abrir la escalación",
    preview_note="Procede de una conversación de vista previa (configuración en borrador),"
    " no de un cliente real.",
    footer="Recibe este correo porque supervisa las escalaciones de este agente de IA.",
)

_DE = Catalogue(
    urgency={
        Urgency.LOW: "Niedrig",
        Urgency.MEDIUM: "Mittel",
        Urgency.HIGH: "Hoch",
        Urgency.CRITICAL: "Kritisch",
    },
    severity={
        Severity.INFORMATIONAL: "Information",
        Severity.WARNING: "Warnung",
        Severity.CRITICAL: "Kritisch",
    },
    subject_escalation="Eskalation",
    subject_reminder="Seit {minutes} Min. nicht übernommen",
    preview="(Vorschau)",
    heading_escalation="Ein Gespräch braucht einen Menschen",
    heading_reminder="Nach {minutes} Min. noch nicht übernommen",
    intro_escalation="Diese Eskalation wurde an Sie weitergeleitet.",
    intro_reminder="Noch niemand hat diese Eskalation übernommen. Bitte sehen Sie sie sich an.",
    customer="Kunde",
    customer_unknown="Unbekannt",
    reason="Grund",
    urgency_label="Dringlichkeit",
    severity_label="Schweregrad",
    category="Kategorie",
    open_escalation="Eskalation öffnen",
    preview_note="Aus einem Vorschau-Gespräch (Entwurfskonfiguration), nicht von einem echten"
    " Kunden.",
    footer="Sie erhalten diese E-Mail, weil Sie Eskalationen dieses KI-Agenten betreuen.",
)

_FR = Catalogue(
    urgency={
        Urgency.LOW: "Basse",
        Urgency.MEDIUM: "Moyenne",
        Urgency.HIGH: "Haute",
        Urgency.CRITICAL: "Critique",
    },
    severity={
        Severity.INFORMATIONAL: "Information",
        Severity.WARNING: "Avertissement",
        Severity.CRITICAL: "Critique",
    },
    subject_escalation="Escalade",
    subject_reminder="Non prise en charge depuis {minutes} min",
    preview="(aperçu)",
    heading_escalation="Une conversation a besoin d'un humain",
    heading_reminder="Toujours non prise en charge après {minutes} min",
    intro_escalation="Cette escalade vous a été transmise.",
    intro_reminder="Personne n'a encore pris en charge cette escalade. Merci d'y jeter un œil.",
    customer="Client",
    customer_unknown="Inconnu",
    reason="Motif",
    urgency_label="Urgence",
    severity_label="Gravité",
    category="Catégorie",
    open_escalation="Ouvrir l'escalade",
    preview_note="Issue d'une conversation d'aperçu (configuration brouillon), pas d'un vrai"
    " client.",
    footer="Vous recevez cet e-mail car vous supervisez les escalades de cet agent IA.",
)

_PT = Catalogue(
    urgency={
        Urgency.LOW: "Baixa",
        Urgency.MEDIUM: "Média",
        Urgency.HIGH: "Alta",
        Urgency.CRITICAL: "Crítica",
    },
    severity={
        Severity.INFORMATIONAL: "Informativa",
        Severity.WARNING: "Aviso",
        Severity.CRITICAL: "Crítica",
    },
    subject_escalation="Escalonamento",
    subject_reminder="Sem responsável há {minutes} min",
    preview="(pré-visualização)",
    heading_escalation="Uma conversa precisa de uma pessoa",
    heading_reminder="Ainda sem responsável após {minutes} min",
    intro_escalation="Este escalonamento foi encaminhado para você.",
    intro_reminder="Ninguém assumiu este escalonamento ainda. Por favor, dê uma olhada.",
    customer="Cliente",
    customer_unknown="Desconhecido",
    reason="Motivo",
    urgency_label="Urgência",
    severity_label="Gravidade",
    category="Categoria",
    open_escalation="Abrir o escalonamento",
    preview_note="Vem de uma conversa de pré-visualização (configuração em rascunho), não de um"
    " cliente real.",
    footer="Você recebe este e-mail porque supervisiona os escalonamentos deste agente de IA.",
)

CATALOGUES: dict[str, Catalogue] = {"en": _EN, "es": _ES, "de": _DE, "fr": _FR, "pt": _PT}


def language_for(tag: str | None) -> str:
    """The catalogue language for a BCP 47 tag: its primary subtag when translated, else
    English."""
    primary = (tag or "").split("-", 1)[0].lower()
    return primary if primary in CATALOGUES else DEFAULT_LANGUAGE


def catalogue(language: str) -> Catalogue:
    return CATALOGUES.get(language, _EN)
