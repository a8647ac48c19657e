#!/usr/bin/env python3
"""Self-test of the Python client programs, no skein needed.

Starts throw-away receivers on 127.0.0.1 (ephemeral ports): a UDP socket that
decodes agent emitBatch (compact Thrift) and an HTTP server that decodes Jaeger
Thrift-binary batches and Zipkin v2 JSON / proto3 / v1 JSON. Runs every client
program, checks that the ids and names it printed are the ones that arrived,
and that a 5xx answer and a closed port make the client exit 1.

    ~/.cache/skein/venv-clients/bin/python e2e/clients/python/selftest.py

Ends with a line 'N passed, N failed'; exit status 0 only when none failed.
"""

import http.server
import json
import os
import socket
import subprocess
import sys
import threading

from thrift.protocol import TBinaryProtocol, TCompactProtocol
from thrift.transport import TTransport

from opentelemetry.exporter.jaeger.thrift.gen.agent import Agent
from opentelemetry.exporter.jaeger.thrift.gen.jaeger import ttypes as jaeger
from opentelemetry.exporter.zipkin.proto.http.v2.gen import zipkin_pb2

HERE = os.path.dirname(os.path.abspath(__file__))
received = {"http": [], "udp": []}
http_status = {"code": 202}


def _u64(v):
    return v & 0xFFFFFFFFFFFFFFFF


def jaeger_batch_ids(batch):
    out = {}
    for s in batch.spans:
        tid = format(_u64(s.traceIdHigh), "016x") + format(_u64(s.traceIdLow), "016x")
        refs = [(r.refType, format(_u64(r.spanId), "016x")) for r in (s.references or [])]
        out[format(_u64(s.spanId), "016x")] = {
            "trace_id": tid,
            "name": s.operationName,
            "parent": format(_u64(s.parentSpanId), "016x") if s.parentSpanId else None,
            "tags": {t.key: (t.vStr, t.vBool, t.vLong, t.vDouble, t.vType) for t in (s.tags or [])},
            "logs": len(s.logs or []),
            "refs": refs,
            "service": batch.process.serviceName,
        }
    return out


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        received["http"].append((self.path, self.headers.get("Content-Type"), body))
        self.send_response(http_status["code"])
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def run(args):
    p = subprocess.run([sys.executable] + args, cwd=HERE, capture_output=True, text=True, timeout=60)
    line = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else "{}"
    return p.returncode, json.loads(line), p.stderr


results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(f"{'ok  ' if cond else 'FAIL'} {name}{'' if cond else ': ' + detail}", flush=True)


def same_ids(printed, got):
    want = {s["span_id"]: (s["trace_id"], s["name"], s["parent_span_id"]) for s in printed["spans"]}
    have = {k: (v["trace_id"], v["name"], v["parent"]) for k, v in got.items()}
    return want == have, f"printed {want} received {have}"


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    hport = srv.server_address[1]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(5)
    uport = udp.getsockname()[1]

    # 1. Jaeger agent UDP, compact Thrift.
    rc, out, err = run(["jaeger_thrift_udp.py", "--agent", f"127.0.0.1:{uport}", "--spans", "5", "--service", "st-jaeger"])
    check("jaeger udp: exit 0", rc == 0, err)
    data, _ = udp.recvfrom(65536)
    prot = TCompactProtocol.TCompactProtocol(TTransport.TMemoryBuffer(data))
    name, _typ, _seq = prot.readMessageBegin()
    args = Agent.emitBatch_args()
    args.read(prot)
    got = jaeger_batch_ids(args.batch)
    check("jaeger udp: message is emitBatch", name == "emitBatch", name)
    check("jaeger udp: ids match", *same_ids(out, got))
    root = got[out["spans"][0]["span_id"]]
    check("jaeger udp: service", root["service"] == "st-jaeger", root["service"])
    tags = root["tags"]
    check(
        "jaeger udp: typed tags",
        tags["str.attr"][0] == "hello skein" and tags["bool.attr"][1] is True
        and tags["int.attr"][2] == 42 and tags["float.attr"][3] == 3.5
        and tags["span.kind"][0] == "server",
        str(tags),
    )
    errspan = got[out["spans"][2]["span_id"]]
    check("jaeger udp: error tag + FOLLOWS_FROM link",
          errspan["tags"].get("error", (None, None))[1] is True
          and (jaeger.SpanRefType.FOLLOWS_FROM, out["spans"][1]["span_id"]) in errspan["refs"],
          str(errspan))
    check("jaeger udp: client span has its event as a log", got[out["spans"][1]["span_id"]]["logs"] == 1)

    # 2. Jaeger Thrift binary over HTTP.
    received["http"].clear()
    rc, out, err = run(["jaeger_thrift_udp.py", "--collector-endpoint", f"http://127.0.0.1:{hport}/api/traces"])
    check("jaeger http: exit 0", rc == 0, err)
    path, ctype, body = received["http"][0]
    batch = jaeger.Batch()
    batch.read(TBinaryProtocol.TBinaryProtocol(TTransport.TMemoryBuffer(body)))
    check("jaeger http: path + content type", path == "/api/traces" and ctype == "application/x-thrift", f"{path} {ctype}")
    check("jaeger http: ids match", *same_ids(out, jaeger_batch_ids(batch)))

    # 3. Zipkin v2 JSON / proto, v1 JSON.
    for enc in ("json", "proto", "json-v1"):
        received["http"].clear()
        rc, out, err = run(["zipkin_send.py", "--encoding", enc, "--port", str(hport)])
        check(f"zipkin {enc}: exit 0", rc == 0, err)
        path, ctype, body = received["http"][0]
        if enc == "proto":
            lst = zipkin_pb2.ListOfSpans()
            lst.ParseFromString(body)
            got = {
                s.id.hex(): {"trace_id": s.trace_id.hex(), "name": s.name, "parent": s.parent_id.hex() or None}
                for s in lst.spans
            }
        elif enc == "json":
            got = {
                s["id"]: {"trace_id": s["traceId"], "name": s["name"], "parent": s.get("parentId")}
                for s in json.loads(body)
            }
        else:
            got = {
                s["id"]: {"trace_id": s["traceId"], "name": s["name"], "parent": s.get("parentId")}
                for s in json.loads(body)
            }
        check(f"zipkin {enc}: path {path} content type {ctype}", path == ("/api/v1/spans" if enc == "json-v1" else "/api/v2/spans") and ctype == out["content_type"])
        check(f"zipkin {enc}: ids match", *same_ids(out, got))

    # 4. Failures are reported: 5xx answer, closed port.
    http_status["code"] = 500
    rc, out, err = run(["zipkin_send.py", "--port", str(hport)])
    check("zipkin json: HTTP 500 -> exit 1, ok=false", rc == 1 and out.get("ok") is False, f"rc={rc} {out.get('errors')}")
    rc, out, err = run(["jaeger_thrift_udp.py", "--collector-endpoint", f"http://127.0.0.1:{hport}/api/traces"])
    check("jaeger http: HTTP 500 -> exit 1, ok=false", rc == 1 and out.get("ok") is False, f"rc={rc} {out.get('errors')}")
    srv.shutdown()
    srv.server_close()
    rc, out, err = run(["zipkin_send.py", "--encoding", "proto", "--port", str(hport), "--timeout", "3"])
    check("zipkin proto: closed port -> exit 1", rc == 1 and out.get("errors"), f"rc={rc}")

    passed = sum(results)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
