// The browser softphone: microphone -> /softphone as s16le 16 kHz frames, bot audio back via
// WebAudio (gapless, scheduled back to back), marks echoed as "played" once the audio queued
// before them has played, "clear" drops queued audio at once. Typed turns go as {"type":"text"}.
// The call's transcript and bot lines come from the /feed websocket, filtered to this call.
import { ReconnectingSocket, el, fmtOffset, param, withToken, wsUrl } from "./common.js";

const RATE_HZ = 16000;
const FRAME_SAMPLES = RATE_HZ / 50; // 20 ms frames to the server
const LEAD_S = 0.05; // first bot frame starts this far ahead, absorbing network jitter
const MAX_LOG = 400;

const $ = (id) => document.getElementById(id);
const statusEl = $("status");
const logEl = $("log");
const callBtn = $("call");
const hangupBtn = $("hangup");

$("link-dashboard").href = withToken("/");
if (["en", "zh", "ko"].includes(param("lang"))) $("lang").value = param("lang");
if (param("mic") === "0") $("mic").checked = false;
if (param("assist") === "1") $("assist").checked = true;

function setStatus(state, text) {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

function randomId() {
  const bytes = new Uint8Array(6);
  crypto.getRandomValues(bytes);
  return "sp-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Streaming rate conversion of Float32 blocks: box-average when reducing (a cheap
 * anti-alias filter; exact for 48 kHz -> 16 kHz), linear interpolation when raising. */
export class RateConverter {
  constructor(inRateHz, outRateHz) {
    this.step = inRateHz / outRateHz;
    this.rest = new Float32Array(0);
    this.t = 0;
  }

  push(input) {
    if (this.step === 1) return Float32Array.from(input);
    const data = new Float32Array(this.rest.length + input.length);
    data.set(this.rest);
    data.set(input, this.rest.length);
    const out = [];
    let t = this.t;
    if (this.step > 1) {
      while (t + this.step <= data.length) {
        const a = Math.floor(t);
        const b = Math.max(a + 1, Math.floor(t + this.step));
        let sum = 0;
        for (let i = a; i < b; i += 1) sum += data[i];
        out.push(sum / (b - a));
        t += this.step;
      }
    } else {
      while (t + 1 < data.length) {
        const a = Math.floor(t);
        out.push(data[a] + (data[a + 1] - data[a]) * (t - a));
        t += this.step;
      }
    }
    const keep = Math.floor(t);
    this.rest = data.slice(keep);
    this.t = t - keep;
    return Float32Array.from(out);
  }
}

class Call {
  constructor(lang, assist) {
    this.lang = lang;
    this.assist = assist;
    this.callId = randomId();
    this.ctx = new AudioContext();
    this.ws = null;
    this.nextTime = 0;
    this.sources = new Set();
    this.marks = []; // {name, at}: echo "played" when ctx.currentTime reaches at
    this.markTimer = null;
    this.mic = null;
    this.micFrame = new Int16Array(FRAME_SAMPLES);
    this.micFill = 0;
    this.converter = new RateConverter(this.ctx.sampleRate, RATE_HZ);
    this.feed = null;
    this.seen = new Set();
    this.partial = null;
    this.t0 = performance.now();
    this.closed = false;
  }

  async start(withMic) {
    await this.ctx.resume().catch(() => {});
    $("call-id").textContent = this.callId;
    setStatus("connecting", "Connecting…");
    this.watchFeed();
    const ws = new WebSocket(wsUrl("/softphone"));
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = async () => {
      const start = { type: "start", call_id: this.callId, lang: this.lang, rate_hz: RATE_HZ };
      if (this.assist) start.mode = "assist"; // caller + agent channels, the bot stays silent
      ws.send(JSON.stringify(start));
      setStatus("in-call", `In call (${this.lang})`);
      setInCall(true, this.assist);
      logEntry("system", "call", `call ${this.callId} started`);
      if (withMic) await this.startMic();
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data === "string") this.control(ev.data);
      else this.play(ev.data);
    };
    ws.onclose = (ev) => this.ended(ev.code, ev.reason);
    ws.onerror = () => setStatus("error", "Connection failed.");
  }

  async startMic() {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false, autoGainControl: false },
      });
    } catch (err) {
      logEntry("error", "mic", `microphone unavailable (${err.name}); type instead`);
      return;
    }
    if (this.closed) {
      stream.getTracks().forEach((t) => t.stop());
      return;
    }
    const source = this.ctx.createMediaStreamSource(stream);
    let node;
    try {
      await this.ctx.audioWorklet.addModule(withToken("/static/mic-worklet.js"));
      node = new AudioWorkletNode(this.ctx, "mic-tap", { numberOfOutputs: 1, outputChannelCount: [1] });
      node.port.onmessage = (e) => this.micBlock(e.data);
    } catch (err) {
      node = this.ctx.createScriptProcessor(2048, 1, 1); // older browsers: no AudioWorklet
      node.onaudioprocess = (e) => this.micBlock(e.inputBuffer.getChannelData(0));
    }
    source.connect(node);
    node.connect(this.ctx.destination); // silent output; keeps the node pulled by the graph
    this.mic = { stream, source, node };
    logEntry("system", "mic", `microphone on (${this.ctx.sampleRate} Hz → ${RATE_HZ} Hz)`);
  }

  micBlock(block) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    let energy = 0;
    for (let i = 0; i < block.length; i += 1) energy += block[i] * block[i];
    $("meter").style.width = `${Math.min(100, Math.sqrt(energy / block.length) * 400).toFixed(0)}%`;
    const samples = this.converter.push(block);
    for (let i = 0; i < samples.length; i += 1) {
      const s = Math.max(-1, Math.min(1, samples[i]));
      this.micFrame[this.micFill] = s < 0 ? s * 0x8000 : s * 0x7fff;
      this.micFill += 1;
      if (this.micFill === FRAME_SAMPLES) {
        this.ws.send(pcmBytes(this.micFrame));
        this.micFill = 0;
      }
    }
  }

  play(buffer) {
    const view = new DataView(buffer);
    const n = buffer.byteLength >> 1;
    if (!n) return;
    const audio = this.ctx.createBuffer(1, n, RATE_HZ);
    const ch = audio.getChannelData(0);
    for (let i = 0; i < n; i += 1) ch[i] = view.getInt16(i * 2, true) / 0x8000;
    const src = this.ctx.createBufferSource();
    src.buffer = audio;
    src.connect(this.ctx.destination);
    const at = Math.max(this.nextTime, this.ctx.currentTime + LEAD_S);
    src.start(at);
    this.nextTime = at + n / RATE_HZ;
    this.sources.add(src);
    src.onended = () => this.sources.delete(src);
  }

  control(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    switch (msg.type) {
      case "mark":
        this.marks.push({ name: msg.name, at: this.nextTime });
        this.checkMarks();
        break;
      case "clear":
        for (const src of this.sources) {
          try { src.stop(); } catch { /* already stopped */ }
        }
        this.sources.clear();
        this.nextTime = 0;
        this.marks = []; // cleared marks are not echoed: the server counts them as cleared
        break;
      case "hangup":
        logEntry("system", "bot", `bot hung up (${msg.reason || ""})`);
        break;
      case "transfer":
        logEntry("handoff", "transfer", `transferred to ${msg.target || "an agent"}: ${msg.reason || ""}`);
        break;
      default:
        if (msg.type) this.event({ ...msg, call_id: this.callId }, true);
    }
  }

  checkMarks() {
    const now = this.ctx.currentTime;
    while (this.marks.length && this.marks[0].at <= now) {
      const { name } = this.marks.shift();
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: "played", name }));
    }
    clearTimeout(this.markTimer);
    if (this.marks.length) {
      const waitMs = Math.max(10, (this.marks[0].at - now) * 1000);
      this.markTimer = setTimeout(() => this.checkMarks(), Math.min(waitMs, 250));
    }
  }

  sendText(text, channel) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || !text.trim()) return false;
    const msg = { type: "text", text };
    if (channel === "agent") msg.channel = "agent";
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  hangup() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: "hangup" }));
    setTimeout(() => this.ws && this.ws.close(), 2000);
  }

  watchFeed() {
    this.feed = new ReconnectingSocket("/feed", {
      onMessage: (msg) => {
        if (msg.type === "snapshot") {
          for (const e of (msg.history || {})[this.callId] || []) this.event(e, false);
        } else if (msg.call_id === this.callId && msg.type === "call") {
          if (msg.state) $("call-id").dataset.state = msg.state;
        } else if (msg.call_id === this.callId && msg.type === "call_finished") {
          logEntry("system", "end", `call finished: ${msg.disposition || "?"} (${msg.reason || ""})`);
        } else if (msg.call_id === this.callId) {
          this.event(msg, false);
        }
      },
    });
  }

  event(e, fromPhone) {
    const key = `${e.type}|${e.offset_ms}|${e.text || e.to || e.reason || ""}`;
    if (this.seen.has(key)) return; // the same event may come from the feed and the phone socket
    this.seen.add(key);
    const t = e.offset_ms;
    switch (e.type) {
      case "partial":
        if (!this.partial || !this.partial.isConnected) this.partial = logEntry("partial", e.channel || "caller", e.text, t);
        else this.partial.querySelector(".text").textContent = e.text;
        break;
      case "final":
        this.partial?.remove();
        this.partial = null;
        if (e.text) logEntry(e.channel === "agent" ? "agent" : "caller", e.channel || "caller", e.text, t);
        break;
      case "say":
        logEntry("bot", "bot", e.text || e.prompt_id, t);
        break;
      case "state_change": {
        const line = logEntry("state", "state", `${e.from || "start"} → ${e.to}${e.verified ? " (verified)" : ""}`, t);
        line.dataset.from = e.from || "";
        line.dataset.to = e.to || "";
        $("call-id").dataset.state = e.to || "";
        break;
      }
      case "understood":
        if (e.intents && e.intents.length) logEntry("system", "intents", e.intents.join(", "), t);
        break;
      case "handoff":
        logEntry("handoff", "hand-off", `${e.reason}`, t);
        break;
      case "compliance_warning":
        logEntry("warning", "warning", `${(e.flags || []).join(", ")}: ${e.text || ""}`, t);
        break;
      case "suggestion":
        logEntry("system", "suggest", e.text || "", t);
        break;
      case "barge_in":
        logEntry("system", "barge-in", "you interrupted the bot", t);
        break;
      case "outcome":
        logEntry("system", "outcome", e.disposition || "", t);
        break;
      case "error":
        logEntry("error", "error", `${e.kind || ""} ${e.message || ""}`, t);
        break;
      default:
        break;
    }
    void fromPhone;
  }

  ended(code, reason) {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.markTimer);
    if (this.mic) {
      this.mic.stream.getTracks().forEach((tr) => tr.stop());
      this.mic.source.disconnect();
      this.mic.node.disconnect();
    }
    setStatus("ended", `Call ended (${code}${reason ? ": " + reason : ""}).`);
    setInCall(false, false);
    // Let the queued bot audio finish and the last feed events arrive, then let go.
    const leftS = Math.max(0, this.nextTime - this.ctx.currentTime);
    setTimeout(() => this.ctx.close().catch(() => {}), leftS * 1000 + 500);
    setTimeout(() => this.feed && this.feed.close(), 3000);
    if (current === this) current = null;
  }
}

