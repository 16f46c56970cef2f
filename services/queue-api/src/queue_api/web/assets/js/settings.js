// Escalation settings of one agent: the draft, saved with If-Match (optimistic concurrency),
// and published. Every validation message of a 422 is shown next to its field.

import { mountBacktest } from "./backtest.js";
import { $, $$, announce, h, recall, remember, replace } from "./dom.js";
import { AREAS, CATEGORIES, categoryLabel, dateTime, label, TOPICS, timeAgo } from "./format.js";
import { ApiError, api, request, requireSession } from "./session.js";
import { clearErrors, showErrors } from "./settings-errors.js";
import { mountShell } from "./shell.js";

const TIER_DEFAULT = { starter: 0.7, professional: 0.6, enterprise: 0.5 };
const EVENT_TYPES = [
  "escalation.detected",
  "escalation.routed",
  "escalation.claimed",
  "escalation.released",
  "escalation.completed",
  "escalation.reassigned_to_ai",
  "escalation.sla_breached",
];
const LANGUAGES = [
  ["en", "English"],
  ["es", "Spanish"],
  ["de", "German"],
  ["fr", "French"],
  ["pt", "Portuguese"],
  ["pt-BR", "Portuguese (Brazil)"],
  ["it", "Italian"],
  ["nl", "Dutch"],
  ["pl", "Polish"],
  ["sv", "Swedish"],
  ["tr", "Turkish"],
  ["ja", "Japanese"],
  ["ko", "Korean"],
  ["zh", "Chinese"],
  ["ar", "Arabic"],
  ["hi", "Hindi"],
  ["id", "Indonesian"],
  ["vi", "Vietnamese"],
];
const MAX_KEYWORDS = 30;

const session = await requireSession();
mountShell("settings", session);

const form = $("#settings-form");
const params = new URLSearchParams(location.search);
const agent = (params.get("agent") || "").trim();
const state = {
  draft: null,
  published: null,
  etag: null,
  config: null,
  saved: "",
  readOnly: !session.isAdmin,
  revealed: new Map(),
  busy: false,
};

// --- the document sent and compared -----------------------------------------------------------

function tierDefault(config) {
  return TIER_DEFAULT[config.plan_tier] ?? 0.6;
}

/** What PUT receives: the working copy, with the plan tier left to the server, and the plan
 * default threshold sent as null so it follows the tier. */
function toDocument(config) {
  const { plan_tier: _tier, ...document } = structuredClone(config);
  const threshold = Number(document.escalation_threshold);
  document.escalation_threshold =
    Math.abs(threshold - tierDefault(config)) < 1e-9 ? null : threshold;
  document.webhooks = document.webhooks.map((hook) => {
    const copy = { ...hook };
    if (!copy.secret) delete copy.secret;
    return copy;
  });
  return document;
}

/** What a backtest tries: the working copy with its plan tier and threshold in effect; who is
 * notified and the webhooks do not matter to it. */
function backtestDocument(config) {
  return { ...structuredClone(config), supervisors: [], webhooks: [] };
}

function snapshot(config) {
  return JSON.stringify(toDocument(config));
}

function isDirty() {
  return state.config !== null && snapshot(state.config) !== state.saved;
}

// --- loading ----------------------------------------------------------------------------------

function configUrl(suffix = "") {
  return `/api/v1/agents/${encodeURIComponent(agent)}/escalation-config${suffix}`;
}

function showBanner(kind, text, actions = []) {
  replace($("#banner"), 
    text
      ? h(
          "div",
          { class: `notice ${kind}` },
          h("p", { text }),
          actions.length ? h("div", { class: "row actions" }, actions) : null,
        )
      : null,
  );
}

