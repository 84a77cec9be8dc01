// Shared helpers of the dashboard, softphone and replay pages (ES module, no build step).
// Every URL the pages open carries the page's own ?token= so one link grants the views.

const params = new URLSearchParams(window.location.search);

/** The access token from the page's own URL ("" when none). */
export const token = params.get("token") || "";

/** A query parameter of the page's URL. */
export function param(name, fallback = "") {
  const v = params.get(name);
  return v === null ? fallback : v;
}

/** ``path`` (same origin) with the page's token added to its query string. */
export function withToken(path) {
  if (!token) return path;
  const sep = path.includes("?") ? "&" : "?";
  return `${path}${sep}token=${encodeURIComponent(token)}`;
}

/** A ws:// or wss:// URL of ``path`` on this host, with the token. */
export function wsUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${withToken(path)}`;
}

/** Create an element with class names and text (text is never parsed as HTML). */
export function el(tag, className = "", text = null) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== null && text !== undefined) node.textContent = String(text);
  return node;
}

/** m:ss of a millisecond offset. */
export function fmtOffset(ms) {
  const total = Math.max(0, Math.floor((Number(ms) || 0) / 1000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}

/** h:mm:ss or m:ss of a duration in seconds. */
export function fmtDuration(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return `${h ? h + ":" : ""}${mm}:${String(s).padStart(2, "0")}`;
}

/** A unix-seconds (or ISO) timestamp as local HH:MM:SS. */
export function fmtClock(ts) {
  if (ts === null || ts === undefined || ts === "") return "";
  const d = typeof ts === "number" ? new Date(ts * 1000) : new Date(ts);
  if (Number.isNaN(d.getTime())) return String(ts);
  return d.toLocaleTimeString([], { hour12: false });
}

/** A short readable rendering of any JSON value (for summaries and event details). */
export function brief(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) {
    const sep = value.some((v) => v && typeof v === "object") ? " · " : ", ";
    return value.map(brief).filter((s) => s !== "").join(sep);
  }
  const who = value.who || value.speaker;
  if (who && typeof value.text === "string") return `${who}: ${value.text}`;
  return Object.entries(value)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => `${k}: ${brief(v)}`)
    .join("; ");
}

/**
 * A websocket that reconnects by itself with exponential back-off (0.5 s doubling to 10 s,
 * reset after a connection delivered a message). A silent socket (no message, heartbeat
 * included, for ``staleMs``) is closed and reopened.
 * Callbacks: onMessage(parsed JSON), onState("connecting"|"open"|"closed", attempt).
 */
export class ReconnectingSocket {
  constructor(path, { onMessage, onState, staleMs = 40000 } = {}) {
    this.path = path;
    this.onMessage = onMessage || (() => {});
    this.onState = onState || (() => {});
    this.staleMs = staleMs;
    this.delayMs = 500;
    this.connects = 0;
    this.ws = null;
    this.lastMessageAt = 0;
    this.stopped = false;
    this.retryTimer = null;
    this.watchdog = setInterval(() => this.checkStale(), 5000);
    this.open();
  }

  open() {
    if (this.stopped) return;
    this.onState("connecting", this.connects);
    const ws = new WebSocket(wsUrl(this.path));
    this.ws = ws;
    ws.onopen = () => {
      this.connects += 1;
      this.lastMessageAt = Date.now();
      this.onState("open", this.connects);
    };
    ws.onmessage = (ev) => {
      this.lastMessageAt = Date.now();
      this.delayMs = 500;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (err) {
        console.warn("feed: not JSON", err);
        return;
      }
      this.onMessage(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onState("closed", this.connects);
      this.scheduleRetry();
    };
    ws.onerror = () => {
      // onclose follows and schedules the retry.
    };
  }

  scheduleRetry() {
    if (this.stopped || this.retryTimer) return;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, 10000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }

  checkStale() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && Date.now() - this.lastMessageAt > this.staleMs) {
      this.ws.close();
    }
  }

  close() {
    this.stopped = true;
    clearInterval(this.watchdog);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close();
  }
}

/** Run ``fn`` once per animation frame at most; falls back to a timer in hidden tabs
 * (browsers pause animation frames there, and the feed must not pile up). */
export function frameBatcher(fn) {
  let scheduled = false;
  const run = () => {
    scheduled = false;
    fn();
  };
  return () => {
    if (scheduled) return;
    scheduled = true;
    if (document.hidden) setTimeout(run, 100);
    else requestAnimationFrame(run);
  };
}
