// pgask web page: plain JavaScript over the public HTTP API. Untrusted text (answers,
// passages, titles) only ever reaches the page through textContent, never innerHTML;
// Markdown in answers and passages is rendered by building elements (renderMarkdown).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { collection: "", history: [], sources: [], citations: [] };

// ---- API access -------------------------------------------------------------------------

function headers(extra = {}) {
  const key = sessionStorage.getItem("pgask-key");
  return key ? { ...extra, authorization: `Bearer ${key}` } : extra;
}

async function problemText(response) {
  try {
    const body = await response.json();
    if (response.status === 401) return "This server needs an API key: enter it under \"API key\".";
    if (response.status === 403) return `Your key may not do this: ${body.detail}`;
    return body.detail || body.title || `The server answered ${response.status}.`;
  } catch {
    return `The server answered ${response.status} ${response.statusText}.`;
  }
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers) });
  if (!response.ok) throw new Error(await problemText(response));
  return response.status === 204 ? null : response.json();
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

async function guarded(action) {
  showError("");
  try {
    await action();
  } catch (error) {
    showError(error.message || String(error));
  }
}

// ---- Collections ------------------------------------------------------------------------

async function loadCollections() {
  const { collections } = await api("/v1/collections");
  const select = $("collection");
  select.replaceChildren();
  for (const c of collections) {
    const option = document.createElement("option");
    option.value = c.name;
    option.textContent = `${c.name} (${c.document_count} documents)`;
    option.dataset.info = `${c.embedding.model}, ${c.embedding.dimensions} dims, ${c.chunk_count} chunks`;
    select.append(option);
  }
  if (!collections.length) showError("No collections yet: create one under Upload, or run pgask ingest.");
  const saved = sessionStorage.getItem("pgask-collection");
  if (saved && collections.some((c) => c.name === saved)) select.value = saved;
  selectCollection();
}

function selectCollection() {
  const select = $("collection");
  state.collection = select.value;
  sessionStorage.setItem("pgask-collection", state.collection);
  const option = select.selectedOptions[0];
  $("collection-info").textContent = option ? option.dataset.info : "";
}

// ---- Server-sent events over fetch (EventSource cannot POST) ------------------------------

async function* sseEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

// ---- Markdown, built from DOM nodes -------------------------------------------------------
// A small renderer for what answers and passages use: paragraphs, fenced code (``` or ~~~,
// any length), tables, lists, inline code, emphasis, http(s) links and [n] citations. Text
// only ever becomes text nodes (textContent), so markup in a passage (<img onerror=...>,
// <script>) shows as text.

const INLINE = /`([^`\n]+)`|\*\*([^*\n]+)\*\*|(?<![\w*])\*([^*\s][^*\n]*)\*|(?<!\w)_([^_\s][^_\n]*)_(?!\w)|\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)|\[(\d{1,3})\]/g;

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function citeLink(n) {
  const link = element("a", `[${n}]`, "cite");
  link.href = "#";
  link.dataset.n = n;
  return link;
}

// Plain text, with the words of `marks` (a RegExp or null) highlighted.
function appendText(parent, text, marks) {
  if (!marks) {
    parent.append(document.createTextNode(text));
    return;
  }
  let last = 0;
  for (const match of text.matchAll(marks)) {
    parent.append(document.createTextNode(text.slice(last, match.index)));
    parent.append(element("mark", match[0]));
    last = match.index + match[0].length;
  }
  parent.append(document.createTextNode(text.slice(last)));
}

function appendInline(parent, text, cites, marks = null) {
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    appendText(parent, text.slice(last, m.index), marks);
    last = m.index + m[0].length;
    if (m[1] !== undefined) parent.append(element("code", m[1]));
    else if (m[2] !== undefined) parent.append(element("strong", m[2]));
    else if (m[3] !== undefined || m[4] !== undefined) parent.append(element("em", m[3] ?? m[4]));
    else if (m[5] !== undefined) {
      const link = element("a", m[5]);
      link.href = new URL(m[6]).href; // the pattern only lets http(s) through
      link.rel = "noopener noreferrer nofollow";
      link.target = "_blank";
      parent.append(link);
    } else if (cites) parent.append(citeLink(m[7]));
    else parent.append(document.createTextNode(m[0]));
  }
  appendText(parent, text.slice(last), marks);
}

const LIST_ITEM = /^\s*(?:([-*+])|\d{1,9}[.)])\s+(.*)$/;
const FENCE = /^\s*(`{3,}|~{3,})\s*([\w+#.-]*)/;
const TABLE_ROW = /^\s*\|.*\|\s*$/;
const TABLE_RULE = /^\s*\|(?:\s*:?-{3,}:?\s*\|)+\s*$/;

// The cells of a Markdown table row; "\|" is a bar inside a cell.
function cells(row) {
  const inner = row.trim().replace(/^\|/, "").replace(/\|$/, "");
  return inner.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
}

function renderTable(rows, cites, marks) {
  const table = element("table");
  const head = element("thead");
  const body = element("tbody");
  rows.forEach((row, i) => {
    const tr = element("tr");
    for (const cell of cells(row)) {
      const td = element(i === 0 ? "th" : "td");
      appendInline(td, cell, cites, marks);
      tr.append(td);
    }
    (i === 0 ? head : body).append(tr);
  });
  table.append(head, body);
  const wrapper = element("div", undefined, "table");
  wrapper.append(table);
  return wrapper;
}

// Words of a search query as a RegExp that marks them, or null.
function marksFor(query) {
  const words = (query || "").toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) || [];
  if (!words.length) return null;
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`(${escaped.join("|")})`, "giu");
}

