"""A fault-injecting HTTP proxy for the Git LFS tests (stdlib only, 127.0.0.1).

    python3 lfs-fault-proxy.py PORT UPSTREAM_PORT RULES_JSON LOG

Every request is forwarded to 127.0.0.1:UPSTREAM_PORT with `Connection: close` and its Host
header unchanged (so giftless writes action URLs that come back through the proxy), unless a
rule of RULES_JSON matches it first. RULES_JSON holds `{"id": "...", "rules": [...]}`, read
again whenever its content changes (which resets the counters):

    {"method": "PUT", "path": "substring", "fault": "status", "status": 500, "times": 1}
    {"method": "PUT", "path": "", "fault": "cut", "after": 100000, "times": 2}

`status` answers that status without asking upstream; `cut` forwards the request but closes
both connections (with a reset) after `after` bytes: of the request body for a request with a
body (such a rule only matches bodies longer than `after`), else of the response. A rule
applies `times` times. LOG gets one line per request: `METHOD PATH pass N|status S|cut N`.
"""

import json
import os
import socket
import socketserver
import sys
import threading

port, upstream, rules_path, log_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
lock = threading.Lock()
state = {"content": None, "rules": []}


def take_rule(method, path, length):
    with lock:
        try:
            with open(rules_path, "rb") as f:
                content = f.read()
        except FileNotFoundError:
            content = b""
        if content != state["content"]:
            state["content"] = content
            try:
                state["rules"] = json.loads(content)["rules"]
            except (ValueError, KeyError, TypeError):
                state["rules"] = []
        for rule in state["rules"]:
            if rule.get("times", 0) <= 0 or rule.get("method", method) != method:
                continue
            if rule.get("path", "") not in path:
                continue
            if rule["fault"] == "cut" and length > 0 and length <= int(rule["after"]):
                continue
            rule["times"] -= 1
            return dict(rule)
    return None


def log(line):
    with lock:
        with open(log_path, "a") as f:
            f.write(line + "\n")


def abort(sock):
    # SO_LINGER 0: close with a RST, as a dropped connection looks to the peer.
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    except OSError:
        pass


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        request_line = self.rfile.readline(65537)
        if not request_line.strip():
            return
        method, path = request_line.decode("latin-1").split()[:2]
        headers = []
        length = 0
        while True:
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "connection":
                continue
            if name.strip().lower() == "content-length":
                length = int(value.strip())
            headers.append(line)
        rule = take_rule(method, path, length)
        if rule and rule["fault"] == "status":
            self.rfile.read(length)
            body = json.dumps({"message": "fault injected by the test proxy"}).encode()
            status = int(rule["status"])
            self.wfile.write(
                b"HTTP/1.1 %d Injected\r\nContent-Type: application/vnd.git-lfs+json\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (status, len(body)) + body)
            self.wfile.flush()
            log(f"{method} {path} status {status}")
            return
        cut = int(rule["after"]) if rule and rule["fault"] == "cut" else None
        up = socket.create_connection(("127.0.0.1", upstream))
        try:
            up.sendall(request_line + b"".join(headers) + b"Connection: close\r\n\r\n")
            remaining, sent = length, 0
            while remaining > 0:
                chunk = self.rfile.read(min(65536, remaining))
                if not chunk:
                    break
                if cut is not None and length > 0 and sent + len(chunk) >= cut:
                    up.sendall(chunk[: cut - sent])
                    log(f"{method} {path} cut {cut}")
                    abort(up)
                    abort(self.connection)
                    return
                up.sendall(chunk)
                sent += len(chunk)
                remaining -= len(chunk)
            relayed = 0
            while True:
                data = up.recv(65536)
                if not data:
                    break
                if cut is not None and length == 0 and relayed + len(data) >= cut:
                    self.wfile.write(data[: cut - relayed])
                    self.wfile.flush()
                    log(f"{method} {path} cut {cut}")
                    abort(self.connection)
                    return
                self.wfile.write(data)
                relayed += len(data)
            self.wfile.flush()
            log(f"{method} {path} pass {sent}")
        finally:
            up.close()


    def finish(self):
        try:
            super().finish()
        except (OSError, ValueError):
            pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


Server(("127.0.0.1", port), Handler).serve_forever()
