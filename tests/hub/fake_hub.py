#!/usr/bin/python3
"""A stand-in for the Hugging Face hub's file API, for mxlm's download tests.

Serves every folder ROOT/ORG/NAME as the model repository ORG/NAME at one commit:
  GET  /api/models/ORG/NAME/revision/REV[?blobs=true]   -> {"sha", "siblings": [...]}
  GET|HEAD /ORG/NAME/resolve/REV/PATH                   -> small files: 200 with the body;
        LFS files: 302 to /__blobs/ORG/NAME/SHA256 with X-Linked-Etag / X-Linked-Size
  GET|HEAD /__blobs/ORG/NAME/SHA256                     -> the LFS body (Range supported)
  GET  /__stats                                         -> counters, for assertions
Switches imitate trouble: a dropped connection, corrupted bytes, a required token, 503s, a
server that ignores Range, bodies cut short, chunked or sent without Content-Length, a listing
whose sizes are wrong or whose ETags are not hashes.
Prints the port it listens on (127.0.0.1, chosen by the OS) as its first line of output.
"""
import argparse
import hashlib
import json
import os
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Repo:
    def __init__(self, repo_id, folder, lfs_threshold):
        self.repo_id = repo_id
        self.commit = hashlib.sha1(("commit of " + repo_id).encode()).hexdigest()
        self.files = {}
        for dirpath, _, names in os.walk(folder):
            for name in sorted(names):
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, folder).replace(os.sep, "/")
                with open(full, "rb") as f:
                    data = f.read()
                lfs = len(data) > lfs_threshold or rel.endswith(".safetensors")
                self.files[rel] = {
                    "data": data,
                    "git_sha1": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(),
                    "sha256": hashlib.sha256(data).hexdigest() if lfs else None,
                }
                # What a CDN might give as the ETag: a name, but no hash of the contents.
                self.files[rel]["opaque_etag"] = "cdn-" + self.files[rel]["git_sha1"][:16]
        self.by_sha256 = {f["sha256"]: f for f in self.files.values() if f["sha256"]}


