// The escalation queue: list and filters on the left, the selected escalation on the right (a
// drawer on narrow screens), kept current by the realtime stream.

import { beep, unlockAudio } from "./beep.js";
import { $, announce, debounce, h, recall, remember } from "./dom.js";
import { renderDetail } from "./queue-detail.js";
import { STATUS, URGENCY, customerName, label, timeAgo } from "./format.js";
import { ApiError, api, requireSession, signInUrl } from "./session.js";
import { mountShell } from "./shell.js";
import { EscalationStream } from "./stream.js";
import { VirtualList } from "./virtual-list.js";

const PAGE_SIZE = 100;
const ROW_HEIGHT = 92;
const FILTERS = ["status", "urgency", "topic", "area"];
const CONNECTION_TEXT = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  disconnected: "Disconnected",
};

const session = await requireSession();
mountShell("queue", session);

const params = new URLSearchParams(location.search);
const state = {
  environment: params.get("environment") === "preview" ? "preview" : "published",
  filters: Object.fromEntries(FILTERS.map((name) => [name, params.get(name) || ""])),
  items: [],
  nextCursor: null,
  complete: false,
  loading: null,
  generation: 0,
  selectedId: params.get("escalation"),
  detail: null,
  drawerOpen: false,
  pendingPushes: null,
  recentOwnActions: new Map(),
  newAbove: 0,
};

const list = new VirtualList($("#escalation-list"), {
  rowHeight: ROW_HEIGHT,
  key: (item) => item.escalation_id,
  renderRow,
  onOpen: (item, { keyboard }) => select(item.escalation_id, { focus: keyboard, open: true }),
  onNearEnd: () => loadMore(),
});

// --- toolbar --------------------------------------------------------------------------------

const narrow = window.matchMedia("(max-width: 959px)");

function setEnvironment(environment, { reload = true } = {}) {
  state.environment = environment;
  for (const input of document.querySelectorAll("input[name=environment]")) {
    input.checked = input.value === environment;
  }
  const preview = environment === "preview";
  $("#env-banner").hidden = !preview;
  $("#main").classList.toggle("with-banner", preview);
  $("#queue-title").textContent = preview ? "Preview Queue" : "Published Queue";
  document.title = `${preview ? "Preview" : "Published"} Queue · Escalator`;
  if (reload) reloadList();
}

for (const input of document.querySelectorAll("input[name=environment]")) {
  input.addEventListener("change", () => {
    if (input.checked) {
      if (state.detail && state.detail.environment !== input.value) closeDetail();
      setEnvironment(input.value);
    }
  });
}

for (const name of FILTERS) {
  const select = $(`#filter-${name}`);
  select.value = state.filters[name];
  select.addEventListener("change", () => {
    state.filters[name] = select.value;
    reloadList();
  });
}

$("#clear-filters").addEventListener("click", () => {
  for (const name of FILTERS) {
    state.filters[name] = "";
    $(`#filter-${name}`).value = "";
  }
  reloadList();
  $("#filter-status").focus();
});

const soundToggle = $("#sound-toggle");
soundToggle.checked = recall("sound", false);
soundToggle.addEventListener("change", () => {
  remember("sound", soundToggle.checked);
  if (soundToggle.checked) {
    unlockAudio();
    beep("update");
  }
});
// Browsers start audio only after a gesture: the first click or key press unlocks it.
const unlockOnce = () => {
  if (soundToggle.checked) unlockAudio();
};
window.addEventListener("pointerdown", unlockOnce, { once: true });
window.addEventListener("keydown", unlockOnce, { once: true });

$("#reconnect").addEventListener("click", () => stream.reconnectNow());

$("#new-pill").addEventListener("click", () => {
  $("#escalation-list").scrollTop = 0;
  state.newAbove = 0;
  $("#new-pill").hidden = true;
  list.setActive(0);
  $("#escalation-list").focus();
});
$("#escalation-list").addEventListener(
  "scroll",
  () => {
    if ($("#escalation-list").scrollTop < ROW_HEIGHT && state.newAbove) {
      state.newAbove = 0;
      $("#new-pill").hidden = true;
    }
  },
  { passive: true },
);

