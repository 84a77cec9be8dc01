// The live dashboard: one card per call, fed by the /feed websocket.
//
// Messages are queued as they arrive and applied once per animation frame, so a burst from
// many calls costs one layout; transcripts keep at most MAX_LINES lines per call. On every
// (re)connect the server's snapshot replaces what the page shows for live calls.
import {
  ReconnectingSocket, brief, el, fmtClock, fmtDuration, fmtOffset, frameBatcher, withToken,
} from "./common.js";

const MAX_LINES = 120;
const MAX_FINISHED = 200;
const ENDED_KEEP_MS = 120000; // an ended call's card stays this long for a last look

const cardsEl = document.getElementById("calls");
const finishedEl = document.getElementById("finished");
const connEl = document.getElementById("conn");
const cards = new Map(); // call_id -> CallCard
let pending = [];

document.getElementById("link-phone").href = withToken("/phone");
document.getElementById("link-replay").href = withToken("/replay");

function amountText(value) {
  if (value === null || value === undefined || value === "") return "—";
  const n = Number(value);
  return Number.isFinite(n) ? n.toLocaleString() : String(value);
}

class CallCard {
  constructor(callId) {
    this.callId = callId;
    this.startedAt = Date.now() / 1000;
    this.ended = false;
    this.partials = new Map(); // channel -> partial line element
    this.intents = new Map(); // intent -> chip element
    this.root = el("article", "call");
    this.root.dataset.callId = callId;
    const head = el("header", "call-head");
    this.idEl = el("span", "call-id", callId);
    this.routeEl = el("span", "call-route", "");
    this.langEl = el("span", "call-lang", "");
    this.stateEl = el("span", "call-state", "…");
    this.verifiedEl = el("span", "call-verified", "");
    this.timerEl = el("span", "call-timer", "0:00");
    head.append(this.idEl, this.routeEl, this.langEl, this.stateEl, this.verifiedEl, this.timerEl);

    this.banner = el("div", "handoff-banner");
    this.banner.hidden = true;
    this.bannerReason = el("span", "handoff-reason", "");
    this.bannerTransfer = el("span", "handoff-transfer", "");
    this.bannerSummary = el("dl", "handoff-summary");
    this.banner.append(el("strong", "", "Hand-off"), this.bannerReason, this.bannerTransfer, this.bannerSummary);

    this.chipsEl = el("div", "chips");
    const promise = el("div", "promise");
    this.amountEl = el("span", "promise-amount", "—");
    this.dateEl = el("span", "promise-date", "—");
    promise.append(el("span", "label", "Promise"), this.amountEl, el("span", "label", "by"), this.dateEl);
    this.promiseEl = promise;

    this.alertsEl = el("div", "alerts");
    this.transcriptEl = el("div", "transcript");
    this.footEl = el("footer", "disposition", "");
    this.root.append(head, this.banner, this.chipsEl, promise, this.alertsEl, this.transcriptEl, this.footEl);
  }

  summary(s) {
    if (s.route !== undefined || s.peer !== undefined) {
      this.routeEl.textContent = [s.route, s.peer].filter(Boolean).join(" · ");
    }
    if (s.lang) this.langEl.textContent = s.lang;
    if (s.state) this.setState(s.state);
    if (s.started_at) {
      this.startedAt = Number(s.started_at) || this.startedAt;
      this.tick(Date.now() / 1000);
    }
    if (s.verified !== undefined) this.setVerified(s.verified);
    if (s.assist) this.root.classList.add("assist");
    if (s.promise) this.setPromise(s.promise.amount, s.promise.date);
    if (Array.isArray(s.intents)) this.setIntents(s.intents, false);
    if (s.handoff) this.showHandoff(s.handoff.reason, s.handoff.summary);
  }

  setState(state) {
    this.stateEl.textContent = state;
    this.root.dataset.state = state;
  }

  setVerified(verified) {
    this.verifiedEl.textContent = verified ? "verified" : "";
    this.root.classList.toggle("verified", Boolean(verified));
  }

  setPromise(amount, date) {
    if (amount !== null && amount !== undefined) this.amountEl.textContent = amountText(amount);
    if (date) this.dateEl.textContent = String(date);
    this.promiseEl.classList.add("filled");
  }

