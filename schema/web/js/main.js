// The Switchboard inbox: sign-in, the four sections with live counts, the conversation list and
// the open thread, all kept current by the inboxEvents subscription.

import { Api, ApiError } from "./api.js";
import { CrmPanel } from "./crm.js";
import { h, initials, renderIf, replace, timeTag } from "./dom.js";
import { LiveClient } from "./live.js";
import { Bell, NOTIFICATION_STREAM } from "./notify.js";
import { linkFromLocation, showPasswordPage, showSignInForm, signInWithPassword, wireForgot } from "./signin.js";
import { SearchBox } from "./search.js";
import { TeamPage } from "./team.js";
import { labelChip } from "./teamwork.js";
import { ThreadView, providerLabel, threadQuery } from "./thread.js";
import { TokensDialog } from "./tokens.js";

const TOKEN_KEY = "switchboard.token";
// Set when the token is a session this page signed in for: signing out revokes it. A pasted API
// token (the demo's, an integration's) is only forgotten by this browser, never revoked.
const SESSION_KEY = "switchboard.session";
const SECTIONS = [
  ["UNASSIGNED", "unassigned", "Unassigned"],
  ["ASSIGNED_TO_ME", "assignedToMe", "Assigned to me"],
  ["ASSIGNED_TO_OTHERS", "assignedToOthers", "Assigned to others"],
  ["CLOSED", "closed", "Closed"],
];
const CONVERSATION_PATH = /^\/inbox\/conversations\/([^/]+)\/?$/;
const TEAM_PATH = "/team";

const VIEWER = "{ viewer { id name email role available } account { name } }";
const PAGE_SIZE = 50;
const inboxQuery = (features) => `query Inbox($section: Section!, $after: String${features.labels ? ", $labelId: ID" : ""}) {
  sectionCounts { unassigned assignedToMe assignedToOthers closed }
  conversations(section: $section, first: ${PAGE_SIZE}, after: $after${features.labels ? ", labelId: $labelId" : ""}) {
    pageInfo { hasNextPage endCursor }
    edges { node {
      id status lastMessageAt
      contact { name externalId }
      lastMessage { text direction attachments { contentType } }
      assignee { id name }
      app { name provider }
      ${features.labels ? "labels { id name color }" : ""}
    } }
  }
  ${features.labels ? "labels { id name color }" : ""}
}`;
const EVENTS = "subscription Events($after: String) { inboxEvents(after: $after) { cursor type conversationId } }";
const AVAILABILITY = "mutation($available: Boolean!) { setAvailability(available: $available) { id available } }";

const $ = (selector) => document.querySelector(selector);

const state = {
  api: null,
  live: null,
  viewer: null,
  features: null,
  section: "UNASSIGNED",
  labelId: null,
  pages: 1,
  openId: null,
  cursor: null,
  inboxRequest: 0,
  threadRequest: 0,
};
let thread = null;
let crm = null;
let bell = null;
let team = null;
let search = null;

function toast(message, isError = false) {
  const region = $("#toast");
  const item = h("p", { class: isError ? "error" : "" }, message);
  region.append(item);
  setTimeout(() => item.remove(), isError ? 8000 : 3000);
}

// ---- sign-in

// The token of a `#token=` link, taken out of the address bar. Not trusted yet: anyone can send
// such a link, so it signs in only a tab where nobody is signed in, or after asking (offerSwitch).
function tokenFromLocation() {
  const match = location.hash.match(/token=([^&]+)/);
  if (!match) return null;
  history.replaceState(history.state, "", location.pathname + location.search);
  return decodeURIComponent(match[1]);
}

async function isAccepted(token) {
  try {
    await new Api(token).request("{ viewer { id } }");
    return true;
  } catch (error) {
    return !(error instanceof ApiError && error.code === "UNAUTHENTICATED");
  }
}

// The socket was closed for changed rights: a token still accepted reconnects, and a changed role
// reloads the page so that what it offers matches what the user may now do.
async function rightsNow(token) {
  let who;
  try {
    who = await new Api(token).request(VIEWER);
  } catch (error) {
    return !(error instanceof ApiError && error.code === "UNAUTHENTICATED");
  }
  if (who.viewer.role !== state.viewer.role) location.reload();
  return true;
}

