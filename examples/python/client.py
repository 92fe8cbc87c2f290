#!/usr/bin/env python3
"""A client for the rate limiter's HTTP API, standard library only (urllib, json).

Shows a check, a batch, a denial handled by waiting `retryAfterMs`, and an error code.

    npm start                                         # a local 3-node cluster
    python3 examples/python/client.py                 # --endpoint 127.0.0.1:7001

The last line printed is a JSON summary (the end-to-end test reads it).

Things every client should do, and this one does:
- A denial is a normal answer (`allowed: false`), never an exception. `retryAfterMs` is
  exact: the same check is denied until then; -1 means no wait helps (the cost exceeds
  the rule's capacity, or the client is blocked).
- Errors carry a stable `code` (docs/errors.md); match on it, never on the message.
- Retry only retryable codes, with the same `idempotencyId`, so a retried check is never
  counted twice.
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

# Codes for which the same request may succeed later or elsewhere (docs/errors.md).
RETRYABLE = {
    "RL_ERR_NOT_LEADER",
    "RL_ERR_NO_QUORUM",
    "RL_ERR_UNAVAILABLE",
    "RL_ERR_TIMEOUT",
    "RL_ERR_STORAGE_CORRUPT",
    "RL_ERR_STATE_FULL",
}


class RateLimiterError(Exception):
    """An error answer of the API: `code` is stable, `status` is the HTTP status."""

    def __init__(self, code, message, status):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.retryable = code in RETRYABLE


class RateLimitClient:
    def __init__(self, endpoint, token=None, timeout_s=2.0, attempts=5):
        self.base = f"http://{endpoint}"
        self.token = token
        self.timeout_s = timeout_s
        self.attempts = attempts

    def _post(self, path, body):
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.base + path, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as res:
                return json.loads(res.read())
        except urllib.error.HTTPError as err:
            # 4xx/5xx answers carry {"error": {"code", "message"}}.
            try:
                e = json.loads(err.read())["error"]
            except (ValueError, KeyError, TypeError):
                raise RateLimiterError("RL_ERR_UNAVAILABLE", f"HTTP {err.code}", err.code) from err
            raise RateLimiterError(e["code"], e["message"], err.code) from err

    def check(self, key, resource=None, resources=None, cost=1, tier=None):
        """One check. Returns the answer dict; raises RateLimiterError on an error code."""
        body = {"key": key, "cost": cost, "idempotencyId": str(uuid.uuid4())}
        if resources is not None:
            body["resources"] = resources
        elif resource is not None:
            body["resource"] = resource
        if tier is not None:
            body["tier"] = tier
        for attempt in range(self.attempts):
            try:
                return self._post("/v1/check", body)
            except RateLimiterError as err:
                if not err.retryable or attempt == self.attempts - 1:
                    raise
            except OSError:  # connection refused, reset, timeout: the check may or may not have counted
                if attempt == self.attempts - 1:
                    raise
            time.sleep(0.05 * (attempt + 1))  # same idempotencyId: never counted twice
        raise AssertionError("unreachable")

    def check_batch(self, checks):
        """Up to 1,000 checks in one request; one result per check, in order. A failed
        check has {"error": {...}} in its place."""
        return self._post("/v1/check/batch", {"checks": checks})["results"]

    def wait_for(self, key, resource, deadline_s):
        """Checks until allowed, sleeping `retryAfterMs` after each denial. Returns the
        allowed answer, or the last denial when the deadline (or -1) makes waiting useless."""
        end = time.monotonic() + deadline_s
        while True:
            answer = self.check(key, resource=resource)
            if answer["allowed"]:
                return answer
            wait_s = answer["retryAfterMs"] / 1000.0
            if answer["retryAfterMs"] < 0 or time.monotonic() + wait_s > end:
                return answer
            time.sleep(wait_s)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="127.0.0.1:7001", help="any node's client API, host:port")
    parser.add_argument("--token", default=None, help="client token, when the nodes require one")
    args = parser.parse_args()
    client = RateLimitClient(args.endpoint, token=args.token)
    run = uuid.uuid4().hex[:8]  # fresh keys per run, so a second run starts from a full bucket
    summary = {}

    # 1. One check.
    a = client.check(f"py:{run}:alice", resource="search")
    print(f"check: allowed={a['allowed']} remaining={a['remaining']} rule={a['rule']}")
    summary["check"] = a

    # 2. A batch: several keys and resources in one request.
    results = client.check_batch([
        {"key": f"py:{run}:bob", "resource": "search"},
        {"key": f"py:{run}:carol", "resources": ["search", "login"]},
        {"key": f"py:{run}:dave", "resource": "search", "cost": 3},
    ])
    for r in results:
        print(f"batch: allowed={r.get('allowed')} remaining={r.get('remaining')} rule={r.get('rule')}")
    summary["batch"] = results

    # 3. A burst past the limit: 15 checks of one key in one batch, then wait out a denial.
    key = f"py:{run}:burst"
    burst = client.check_batch([{"key": key, "resource": "search"} for _ in range(15)])
    allowed = sum(1 for r in burst if r.get("allowed"))
    denials = [r for r in burst if r.get("allowed") is False]
    retry_ms = denials[0]["retryAfterMs"] if denials else 0
    print(f"burst: {allowed} allowed, {len(denials)} denied; first denial says retry after {retry_ms} ms")
    started = time.monotonic()
    after = client.wait_for(key, "search", deadline_s=5.0)
    waited_ms = round((time.monotonic() - started) * 1000)
    print(f"wait_for: allowed={after['allowed']} after {waited_ms} ms")
    summary.update(burstAllowed=allowed, burstDenied=len(denials), retryAfterMs=retry_ms,
                   afterWaitAllowed=after["allowed"], waitedMs=waited_ms)

    # 4. An error: a negative cost is a bad request (400, not retryable).
    try:
        client.check(f"py:{run}:alice", resource="search", cost=-1)
        summary["error"] = None
    except RateLimiterError as err:
        print(f"error: status={err.status} code={err.code} retryable={err.retryable}")
        summary["error"] = {"status": err.status, "code": err.code, "retryable": err.retryable}

    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