  setIntents(intents, critical) {
    for (const chip of this.intents.values()) chip.classList.remove("latest");
    for (const intent of intents) {
      let chip = this.intents.get(intent);
      if (!chip) {
        chip = el("span", "chip", intent);
        chip.dataset.intent = intent;
        this.intents.set(intent, chip);
        this.chipsEl.append(chip);
      }
      chip.classList.add("latest");
      if (critical) chip.classList.add("critical");
    }
  }

  showHandoff(reason, summary) {
    this.banner.hidden = false;
    this.bannerReason.textContent = reason || "";
    this.bannerSummary.replaceChildren();
    for (const [key, value] of Object.entries(summary || {})) {
      const text = brief(value);
      if (text === "") continue;
      this.bannerSummary.append(el("dt", "", key), el("dd", "", text));
    }
    this.root.classList.add("handoff");
  }

  line(kind, speaker, offsetMs, text) {
    const line = el("div", `line ${kind}`);
    line.dataset.speaker = speaker;
    line.append(el("span", "t", fmtOffset(offsetMs)), el("span", "who", speaker), el("span", "text", text));
    this.appendLine(line);
    return line;
  }

  appendLine(line) {
    const t = this.transcriptEl;
    const atBottom = t.scrollHeight - t.scrollTop - t.clientHeight < 24;
    t.append(line);
    while (t.childElementCount > MAX_LINES) {
      const first = t.firstElementChild;
      for (const [ch, p] of this.partials) if (p === first) this.partials.delete(ch);
      first.remove();
    }
    if (atBottom) t.scrollTop = t.scrollHeight;
  }

  event(e) {
    const channel = e.channel || "caller";
    switch (e.type) {
      case "call_started":
        this.summary({ route: e.route, peer: e.peer, lang: e.lang, assist: e.assist });
        break;
      case "partial": {
        if (!e.text) break;
        let p = this.partials.get(channel);
        if (!p || !p.isConnected) {
          p = this.line("partial", channel, e.offset_ms, e.text);
          this.partials.set(channel, p);
        } else {
          p.querySelector(".text").textContent = e.text;
        }
        break;
      }
      case "final": {
        const p = this.partials.get(channel);
        if (p) {
          p.remove();
          this.partials.delete(channel);
        }
        if (e.text) this.line("final", channel, e.offset_ms, e.text);
        break;
      }
      case "say":
        this.line("say", "bot", e.offset_ms, e.text || e.prompt_id || "");
        break;
      case "understood":
        if (Array.isArray(e.intents) && e.intents.length) this.setIntents(e.intents, Boolean(e.critical));
        if ((e.amount !== null && e.amount !== undefined) || e.date) this.setPromise(e.amount, e.date);
        break;
      case "state_change":
        this.setState(e.to);
        if (e.verified !== undefined) this.setVerified(e.verified);
        this.line("system", "state", e.offset_ms, `${e.from || "start"} → ${e.to}`);
        break;
      case "handoff":
        this.showHandoff(e.reason, e.summary);
        break;
      case "transfer":
        this.banner.hidden = false;
        this.bannerTransfer.textContent = `transferred to ${e.target || "agent"}`;
        break;
      case "compliance_warning": {
        const w = el("div", "compliance-warning");
        const flags = Array.isArray(e.flags) ? e.flags.join(", ") : brief(e.flags || e.rule);
        w.append(el("strong", "", `⚠ ${flags || "warning"}`), el("span", "text", e.text || ""));
        this.alertsEl.append(w);
        break;
      }
      case "suggestion": {
        const s = el("div", "suggestion");
        if (e.critical) s.classList.add("critical");
        s.append(el("strong", "", e.reason || "suggestion"), el("span", "text", e.text || ""));
        this.alertsEl.append(s);
        while (this.alertsEl.childElementCount > 20) this.alertsEl.firstElementChild.remove();
        break;
      }
      case "barge_in":
        this.line("system", "barge-in", e.offset_ms, "caller interrupted the bot");
        break;
      case "error":
        this.line("error", "error", e.offset_ms, `${e.kind || "error"}: ${e.message || ""}`);
        break;
      case "outcome":
        this.footEl.textContent = `outcome: ${e.disposition || "?"}`;
        if (e.promise && (e.promise.amount || e.promise.date)) this.setPromise(e.promise.amount, e.promise.date);
        break;
      case "call_ended":
        this.footEl.textContent = `${this.footEl.textContent} ended: ${e.reason || ""}`.trim();
        break;
      default:
        break;
    }
  }