// A link with another user's token, opened while signed in: whoever sent it would get what is typed
// next into their account. Shows who it signs in as; switching starts over, staying changes nothing.
async function offerSwitch(linked) {
  if (linked === state.api.token) return;
  let next;
  try {
    next = await new Api(linked).request(VIEWER);
  } catch (error) {
    const refused = error instanceof ApiError && error.code === "UNAUTHENTICATED";
    toast(refused ? `The link's token was not accepted: you are still signed in as ${state.viewer.name}.` : error.message, true);
    return;
  }
  if (next.viewer.id === state.viewer.id) return;
  const dialog = $("#switch-user");
  $("#switch-text").textContent =
    `This link signs in as ${next.viewer.name} (${next.viewer.email}) of ${next.account.name}. ` +
    `You are signed in as ${state.viewer.name}.`;
  $("#switch-stay").textContent = `Stay signed in as ${state.viewer.name}`;
  $("#switch-go").textContent = `Switch to ${next.viewer.name}`;
  dialog.returnValue = "";
  dialog.addEventListener(
    "close",
    () => {
      if (dialog.returnValue !== "switch") return;
      localStorage.setItem(TOKEN_KEY, linked);
      if (state.live) state.live.stop();
      location.reload();
    },
    { once: true },
  );
  dialog.showModal();
}

function showSignIn(message = "") {
  $("#app").hidden = true;
  $("#signin").hidden = false;
  showSignInForm();
  replace($("#signin-error"), message);
}

// Starts over from a clean page, so nothing of the previous user stays in memory.
function signOut(message = "") {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(SESSION_KEY);
  if (state.live) state.live.stop();
  sessionStorage.setItem("switchboard.signin", message);
  location.replace("/");
}

async function start(token) {
  state.api = new Api(token);
  let who;
  try {
    who = await state.api.request(VIEWER);
  } catch (error) {
    if (error instanceof ApiError && error.code === "UNAUTHENTICATED") {
      signOut("That token was not accepted. Check it and try again.");
      return;
    }
    showSignIn(error.message);
    return;
  }
  state.viewer = who.viewer;
  state.features = await state.api.features();
  window.switchboard = { features: state.features, live: null };
  $("#signin").hidden = true;
  $("#app").hidden = false;
  $("#viewer-name").textContent = who.viewer.name;
  $("#viewer-avatar").textContent = initials(who.viewer.name);
  $("#account-name").textContent = who.account.name;
  renderAvailability();
  new TokensDialog({ api: state.api, toast, signedOut: signOut });

  thread = new ThreadView({
    api: state.api,
    viewer: state.viewer,
    features: state.features,
    root: $("#thread"),
    toast,
    changed: () => refresh({ list: true, thread: true }),
    deleted: (id) => {
      if (state.openId === id) navigate(null);
      refresh({ list: true });
    },
  });
  $("#crm").hidden = !state.features.linking;
  if (state.features.linking) {
    crm = new CrmPanel({
      api: state.api,
      root: $("#crm"),
      toast,
      features: state.features,
      changed: () => refresh({ list: true, thread: true }),
      open: (id) => navigate(id),
    });
  }
  if (state.features.notifications) {
    bell = new Bell({ api: state.api, features: state.features, root: $("#bell-wrap"), onOpen: (id) => navigate(id), toast });
    bell.load().catch((error) => toast(error.message, true));
  }

  if (state.features.search) {
    search = new SearchBox({
      api: state.api,
      form: $("#search"),
      results: $("#search-results"),
      open: (id) => navigate(id),
      shown: showSearch,
      failed: (error) => (error.code === "UNAUTHENTICATED" ? signOut("Your session ended. Sign in again.") : toast(error.message, true)),
    });
  }

  if (state.features.admin && state.viewer.role === "ADMIN") {
    team = new TeamPage({ api: state.api, viewer: state.viewer, root: $("#team"), toast });
    $("#team-link").hidden = false;
  }

  if (state.features.live) {
    const data = await state.api.request("{ inboxEventCursor }");
    state.cursor = data.inboxEventCursor;
  }
  renderSections();
  await loadInbox();
  await route({ fromLocation: true });
  startLive(token);
}

// ---- live updates