async function load() {
  $("#load-status").replaceChildren(h("p", { class: "muted", text: "Loading settings…" }));
  try {
    const [draft, published] = await Promise.all([
      request(configUrl()),
      api(configUrl("?version=published")),
    ]);
    state.published = published;
    accept(draft.data, draft.headers.get("ETag"));
    $("#load-status").replaceChildren();
    form.hidden = false;
    if (state.readOnly) {
      showBanner(
        "warning",
        "You can view these settings. Changing them needs role admin.",
      );
    }
  } catch (error) {
    $("#load-status").replaceChildren();
    showBanner(
      "error",
      error instanceof ApiError && error.status === 404
        ? `There is no agent "${agent}" in your tenant.`
        : `Could not load the settings: ${error.message}`,
    );
  }
}

function accept(answer, etag) {
  state.draft = answer;
  state.etag = etag;
  const config = structuredClone(answer.config);
  // Keep full secrets the server showed once, until the page is left.
  for (const hook of answer.config.webhooks) {
    if (hook.secret && !hook.secret.includes("*")) state.revealed.set(hook.id, hook.secret);
  }
  state.config = config;
  state.saved = snapshot(config);
  renderAll();
}

// --- rendering --------------------------------------------------------------------------------

function fieldId(path) {
  return `f-${path.replace(/\./g, "-")}`;
}

function textField(path, labelText, value, onInput, { type = "text", maxlength, hint, multiline } = {}) {
  const id = fieldId(path);
  const hintId = hint ? `${id}-hint` : null;
  const control = h(multiline ? "textarea" : "input", {
    id,
    type: multiline ? null : type,
    value: value ?? "",
    maxlength,
    "data-field": path,
    "aria-describedby": hintId,
    oninput: (event) => {
      onInput(event.target.value);
      changed();
    },
  });
  return h(
    "div",
    { class: "field" },
    h("label", { for: id, text: labelText }),
    hint ? h("p", { class: "hint", id: hintId, text: hint }) : null,
    control,
  );
}

function checkGroup(path, legend, options, selected, onChange, describe = label) {
  return h(
    "fieldset",
    { class: "checks", "data-field": path },
    h("legend", { text: legend }),
    options.map((option) =>
      h(
        "label",
        { class: "check" },
        h("input", {
          type: "checkbox",
          value: option,
          checked: selected.includes(option),
          onchange: (event) => {
            const values = new Set(selected);
            if (event.target.checked) values.add(option);
            else values.delete(option);
            onChange(options.filter((o) => values.has(o)).concat([...values].filter((v) => !options.includes(v))));
            changed();
          },
        }),
        describe(option),
      ),
    ),
  );
}

function removeButton(text, onClick) {
  return h("button", {
    type: "button",
    class: "small danger remove",
    onclick: onClick,
    text: "Remove",
    "aria-label": text,
  });
}

function renderConditions() {
  const list = $("#conditions");
  const conditions = state.config.trigger_conditions;
  list.replaceChildren(
    ...conditions.map((condition, index) =>
      h(
        "li",
        { class: "item", "data-field": `trigger_conditions.${index}` },
        h(
          "div",
          { class: "item-head" },
          h("h3", { text: `Condition ${index + 1}` }),
          removeButton(`Remove condition ${index + 1}`, () => {
            conditions.splice(index, 1);
            renderConditions();
            renderSupervisors();
            changed();
            $("#add-condition").focus();
          }),
        ),
        h(
          "div",
          { class: "stack" },
          textField(`trigger_conditions.${index}.label`, "Label", condition.label, (v) => {
            condition.label = v;
          }, { maxlength: 80, hint: "A short name; supervisors can be scoped to it." }),
          textField(`trigger_conditions.${index}.description`, "Description", condition.description, (v) => {
            condition.description = v;
          }, { maxlength: 1000, multiline: true, hint: "What the AI should detect, in natural language." }),
        ),
      ),
    ),
  );
  if (!conditions.length) {
    list.append(
      h("li", {
        class: "muted",
        text: "No trigger conditions yet. Add at least one to enable escalation.",
      }),
    );
  }
}