function syncUrl() {
  const url = new URL(location.href);
  url.search = "";
  url.searchParams.set("environment", state.environment);
  for (const name of FILTERS) if (state.filters[name]) url.searchParams.set(name, state.filters[name]);
  if (state.selectedId) url.searchParams.set("escalation", state.selectedId);
  history.replaceState(null, "", url);
}

// --- the list -------------------------------------------------------------------------------

function renderRow(item) {
  const who = customerName(item);
  const status = STATUS[item.status] || item.status;
  const urgency = URGENCY[item.urgency] || item.urgency;
  const owner =
    item.status === "in_progress" && item.assigned_to
      ? item.assigned_to === session.sub
        ? "you"
        : item.assigned_to
      : null;
  return h(
    "div",
    {
      class: "escalation-row",
      "aria-label": `${urgency} urgency, ${status}${owner ? `, claimed by ${owner}` : ""}, ${who}, ${
        item.topic
      } / ${item.area}, ${timeAgo(item.detected_at)}: ${item.reason}`,
    },
    h(
      "div",
      { class: "line" },
      h("span", { class: `chip urgency-${item.urgency}`, text: urgency }),
      h("span", { class: `chip status-${item.status}`, text: status }),
      owner ? h("span", { class: "chip outline", text: `@${owner}` }) : null,
      item.sla_breached_at && item.status === "pending"
        ? h("span", { class: "chip breached", text: "SLA" })
        : null,
      h("span", { class: "when", text: timeAgo(item.detected_at) }),
    ),
    h(
      "div",
      { class: "line" },
      h("span", { class: "who", text: who }),
      h("span", { class: "scope", text: `· ${label(item.topic)} / ${label(item.area)}` }),
    ),
    h("div", { class: "reason", text: item.reason }),
  );
}

function query(cursor) {
  const search = new URLSearchParams({ environment: state.environment, limit: String(PAGE_SIZE) });
  for (const name of FILTERS) if (state.filters[name]) search.set(name, state.filters[name]);
  if (cursor) search.set("cursor", cursor);
  return `/api/v1/escalations?${search}`;
}

function updateMeta() {
  const count = state.items.length;
  const filtered = FILTERS.some((name) => state.filters[name]);
  $("#clear-filters").hidden = !filtered;
  let text;
  if (state.loading && !count) text = "Loading…";
  else if (!count) text = "No escalations";
  else if (state.complete) text = `${count} escalation${count === 1 ? "" : "s"}`;
  else text = `${count} loaded · more as you scroll`;
  $("#list-count").textContent = text;
  const empty = $("#list-empty");
  empty.hidden = Boolean(count) || Boolean(state.loading);
  empty.textContent = filtered
    ? "No escalations match these filters."
    : state.environment === "preview"
      ? "No preview escalations yet. Start a conversation in the preview chat to test your settings."
      : "No escalations. New ones appear here as soon as they are detected.";
}

function showList() {
  list.setItems(state.items, state.complete ? state.items.length : -1);
  updateMeta();
}

async function reloadList() {
  state.generation += 1;
  state.items = [];
  state.nextCursor = null;
  state.complete = false;
  state.loading = null;
  state.newAbove = 0;
  $("#new-pill").hidden = true;
  $("#escalation-list").scrollTop = 0;
  syncUrl();
  showList();
  await loadMore();
}

async function loadMore() {
  if (state.loading || state.complete) return state.loading;
  const generation = state.generation;
  const cursor = state.nextCursor;
  state.loading = (async () => {
    try {
      const page = await api(query(cursor));
      if (generation !== state.generation) return;
      const known = new Set(state.items.map((item) => item.escalation_id));
      state.items.push(...page.items.filter((item) => !known.has(item.escalation_id)));
      state.nextCursor = page.next_cursor;
      state.complete = !page.next_cursor;
    } catch (error) {
      if (generation !== state.generation) return;
      $("#list-count").textContent = `Could not load escalations: ${error.message}`;
      state.complete = false;
      throw error;
    } finally {
      if (generation === state.generation) state.loading = null;
    }
    showList();
    list.setSelected(state.selectedId);
  })();
  return state.loading.catch(() => {});
}