class State:
    def __init__(self, args):
        self.args = args
        self.repos = {}
        for org in sorted(os.listdir(args.root)):
            for name in sorted(os.listdir(os.path.join(args.root, org))):
                repo_id = org + "/" + name
                self.repos[repo_id] = Repo(repo_id, os.path.join(args.root, org, name), args.lfs_threshold)
        self.lock = threading.Lock()
        self.stats = {"api": 0, "resolve_get": 0, "body_gets": 0, "range_gets": 0, "head": 0}
        self.dropped = set()
        self.api_failures_left = args.fail_api
        self.claimed_sizes = {}
        for claim in args.claim_size:
            name, _, size = claim.rpartition("=")
            self.claimed_sizes[name] = int(size)

    def count(self, key):
        with self.lock:
            self.stats[key] += 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None  # set in main

    def log_message(self, fmt, *a):
        if self.state.args.verbose:
            sys.stderr.write("fake_hub: " + (fmt % a) + "\n")

    def send_json(self, status, payload, headers=None):
        body = json.dumps(payload).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, message):
        self.send_json(status, {"error": message}, {"X-Error-Code": code, "X-Error-Message": message})

    def authorized(self):
        token = self.state.args.token
        if not token:
            return True
        given = self.headers.get("Authorization", "")
        if not given:
            self.error(401, "GatedRepo", "Access to this repository is restricted: you must be authenticated")
            return False
        if given != "Bearer " + token:
            self.error(401, "InvalidCredentials", "Invalid credentials in Authorization header")
            return False
        return True

    def find_repo(self, repo_id, revision):
        repo = self.state.repos.get(repo_id)
        if repo is None:
            self.error(404, "RepoNotFound", "Repository not found")
            return None
        if revision not in ("main", repo.commit):
            self.error(404, "RevisionNotFound", "Invalid rev id: " + revision)
            return None
        return repo

    def do_HEAD(self):
        self.state.count("head")
        self.route()

    def do_GET(self):
        self.route()

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path == "/__stats":
            return self.send_json(200, self.state.stats)
        if path.startswith("/api/models/"):
            return self.api(path[len("/api/models/"):], url.query)
        if path.startswith("/__blobs/"):
            parts = path[len("/__blobs/"):].split("/")
            repo = self.state.repos.get("/".join(parts[:2]))
            f = repo.by_sha256.get(parts[2]) if repo else None
            if f is None:
                return self.error(404, "EntryNotFound", "No such blob")
            return self.send_body(f, {"ETag": '"%s"' % f["sha256"]})
        if "/resolve/" in path:
            return self.resolve(path)
        self.error(404, "NotFound", "Unknown route " + path)

    def api(self, rest, query):
        self.state.count("api")
        with self.state.lock:
            fail_now = self.state.api_failures_left > 0
            if fail_now:
                self.state.api_failures_left -= 1
        if fail_now:
            return self.error(503, "ServiceUnavailable", "Try again later")
        if not self.authorized():
            return
        if "/revision/" not in rest:
            return self.error(404, "NotFound", "Expected /api/models/REPO/revision/REV")
        repo_id, revision = rest.split("/revision/", 1)
        repo = self.find_repo(repo_id, urllib.parse.unquote(revision))
        if repo is None:
            return
        blobs = "blobs=true" in query and not self.state.args.no_blob_ids
        siblings = []
        for rel, f in sorted(repo.files.items()):
            s = {"rfilename": rel}
            if self.state.args.opaque_etags:
                s["blobId"] = f["opaque_etag"]
            elif blobs:
                size = self.state.claimed_sizes.get(rel, len(f["data"]))
                s["size"] = size
                s["blobId"] = f["git_sha1"]
                if f["sha256"]:
                    s["lfs"] = {"sha256": f["sha256"], "size": size, "pointerSize": 134}
            siblings.append(s)
        self.send_json(200, {"id": repo_id, "modelId": repo_id, "sha": repo.commit, "siblings": siblings})

    def resolve(self, path):
        head, rel = path[1:].split("/resolve/", 1)
        revision, _, filename = rel.partition("/")
        if not self.authorized():
            return
        repo = self.find_repo(head, urllib.parse.unquote(revision))
        if repo is None:
            return
        f = repo.files.get(urllib.parse.unquote(filename))
        if f is None:
            return self.error(404, "EntryNotFound", "Entry not found")
        if self.command == "GET":
            self.state.count("resolve_get")
        headers = {"X-Repo-Commit": repo.commit}
        if self.state.args.opaque_etags:
            headers["ETag"] = '"%s"' % f["opaque_etag"]
            return self.send_body(f, headers)
        if f["sha256"]:
            # As the hub does for LFS files: the etag of the contents rides on the redirect.
            headers.update({"ETag": '"%s"' % f["git_sha1"], "X-Linked-Etag": '"%s"' % f["sha256"],
                            "X-Linked-Size": str(len(f["data"])),
                            "Location": "/__blobs/%s/%s" % (repo.repo_id, f["sha256"]),
                            "Content-Length": "0"})
            self.send_response(302)
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            return
        headers["ETag"] = '"%s"' % f["git_sha1"]
        self.send_body(f, headers)

    def send_body(self, f, headers):
        args = self.state.args
        if self.command == "GET" and args.max_bodies:
            with self.state.lock:
                spent = self.state.stats["body_gets"] >= args.max_bodies
            if spent:
                # A client that keeps asking is looping; end it with an error it cannot retry.
                return self.error(410, "Gone", "fake_hub: more than %d bodies asked for" % args.max_bodies)
        data = f["data"]
        name = next(rel for repo in self.state.repos.values() for rel, g in repo.files.items() if g is f)
        if name in args.corrupt:
            data = bytearray(data)
            data[len(data) // 2] ^= 0xFF
            data = bytes(data)
        start, status = 0, 200
        rng = self.headers.get("Range")
        if rng:
            self.state.count("range_gets")
        if rng and not args.ignore_range:
            start = int(rng.split("=", 1)[1].split("-", 1)[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % len(data))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        body = data[start:]
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if not args.ignore_range:
            self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        # Without a Content-Length or chunks the body ends where the connection closes, as
        # HTTP/1.1 allows.
        chunked = name in args.chunked
        close_after = name in args.no_length
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif close_after:
            self.send_header("Connection", "close")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        self.state.count("body_gets")
        with self.state.lock:
            drop = name in args.drop_once and name not in self.state.dropped and len(body) > 1
            if drop:
                self.state.dropped.add(name)
        cut = (drop or name in args.truncate) and len(body) > 1
        if chunked:
            # One chunk of the whole body, its end marked unless the body is cut.
            self.wfile.write(b"%x\r\n" % len(body))
        if cut:
            # Half the promised bytes, then a hard close: the client sees a cut-short body.
            body = body[: len(body) // 2]
            close_after = True
        self.wfile.write(body)
        if chunked and not cut:
            self.wfile.write(b"\r\n0\r\n\r\n")
        if close_after:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients that hang up mid-answer are what several tests do on purpose.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True, help="folder holding ORG/NAME repository folders")
    p.add_argument("--lfs-threshold", type=int, default=1000, help="files larger than this are LFS")
    p.add_argument("--token", default="", help="require Authorization: Bearer TOKEN")
    p.add_argument("--drop-once", action="append", default=[], help="cut the first body of this file short")
    p.add_argument("--corrupt", action="append", default=[], help="flip a byte in this file's body")
    p.add_argument("--fail-api", type=int, default=0, help="answer the first N API calls with 503")
    p.add_argument("--no-blob-ids", action="store_true", help="list files without size or hashes")
    p.add_argument("--truncate", action="append", default=[], help="cut every body of this file short")
    p.add_argument("--ignore-range", action="store_true", help="answer Range requests with 200 and the whole body")
    p.add_argument("--no-length", action="append", default=[],
                   help="send this file without Content-Length, ending the body by closing the connection")
    p.add_argument("--chunked", action="append", default=[], help="send this file in chunked encoding")
    p.add_argument("--claim-size", action="append", default=[], metavar="FILE=BYTES",
                   help="list this size for FILE, whatever its real size")
    p.add_argument("--opaque-etags", action="store_true",
                   help="list files by an ETag that is no hash, without size or sha256, and serve them directly")
    p.add_argument("--max-bodies", type=int, default=0,
                   help="answer 410 once this many bodies were sent (a guard against a client that loops)")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    Handler.state = State(args)
    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