function renderMarkdown(container, text, { cites = false, marks = null } = {}) {
  container.replaceChildren();
  container.classList.add("markdown");
  const lines = text.split("\n");
  let paragraph = [];
  let list = null;
  const flush = () => {
    if (paragraph.length) {
      const p = element("p");
      appendInline(p, paragraph.join(" "), cites, marks);
      container.append(p);
    }
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = line.match(FENCE);
    if (fence) {
      flush();
      list = null;
      const run = fence[1];
      const closes = (l) => l.trim().length >= run.length && [...l.trim()].every((c) => c === run[0]);
      const code = [];
      while (++i < lines.length && !closes(lines[i])) code.push(lines[i]);
      const pre = element("pre");
      pre.append(element("code", code.join("\n"), fence[2] ? `language-${fence[2]}` : undefined));
      container.append(pre);
      continue;
    }
    if (TABLE_ROW.test(line) && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1])) {
      flush();
      list = null;
      const rows = [line];
      i += 1; // the rule under the header
      while (i + 1 < lines.length && TABLE_ROW.test(lines[i + 1])) rows.push(lines[++i]);
      container.append(renderTable(rows, cites, marks));
      continue;
    }
    const item = line.match(LIST_ITEM);
    if (item) {
      flush();
      const tag = item[1] ? "ul" : "ol";
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = element(tag);
        container.append(list);
      }
      const li = element("li");
      appendInline(li, item[2], cites, marks);
      list.append(li);
    } else if (!line.trim()) {
      flush();
      list = null;
    } else {
      list = null;
      paragraph.push(line.trim());
    }
  }
  flush();
}

// "title › section" (and its page): what tells two passages of one document apart.
// The title is not repeated when the heading path starts with it (a page's H1 is both).
function placeOf(passage, fallback) {
  const title = passage.title || passage.source || fallback;
  const headings = passage.section ? passage.section.split(" > ") : [];
  if (headings.length && headings[0].trim().toLowerCase() === title.trim().toLowerCase()) headings.shift();
  const where = [title, ...headings].join(" › ");
  return passage.page ? `${where}, page ${passage.page}` : where;
}

// ---- Ask --------------------------------------------------------------------------------

function renderAnswer(container, text) {
  renderMarkdown(container, text, { cites: true });
}

function renderSources(sources) {
  const list = $("sources");
  list.replaceChildren();
  for (const s of sources) {
    const item = document.createElement("li");
    item.value = s.n;
    const link = document.createElement("a");
    link.href = "#";
    link.className = "cite";
    link.dataset.n = String(s.n);
    link.textContent = placeOf(s, `source ${s.n}`);
    const score = document.createElement("span");
    score.className = "muted";
    score.textContent = ` ${s.source || ""} · score ${Number(s.score).toFixed(3)}`;
    item.append(link, score);
    list.append(item);
  }
}

function showPassage(n) {
  const source = state.citations.find((c) => c.n === n) || state.sources.find((s) => s.n === n);
  if (!source) return;
  $("passage-title").textContent = `[${n}] ${placeOf(source, "untitled")}`;
  const where = [source.source, source.section, source.page ? `page ${source.page}` : ""];
  $("passage-meta").textContent = where.filter(Boolean).join(" · ");
  renderMarkdown($("passage-text"), source.quote || source.text || "");
  $("passage").hidden = false;
}

function addTurn(role, text) {
  const turn = document.createElement("div");
  turn.className = `turn ${role}`;
  const body = document.createElement("div");
  body.className = "body";
  if (role === "user") body.textContent = text;
  turn.append(body);
  $("conversation").append(turn);
  return body;
}

