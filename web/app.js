// The dotdo console: namespaces and their stats, a document browser (query, history), a graph
// node's neighbourhood, the blob list with downloads, and the live CDC tail (Server-Sent Events,
// resumed by the browser with Last-Event-ID). Everything goes through the HTTP API.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { ns: "", cursor: null, tail: null };

$("token").value = localStorage.getItem("dotdo.token") || "";
$("token").addEventListener("change", () => { localStorage.setItem("dotdo.token", $("token").value); refresh(); });

function setStatus(text, error) { $("status").textContent = text; $("status").className = error ? "error" : ""; }
const nsPath = (rest) => `/v1/ns/${encodeURIComponent(state.ns)}${rest}`;

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if ($("token").value) headers["Authorization"] = "Bearer " + $("token").value;
  if (options.body && !headers["Content-Type"]) headers["Content-Type"] = "application/json";
  const res = await fetch(path, Object.assign({}, options, { headers }));
  const text = await res.text();
  const body = text && (text[0] === "{" || text[0] === "[") ? JSON.parse(text) : text;
  if (!res.ok) {
    const msg = body && body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`;
    setStatus(msg, true);
    throw new Error(msg);
  }
  setStatus("");
  return body;
}

function cell(row, text) { const td = row.insertCell(); td.textContent = text; return td; }

async function loadNamespaces() {
  const list = await api("/v1/namespaces");
  const select = $("ns");
  const previous = state.ns || localStorage.getItem("dotdo.ns");
  select.innerHTML = "";
  for (const name of list.namespaces) select.add(new Option(name, name));
  if (list.namespaces.includes(previous)) select.value = previous;
  state.ns = select.value;
}

async function loadStats() {
  if (!state.ns) { $("stats").textContent = "no namespace yet: create a document through the API"; return; }
  const info = await api(nsPath(""));
  const rows = { "rows read": info.stats.rows_read, "rows written": info.stats.rows_written, "last lsn": info.last_lsn,
                 "file bytes": info.file_bytes, "blobs": `${info.blobs.blobs} (${info.blobs.logical_bytes} B)`,
                 "tables": info.tables.join(" ") };
  $("stats").innerHTML = "<dl>" + Object.entries(rows).map(([k, v]) => `<dt>${k}</dt><dd></dd>`).join("") + "</dl>";
  $("stats").querySelectorAll("dd").forEach((dd, i) => { dd.textContent = String(Object.values(rows)[i]); });
}

async function queryDocs(append) {
  const type = $("doc-type").value.trim();
  if (!type || !state.ns) return;
  const params = new URLSearchParams({ limit: "25" });
  if ($("doc-where").value.trim()) params.set("where", $("doc-where").value.trim());
  if ($("doc-sort").value.trim()) params.set("sort", $("doc-sort").value.trim());
  if (append && state.cursor) params.set("cursor", state.cursor);
  const page = await api(nsPath(`/types/${encodeURIComponent(type)}/docs?${params}`));
  const body = $("docs").tBodies[0];
  if (!append) body.innerHTML = "";
  for (const doc of page.items) {
    const row = body.insertRow();
    row.className = "doc";
    cell(row, doc.$id); cell(row, doc.$version); cell(row, JSON.stringify(doc));
    row.addEventListener("click", () => showHistory(doc.$id));
  }
  state.cursor = page.next_cursor;
  $("docs-more").hidden = !state.cursor;
}

async function showHistory(id) {
  const versions = await api(nsPath(`/docs/${encodeURIComponent(id)}/history`));
  $("history-title").hidden = false;
  $("history-title").textContent = `History of ${id}`;
  $("history").innerHTML = "";
  for (const v of versions) { const li = document.createElement("li"); li.textContent = JSON.stringify(v); $("history").append(li); }
}

async function showGraph() {
  const node = $("graph-node").value.trim();
  if (!node || !state.ns) return;
  const page = await api(nsPath(`/graph/both?limit=40&node=${encodeURIComponent(node)}`));
  const svg = $("graph");
  const ns = "http://www.w3.org/2000/svg";
  svg.innerHTML = "";
  const add = (tag, attrs, text) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text) el.textContent = text;
    svg.append(el);
    return el;
  };
  const n = page.items.length;
  page.items.forEach((e, i) => {
    const angle = (2 * Math.PI * i) / Math.max(n, 1);
    const x = Math.cos(angle) * 140, y = Math.sin(angle) * 130;
    const other = e.from === node ? e.to : e.from;
    const arrow = e.from === node ? `→ ${e.type}` : `← ${e.type}`;
    add("line", { x1: 0, y1: 0, x2: x, y2: y });
    const c = add("circle", { cx: x, cy: y, r: 6 });
    c.addEventListener("click", () => { $("graph-node").value = other; showGraph(); });
    add("text", { x: x + 8, y: y + 4 }, `${other} (${arrow})`);
  });
  add("circle", { cx: 0, cy: 0, r: 9, class: "center" });
  add("text", { x: 12, y: -10 }, node);
}

async function listBlobs() {
  if (!state.ns) return;
  const params = new URLSearchParams({ limit: "100", prefix: $("blob-prefix").value });
  const page = await api(nsPath(`/blobs?${params}`));
  const body = $("blobs").tBodies[0];
  body.innerHTML = "";
  for (const b of page.items) {
    const row = body.insertRow();
    cell(row, b.key); cell(row, b.size); cell(row, b.contentType);
    const link = document.createElement("a");
    link.textContent = "download";
    link.href = "#";
    link.addEventListener("click", async (ev) => {  // a short-lived presigned URL: no token in the link
      ev.preventDefault();
      const signed = await api(nsPath("/signed-urls"), { method: "POST", body: JSON.stringify({ key: b.key, expires_in_ms: 60000, disposition: "attachment" }) });
      window.location = signed.url;
    });
    row.insertCell().append(link);
  }
}

function toggleTail() {
  if (state.tail) { state.tail.close(); state.tail = null; $("tail-toggle").textContent = "start tail"; $("tail-state").textContent = ""; return; }
  if (!state.ns) return;
  const params = new URLSearchParams();
  if ($("token").value) params.set("access_token", $("token").value);
  const source = new EventSource(nsPath(`/events/stream?${params}`));
  source.addEventListener("change", (msg) => {
    const e = JSON.parse(msg.data);
    const li = document.createElement("li");
    li.textContent = `#${e.lsn} ${e.type} ${e.store}/${e.table} ${e.key}`;
    li.title = msg.data;
    $("events").prepend(li);
    while ($("events").children.length > 200) $("events").lastChild.remove();
    $("tail-state").textContent = `live, last lsn ${e.lsn}`;
  });
  source.onopen = () => { $("tail-state").textContent = "live"; };
  source.onerror = () => { $("tail-state").textContent = "reconnecting…"; };
  state.tail = source;
  $("tail-toggle").textContent = "stop tail";
}

async function refresh() {
  try {
    await loadNamespaces();
    await loadStats();
    await listBlobs();
  } catch (e) { /* shown in the status line */ }
}

$("ns").addEventListener("change", () => {
  state.ns = $("ns").value;
  localStorage.setItem("dotdo.ns", state.ns);
  if (state.tail) { toggleTail(); toggleTail(); }
  refresh();
});
$("refresh").addEventListener("click", refresh);
$("doc-query").addEventListener("submit", (ev) => { ev.preventDefault(); queryDocs(false).catch(() => {}); });
$("docs-more").addEventListener("click", () => queryDocs(true).catch(() => {}));
$("graph-form").addEventListener("submit", (ev) => { ev.preventDefault(); showGraph().catch(() => {}); });
$("blob-form").addEventListener("submit", (ev) => { ev.preventDefault(); listBlobs().catch(() => {}); });
$("tail-toggle").addEventListener("click", toggleTail);
refresh().then(() => { if (state.ns) toggleTail(); });