function pcmBytes(int16) {
  const buf = new ArrayBuffer(int16.length * 2);
  const view = new DataView(buf);
  for (let i = 0; i < int16.length; i += 1) view.setInt16(i * 2, int16[i], true);
  return buf;
}

function logEntry(kind, who, text, offsetMs) {
  const line = el("div", `entry ${kind}`);
  line.append(el("span", "t", offsetMs === undefined ? "" : fmtOffset(offsetMs)), el("span", "who", who),
    el("span", "text", text));
  const atBottom = logEl.scrollHeight - logEl.scrollTop - logEl.clientHeight < 24;
  logEl.append(line);
  while (logEl.childElementCount > MAX_LOG) logEl.firstElementChild.remove();
  if (atBottom) logEl.scrollTop = logEl.scrollHeight;
  return line;
}

function setInCall(inCall, assist) {
  callBtn.disabled = inCall;
  hangupBtn.disabled = !inCall;
  $("lang").disabled = inCall;
  $("assist").disabled = inCall;
  $("say-text").disabled = !inCall;
  $("say-send").disabled = !inCall;
  $("agent-form").hidden = !assist;
  $("agent-text").disabled = !(inCall && assist);
  $("agent-send").disabled = !(inCall && assist);
}

let current = null;

callBtn.addEventListener("click", () => {
  if (current) return;
  logEl.replaceChildren();
  current = new Call($("lang").value, $("assist").checked);
  window.voicebotCall = current;
  current.start($("mic").checked).catch((err) => setStatus("error", `Cannot start: ${err}`));
});

hangupBtn.addEventListener("click", () => current && current.hangup());

function bindTextForm(formId, inputId, channel) {
  $(formId).addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $(inputId);
    if (current && current.sendText(input.value, channel)) input.value = "";
  });
}
bindTextForm("say-form", "say-text", "caller");
bindTextForm("agent-form", "agent-text", "agent");
setInCall(false, false);
