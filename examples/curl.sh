#!/usr/bin/env bash
# The HTTP API with curl: one check, a batch, the cluster view, live stats, and the
# running configuration (admin token). Any node answers; a node that does not lead the
# key's group forwards the check to the leader.
#
#   npm start                                   # a local 3-node cluster (prints the admin token)
#   RL_ADMIN_TOKEN=... examples/curl.sh         # RL_ENDPOINT defaults to 127.0.0.1:7001
#
# Needs curl; jq makes the output easier to read but is optional.
set -euo pipefail

endpoint="${RL_ENDPOINT:-127.0.0.1:7001}"
base="http://${endpoint}"
pretty() { if command -v jq >/dev/null 2>&1; then jq .; else cat; echo; fi; }

echo "== check: one unit of 'search' for user:42 (status line, headers, answer)"
# -i prints the response headers: RateLimit-Policy and RateLimit on every limited
# answer, Retry-After on a denial that waiting can help.
curl -sS -i -X POST "${base}/v1/check" \
  -H 'Content-Type: application/json' \
  -d '{"key":"user:42","resource":"search"}'
echo

echo "== batch: up to 1,000 checks in one request, one answer per check, in order"
# A check that fails (here: a negative cost) gets {"error":{code,message}} in its place;
# the others are answered as usual. A denial is a normal answer with allowed=false.
curl -sS -X POST "${base}/v1/check/batch" \
  -H 'Content-Type: application/json' \
  -d '{"checks":[
        {"key":"user:7","resource":"search"},
        {"key":"user:7","resources":["search","login"],"cost":1},
        {"key":"user:7","resource":"search","cost":-1}
      ]}' | pretty

echo "== cluster: members, groups, leaders and versions as this node sees them"
curl -sS "${base}/v1/cluster" | pretty

echo "== stats: rates and latency of the last 10 s on this node (no token needed)"
curl -sS "${base}/v1/stats" | pretty

echo "== config get: the running configuration (admin API, bearer token)"
if [[ -z "${RL_ADMIN_TOKEN:-}" ]]; then
  echo "RL_ADMIN_TOKEN is not set: skipping (npm start prints it)" >&2
  exit 0
fi
curl -sS -H "Authorization: Bearer ${RL_ADMIN_TOKEN}" "${base}/v1/config" | pretty