function renderKeywords() {
  const keywords = state.config.escalation_keywords;
  const list = $("#keywords");
  list.replaceChildren(
    ...keywords.map((keyword, index) =>
      h(
        "li",
        { class: "tag", "data-field": `escalation_keywords.${index}`, id: fieldId(`escalation_keywords.${index}`) },
        h("span", { text: keyword }),
        h("button", {
          type: "button",
          "aria-label": `Remove keyword ${keyword}`,
          text: "×",
          onclick: () => {
            keywords.splice(index, 1);
            renderKeywords();
            changed();
            $("#keyword-input").focus();
          },
        }),
      ),
    ),
  );
  $("#keyword-count").textContent = `${keywords.length} / ${MAX_KEYWORDS} keywords.`;
  const full = keywords.length >= MAX_KEYWORDS;
  $("#keyword-input").disabled = full || state.readOnly;
  $("#keyword-input").placeholder = full
    ? "30 keywords: remove one to add another"
    : "Type a keyword and press Enter";
}

function addKeyword() {
  const input = $("#keyword-input");
  const words = input.value.split(",").map((word) => word.trim()).filter(Boolean);
  const keywords = state.config.escalation_keywords;
  const skipped = [];
  for (const word of words) {
    if (keywords.some((k) => k.toLowerCase() === word.toLowerCase())) skipped.push(`"${word}" is already a keyword`);
    else if (keywords.length >= MAX_KEYWORDS) skipped.push(`"${word}": at most ${MAX_KEYWORDS} keywords`);
    else keywords.push(word.slice(0, 50));
  }
  input.value = "";
  renderKeywords();
  changed();
  announce(skipped.length ? `${skipped.join("; ")}.` : `Added ${words.join(", ")}.`);
  input.focus();
}

/** As the server names a condition's category: condition:<slug of its label>. */
function slugify(text) {
  const slug = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 100);
  return slug || "condition";
}

function categoryOptions() {
  const fromConditions = state.config.trigger_conditions
    .map((condition) => condition.label.trim())
    .filter(Boolean)
    .map((text) => `condition:${slugify(text)}`);
  return [...new Set([...CATEGORIES, ...fromConditions])];
}

function scopeSummary(supervisor) {
  const part = (name, values) => `${name}: ${values.length ? values.map(label).join(", ") : "all"}`;
  return [
    part("Topics", supervisor.topics),
    part("Areas", supervisor.areas),
    part("Categories", supervisor.categories),
  ].join(" · ");
}

function renderSupervisors() {
  const supervisors = state.config.supervisors;
  const list = $("#supervisors");
  const options = categoryOptions();
  list.replaceChildren(
    ...supervisors.map((supervisor, index) => {
      const path = `supervisors.${index}`;
      const summary = h("summary", { text: `Routing scopes — ${scopeSummary(supervisor)}` });
      const refresh = () => {
        summary.textContent = `Routing scopes — ${scopeSummary(supervisor)}`;
      };
      return h(
        "li",
        { class: "item", "data-field": path },
        h(
          "div",
          { class: "item-head" },
          h("h3", { text: supervisor.name ? supervisor.name : `Supervisor ${index + 1}` }),
          removeButton(`Remove supervisor ${supervisor.name || index + 1}`, () => {
            supervisors.splice(index, 1);
            renderSupervisors();
            changed();
            $("#add-supervisor").focus();
          }),
        ),
        h(
          "div",
          { class: "grid-2" },
          textField(`${path}.name`, "Name", supervisor.name, (v) => {
            supervisor.name = v;
          }, { maxlength: 200 }),
          textField(`${path}.email`, "Email", supervisor.email, (v) => {
            supervisor.email = v;
          }, { type: "email", maxlength: 320 }),
          textField(`${path}.id`, "Supervisor ID", supervisor.id, (v) => {
            supervisor.id = v;
          }, { maxlength: 64, hint: "Their sign-in ID (the token's sub)." }),
          textField(`${path}.max_concurrent`, "Max concurrent", String(supervisor.max_concurrent), (v) => {
            supervisor.max_concurrent = v === "" ? v : Number(v);
          }, { type: "number", hint: "Escalations at once, for suggestions (1–100)." }),
        ),
        h(
          "div",
          { class: "row mt" },
          h(
            "label",
            { class: "switch" },
            h("input", {
              type: "checkbox",
              role: "switch",
              id: fieldId(`${path}.active`),
              "data-field": `${path}.active`,
              checked: supervisor.active,
              onchange: (event) => {
                supervisor.active = event.target.checked;
                changed();
              },
            }),
            "Active (receives escalations)",
          ),
        ),
        h(
          "details",
          { class: "scopes mt" },
          summary,
          h(
            "div",
            { class: "stack" },
            checkGroup(`${path}.topics`, "Topics", TOPICS, supervisor.topics, (values) => {
              supervisor.topics = values;
              refresh();
            }),
            checkGroup(`${path}.areas`, "Areas", AREAS, supervisor.areas, (values) => {
              supervisor.areas = values;
              refresh();
            }),
            checkGroup(
              `${path}.categories`,
              "Categories",
              [...new Set([...options, ...supervisor.categories])],
              supervisor.categories,
              (values) => {
                supervisor.categories = values;
                refresh();
              },
              categoryLabel,
            ),
          ),
        ),
      );
    }),
  );
  if (!supervisors.length) {
    list.append(h("li", { class: "muted", text: "No supervisors yet. Add at least one to enable escalation." }));
  }
}

