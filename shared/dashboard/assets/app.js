// Registrar fleet dashboard: a read-only client of the Admin API's JSON (SPEC §14).
// Every value from the API is put into the page as text (textContent), never as markup.
"use strict";

const API = "/api/v1";
const POLL_MS = 5000;
const PAGE = 25;

// el builds an element; string and number children become text nodes.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = String(v);
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return e;
}

async function api(path) {
  const res = await fetch(API + path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error((body.code || res.status) + ": " + (body.title || "request failed") + (body.detail ? " — " + body.detail : ""));
    err.status = res.status;
    throw err;
  }
  return body;
}

function when(t) {
  if (!t) return "—";
  const d = new Date(t);
  if (isNaN(d)) return String(t);
  return d.toISOString().replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, " UTC");
}

function relative(t, now) {
  if (!t) return "";
  const ms = new Date(t) - (now ? new Date(now) : new Date());
  const abs = Math.abs(ms), h = 3600e3, d = 24 * h;
  const s = abs >= d ? Math.round(abs / d) + "d" : abs >= h ? Math.round(abs / h) + "h" : Math.max(1, Math.round(abs / 60e3)) + "m";
  return ms >= 0 ? "in " + s : s + " ago";
}

function badge(v) {
  return el("span", { class: "badge s-" + String(v || "none").replace(/[^A-Za-z]/g, ""), "data-value": v || "" }, v || "—");
}

function clusterLink(id, name) {
  return el("a", { href: "#/clusters/" + encodeURIComponent(id), class: "cluster-link" }, name || id);
}

function section(title, id, ...content) {
  return el("section", { class: "card", id }, el("h2", {}, title), ...content);
}

function table(cols, rows, attrs) {
  if (!rows.length) return el("p", { class: "muted empty" }, "None.");
  return el("div", { class: "scroll" }, el("table", attrs || {},
    el("thead", {}, el("tr", {}, cols.map((c) => el("th", {}, c)))),
    el("tbody", {}, rows)));
}

// stageBars draws one <progress> per reset stage.
function stageBars(stages) {
  const value = { InProgress: 50, Succeeded: 100, Failed: 100 };
  return el("ol", { class: "stages" }, (stages || []).map((s) =>
    el("li", { class: "stage", "data-stage": s.name, "data-status": s.status || "NotStarted" },
      el("span", { class: "stage-name" }, s.name),
      el("progress", { max: 100, value: value[s.status] || 0, class: "p-" + (s.status || "NotStarted"), "aria-label": s.name }),
      el("span", { class: "stage-status" }, s.status || "NotStarted"))));
}

let timer = null;
let current = null;

function setError(msg) {
  const box = document.getElementById("error");
  box.textContent = msg || "";
  box.hidden = !msg;
}

function setNav(which) {
  for (const a of document.querySelectorAll("[data-nav]")) a.classList.toggle("active", a.dataset.nav === which);
}

// ---- Overview ----

// The status names come from names.js (NAMES), generated from the Go constants.
const ORDER = NAMES.overview;

function countGroup(title, key, counts) {
  const m = counts[key] || {};
  const names = [...ORDER[key], ...Object.keys(m).filter((k) => !ORDER[key].includes(k))];
  return el("div", { class: "group", "data-group": key }, el("h3", {}, title),
    el("dl", {}, names.map((n) => {
      const filter = key === "clusterStatus" ? null : "#/clusters?" + key + "=" + encodeURIComponent(n);
      const label = filter ? el("a", { href: filter }, n) : n;
      return el("div", { class: "count", "data-status": n },
        el("dt", {}, label), el("dd", { "data-count": key + "." + n }, String(m[n] || 0)));
    })));
}