  reset() {
    this.transcriptEl.replaceChildren();
    this.alertsEl.replaceChildren();
    this.partials.clear();
  }

  finish(msg) {
    this.ended = true;
    this.root.classList.add("ended");
    this.root.dataset.disposition = msg.disposition || "";
    this.footEl.textContent = `ended · ${msg.disposition || "?"} · ${msg.reason || ""}`;
    this.timerEl.textContent = fmtDuration((Number(msg.ended_at) || Date.now() / 1000) - this.startedAt);
    setTimeout(() => {
      if (cards.get(this.callId) === this && this.ended) {
        cards.delete(this.callId);
        this.root.remove();
        updateCounts();
      }
    }, ENDED_KEEP_MS);
  }

  tick(now) {
    if (!this.ended) this.timerEl.textContent = fmtDuration(now - this.startedAt);
  }
}

function card(callId) {
  let c = cards.get(callId);
  if (!c) {
    c = new CallCard(callId);
    cards.set(callId, c);
    cardsEl.append(c.root);
  }
  return c;
}

function finishedItem(msg) {
  const li = el("li", "finished-call");
  li.dataset.callId = msg.call_id;
  li.dataset.disposition = msg.disposition || "";
  const link = el("a", "call-link", msg.call_id);
  link.href = withToken(`/replay?call=${encodeURIComponent(msg.call_id)}`);
  link.target = "_blank";
  li.append(link, el("span", "disposition", msg.disposition || "?"), el("span", "reason", msg.reason || ""),
    el("time", "", fmtClock(msg.ended_at)));
  return li;
}

function addFinished(msg) {
  finishedEl.querySelector(`[data-call-id="${CSS.escape(msg.call_id)}"]`)?.remove();
  finishedEl.prepend(finishedItem(msg));
  while (finishedEl.childElementCount > MAX_FINISHED) finishedEl.lastElementChild.remove();
}

function applySnapshot(msg) {
  const live = new Set((msg.calls || []).map((c) => c.call_id));
  for (const [id, c] of cards) {
    if (!live.has(id) && !c.ended) {
      cards.delete(id);
      c.root.remove();
    }
  }
  for (const summary of msg.calls || []) {
    const c = card(summary.call_id);
    c.ended = false;
    c.root.classList.remove("ended");
    c.reset();
    c.summary(summary);
  }
  for (const [id, events] of Object.entries(msg.history || {})) {
    if (!live.has(id)) continue;
    const c = card(id);
    for (const e of events) c.event(e);
    c.summary(msg.calls.find((s) => s.call_id === id) || {}); // the summary is the latest word
  }
  finishedEl.replaceChildren(...(msg.finished || []).slice(0, MAX_FINISHED).map(finishedItem));
}

function apply(msg) {
  switch (msg.type) {
    case "snapshot":
      applySnapshot(msg);
      break;
    case "heartbeat":
      break;
    case "call":
      card(msg.call_id).summary(msg);
      break;
    case "call_finished":
      cards.get(msg.call_id)?.finish(msg);
      addFinished(msg);
      break;
    default:
      if (msg.call_id) card(msg.call_id).event(msg);
  }
}

function updateCounts() {
  let live = 0;
  for (const c of cards.values()) if (!c.ended) live += 1;
  document.getElementById("live-count").textContent = String(live);
  document.getElementById("finished-count").textContent = String(finishedEl.childElementCount);
  document.getElementById("no-calls").hidden = cards.size > 0;
}

const flushSoon = frameBatcher(() => {
  const batch = pending;
  pending = [];
  for (const msg of batch) {
    try {
      apply(msg);
    } catch (err) {
      console.error("dashboard: cannot apply", msg.type, err);
    }
  }
  updateCounts();
});

const feed = new ReconnectingSocket("/feed", {
  onMessage(msg) {
    pending.push(msg);
    flushSoon();
  },
  onState(state, connects) {
    connEl.dataset.state = state;
    connEl.dataset.connects = String(connects);
    connEl.textContent = { open: "live", connecting: "connecting…", closed: "reconnecting…" }[state];
  },
});
window.voicebotFeed = feed; // for debugging from the console

setInterval(() => {
  const now = Date.now() / 1000;
  for (const c of cards.values()) c.tick(now);
}, 1000);
updateCounts();
