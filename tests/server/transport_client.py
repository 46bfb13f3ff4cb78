"""Hostile and careless clients against `mxlm serve` (tests/e2e/server_transport.sh).

python3 transport_client.py CHECK URL KEY PID MODEL_DIR, where the server runs MODEL_DIR with
--api-key KEY, --parallel 1 and the default queue (a connection budget of 1 + 32 + 32 = 65),
and PID is its process. Each check prints what it found and exits 1 on the first failure. Loopback only; every
loop is bounded.
"""
import json
import re
import select
import socket
import sys
import time
import urllib.error
import urllib.request

CHECK, URL, KEY, PID, MODEL_DIR = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
HOST, PORT = re.match(r"http://([^:]+):(\d+)", URL).groups()
PORT = int(PORT)
POST_PATHS = ["/v1/chat/completions", "/v1/completions", "/tokenize", "/detokenize"]
VALID = {  # a body each endpoint answers with 200
    "/v1/chat/completions": {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2},
    "/v1/completions": {"prompt": "hi", "max_tokens": 2},
    "/tokenize": {"content": "hi"},
    "/detokenize": {"tokens": [104, 105]},
}
HEAD_TIMEOUT = 10  # s, http_server.cpp's kHeadTimeout


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def request(path, body=None, headers=None, timeout=5):
    """(status, parsed JSON or text) of one request; `timeout` guards against a hang."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    h = {"Authorization": "Bearer " + KEY, "Content-Type": "application/json"}
    h.update(headers or {})
    req = urllib.request.Request(URL + path, data, {k: v for k, v in h.items() if v is not None})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def connect():
    return socket.create_connection((HOST, PORT), timeout=10)


def raw_post(path, body, key=KEY):
    """Sends a POST on a new connection and returns the socket, the answer unread."""
    s = connect()
    try:
        s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n" % (path, key, len(body))).encode() + body)
    except OSError:
        pass  # refused before the body was read (a wrong key): the server may close meanwhile
    return s


def answer_of(s, limit=30):
    """Everything the server sends on `s` until it closes the connection (at most `limit` s)."""
    s.settimeout(limit)
    data = b""
    try:
        while True:
            piece = s.recv(65536)
            if not piece:
                break
            data += piece
    except OSError:
        pass
    s.close()
    return data


def metrics():
    status, text = request("/metrics")
    if status != 200:
        fail("/metrics answered %d" % status)
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^mxlm_(\w+) (\S+)$", text, re.M)}


def wait_metric(name, value, limit=20):
    until = time.time() + limit
    while time.time() < until:
        if metrics()[name] == value:
            return
        time.sleep(0.05)
    fail("mxlm_%s did not reach %s within %d s (now %s)" % (name, value, limit, metrics()[name]))


def rss_mib():
    with open("/proc/%d/status" % PID) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


def check_auth():
    cases = [({"Authorization": "Bearer " + KEY}, 200), ({"Authorization": "bearer " + KEY}, 200),
             ({"Authorization": "BEARER  " + KEY}, 200), ({"Authorization": None, "x-api-key": KEY}, 200),
             ({"Authorization": None}, 401), ({"Authorization": "Bearer " + KEY + "x"}, 401),
             ({"Authorization": "Bearer " + KEY[:-1]}, 401), ({"Authorization": "Basic " + KEY}, 401),
             ({"Authorization": None, "x-api-key": KEY.upper()}, 401)]
    for headers, want in cases:
        status, body = request("/v1/models", headers=headers)
        if status != want:
            fail("%s: %d, want %d" % (headers, status, want))
        if want == 401 and body["error"]["type"] != "authentication_error":
            fail("%s: %s" % (headers, body))
    print("auth: %d header variants answered as expected" % len(cases))


def check_bad_json():
    deep = b"[" * 5000 + b"]" * 5000
    bodies = [b'{"max_tokens": 1e400}', b'{"x": [1, -2e999]}', b'{"messages": [', b"", b"\xff",
              b'{"messages": [{"role": "user", "content": "hi"}], "tools": ' + deep + b"}"]
    for path in POST_PATHS:
        status, body = request(path, VALID[path])
        if status != 200:
            fail("%s with a valid body: %d %s" % (path, status, body))
        for bad in bodies:
            status, body = request(path, bad)
            if status != 400 or not isinstance(body, dict) or body["error"]["type"] != "invalid_request_error":
                fail("%s with %r...: %d %s" % (path, bad[:40], status, body))
    print("bad json: %d bodies x %d endpoints answered 400 invalid_request_error" % (len(bodies), len(POST_PATHS)))


def trickle(sockets, seconds):
    """Sends one more header byte on each open socket every second, for up to `seconds`;
    returns what the server sent on each socket it closed."""
    received = {s: b"" for s in sockets}
    closed = {}
    until = time.time() + seconds
    while time.time() < until and len(closed) < len(sockets):
        still_open = [s for s in sockets if s not in closed]
        for s in still_open:
            try:
                s.send(b"a")
            except OSError:
                pass
        ready, _, _ = select.select(still_open, [], [], 1.0)
        for s in ready:
            try:
                piece = s.recv(4096)
            except OSError:
                piece = b""
            if piece:
                received[s] += piece
            else:
                closed[s] = received[s]
    return closed


def slow_connection():
    s = connect()
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    return s


def others_are_served(what):
    start = time.time()
    status, _ = request("/health")
    if status != 200:
        fail("%s: /health answered %d" % (what, status))
    status, body = request("/v1/chat/completions", VALID["/v1/chat/completions"])
    if status != 200 or body["usage"]["completion_tokens"] < 1:
        fail("%s: completion answered %d %s" % (what, status, body))
    print("%s: /health and a completion answered in %.2f s" % (what, time.time() - start))


def check_slow_clients():
    # As many trickling connections as blocked every client before: under the budget, each is
    # closed by the head deadline, with a 408.
    slow = [slow_connection() for _ in range(41)]
    others_are_served("41 slow connections open")
    closed = trickle(slow, HEAD_TIMEOUT + 10)
    timed_out = [s for s, data in closed.items() if data.startswith(b"HTTP/1.1 408")]
    if len(timed_out) != len(slow):
        fail("%d of %d slow connections were answered 408 and closed" % (len(timed_out), len(slow)))
    print("41 slow connections: each answered 408 and closed")
    # Far past the budget, slow and idle connections make room for the others.
    crowd = [slow_connection() for _ in range(100)] + [connect() for _ in range(100)]
    others_are_served("200 slow and idle connections open")
    for s in crowd:
        s.close()


def check_cancel_metrics():
    before = metrics()
    # Generations that outlast the test: the model's end tokens are never drawn.
    with open(MODEL_DIR + "/generation_config.json") as f:
        ends = json.load(f)["eos_token_id"]
    long_body = json.dumps({"messages": [{"role": "user", "content": "Write a long story."}], "max_tokens": 15000,
                            "seed": 0, "logit_bias": {str(i): -100 for i in ends}}).encode()
    running = raw_post("/v1/chat/completions", long_body)
    wait_metric("requests_processing", 1)
    queued = raw_post("/v1/chat/completions", long_body)
    wait_metric("requests_queued", 1)
    queued.close()  # leaves while waiting for the slot
    wait_metric("requests_queued", 0)
    running.close()  # leaves while its answer is generated
    wait_metric("requests_processing", 0)
    after = metrics()
    got = {k: after[k] - before[k] for k in ("requests_total", "requests_cancelled_total", "requests_failed_total")}
    if got != {"requests_total": 2, "requests_cancelled_total": 2, "requests_failed_total": 0}:
        fail("two requests whose clients left: %s" % got)
    print("metrics: two requests whose clients left count as cancelled only: %s" % got)


def check_memory():
    big = b'{"messages": [{"role": "user", "content": "' + b"a" * (4 << 20) + b'"}], "max_tokens": "x"}'
    bodies = [b"{", b'{"max_tokens": 1e400}', b"[" * 3000 + b"]" * 3000, big, b'{"x": "' + b"b" * (3 << 20)]
    passes = []
    until = time.time() + 120  # a hang guard: a pass takes about a second
    for _ in range(6):
        for path in POST_PATHS:
            for body in bodies:
                for key in (KEY, "wrong"):
                    if time.time() > until:
                        fail("passes of malformed requests took over 120 s")
                    answer_of(raw_post(path, body, key), limit=10)
        s = connect()
        s.sendall(b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\n\r\n")
        answer_of(s)
        passes.append(rss_mib())
    print("memory: RSS after each pass of malformed requests (MiB): %s" % ["%.0f" % m for m in passes])
    if passes[5] > passes[1] + 8:
        fail("RSS keeps growing over passes of the same requests")


{"auth": check_auth, "bad_json": check_bad_json, "slow_clients": check_slow_clients,
 "cancel_metrics": check_cancel_metrics, "memory": check_memory}[CHECK]()