function renderOverview(s) {
  const c = s.counts || {};
  document.getElementById("asof").textContent = "Counts as of " + when(s.asOf);
  const parts = [];
  if (s.subscriptions) {
    parts.push(el("div", { class: "banner scope", id: "scope" }, "Showing the clusters of subscription" +
      (s.subscriptions.length === 1 ? " " : "s ") + s.subscriptions.join(", ") + " only: your roles are limited to " +
      (s.subscriptions.length === 1 ? "it" : "them") + " (AssignableScopes)."));
  }
  if (s.guard && s.guard.active) {
    parts.push(el("div", { class: "banner", id: "guard" }, "Mass-disconnect guard active: " +
      (s.guard.newestSync ? "no sync heard fleet-wide since " + when(s.guard.newestSync) : "no sync heard yet from any cluster") +
      ". Silence-based transitions are held back."));
  }
  parts.push(section("At a glance", "glance",
    el("div", { class: "total" }, el("span", { class: "big", "data-count": "clusters" }, String(c.clusters || 0)), " clusters",
      el("span", { class: "muted" }, " · credentials expired: "), el("span", { "data-count": "credentialExpired" }, String(c.credentialExpired || 0))),
    el("div", { class: "groups" },
      countGroup("Registration", "registrationStatus", c),
      countGroup("Connection", "connectionStatus", c),
      countGroup("Cluster", "clusterStatus", c),
      countGroup("Orphan", "orphan", c))));

  parts.push(section("Resets in progress", "resets",
    (s.resets || []).length ? el("div", { class: "resets" }, s.resets.map((r) =>
      el("div", { class: "reset", "data-operation": r.operationId },
        el("div", { class: "reset-head" }, clusterLink(r.clusterId, r.clusterName), " / ", el("strong", {}, r.machine), " ", badge(r.status),
          el("span", { class: "muted" }, " started " + relative(r.startedAt, s.generatedAt) + " · last heard " + relative(r.lastHeardAt, s.generatedAt))),
        stageBars(r.stages))))
      : el("p", { class: "muted empty" }, "None.")));
  const up = s.upcoming || [];
  const creds = up.filter((d) => d.policy === "Credential");
  parts.push(el("div", { class: "attention" },
    section("Deadlines within 7 days", "deadlines",
      table(["Due", "Cluster", "Policy", "Action"], up.map((d) =>
        el("tr", { class: new Date(d.deadline) < new Date(s.generatedAt) ? "overdue" : "" },
          el("td", { title: when(d.deadline), class: "due" }, relative(d.deadline, s.generatedAt)),
          el("td", {}, clusterLink(d.clusterId, d.clusterName)), el("td", {}, d.policy), el("td", {}, d.action)))),
      s.upcomingTotal > up.length ? el("p", { class: "muted" }, "and " + (s.upcomingTotal - up.length) + " more (see /policy/upcoming)") : null),
    section("Credentials", "credentials",
      el("p", {}, c.credentialExpired ? el("a", { href: "#/clusters?credentialExpired=true", id: "expired-link" }, el("strong", {}, String(c.credentialExpired)), " expired")
        : el("span", {}, el("strong", {}, "0"), " expired"), " (run RepairRegistration) · ",
        el("strong", {}, String(creds.length)), " expiring within 7 days"),
      creds.length ? table(["Expires", "Cluster"], creds.map((d) =>
        el("tr", {}, el("td", { title: when(d.deadline) }, relative(d.deadline, s.generatedAt)), el("td", {}, clusterLink(d.clusterId, d.clusterName))))) : null),
    section("Suspected orphans", "orphans",
      table(["Cluster", "Reason", "Grace ends", "Clean-up steps"], (s.orphans || []).map((o) =>
        el("tr", {}, el("td", {}, clusterLink(o.clusterId, o.clusterName)), el("td", {}, o.reason),
          el("td", { title: when(o.graceUntil) }, relative(o.graceUntil, s.generatedAt)),
          el("td", {}, String(((o.plan || {}).steps || []).length)))))),
    section("Recent rejections", "rejections",
      table(["When", "Code", "Type", "Cluster", "Reason", "MessageId"], (s.rejections || []).map((r) =>
        el("tr", {}, el("td", {}, when(r.at)), el("td", {}, el("code", {}, r.code)), el("td", {}, r.messageType || ""),
          el("td", {}, r.clusterId ? clusterLink(r.clusterId) : ""), el("td", {}, r.reason), el("td", {}, el("code", {}, r.messageId)))))),
    section("Dead letters", "deadletters",
      s.deadLetters ? el("ul", { class: "plain" }, s.deadLetters.map((d) =>
        el("li", { "data-queue": d.queue }, el("code", {}, d.queue), ": ", el("strong", {}, (d.atLeast ? "≥ " : "") + d.count))))
        : el("p", { class: "muted" }, s.subscriptions ? "Dead letters belong to no subscription: a role limited to some does not show them."
          : "No Service Bus connection configured."))));

  return parts;
}

async function overview() {
  setNav("overview");
  const s = await api("/summary");
  return renderOverview(s);
}

// ---- Clusters ----

const FILTERS = NAMES.filters;

// cursors remembers the cursor of each page shown, per filter, for "previous".
let cursors = { key: "", stack: [""] };

