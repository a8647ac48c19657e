#!/usr/bin/env python3
"""Latency of skein's query API, as `make bench` measures it (section f).

usage: query_latency.py BASE_URL ES_URL PREFIX SINCE_MS

Picks 100 trace ids of 200-span traces (those with a span starting at or after SINCE_MS, written
last), then times, one request at a time: trace by id (500 requests over those ids) and searches
(200 requests: service, service + operation, service + tag, each limit 20, over the last 2 hours).
Prints p50/p99/max per kind and checks every answer (200-span traces whole, searches non-empty).
"""
import json
import random
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def fetch(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


FAILURES = []


def timed(url):
    """(ms, body); a failed request is recorded and answers None."""
    started = time.perf_counter()
    try:
        body = fetch(url)
    except urllib.error.HTTPError as error:
        FAILURES.append(f"{error.code} {url}: {error.read()[:300]!r}")
        body = None
    return (time.perf_counter() - started) * 1000, body


def main():
    base, es, prefix, since = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    random.seed(7)
    ids = fetch(f"{es}/{prefix}-jaeger-span-*/_search", {
        "size": 0,
        "query": {"range": {"startTimeMillis": {"gte": since}}},
        "aggs": {"t": {"terms": {"field": "traceID", "size": 100}}},
    })["aggregations"]["t"]["buckets"]
    ids = [b["key"] for b in ids if b["doc_count"] >= 200]
    if not ids:
        sys.exit("no 200-span traces found")
    by_id = []
    for _ in range(20):  # warm-up
        timed(f"{base}/api/traces/{random.choice(ids)}")
    for _ in range(500):
        ms, body = timed(f"{base}/api/traces/{random.choice(ids)}")
        if body is None:
            continue
        spans = len(body["data"][0]["spans"])
        if spans < 200:
            sys.exit(f"trace came back with {spans} spans")
        by_id.append(ms)
    # Services as the spans name them (the fill writes span documents only, no service index).
    services = [b["key"] for b in fetch(f"{es}/{prefix}-jaeger-span-*/_search", {
        "size": 0, "aggs": {"s": {"terms": {"field": "process.serviceName", "size": 100}}},
    })["aggregations"]["s"]["buckets"]]
    operations = {}
    for service in services:
        operations[service] = [b["key"] for b in fetch(f"{es}/{prefix}-jaeger-span-*/_search", {
            "size": 0, "query": {"term": {"process.serviceName": service}},
            "aggs": {"o": {"terms": {"field": "operationName", "size": 50}}},
        })["aggregations"]["o"]["buckets"]]
    print(f"trace by id (200-span traces, {len(by_id)} requests): p50 {percentile(by_id, 0.5):.1f} ms  "
          f"p99 {percentile(by_id, 0.99):.1f} ms  max {max(by_id):.1f} ms", flush=True)
    now = int(time.time() * 1e6)
    start = now - 2 * 3600 * 1000000
    searches = []
    empty = 0
    for i in range(200):
        service = random.choice(services)
        params = {"service": service, "limit": 20, "start": start, "end": now}
        if i % 3 == 1:
            params["operation"] = random.choice(operations[service])
        elif i % 3 == 2:
            params["tag"] = "span.kind:server"
        ms, body = timed(f"{base}/api/traces?{urllib.parse.urlencode(params)}")
        if body is None:
            continue
        empty += not body["data"]
        searches.append(ms)
    print(f"search (limit 20, 2 h range, {len(searches)} requests, {empty} empty): p50 {percentile(searches, 0.5):.1f} ms  "
          f"p99 {percentile(searches, 0.99):.1f} ms  max {max(searches):.1f} ms")
    if FAILURES:
        print(f"{len(FAILURES)} failed requests; first: {FAILURES[0]}")


if __name__ == "__main__":
    main()