function renderWebhooks() {
  const hooks = state.config.webhooks;
  const list = $("#webhooks");
  list.replaceChildren(
    ...hooks.map((hook, index) => {
      const path = `webhooks.${index}`;
      const full = state.revealed.get(hook.id);
      return h(
        "li",
        { class: "item", "data-field": path },
        h(
          "div",
          { class: "item-head" },
          h("h3", { text: `Webhook ${index + 1}` }),
          removeButton(`Remove webhook ${index + 1}`, () => {
            hooks.splice(index, 1);
            renderWebhooks();
            changed();
            $("#add-webhook").focus();
          }),
        ),
        h(
          "div",
          { class: "stack" },
          textField(`${path}.url`, "Endpoint URL", hook.url, (v) => {
            hook.url = v;
          }, { type: "url", maxlength: 2000, hint: "Receives a signed POST for each selected event." }),
          h(
            "div",
            { class: "grid-2" },
            textField(`${path}.id`, "Webhook ID", hook.id, (v) => {
              hook.id = v;
            }, { maxlength: 64 }),
            h(
              "div",
              { class: "field", "data-field": `${path}.secret` },
              h("span", { class: "label-text", text: "Signing secret" }),
              full
                ? h(
                    "div",
                    { class: "secret-box" },
                    h("strong", { text: "Copy it now: it will not be shown again. " }),
                    h("code", { text: full }),
                  )
                : h("p", {
                    class: "muted",
                    text: hook.secret ? `${hook.secret} (kept)` : "Generated when you save.",
                  }),
            ),
          ),
          h(
            "label",
            { class: "switch" },
            h("input", {
              type: "checkbox",
              role: "switch",
              id: fieldId(`${path}.enabled`),
              "data-field": `${path}.enabled`,
              checked: hook.enabled,
              onchange: (event) => {
                hook.enabled = event.target.checked;
                changed();
              },
            }),
            "Enabled",
          ),
          checkGroup(`${path}.event_types`, "Events", EVENT_TYPES, hook.event_types, (values) => {
            hook.event_types = values;
          }, (type) => type.replace("escalation.", "").replace(/_/g, " ")),
        ),
      );
    }),
  );
  if (!hooks.length) list.append(h("li", { class: "muted", text: "No webhooks." }));
}