async function clusters(params) {
  setNav("clusters");
  const q = new URLSearchParams();
  for (const k of Object.keys(FILTERS)) if (params.get(k)) q.set(k, params.get(k));
  const key = q.toString();
  if (cursors.key !== key) cursors = { key, stack: [""] };
  const pageNo = Math.max(0, Math.min(parseInt(params.get("page") || "0", 10) || 0, cursors.stack.length - 1));
  const cursor = cursors.stack[pageNo];
  const aq = new URLSearchParams(q);
  aq.set("limit", String(PAGE));
  if (cursor) aq.set("cursor", cursor);
  const page = await api("/clusters?" + aq.toString());
  if (page.nextCursor) cursors.stack[pageNo + 1] = page.nextCursor;
  else cursors.stack.length = pageNo + 1;

  const go = (changes) => {
    const n = new URLSearchParams(q);
    for (const [k, v] of Object.entries(changes)) { if (v) n.set(k, v); else n.delete(k); }
    location.hash = "#/clusters" + (n.toString() ? "?" + n.toString() : "");
  };
  const form = el("form", { class: "filters", id: "filters" }, Object.entries(FILTERS).map(([k, vals]) => {
    const sel = el("select", { name: k, id: "f-" + k }, el("option", { value: "" }, "any"),
      vals.map((v) => el("option", { value: v, selected: params.get(k) === v ? "selected" : false }, v)));
    sel.addEventListener("change", () => go({ [k]: sel.value, page: "" }));
    return el("label", {}, k, sel);
  }));
  form.addEventListener("submit", (e) => e.preventDefault());

  const prev = el("button", { type: "button", id: "prev", disabled: pageNo === 0 ? "disabled" : false }, "← Previous");
  const next = el("button", { type: "button", id: "next", disabled: page.nextCursor ? false : "disabled" }, "Next →");
  prev.addEventListener("click", () => go({ page: pageNo > 1 ? String(pageNo - 1) : "" }));
  next.addEventListener("click", () => go({ page: String(pageNo + 1) }));

  return [section("Clusters", "clusters", form, bulkHint(q),
    table(["Name", "Registration", "Connection", "Cluster", "Orphan", "Credential", "Region", "Registered"], (page.items || []).map((c) =>
      el("tr", { "data-cluster": c.clusterId },
        el("td", {}, clusterLink(c.clusterId, c.clusterName)), el("td", {}, badge(c.registrationStatus)),
        el("td", {}, badge(c.connectionStatus)), el("td", {}, badge(c.clusterStatus)), el("td", {}, badge(c.orphan)),
        el("td", {}, c.credentialExpired ? badge("Expired") : ""),
        el("td", {}, c.region || ""), el("td", {}, when(c.registeredAt)))), { id: "cluster-table" }),
    el("div", { class: "pager" }, prev, el("span", { id: "page-no" }, "Page " + (pageNo + 1)), next))];
}

// bulkHint shows, for a filtered list, the command line that acts on the same clusters
// (docs/cli.md, "Bulk"): the page itself stays read-only.
const BULK_FLAGS = { registrationStatus: "--registration-status", connectionStatus: "--connection-status",
  orphan: "--orphan", credentialExpired: "--credential-expired" };

function bulkHint(q) {
  // Only the known values: a crafted link cannot put other text into a command to copy.
  const flags = Object.entries(BULK_FLAGS).filter(([k]) => FILTERS[k].includes(q.get(k))).map(([k, f]) => f + " " + q.get(k)).join(" ");
  if (!flags) return null;
  return el("p", { class: "hint muted", id: "bulk-hint" }, "To act on every cluster of this filter, preview it from the command line: ",
    el("code", {}, "registrar bulk repair " + flags + " --dry-run"), " or ",
    el("code", {}, "registrar bulk unregister " + flags + " --dry-run"), ".");
}

// ---- One cluster ----

const HISTORY_PAGE = 20;

