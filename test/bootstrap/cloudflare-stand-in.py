#!/usr/bin/env python3
"""A local stand-in for the four read-only Cloudflare API calls the k3s bootstrap makes.

It answers in Cloudflare's documented envelope ({success, errors: [{code, message}], messages,
result}): 401 with code 1000 for an unknown token, 403 with code 9109 for a token that lacks the
call's permission, 404 with code 7003 for an unknown account or zone. The tokens are
"<name>:<permissions>" (comma-separated: tunnel, zone, dns), plus "expired:*" whose status is
expired. It serves on 127.0.0.1 and writes its port to PORT_FILE.

Usage: cloudflare-stand-in.py PORT_FILE ACCOUNT_ID ZONE_ID
"""
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

PERMISSIONS = {"tunnel", "zone", "dns"}
ACCOUNT, ZONE = sys.argv[2], sys.argv[3]
ROUTES = [  # path pattern, permission it needs, the ID it names and its kind
    (re.compile(r"^/client/v4/user/tokens/verify$"), None),
    (re.compile(r"^/client/v4/accounts/(?P<account>[^/]+)/cfd_tunnel$"), "tunnel"),
    (re.compile(r"^/client/v4/zones/(?P<zone>[^/]+)$"), "zone"),
    (re.compile(r"^/client/v4/zones/(?P<zone>[^/]+)/dns_records$"), "dns"),
]


def token_permissions(token):
    """The permissions of a token, or None when the stand-in does not know it."""
    name, _, perms = token.partition(":")
    if not name or not perms:
        return None
    granted = set(perms.split(",")) if perms != "*" else set(PERMISSIONS)
    return granted if granted <= PERMISSIONS else None


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, result=None, errors=()):
        body = json.dumps({"success": not errors, "errors": [{"code": c, "message": m} for c, m in errors],
                           "messages": [], "result": result}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 (http.server's name)
        path = self.path.split("?", 1)[0]
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        granted = token_permissions(token)
        if granted is None:
            return self.answer(401, errors=[(1000, "Invalid API Token")])
        for pattern, needed in ROUTES:
            match = pattern.match(path)
            if not match:
                continue
            if needed is None:
                status = "expired" if token.startswith("expired:") else "active"
                return self.answer(200, {"id": "0123", "status": status})
            if needed not in granted:
                return self.answer(403, errors=[(9109, "Unauthorized to access requested resource")])
            ids = match.groupdict()
            if ids.get("account", ACCOUNT) != ACCOUNT or ids.get("zone", ZONE) != ZONE:
                return self.answer(404, errors=[(7003, "Could not route to %s, perhaps your object identifier is invalid?" % path)])
            return self.answer(200, [] if path.endswith(("cfd_tunnel", "dns_records")) else {"id": ZONE})
        return self.answer(404, errors=[(7000, "No route for that URI")])

    def log_message(self, *args):  # quiet: the test prints what matters
        pass


def main():
    server = HTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1], "w") as port_file:
        port_file.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