function startLive(token) {
  const { features } = state;
  if (!features.live && !features.notificationStream && !features.presence) {
    setLiveStatus("offline", "Live updates are not available on this server.");
    return;
  }
  state.live = new LiveClient({
    token,
    onAuthFailed: () => signOut("Your session ended. Sign in again."),
    stillSignedIn: () => rightsNow(token),
    onStatus: (status) => setLiveStatus(status),
    onReconnected: () => bell && bell.load().catch(() => {}),
  });
  window.switchboard.live = state.live;
  if (thread.presence) thread.presence.attach(state.live);
  if (features.live) {
    state.live.subscribe(
      () => ({ query: EVENTS, variables: { after: state.cursor } }),
      (data) => {
        const event = data.inboxEvents;
        state.cursor = event.cursor;
        if (event.type === "CONVERSATION_DELETED" && event.conversationId === state.openId) {
          toast("This conversation was deleted.");
          navigate(null);
        }
        refresh({ list: true, thread: event.conversationId === state.openId });
      },
      (errors) => {
        // Other errors (e.g. SUBSCRIBER_TOO_SLOW) resubscribe from the same cursor, which replays the gap;
        // a cursor the server cannot resume from starts over from now, reloading everything once.
        const code = errors && errors[0] && errors[0].extensions && errors[0].extensions.code;
        if (code !== "VALIDATION_FAILED" && code !== "NOT_FOUND") return false;
        state.api.request("{ inboxEventCursor }").then((data) => {
          state.cursor = data.inboxEventCursor;
          refresh({ list: true, thread: true });
          state.live.reconnectNow();
        });
        return true;
      }
    );
  }
  if (features.notificationStream && bell) {
    state.live.subscribe(
      () => ({ query: NOTIFICATION_STREAM }),
      (data) => bell.received(data.notifications)
    );
  }
}

function setLiveStatus(status, title = "") {
  const el = $("#live-status");
  el.dataset.status = status;
  el.title = title;
  el.textContent = { live: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…", offline: "Not live" }[status] || status;
}

let pending = { list: false, thread: false };
let refreshTimer = null;
let flushed = null;

// Coalesces bursts of events into one reload of each part; every caller's promise settles after it.
function refresh({ list = false, thread: withThread = false }) {
  pending.list ||= list;
  pending.thread ||= withThread;
  clearTimeout(refreshTimer);
  if (!flushed) {
    let settle;
    flushed = new Promise((resolve) => (settle = resolve));
    flushed.settle = settle;
  }
  const promise = flushed;
  refreshTimer = setTimeout(async () => {
    const todo = pending;
    flushed = null;
    pending = { list: false, thread: false };
    await Promise.all([todo.list && loadInbox(), todo.thread && loadThread()]);
    promise.settle();
  }, 30);
  return promise;
}

// ---- sections and the list

function renderSections(counts) {
  const nav = $("#sections");
  replace(
    nav,
    h(
      "ul",
      {},
      SECTIONS.map(([section, field, label]) =>
        h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              "aria-pressed": String(state.section === section),
              dataset: { section },
              onClick: () => selectSection(section),
            },
            h("span", { class: "label" }, label),
            h("span", { class: "count", "aria-label": counts ? `${counts[field]} conversations` : "" }, counts ? String(counts[field]) : "")
          )
        )
      )
    )
  );
}

async function selectSection(section) {
  if (location.pathname === TEAM_PATH) navigate(null);
  if (search) search.clear({ empty: true });
  state.section = section;
  state.pages = 1;
  $("#list-title").textContent = sectionLabel();
  renderSections(state.counts);
  await loadInbox();
}

function sectionLabel() {
  return SECTIONS.find(([name]) => name === state.section)[2];
}

// Search hits (R-SEARCH) stand in for the section's list, which keeps updating underneath.
function showSearch(searching) {
  $("#section-list").hidden = searching;
  $("#search-results").hidden = !searching;
  $("#list-title").textContent = searching ? "Search results" : sectionLabel();
}

// The first `state.pages` pages of the section, seeking page by page with the keyset cursor.
async function loadInbox() {
  const request = ++state.inboxRequest;
  let data;
  const rows = [];
  let after = null;
  try {
    for (let page = 0; page < state.pages; page++) {
      const variables = { section: state.section, after };
      if (state.features.labels) variables.labelId = state.labelId;
      data = await state.api.request(inboxQuery(state.features), variables);
      rows.push(...data.conversations.edges.map((edge) => edge.node));
      after = data.conversations.pageInfo.endCursor;
      if (!data.conversations.pageInfo.hasNextPage) break;
    }
  } catch (error) {
    if (error.code === "UNAUTHENTICATED") return signOut("Your session ended. Sign in again.");
    toast(error.message, true);
    return;
  }
  if (request !== state.inboxRequest) return;
  if (data.labels) renderLabelFilter(data.labels);
  state.counts = data.sectionCounts;
  renderSections(state.counts);
  $("#list-more").hidden = !data.conversations.pageInfo.hasNextPage;
  const title = `Switchboard${data.sectionCounts.unassigned ? ` (${data.sectionCounts.unassigned} unassigned)` : ""}`;
  if (!state.openId) document.title = title;
  renderList(rows);
}