async function cluster(id, params) {
  setNav("clusters");
  const p = "/clusters/" + encodeURIComponent(id);
  const hq = new URLSearchParams({ limit: String(HISTORY_PAGE) });
  if (params.get("history")) hq.set("cursor", params.get("history"));
  let v, h;
  try {
    [v, h] = await Promise.all([api(p), api(p + "/history?" + hq.toString())]);
  } catch (err) {
    if (err.status !== 404) throw err;
    return [el("p", {}, el("a", { href: "#/clusters" }, "← All clusters")),
      section(id, "cluster-view", el("p", { class: "muted empty" },
        "No cluster " + id + " is known: only rejected messages named it (see Recent rejections)."))];
  }
  const here = "#/clusters/" + encodeURIComponent(id);
  const fields = [
    ["Cluster ID", v.clusterId], ["Resource ID", v.resourceId], ["Cloud", v.cloud], ["Region", v.region],
    ["Registration", badge(v.registrationStatus)], ["Cluster", badge(v.clusterStatus)], ["Connection", badge(v.connectionStatus)],
    ["Last connected", when(v.lastConnected)], ["Registered", when(v.registeredAt)], ["Arc integration", v.arcIntegration],
    ["Credential expires", when(v.credentialExpiresAt) + (v.credentialExpired ? " (expired: run RepairRegistration)" : "")],
    ["Orphan", badge(v.orphan)], ["Grace until", v.orphanGraceUntil ? when(v.orphanGraceUntil) : null],
  ];
  const resets = (v.nodes || []).filter((n) => n.reset);
  return [
    el("p", {}, el("a", { href: "#/clusters" }, "← All clusters")),
    section(v.clusterName || v.clusterId, "cluster-view",
      el("dl", { class: "fields" }, fields.filter((f) => f[1] !== null && f[1] !== undefined && f[1] !== "").map(([k, val]) =>
        el("div", {}, el("dt", {}, k), el("dd", {}, val))))),
    section("Upcoming deadlines", "cluster-deadlines",
      table(["Due", "Policy", "Action"], (v.deadlines || []).map((d) =>
        el("tr", {}, el("td", { title: when(d.deadline) }, when(d.deadline)), el("td", {}, d.policy), el("td", {}, d.action))))),
    section("Nodes", "nodes",
      table(["Name", "Registration", "Connection", "Arc", "Agent", "OS", "BIOS hash", "Last sync"], (v.nodes || []).map((n) =>
        el("tr", { "data-node": n.name }, el("td", {}, n.name), el("td", {}, badge(n.registrationStatus)), el("td", {}, badge(n.connectionStatus)),
          el("td", {}, n.arcStatus || ""), el("td", {}, n.arcAgentVersion || ""), el("td", {}, n.osVersion || ""),
          el("td", {}, el("code", {}, n.biosConfigHash || "")), el("td", {}, when(n.lastSync)))))),
    section("Resets", "cluster-resets",
      resets.length ? resets.map((n) => el("div", { class: "reset", "data-operation": n.reset.operationId },
        el("div", { class: "reset-head" }, el("strong", {}, n.name), " ", badge(n.reset.status),
          el("span", { class: "muted" }, " started " + when(n.reset.startedAt) + (n.reset.error ? " · " : "")), n.reset.error || ""),
        stageBars(n.reset.stages))) : el("p", { class: "muted empty" }, "No reset.")),
    section("History", "history",
      (h.items || []).length ? el("ol", { class: "timeline" }, h.items.map((e) =>
        el("li", {}, el("time", {}, when(e.at)), " ", el("strong", {}, e.what),
          e.before || e.after ? el("span", {}, " ", e.before || "∅", " → ", e.after || "∅") : null,
          el("div", { class: "muted" }, "cause " + e.cause + (e.principal ? " by " + e.principal : "") +
            (e.requestedBy ? " requested by " + e.requestedBy : "") + (e.messageId ? " · " + e.messageId : "")))))
        : el("p", { class: "muted empty" }, "No history."),
      el("div", { class: "pager" },
        params.get("history") ? el("a", { href: here, id: "history-newest" }, "← Newest") : el("span", {}),
        h.nextCursor ? el("a", { href: here + "?history=" + encodeURIComponent(h.nextCursor), id: "history-older" }, "Older →") : null)),
  ];
}

// ---- Routing and refresh ----

function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const m = path.match(/^\/clusters\/([^/]+)$/);
  if (m) return () => cluster(decodeURIComponent(m[1]), params);
  if (path === "/clusters") return Object.assign(() => clusters(params), { still: true });
  return overview;
}

async function refresh() {
  const view = current;
  try {
    const parts = await view();
    if (view !== current) return;
    document.getElementById("main").replaceChildren(...parts);
    document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
    setError("");
  } catch (err) {
    if (view === current) setError(err.message);
  }
}

function show() {
  current = route();
  clearInterval(timer);
  if (!current.still) timer = setInterval(refresh, POLL_MS); // the list is not redrawn under the user's hand
  refresh();
}

window.addEventListener("hashchange", show);
show();
