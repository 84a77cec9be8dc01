#!/usr/bin/env python3
"""Companion for mod_audio_fork + voicebot on FreeSWITCH: play what the bot says, hand off,
hang up. An example for users (stdlib only); voicebot itself never imports it.

mod_audio_fork does not play audio sent back over its websocket. For every ``playAudio``
message from voicebot it writes a file and fires the CUSTOM event
``mod_audio_fork::play_audio`` with ``{"file": "/tmp/<uuid>_<n>.tmp.r8", ...}``. This script
connects to FreeSWITCH's inbound event socket (mod_event_socket, default 127.0.0.1:8021,
password ClueCon), subscribes to the module's events, and for each one:

* ``play_audio``  -> ``uuid_broadcast <uuid> <file> aleg`` (queued behind earlier prompts)
* ``kill_audio``  -> ``uuid_break <uuid> all`` (barge-in; the module already breaks the
  current file, this also drops queued ones)
* ``transfer``    -> stop the fork, then ``uuid_transfer <uuid> <target> XML <context>``;
  target is the bot's ``data.target`` ([handoff] agent_number) or --agent-extension
* ``disconnect``  -> stop the fork, ``uuid_kill <uuid>`` (the module itself never hangs up)

Run:  python3 esl_handoff.py --host 127.0.0.1 --port 8021 --password ClueCon \
          --agent-extension agent --context default
"""
from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
import urllib.parse

log = logging.getLogger("esl_handoff")

EVENTS = ("mod_audio_fork::play_audio", "mod_audio_fork::kill_audio",
          "mod_audio_fork::transfer", "mod_audio_fork::disconnect")


class EslConnection:
    """Minimal inbound ESL client: auth, subscribe, read events, send bgapi commands."""

    def __init__(self, host: str, port: int, password: str, timeout_s: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout_s)
        self.sock.settimeout(None)
        self.buf = b""
        headers, _ = self.read_message()
        if headers.get("Content-Type") != "auth/request":
            raise ConnectionError(f"unexpected greeting from FreeSWITCH: {headers}")
        reply = self.command(f"auth {password}")
        if not reply.get("Reply-Text", "").startswith("+OK"):
            raise PermissionError("ESL authentication failed (check --password)")

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("FreeSWITCH closed the event socket")
            self.buf += chunk
        head, self.buf = self.buf.split(marker, 1)
        return head

    def _read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("FreeSWITCH closed the event socket")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_message(self) -> tuple[dict[str, str], bytes]:
        """One ESL message: its headers and its body (Content-Length bytes, maybe empty)."""
        headers = parse_headers(self._read_until(b"\n\n").decode("utf-8", "replace"), url_decoded=False)
        length = int(headers.get("Content-Length", "0") or 0)
        return headers, self._read_exact(length) if length else b""

    def command(self, line: str) -> dict[str, str]:
        """Send a command and return its command/reply headers (events arriving first are
        skipped: only used before subscribing)."""
        self.sock.sendall(line.encode() + b"\n\n")
        while True:
            headers, _ = self.read_message()
            if headers.get("Content-Type") == "command/reply":
                return headers

    def send(self, line: str) -> None:
        """Fire a command without waiting (its reply is read and ignored by the event loop)."""
        log.info("-> %s", line)
        self.sock.sendall(line.encode() + b"\n\n")


def parse_headers(text: str, url_decoded: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(": ")
        if sep:
            out[name] = urllib.parse.unquote(value) if url_decoded else value
    return out


def parse_event(body: bytes) -> tuple[dict[str, str], dict[str, object]]:
    """A text/event-plain body: URL-encoded headers, a blank line, then the event's own body
    (mod_audio_fork puts its JSON data there)."""
    text = body.decode("utf-8", "replace")
    head, _, payload = text.partition("\n\n")
    headers = parse_headers(head, url_decoded=True)
    data: dict[str, object] = {}
    if payload.strip():
        try:
            parsed = json.loads(payload)
            if isinstance(parsed, dict):
                data = parsed
        except ValueError:
            log.warning("event body is not JSON: %.200s", payload)
    return headers, data


def handle(esl: EslConnection, headers: dict[str, str], data: dict[str, object], args: argparse.Namespace) -> None:
    subclass = headers.get("Event-Subclass", "")
    uuid = headers.get("Unique-ID", "")
    if not uuid or any(c in uuid for c in " \n"):
        return
    if subclass == "mod_audio_fork::play_audio":
        path = data.get("file")
        if isinstance(path, str) and path and not any(c in path for c in " \n"):
            esl.send(f"bgapi uuid_broadcast {uuid} {path} aleg")
    elif subclass == "mod_audio_fork::kill_audio":
        esl.send(f"bgapi uuid_break {uuid} all")
    elif subclass == "mod_audio_fork::transfer":
        target = data.get("target") or args.agent_extension
        if not isinstance(target, str) or not target or any(c in target for c in " \n"):
            target = args.agent_extension
        log.info("hand-off of %s to %s: %s", uuid, target, data.get("reason", ""))
        esl.send(f"bgapi uuid_audio_fork {uuid} stop")
        esl.send(f"bgapi uuid_transfer {uuid} {target} XML {args.context}")
    elif subclass == "mod_audio_fork::disconnect":
        esl.send(f"bgapi uuid_audio_fork {uuid} stop")
        esl.send(f"bgapi uuid_kill {uuid} NORMAL_CLEARING")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8021)
    parser.add_argument("--password", default="ClueCon")
    parser.add_argument("--agent-extension", default="agent", help="transfer target when the bot names none")
    parser.add_argument("--context", default="default", help="dialplan context for uuid_transfer")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        esl = EslConnection(args.host, args.port, args.password)
        esl.command("event plain CUSTOM " + " ".join(EVENTS))
    except (OSError, PermissionError) as exc:
        print(f"esl_handoff: {exc}", file=sys.stderr)
        return 1
    log.info("subscribed to %s", ", ".join(EVENTS))
    while True:
        try:
            headers, body = esl.read_message()
        except ConnectionError as exc:
            print(f"esl_handoff: {exc}", file=sys.stderr)
            return 1
        if headers.get("Content-Type") == "text/event-plain":
            event_headers, data = parse_event(body)
            handle(esl, event_headers, data, args)
        elif headers.get("Content-Type") == "text/disconnect-notice":
            return 0


if __name__ == "__main__":
    sys.exit(main())