async function ask(question) {
  addTurn("user", question);
  const answerBox = addTurn("assistant", "");
  answerBox.classList.add("streaming");
  const body = { collection: state.collection, question, history: state.history, stream: true };
  const response = await fetch("/v1/ask", {
    method: "POST",
    headers: headers({ "content-type": "application/json", accept: "text/event-stream" }),
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    answerBox.remove();
    throw new Error(await problemText(response));
  }
  let answer = "";
  try {
    for await (const { event, data } of sseEvents(response)) {
      if (event === "sources") {
        state.sources = data.sources;
        state.citations = [];
        renderSources(data.sources);
      } else if (event === "delta") {
        answer += data.text;
        renderAnswer(answerBox, answer);
      } else if (event === "done") {
        state.citations = data.citations || [];
      } else if (event === "error") {
        throw new Error(data.detail || "The model failed while answering.");
      }
    }
  } finally {
    answerBox.classList.remove("streaming");
  }
  state.history.push({ role: "user", content: question }, { role: "assistant", content: answer });
}

// ---- Search -----------------------------------------------------------------------------

async function search() {
  const query = $("search-query").value.trim();
  const raw = $("search-filter").value.trim();
  let filter = null;
  if (raw) {
    try {
      filter = JSON.parse(raw);
    } catch {
      throw new Error("The filter is not valid JSON.");
    }
  }
  const payload = {
    collection: state.collection, query, mode: $("search-mode").value,
    k: Number($("search-k").value), include_text: true,
  };
  if (filter) payload.filter = filter;
  const result = await api("/v1/search", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload),
  });
  const list = $("results");
  list.replaceChildren();
  for (const hit of result.hits) {
    const item = document.createElement("li");
    const title = document.createElement("strong");
    title.textContent = placeOf(hit, hit.external_id);
    const meta = document.createElement("span");
    meta.className = "muted";
    meta.textContent = ` ${hit.source || ""} · score ${Number(hit.score).toFixed(3)}`;
    const text = document.createElement("div");
    renderMarkdown(text, hit.text || "", { marks: marksFor(query) });
    item.append(title, meta, text);
    list.append(item);
  }
  const t = result.timings || {};
  $("search-timing").textContent = `${result.hits.length} results · embed ${t.embed_ms ?? "-"} ms · search ${t.search_ms ?? "-"} ms`;
}

// ---- Upload -----------------------------------------------------------------------------

async function upload(files) {
  if (!state.collection) throw new Error("Pick a collection first.");
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  const job = await api(`/v1/collections/${encodeURIComponent(state.collection)}/files`, {
    method: "POST", body: form,
  });
  $("job").hidden = false;
  $("job-errors").replaceChildren();
  for (;;) {
    const status = await api(job.location);
    const progress = $("job-progress");
    progress.max = Math.max(status.total, 1);
    progress.value = status.done + status.failed;
    $("job-status").textContent = `${status.status}: ${status.done} of ${status.total} documents processed, ${status.failed} failed`;
    if (!["queued", "running"].includes(status.status)) {
      const errors = $("job-errors");
      for (const e of status.errors || []) {
        const item = document.createElement("li");
        item.textContent = `${e.path}: ${e.error}`;
        errors.append(item);
      }
      await loadCollections();
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
}

// ---- Wiring -----------------------------------------------------------------------------

function switchTab(name) {
  showError("");
  for (const tab of document.querySelectorAll("[role=tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  }
  for (const section of document.querySelectorAll(".tab")) section.hidden = section.id !== `tab-${name}`;
}

document.addEventListener("DOMContentLoaded", () => {
  for (const tab of document.querySelectorAll("[role=tab]")) {
    tab.addEventListener("click", () => switchTab(tab.dataset.tab));
  }
  $("collection").addEventListener("change", selectCollection);
  $("api-key").value = sessionStorage.getItem("pgask-key") || "";
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("pgask-key", $("api-key").value.trim());
    guarded(loadCollections);
  });
  $("create-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const name = $("new-collection").value.trim();
      await api("/v1/collections", {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name }),
      });
      sessionStorage.setItem("pgask-collection", name);
      $("new-collection").value = "";
      await loadCollections();
    });
  });
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const question = $("question").value.trim();
    if (!question) return;
    $("question").value = "";
    $("ask-button").disabled = true;
    guarded(() => ask(question)).finally(() => { $("ask-button").disabled = false; });
  });
  $("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("ask-form").requestSubmit();
    }
  });
  $("new-conversation").addEventListener("click", () => {
    state.history = [];
    $("conversation").replaceChildren();
    $("sources").replaceChildren();
    $("passage").hidden = true;
  });
  document.body.addEventListener("click", (event) => {
    const link = event.target.closest("a.cite");
    if (!link) return;
    event.preventDefault();
    showPassage(Number(link.dataset.n));
  });
  $("close-passage").addEventListener("click", () => { $("passage").hidden = true; });
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(search);
  });
  const drop = $("dropzone");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    guarded(() => upload([...event.dataTransfer.files]));
  });
  $("file-input").addEventListener("change", (event) => guarded(() => upload([...event.target.files])));
  guarded(loadCollections);
});