// The label filter (R-LABEL): the section, in its own order, narrowed to one label.
function renderLabelFilter(labels) {
  const select = $("#label-filter");
  $("#label-filter-wrap").hidden = false;
  if (state.labelId && !labels.some((label) => label.id === state.labelId)) {
    state.labelId = null; // deleted meanwhile
    loadInbox();
  }
  renderIf(select, JSON.stringify([labels, state.labelId]), () => [
    h("option", { value: "" }, "All conversations"),
    labels.map((label) => h("option", { value: label.id, selected: label.id === state.labelId }, label.name)),
  ]);
}

function renderList(rows) {
  const list = $("#conversation-list");
  const key = JSON.stringify([state.openId, rows.map((r) => [r.id, r.lastMessageAt, r.status, r.assignee && r.assignee.id, r.lastMessage && r.lastMessage.text, r.labels])]);
  $("#list-empty").hidden = rows.length > 0;
  renderIf(list, key, () =>
    rows.map((row) => {
      const name = row.contact.name || row.contact.externalId;
      const last = row.lastMessage;
      const preview = last ? `${last.direction === "OUTBOUND" ? "You: " : ""}${last.text || "Attachment"}` : "No messages";
      return h(
        "li",
        { dataset: { id: row.id } },
        h(
          "a",
          {
            href: `/inbox/conversations/${encodeURIComponent(row.id)}`,
            class: "conversation",
            "aria-current": row.id === state.openId ? "true" : false,
            onClick: (event) => {
              if (event.metaKey || event.ctrlKey || event.shiftKey) return;
              event.preventDefault();
              navigate(row.id);
            },
          },
          h("span", { class: "avatar", "aria-hidden": "true" }, initials(name)),
          h(
            "span",
            { class: "summary" },
            h("span", { class: "top" }, h("strong", { class: "contact" }, name), timeTag(row.lastMessageAt)),
            h("span", { class: "preview" }, preview),
            h(
              "span",
              { class: "tags" },
              h("span", { class: "channel" }, providerLabel(row.app.provider)),
              row.assignee && h("span", { class: "assignee" }, row.assignee.name),
              (row.labels || []).map(labelChip)
            )
          )
        )
      );
    })
  );
}

// ---- the open conversation

function navigate(id) {
  const path = id ? `/inbox/conversations/${encodeURIComponent(id)}` : "/";
  if (location.pathname !== path) history.pushState({}, "", path);
  route({ fromLocation: false });
}

async function route({ fromLocation }) {
  const onTeam = location.pathname === TEAM_PATH && team !== null;
  if (location.pathname === TEAM_PATH && !onTeam) history.replaceState({}, "", "/"); // admins only
  document.body.classList.toggle("team-open", onTeam);
  $("#team").hidden = !onTeam;
  $("#team-link").setAttribute("aria-current", onTeam ? "page" : "false");
  if (onTeam) {
    thread.close();
    await team.load();
    $("#team-title").focus({ preventScroll: true });
    return;
  }
  const match = location.pathname.match(CONVERSATION_PATH);
  state.openId = match ? decodeURIComponent(match[1]) : null;
  $("#thread").hidden = !state.openId;
  $("#no-thread").hidden = Boolean(state.openId);
  document.body.classList.toggle("thread-open", Boolean(state.openId));
  if (!state.openId) {
    thread.close();
    $("#list-pane").querySelectorAll("[aria-current]").forEach((el) => el.removeAttribute("aria-current"));
    return;
  }
  const conversation = await loadThread();
  // Focus moves with the click, as soon as the thread shows: later, it would take the caret from
  // someone who has begun to type.
  if (conversation && !fromLocation) $("#thread-title").focus({ preventScroll: true });
  if (conversation && fromLocation && conversation.section !== state.section) await selectSection(conversation.section);
  else await loadInbox();
}