// --- realtime -------------------------------------------------------------------------------

function matches(item) {
  if (item.environment !== state.environment) return false;
  return FILTERS.every((name) => !state.filters[name] || item[name] === state.filters[name]);
}

function newer(a, b) {
  return a.detected_at > b.detected_at || (a.detected_at === b.detected_at && a.escalation_id > b.escalation_id);
}

function ownAction(id) {
  const at = state.recentOwnActions.get(id);
  return at !== undefined && Date.now() - at < 5000;
}

const announceArrivals = (() => {
  let pending = [];
  const flush = debounce(() => {
    if (pending.length === 1) {
      const item = pending[0];
      announce(
        `New ${item.urgency} urgency escalation: ${customerName(item)}. ${item.reason}`,
      );
    } else if (pending.length > 1) {
      announce(`${pending.length} new escalations.`);
    }
    pending = [];
  }, 600);
  return (item) => {
    pending.push(item);
    flush();
  };
})();

const refreshDetailSoon = debounce(() => {
  if (state.selectedId) loadDetail(state.selectedId, { quiet: true });
}, 250);

function applyPush(message) {
  const item = message.escalation;
  if (!item) return;
  const id = item.escalation_id;
  const index = state.items.findIndex((existing) => existing.escalation_id === id);
  const existing = index >= 0 ? state.items[index] : null;
  if (existing && existing.updated_at > item.updated_at) return; // older than what we show
  let changed = false;
  if (matches(item)) {
    if (existing) {
      state.items[index] = item;
      changed = true;
    } else {
      const last = state.items[state.items.length - 1];
      // Older than everything loaded while more pages follow: paging will bring it.
      if (state.complete || !last || newer(item, last)) {
        let at = state.items.findIndex((other) => newer(item, other));
        if (at < 0) at = state.items.length;
        state.items.splice(at, 0, item);
        list.markArrived(id);
        if (at === 0 && $("#escalation-list").scrollTop > ROW_HEIGHT) {
          state.newAbove += 1;
          const pill = $("#new-pill");
          pill.textContent = `↑ ${state.newAbove} new`;
          pill.hidden = false;
        }
        changed = true;
      }
    }
  } else if (existing) {
    state.items.splice(index, 1);
    changed = true;
  }
  if (changed) showList();

  const mine = ownAction(id);
  if (item.environment === state.environment && !mine) {
    if (message.type === "escalation.created") {
      announceArrivals(item);
      if (soundToggle.checked) beep("new");
    } else if (soundToggle.checked) {
      beep("update");
    }
  }
  if (id === state.selectedId && !mine) refreshDetailSoon();
}

const stream = new EscalationStream({
  token: () => session.token,
  onState: (connection) => {
    const element = $("#connection");
    element.dataset.state = connection;
    $("#connection-text").textContent = CONNECTION_TEXT[connection] || connection;
    $("#reconnect").hidden = connection !== "disconnected";
    $("#stale-warning").hidden = connection !== "disconnected";
  },
  onPush: (message) => {
    if (state.pendingPushes) state.pendingPushes.push(message);
    else applyPush(message);
  },
  onReady: async (first) => {
    if (!first) {
      // A reconnect: the replay brought every change missed; the open detail may be behind.
      refreshDetailSoon();
      return;
    }
    state.pendingPushes = [];
    await reloadList();
    const buffered = state.pendingPushes;
    state.pendingPushes = null;
    for (const message of buffered) applyPush(message);
  },
  onReset: () => reloadList(),
  onUnauthorized: () => location.replace(signInUrl()),
});

// --- details --------------------------------------------------------------------------------

const detailPane = $("#detail");
const scrim = $("#scrim");

