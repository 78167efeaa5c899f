"""The load generator: closed-loop clients, one HTTP connection each, in separate processes.

A ``Job`` says which scenario to play against which server, from when to when, and with which
items: single-use ones it spends (codes, pre-minted refresh tokens), live access tokens it cycles
through (userinfo and introspection over many tokens), or the head of its own refresh-token chain
(each refresh presents the token the previous one returned, as a client does). Each client process
runs one job and returns its latencies, its errors and, for a chain, the token it got last; the
orchestrator adds them up and hands the chain's head to the client's next window. Standard library only.
gunicorn's sync workers close the connection after each response, so ``http.client`` reconnects
transparently; the client keeps the connection when the server allows it.
"""

import base64
import http.client
import itertools
import json
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, urlencode, urlsplit

OK = (200, 302)


@dataclass
class Job:
    port: int
    scenario: str
    fixture: dict
    variant: str
    start_at: float  # time.time() when the first request goes out
    deadline: float  # no request starts after this
    items: list = field(default_factory=list)  # single-use items for this client
    max_iterations: int = 0  # 0: until the deadline (or the items run out)
    session: str = ""


class Failure(Exception):
    pass


def basic(client_id, secret):
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode()


class Client:
    """One keep-alive-if-allowed connection and the requests of every scenario."""

    FORM = "application/x-www-form-urlencoded"

    def __init__(self, job: Job):
        self.job = job
        self.fx = job.fixture
        self.paths = self.fx["paths"]
        self.var = self.fx["variants"][job.variant]
        self.conn = http.client.HTTPConnection("127.0.0.1", job.port, timeout=60)
        self.auth = basic(self.var["client_id"], self.var["client_secret"])

    def call(self, method, path, body=None, headers=None, expect=(200,), must_contain=None):
        headers = dict(headers or {})
        if body is not None:
            body = urlencode(body)
            headers["Content-Type"] = self.FORM
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as err:
            self.conn.close()
            raise Failure(f"{method} {path}: {type(err).__name__}: {err}") from None
        if response.status not in expect or (must_contain and must_contain not in data.replace(b" ", b"")):
            raise Failure(f"{method} {path} -> {response.status}: {data[:200]!r}")
        return response, data

    def token(self, form, auth=None):
        return self.call(
            "POST", self.paths["token"], form, {"Authorization": auth or self.auth}, must_contain=b'"access_token"'
        )[1]

    # -- scenarios: one iteration each ----------------------------------------------------------
    def discovery(self, item):
        self.call("GET", self.paths["discovery"], must_contain=b'"issuer"')

    def jwks(self, item):
        self.call("GET", self.paths["jwks"], must_contain=b'"keys"')

    def floor(self, item):
        self.call("GET", self.paths["floor"])

    def userinfo(self, item):
        self.call(
            "GET",
            self.paths["userinfo"],
            headers={"Authorization": f"Bearer {self.var['access_token']}"},
            must_contain=b'"sub"',
        )

    def introspection(self, item):
        self.call(
            "POST",
            self.paths["introspection"],
            {"token": self.var["access_token"]},
            {"Authorization": self.auth},
            must_contain=b'"active":true',
        )

    def userinfo_many(self, item):
        """Userinfo with one of many live access tokens (the job's share, taken in turn)."""
        self.call("GET", self.paths["userinfo"], headers={"Authorization": f"Bearer {item}"}, must_contain=b'"sub"')

    def introspection_many(self, item):
        self.call(
            "POST",
            self.paths["introspection"],
            {"token": item},
            {"Authorization": self.auth},
            must_contain=b'"active":true',
        )

    def token_code(self, item):
        self.token(
            {
                "grant_type": "authorization_code",
                "code": item,
                "redirect_uri": self.var["redirect_uri"],
                "code_verifier": self.fx["code_verifier"],
            }
        )

    def refresh(self, item):
        self.token({"grant_type": "refresh_token", "refresh_token": item})

    def refresh_chain(self, item):
        """Refresh with the token the previous refresh returned; returns the new one (the chain's head)."""
        body = self.token({"grant_type": "refresh_token", "refresh_token": item})
        try:
            successor = json.loads(body).get("refresh_token")
        except ValueError:
            successor = None
        if not successor:
            raise Failure(f"refresh returned no refresh_token: {body[:200]!r}")
        return successor

    def client_credentials(self, item):
        cc = self.var["cc"]
        self.token({"grant_type": "client_credentials"}, auth=basic(cc["client_id"], cc["client_secret"]))

    def authorize(self, item):
        """An authorization request with a logged-in session (no consent); returns the code."""
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.var["client_id"],
                "redirect_uri": self.var["redirect_uri"],
                "scope": self.fx["scope"],
                "state": "st",
                "nonce": "nn",
                "code_challenge": self.fx["code_challenge"],
                "code_challenge_method": "S256",
            }
        )
        response, _ = self.call(
            "GET",
            f"{self.paths['authorize']}?{query}",
            headers={"Cookie": f"sessionid={self.job.session}"},
            expect=(302,),
        )
        location = response.getheader("Location", "")
        code = parse_qs(urlsplit(location).query).get("code")
        if not code or not location.startswith(self.var["redirect_uri"]):
            raise Failure(f"authorize redirected to {location[:200]}")
        return code[0]

    def flow(self, item):
        """The authorization request, then the code redemption."""
        self.token_code(self.authorize(item))

    def mix(self, item):
        """The memory check's request mix: a full flow, userinfo, discovery and JWKS (5 requests)."""
        self.flow(item)
        self.userinfo(item)
        self.discovery(item)
        self.jwks(item)