async function loadThread() {
  if (!state.openId) return null;
  const id = state.openId;
  const request = ++state.threadRequest;
  let data;
  try {
    data = await state.api.request(threadQuery(state.features), { id });
  } catch (error) {
    toast(error.message, true);
    return null;
  }
  if (request !== state.threadRequest || id !== state.openId) return null;
  const conversation = data.conversation;
  if (!conversation) {
    $("#thread").hidden = true;
    $("#no-thread").hidden = false;
    replace($("#no-thread"), h("p", {}, "This conversation does not exist or was deleted."));
    return null;
  }
  $("#thread").hidden = false;
  $("#no-thread").hidden = true;
  document.title = `${conversation.contact.name || conversation.contact.externalId} · Switchboard`;
  thread.show(conversation, data.users, data.labels || []);
  if (crm) crm.render(conversation);
  if (bell) bell.seen(conversation.id);
  return conversation;
}

// ---- availability

function renderAvailability() {
  const button = $("#availability");
  const available = state.viewer.available;
  button.setAttribute("aria-pressed", String(available));
  button.querySelector(".label").textContent = available ? "Available" : "Unavailable";
  button.title = available ? "New conversations can be assigned to you. Click to become unavailable." : "Nobody can assign you new conversations. Click to become available.";
}

async function toggleAvailability() {
  try {
    const data = await state.api.request(AVAILABILITY, { available: !state.viewer.available });
    state.viewer.available = data.setAvailability.available;
    renderAvailability();
    toast(state.viewer.available ? "You are available." : "You are unavailable: nobody can assign you new conversations.");
    refresh({ thread: true });
  } catch (error) {
    toast(error.message, true);
  }
}

// ---- wiring

function startSession(token) {
  localStorage.setItem(TOKEN_KEY, token);
  localStorage.setItem(SESSION_KEY, "1");
  start(token);
}

// A link's session replaces whatever this browser was signed in as: start over from a clean page.
function adoptSession(token) {
  localStorage.setItem(TOKEN_KEY, token);
  localStorage.setItem(SESSION_KEY, "1");
  location.replace("/");
}

$("#signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = $("#token").value.trim();
  if (token) {
    localStorage.setItem(TOKEN_KEY, token);
    localStorage.removeItem(SESSION_KEY);
    $("#token").value = "";
    start(token);
    return;
  }
  const email = $("#email").value.trim();
  const password = $("#password").value;
  if (!email || !password) {
    replace($("#signin-error"), "Enter your email and password, or an API token.");
    return;
  }
  try {
    const session = await signInWithPassword(email, password);
    $("#password").value = "";
    startSession(session);
  } catch (error) {
    replace($("#signin-error"), error.message);
  }
});
$("#signout").addEventListener("click", async () => {
  if (localStorage.getItem(SESSION_KEY) && state.api) {
    await state.api.request("mutation { signOut }").catch(() => {});
  }
  signOut();
});
wireForgot();
$("#availability").addEventListener("click", toggleAvailability);
$("#back").addEventListener("click", () => navigate(null));
$("#label-filter").addEventListener("change", (event) => {
  state.labelId = event.target.value || null;
  state.pages = 1;
  loadInbox();
});
$("#team-link").addEventListener("click", (event) => {
  if (event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  if (location.pathname !== TEAM_PATH) history.pushState({}, "", TEAM_PATH);
  route({ fromLocation: false });
});
$("#list-more").addEventListener("click", () => {
  state.pages += 1;
  loadInbox();
});
window.addEventListener("popstate", () => state.viewer && route({ fromLocation: true }));
// A `#token=` link opened in a tab already showing the app.
window.addEventListener("hashchange", () => {
  const link = linkFromLocation();
  if (link) {
    if (state.live) state.live.stop();
    showPasswordPage(link, adoptSession);
    return;
  }
  const linked = tokenFromLocation();
  if (!linked) return;
  if (state.viewer) {
    offerSwitch(linked);
    return;
  }
  localStorage.setItem(TOKEN_KEY, linked);
  location.reload();
});

async function boot() {
  // An emailed link sets a password and signs in as its user, whoever this browser was signed in as.
  const link = linkFromLocation();
  if (link) {
    showPasswordPage(link, adoptSession);
    return;
  }
  const linked = tokenFromLocation();
  const saved = localStorage.getItem(TOKEN_KEY);
  if (linked && saved && linked !== saved && (await isAccepted(saved))) {
    await start(saved);
    if (state.viewer) await offerSwitch(linked);
    return;
  }
  const token = linked || saved;
  if (token) {
    localStorage.setItem(TOKEN_KEY, token);
    start(token);
    return;
  }
  showSignIn(sessionStorage.getItem("switchboard.signin") || "");
  sessionStorage.removeItem("switchboard.signin");
}

boot();