function renderSimpleFields() {
  const config = state.config;
  $("#f-enabled").checked = config.enabled;
  const threshold = $("#f-threshold");
  threshold.value = String(config.escalation_threshold);
  $("#threshold-value").textContent = Number(config.escalation_threshold).toFixed(2);
  const tier = config.plan_tier || "professional";
  $("#tier-default").textContent = `Plan default (${label(tier)}): ${tierDefault(config).toFixed(2)}.`;
  $("#threshold-marks").replaceChildren(h("option", { value: String(tierDefault(config)), label: "default" }));
  $("#f-turns").value = String(config.max_ai_turns_before_escalation);
  $("#f-idle").value = config.idle_timeout_seconds === null ? "" : String(config.idle_timeout_seconds);
  $("#f-sla").value = String(config.unclaimed_sla_seconds);
  $("#f-response").value = config.escalation_response;
  const language = $("#f-language");
  const known = LANGUAGES.some(([tag]) => tag === config.summary_language);
  replace(language, 
    ...LANGUAGES.map(([tag, name]) => h("option", { value: tag, text: `${name} (${tag})` })),
    known ? null : h("option", { value: config.summary_language, text: config.summary_language }),
  );
  language.value = config.summary_language;
  updateResponseCount();
}

function updateResponseCount() {
  $("#response-count").textContent = `${$("#f-response").value.length} / 2000 characters.`;
}

function renderAll() {
  renderSimpleFields();
  renderConditions();
  renderKeywords();
  renderSupervisors();
  renderWebhooks();
  updateGating();
  updateStatus();
  clearErrors(form);
}

function updateGating() {
  const enabled = state.config.enabled;
  $("#enabled-text").textContent = enabled ? "Enabled" : "Disabled";
  for (const card of $$(".card.gated", form)) {
    const locked = !enabled || state.readOnly;
    card.classList.toggle("is-disabled", !enabled && !state.readOnly);
    for (const fieldset of $$("fieldset.card-body", card)) fieldset.disabled = locked;
  }
  $("#f-enabled").disabled = state.readOnly;
  $("#save").hidden = state.readOnly;
  $("#publish").hidden = state.readOnly;
}

function updateStatus() {
  const dirty = isDirty();
  const draft = state.draft;
  const published = state.published;
  const status = $("#save-status");
  status.classList.toggle("dirty", dirty);
  if (dirty) {
    status.textContent = "Unsaved changes (the preview uses the saved draft).";
  } else if (draft.version === 0) {
    status.textContent = "Not saved yet: these are the defaults.";
  } else {
    status.textContent = `Saved · draft version ${draft.version}.`;
  }
  const unpublished =
    draft.version > 0 &&
    (published.version === 0 || snapshot(published.config) !== snapshot(draft.config));
  const publish = $("#publish");
  publish.disabled = dirty || draft.version === 0 || !unpublished || state.busy;
  publish.title = dirty
    ? "Save first: Publish makes the saved draft live."
    : unpublished
      ? "Make the saved draft live."
      : "The published settings are the same as the draft.";
  $("#save").disabled = state.busy || (!dirty && draft.version > 0);

  const line = $("#version-line");
  replace(line, 
    h(
      "span",
      { class: "muted" },
      draft.version
        ? `Draft v${draft.version}, saved ${timeAgo(draft.updated_at)} by ${draft.updated_by}`
        : "Draft: never saved",
    ),
    h(
      "span",
      { class: "muted" },
      published.version
        ? `· Published v${published.version}, ${dateTime(published.updated_at)} by ${published.updated_by}`
        : "· Never published",
    ),
    unpublished
      ? h("span", { class: "chip status-pending", text: "Unpublished changes" })
      : published.version
        ? h("span", { class: "chip status-completed", text: "Published is up to date" })
        : null,
  );
  document.title = `${agent} · Escalation settings · Escalator`;
}

function changed() {
  updateStatus();
}

// --- simple inputs ----------------------------------------------------------------------------