function setDrawer(open) {
  state.drawerOpen = open;
  const drawer = narrow.matches;
  detailPane.classList.toggle("open", drawer && open);
  scrim.hidden = !(drawer && open);
  if (drawer && open) {
    detailPane.setAttribute("role", "dialog");
    detailPane.setAttribute("aria-modal", "true");
    $("#list-pane").inert = true;
    $(".queue-toolbar").inert = true;
    $("#app-header").inert = true;
  } else {
    detailPane.removeAttribute("role");
    detailPane.removeAttribute("aria-modal");
    $("#list-pane").inert = false;
    $(".queue-toolbar").inert = false;
    $("#app-header").inert = false;
  }
}

narrow.addEventListener("change", () => setDrawer(state.drawerOpen && Boolean(state.selectedId)));

function closeDrawer() {
  setDrawer(false);
  const list = $("#escalation-list");
  list.focus();
}

$("#drawer-close").addEventListener("click", closeDrawer);
scrim.addEventListener("click", closeDrawer);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && narrow.matches && state.drawerOpen) {
    event.preventDefault();
    closeDrawer();
  }
});

function closeDetail() {
  state.selectedId = null;
  state.detail = null;
  $("#detail-body").hidden = true;
  $("#detail-empty").hidden = false;
  list.setSelected(null);
  setDrawer(false);
  syncUrl();
}

async function select(id, { focus = false, open = true } = {}) {
  const same = id === state.selectedId && state.detail?.escalation_id === id;
  state.selectedId = id;
  list.setSelected(id);
  syncUrl();
  if (open) setDrawer(true);
  if (!same) await loadDetail(id);
  if (focus || narrow.matches) $("#detail-title").focus();
}

async function loadDetail(id, { quiet = false } = {}) {
  try {
    const detail = await api(`/api/v1/escalations/${encodeURIComponent(id)}`);
    if (state.selectedId !== id) return;
    showDetail(detail);
  } catch (error) {
    if (state.selectedId !== id || quiet) return;
    $("#detail-empty").hidden = true;
    $("#detail-body").hidden = false;
    $("#detail-title").textContent = "Escalation not available";
    $("#detail-alert").replaceChildren(
      h("p", {
        class: "notice error",
        text:
          error instanceof ApiError && error.status === 404
            ? "This escalation does not exist, or it is not visible to you."
            : `Could not load the escalation: ${error.message}`,
      }),
    );
    $("#actions").hidden = true;
  }
}

function showDetail(detail) {
  const previous = state.detail;
  state.detail = detail;
  if (detail.environment !== state.environment) setEnvironment(detail.environment);
  $("#detail-empty").hidden = true;
  $("#detail-body").hidden = false;
  $("#actions").hidden = false;
  // Keep the item in the list in step with what the detail says.
  const index = state.items.findIndex((item) => item.escalation_id === detail.escalation_id);
  if (index >= 0 && state.items[index].updated_at <= detail.updated_at) {
    const { triggers, transcript, audit, ...summary } = detail;
    state.items[index] = { ...state.items[index], ...summary };
    if (!matches(state.items[index])) state.items.splice(index, 1);
    showList();
  }
  renderDetail(detail, {
    session,
    changed: previous?.escalation_id !== detail.escalation_id,
  });
}

// --- actions --------------------------------------------------------------------------------

function showActionError(error) {
  let text = error.message;
  if (error instanceof ApiError) {
    if (error.status === 409) text = `${error.message}. The escalation changed; it is shown as it is now.`;
    else if (error.status === 403) text = `Not allowed: ${error.message}.`;
  }
  $("#detail-alert").replaceChildren(h("p", { class: "notice error", text }));
}

