// Replay of recorded sessions: list from /api/sessions, one session's events and scorecard
// from /api/sessions/<id>, its mix.wav played from a blob (seekable without range requests);
// events at or before the playback position are highlighted, the latest one as current.
import { brief, el, fmtClock, fmtOffset, param, withToken } from "./common.js";

const HIDDEN_TYPES = new Set(["partial", "mark", "speech_start", "speech_end", "prompt_start", "prompt_end", "audio_gap"]);

const $ = (id) => document.getElementById(id);
const player = $("player");
const eventsEl = $("events");
const statusEl = $("replay-status");
let rows = []; // [{offset, node}] in offset order
let objectUrl = null;
let selected = null;

$("link-dashboard").href = withToken("/");

async function getJson(path) {
  const res = await fetch(withToken(path), { cache: "no-store" });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

function eventText(e) {
  switch (e.type) {
    case "final":
      return e.text || "";
    case "say":
      return e.text || e.prompt_id || "";
    case "state_change":
      return `${e.from || "start"} → ${e.to}${e.verified ? " (verified)" : ""}`;
    case "understood":
      return [(e.intents || []).join(", "), e.amount != null ? `amount ${e.amount}` : "", e.date ? `date ${e.date}` : ""]
        .filter(Boolean).join(" · ");
    case "handoff":
      return `${e.reason || ""} — ${brief(e.summary)}`;
    case "transfer":
      return `to ${e.target || "?"} (${e.reason || ""})`;
    case "compliance_warning":
      return `${brief(e.flags || e.rule)}: ${e.text || ""}`;
    case "outcome":
      return [e.disposition || "", e.promise && (e.promise.amount || e.promise.date) ? brief(e.promise) : ""]
        .filter(Boolean).join(" · ");
    case "call_ended":
      return e.reason || "";
    default: {
      const rest = { ...e };
      delete rest.type;
      delete rest.offset_ms;
      return brief(rest);
    }
  }
}

function renderScorecard(card, error) {
  const box = $("scorecard");
  box.replaceChildren();
  box.hidden = false;
  if (!card) {
    box.append(el("p", "", `No scorecard${error ? `: ${error}` : ""}.`));
    return;
  }
  const head = el("div", "score-head");
  head.append(el("span", "score", `${card.score}`), el("span", "", ` / 100 · ${card.disposition || ""} · ${fmtOffset(card.duration_ms)}`));
  const table = el("table", "checks");
  for (const check of card.checks || []) {
    const tr = el("tr", `check ${check.status}`);
    tr.dataset.check = check.name;
    tr.append(el("td", "name", check.name), el("td", "status", check.status), el("td", "detail", check.detail || ""));
    table.append(tr);
  }
  box.append(head, table);
}

function renderEvents(events) {
  rows = [];
  const frag = document.createDocumentFragment();
  for (const e of events) {
    if (HIDDEN_TYPES.has(e.type)) continue;
    const node = el("div", `event ${e.type}`);
    node.dataset.offsetMs = String(e.offset_ms);
    const who = e.type === "final" ? e.channel || "caller" : e.type === "say" ? "bot" : e.type;
    node.append(el("span", "t", fmtOffset(e.offset_ms)), el("span", "type", who), el("span", "text", eventText(e)));
    node.addEventListener("click", () => {
      player.currentTime = e.offset_ms / 1000;
      sync();
    });
    frag.append(node);
    rows.push({ offset: Number(e.offset_ms) || 0, node });
  }
  rows.sort((a, b) => a.offset - b.offset);
  eventsEl.replaceChildren(frag);
}

/** Highlight events up to the playback position. */
function sync() {
  const ms = player.currentTime * 1000;
  let current = null;
  for (const row of rows) {
    const past = row.offset <= ms;
    row.node.classList.toggle("past", past);
    row.node.classList.remove("current");
    if (past) current = row;
  }
  if (current) {
    current.node.classList.add("current");
    current.node.scrollIntoView({ block: "nearest" });
  }
  eventsEl.dataset.positionMs = String(Math.round(ms));
}

function followPlayback() {
  sync();
  if (!player.paused) requestAnimationFrame(followPlayback);
}

async function loadAudio(dir, names) {
  if (objectUrl) URL.revokeObjectURL(objectUrl);
  objectUrl = null;
  player.removeAttribute("src");
  player.dataset.loaded = "";
  const name = ["mix.wav", "caller.wav", "bot.wav"].find((n) => names.includes(n));
  if (!name) return;
  const res = await fetch(withToken(`/recordings/${encodeURIComponent(dir)}/${name}`), { cache: "no-store" });
  if (!res.ok) throw new Error(`recording: HTTP ${res.status}`);
  objectUrl = URL.createObjectURL(await res.blob());
  player.src = objectUrl;
  player.dataset.loaded = name;
}

async function select(dir) {
  selected = dir;
  for (const li of $("sessions").children) li.classList.toggle("selected", li.dataset.callId === dir);
  history.replaceState(null, "", withToken(`/replay?call=${encodeURIComponent(dir)}`));
  statusEl.textContent = `Loading ${dir}…`;
  try {
    const detail = await getJson(`/api/sessions/${encodeURIComponent(dir)}`);
    if (selected !== dir) return;
    $("title").textContent = `${detail.call_id} · ${detail.meta.lang || ""} · ${detail.meta.route || ""}`;
    renderScorecard(detail.scorecard, detail.scorecard_error);
    renderEvents(detail.events || []);
    eventsEl.dataset.callId = dir;
    await loadAudio(dir, detail.audio || []);
    statusEl.textContent = `${detail.events.length} events`;
    sync();
  } catch (err) {
    statusEl.textContent = `Cannot load ${dir}: ${err.message}`;
  }
}

async function loadList() {
  let sessions;
  try {
    sessions = await getJson("/api/sessions");
  } catch (err) {
    statusEl.textContent = `Cannot list sessions: ${err.message}`;
    return;
  }
  const list = $("sessions");
  list.replaceChildren(...sessions.map((s) => {
    const li = el("li", "session");
    li.dataset.callId = s.dir;
    li.append(el("span", "sid", s.call_id), el("span", "disposition", s.disposition || (s.finished ? "" : "live/cut off")),
      el("span", "", ` ${fmtClock(s.started_at)} ${s.lang || ""}`));
    li.addEventListener("click", () => select(s.dir));
    return li;
  }));
  statusEl.textContent = `${sessions.length} sessions`;
  const wanted = param("call") || decodeURIComponent(window.location.hash.slice(1));
  if (wanted) select(wanted);
}

player.addEventListener("play", () => requestAnimationFrame(followPlayback));
player.addEventListener("timeupdate", sync);
player.addEventListener("seeked", sync);
window.voicebotReplay = { select, sync };
loadList();