$("#f-enabled").addEventListener("change", (event) => {
  state.config.enabled = event.target.checked;
  updateGating();
  changed();
  announce(event.target.checked ? "Escalation enabled: the other settings can be edited." : "Escalation disabled.");
});
$("#f-threshold").addEventListener("input", (event) => {
  state.config.escalation_threshold = Number(event.target.value);
  $("#threshold-value").textContent = Number(event.target.value).toFixed(2);
  changed();
});
$("#threshold-default").addEventListener("click", () => {
  state.config.escalation_threshold = tierDefault(state.config);
  renderSimpleFields();
  changed();
  announce(`Threshold set to the plan default, ${tierDefault(state.config).toFixed(2)}.`);
});
function numberOrRaw(value) {
  return value === "" ? value : Number(value);
}
$("#f-turns").addEventListener("input", (event) => {
  state.config.max_ai_turns_before_escalation = numberOrRaw(event.target.value);
  changed();
});
$("#f-idle").addEventListener("input", (event) => {
  state.config.idle_timeout_seconds = event.target.value === "" ? null : Number(event.target.value);
  changed();
});
$("#f-sla").addEventListener("input", (event) => {
  state.config.unclaimed_sla_seconds = numberOrRaw(event.target.value);
  changed();
});
$("#f-response").addEventListener("input", (event) => {
  state.config.escalation_response = event.target.value;
  updateResponseCount();
  changed();
});
$("#f-language").addEventListener("change", (event) => {
  state.config.summary_language = event.target.value;
  changed();
});
$("#keyword-input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" || event.key === ",") {
    event.preventDefault();
    if (event.target.value.trim()) addKeyword();
  }
});
$("#add-keyword").addEventListener("click", () => {
  if ($("#keyword-input").value.trim()) addKeyword();
  else $("#keyword-input").focus();
});
$("#add-condition").addEventListener("click", () => {
  state.config.trigger_conditions.push({ label: "", description: "" });
  renderConditions();
  changed();
  $(`#${fieldId(`trigger_conditions.${state.config.trigger_conditions.length - 1}.label`)}`).focus();
});
$("#add-supervisor").addEventListener("click", () => {
  state.config.supervisors.push({
    id: "",
    name: "",
    email: "",
    active: true,
    categories: [],
    topics: [],
    areas: [],
    max_concurrent: 5,
  });
  renderSupervisors();
  changed();
  $(`#${fieldId(`supervisors.${state.config.supervisors.length - 1}.name`)}`).focus();
});
$("#add-webhook").addEventListener("click", () => {
  const id = `wh-${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
  state.config.webhooks.push({ id, url: "https://", secret: null, event_types: [...EVENT_TYPES], enabled: true });
  renderWebhooks();
  changed();
  $(`#${fieldId(`webhooks.${state.config.webhooks.length - 1}.url`)}`).focus();
});

// --- save, publish, conflicts -----------------------------------------------------------------

function conflict(error) {
  showBanner(
    "error",
    `These settings were changed by someone else (${error.message}). Reload to see their ` +
      "version; your unsaved edits on this page will be lost.",
    [h("button", { type: "button", class: "primary", text: "Reload settings", onclick: () => reload() })],
  );
  $("#banner").scrollIntoView({ block: "start" });
  $("#banner button")?.focus();
}

async function reload() {
  showBanner("", "");
  state.revealed.clear();
  await load();
  announce("Settings reloaded.");
}

function busy(value) {
  state.busy = value;
  $("#save").setAttribute("aria-busy", String(value));
  $("#publish").setAttribute("aria-busy", String(value));
  updateStatus();
}

async function save() {
  if (state.readOnly || state.busy) return;
  clearErrors(form);
  showBanner("", "");
  busy(true);
  try {
    const answer = await request(configUrl(), {
      method: "PUT",
      body: toDocument(state.config),
      headers: state.etag ? { "If-Match": state.etag } : {},
    });
    accept(answer.data, answer.headers.get("ETag"));
    $("#save-status").textContent = `Saved · draft version ${answer.data.version}.`;
    announce(`Saved. Draft version ${answer.data.version}.`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 422 && error.errors.length) {
      const count = error.errors.length;
      showErrors(form, error.errors, `Not saved: ${count} problem${count === 1 ? "" : "s"} to fix`);
    } else if (error instanceof ApiError && error.status === 412) {
      conflict(error);
    } else {
      showBanner("error", `Not saved: ${error.message}`);
    }
  } finally {
    busy(false);
  }
}