# scenario -> (method, what it does with the job's items): None (none), SPEND (one per request, then
# stop), CYCLE (one per request, in turn), CHAIN (one: each request's result is the next request's item)
SPEND, CYCLE, CHAIN = "spend", "cycle", "chain"
SCENARIOS = {
    "discovery": ("discovery", None),
    "jwks": ("jwks", None),
    "floor": ("floor", None),
    "token": ("token_code", SPEND),  # one pre-minted code per request
    "flow": ("flow", None),
    "authorize": ("authorize", None),  # the full flow's first half alone (DIAGNOSTIC)
    "userinfo": ("userinfo", None),  # one access token
    "userinfo_many": ("userinfo_many", CYCLE),  # the live access tokens, spread over the clients
    "introspection": ("introspection", None),
    "introspection_many": ("introspection_many", CYCLE),
    "refresh": ("refresh", SPEND),  # one pre-minted refresh token per request, each of its own grant
    "refresh_chain": ("refresh_chain", CHAIN),  # each client rotating its own chain
    "client_credentials": ("client_credentials", None),
    "mix": ("mix", None),
}
REQUESTS_PER_ITERATION = {"flow": 2, "mix": 5}
# run only when named (run.py --scenarios), reported without a target: they explain another scenario's figures
DIAGNOSTIC = ("authorize",)


def run(job: Job) -> dict:
    """Play ``job`` and return {"latencies": [s...], "errors": [...], "first": t, "last": t, "head": item}
    (``head``: the chain's last token, for the client's next window)."""
    method, use = SCENARIOS[job.scenario]
    client = Client(job)
    step = getattr(client, method)
    spends = use == SPEND
    if use == SPEND:
        items = iter(job.items)
    elif use == CYCLE:
        items = itertools.cycle(job.items)
    else:
        items = None
    head = job.items[0] if use == CHAIN else None
    latencies, errors = [], []
    delay = job.start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    first = time.time()
    last = first
    while True:
        if job.max_iterations and len(latencies) + len(errors) >= job.max_iterations:
            break
        if not job.max_iterations and time.time() >= job.deadline:
            break
        item = head if use == CHAIN else next(items, None) if items else None
        if spends and item is None:
            break
        t0 = time.perf_counter()
        try:
            result = step(item)
            latencies.append(time.perf_counter() - t0)
        except Failure as err:
            errors.append(str(err))
            if use == CHAIN:
                break  # a broken chain cannot go on (and its head may be spent)
        else:
            if use == CHAIN:
                head = result
        last = time.time()
    client.conn.close()
    return {"latencies": latencies, "errors": errors, "first": first, "last": last, "head": head}