async function act(button, path, body, done) {
  const id = state.selectedId;
  if (!id) return;
  $("#detail-alert").replaceChildren();
  button.setAttribute("aria-busy", "true");
  button.disabled = true;
  state.recentOwnActions.set(id, Date.now());
  try {
    const result = await api(`/api/v1/escalations/${encodeURIComponent(id)}/${path}`, {
      method: "POST",
      body,
    });
    state.recentOwnActions.set(id, Date.now());
    if (done) await done(result);
  } catch (error) {
    showActionError(error);
    if (error instanceof ApiError && error.status === 409) await loadDetail(id, { quiet: true });
  } finally {
    button.removeAttribute("aria-busy");
    button.disabled = false;
  }
}

$("#act-claim").addEventListener("click", (event) =>
  act(event.currentTarget, "claim", undefined, (detail) => {
    showDetail(detail);
    announce("Claimed. The escalation is in progress and yours.");
    $("#act-complete").focus();
  }),
);

$("#act-release").addEventListener("click", (event) =>
  act(event.currentTarget, "release", undefined, (detail) => {
    showDetail(detail);
    announce("Released. The escalation is pending again.");
    $("#detail-title").focus();
  }),
);

$("#act-reassign").addEventListener("click", (event) => {
  const ok = window.confirm(
    "Hand this conversation back to the AI? The escalation will be completed and the AI may answer again.",
  );
  if (!ok) return;
  act(event.currentTarget, "reassign-to-ai", undefined, (detail) => {
    showDetail(detail);
    announce("Reassigned to the AI.");
    $("#detail-title").focus();
  });
});

$("#act-summary").addEventListener("click", (event) => {
  const button = event.currentTarget;
  const original = button.textContent;
  button.textContent = "Generating…";
  act(button, "summary", undefined, async () => {
    await loadDetail(state.selectedId, { quiet: true });
    $("#sec-summary").hidden = false;
    announce("Summary generated.");
    $("#h-summary").scrollIntoView({ block: "nearest" });
  }).finally(() => {
    button.textContent = original;
  });
});

$("#act-complete").addEventListener("click", () => {
  const form = $("#complete-form");
  form.hidden = false;
  $("#resolution-note").focus();
});

$("#complete-cancel").addEventListener("click", () => {
  $("#complete-form").hidden = true;
  $("#act-complete").focus();
});

$("#complete-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const note = $("#resolution-note");
  const errorId = "resolution-error";
  document.getElementById(errorId)?.remove();
  note.removeAttribute("aria-invalid");
  note.setAttribute("aria-describedby", "resolution-hint");
  const fail = (text) => {
    note.setAttribute("aria-invalid", "true");
    note.setAttribute("aria-describedby", `resolution-hint ${errorId}`);
    note.after(h("p", { class: "field-error", id: errorId, text }));
    note.focus();
  };
  if (!note.value.trim()) {
    fail("Write a resolution note: what happened, what was done, and any follow-up.");
    return;
  }
  const submit = event.submitter || $("#complete-form button[type=submit]");
  act(
    submit,
    "complete",
    { resolution_note: note.value, ai_could_have_handled: $("#ai-could-have-handled").checked },
    (detail) => {
      note.value = "";
      $("#ai-could-have-handled").checked = false;
      $("#complete-form").hidden = true;
      showDetail(detail);
      announce("Completed.");
      $("#detail-title").focus();
    },
  ).then(() => {
    const problem = $("#detail-alert").textContent;
    if (problem && !$("#complete-form").hidden) {
      $("#detail-alert").replaceChildren();
      fail(problem);
    }
  });
});

$("#latest-first").checked = recall("latestFirst", true);
$("#latest-first").addEventListener("change", () => {
  remember("latestFirst", $("#latest-first").checked);
  if (state.detail) renderDetail(state.detail, { session, changed: false });
});

// Relative times go stale: refresh the visible rows every half minute.
setInterval(() => list.render(), 30000);

// --- start ----------------------------------------------------------------------------------

setEnvironment(state.environment, { reload: false });
syncUrl();
updateMeta();
stream.start();
// Without the realtime stream the list still loads (the indicator says it may not be current).
setTimeout(() => {
  if (!state.items.length && !state.loading && stream.state !== "connected") reloadList();
}, 3000);
if (state.selectedId) select(state.selectedId, { focus: true, open: true });