async function publish() {
  if (state.readOnly || state.busy || isDirty()) return;
  clearErrors(form);
  showBanner("", "");
  busy(true);
  try {
    const answer = await request(configUrl("/publish"), {
      method: "POST",
      headers: state.etag ? { "If-Match": state.etag } : {},
    });
    state.published = answer.data;
    updateStatus();
    showBanner("success", `Published: live conversations use version ${answer.data.version} within moments.`, [
      h("a", { class: "button", href: "/queue?environment=published", text: "Open Published Queue" }),
    ]);
    announce("Published.");
  } catch (error) {
    if (error instanceof ApiError && error.status === 422 && error.errors.length) {
      showErrors(form, error.errors, "Not published: the draft misses what escalation needs");
    } else if (error instanceof ApiError && error.status === 412) {
      conflict(error);
    } else {
      showBanner("error", `Not published: ${error.message}`);
    }
  } finally {
    busy(false);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  save();
});
$("#publish").addEventListener("click", publish);
$("#reload-settings").addEventListener("click", () => {
  if (isDirty() && !window.confirm("Discard your unsaved changes and reload?")) return;
  reload();
});
window.addEventListener("beforeunload", (event) => {
  if (isDirty()) event.preventDefault();
});
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key === "s" && !form.hidden) {
    event.preventDefault();
    save();
  }
});

$("#history-box").addEventListener("toggle", async (event) => {
  if (!event.target.open) return;
  const list = $("#history");
  list.replaceChildren(h("li", { class: "muted", text: "Loading…" }));
  try {
    const page = await api(configUrl("/history?limit=20"));
    list.replaceChildren(
      ...page.items.map((entry) =>
        h(
          "li",
          {},
          h("strong", { text: entry.action === "publish" ? "Published" : "Saved" }),
          ` v${entry.version} by ${entry.changed_by}, ${dateTime(entry.changed_at)}`,
          Object.keys(entry.changes).length
            ? h("span", { class: "muted", text: ` — ${Object.keys(entry.changes).map(label).join(", ")}` })
            : null,
        ),
      ),
    );
    if (!page.items.length) list.replaceChildren(h("li", { class: "muted", text: "No changes yet." }));
  } catch (error) {
    list.replaceChildren(h("li", { class: "field-error", text: error.message }));
  }
});

// --- agent ------------------------------------------------------------------------------------

function pickAgent() {
  $("#agent-picker").hidden = false;
  const recent = recall("agents", []);
  $("#recent-agents").replaceChildren(...recent.map((id) => h("option", { value: id })));
  $("#picker-agent").value = recall("agent", "");
  $("#picker-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("#picker-agent").value.trim();
    if (!value) {
      $("#picker-agent").setAttribute("aria-invalid", "true");
      $("#picker-agent").focus();
      return;
    }
    location.assign(`/settings?agent=${encodeURIComponent(value)}`);
  });
  $("#picker-agent").focus();
}

if (!agent) {
  $("#page-sub").textContent = "Choose the agent to configure.";
  pickAgent();
} else {
  remember("agent", agent);
  remember("agents", [agent, ...recall("agents", []).filter((id) => id !== agent)].slice(0, 10));
  mountShell("settings", session);
  $("#page-title").textContent = "Escalation settings";
  $("#page-sub").textContent = `Agent ${agent} · tenant ${session.tenant}`;
  $("#open-preview-chat").href = `/preview?agent=${encodeURIComponent(agent)}`;
  $("#open-preview-chat").hidden = !session.isAdmin; // the preview chat needs role admin
  await load();
  // Issue 11: try the settings on screen against the last week's conversations (admins).
  if (session.isAdmin) mountBacktest({ agent, draft: () => backtestDocument(state.config) });
}
