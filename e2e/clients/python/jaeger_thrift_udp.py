#!/usr/bin/env python3
"""Send one trace to skein with the real OpenTelemetry Jaeger Thrift exporter
(PyPI opentelemetry-exporter-jaeger-thrift, pinned in requirements.txt).

Default: agent UDP, Thrift compact protocol (emitBatch), to 127.0.0.1:6831.
With --collector-endpoint: Thrift binary over HTTP POST to that URL instead,
e.g. http://127.0.0.1:14268/api/traces.

Prints one JSON line on stdout (see span_tree.py); exit 0 only when every span
was handed to the transport without error (for UDP that means sendto()
succeeded: UDP has no acknowledgement), 1 on export failure, 2 on bad usage.

    python jaeger_thrift_udp.py --agent 127.0.0.1:6831 --service svc --spans 4
    python jaeger_thrift_udp.py --collector-endpoint http://127.0.0.1:14268/api/traces
"""

import argparse
import os
import sys

import span_tree
from opentelemetry.exporter.jaeger.thrift import JaegerExporter


def parse_hostport(s: str):
    host, sep, port = s.rpartition(":")
    if not sep or not host or not port.isdigit():
        span_tree.die(f"--agent must be HOST:PORT, got {s!r}")
    return host.strip("[]"), int(port)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--agent",
        default=os.environ.get("SKEIN_JAEGER_AGENT", "127.0.0.1:6831"),
        help="agent UDP HOST:PORT, compact Thrift (env SKEIN_JAEGER_AGENT; default %(default)s)",
    )
    p.add_argument(
        "--collector-endpoint",
        default=os.environ.get("SKEIN_JAEGER_COLLECTOR_ENDPOINT") or None,
        help="send Thrift over HTTP to this URL instead of UDP, e.g. "
        "http://127.0.0.1:14268/api/traces (env SKEIN_JAEGER_COLLECTOR_ENDPOINT)",
    )
    p.add_argument(
        "--split-oversized-batches",
        action="store_true",
        help="let the exporter split batches larger than one UDP packet (65000 bytes)",
    )
    span_tree.add_common_args(p, "skein-e2e-py-jaeger")
    args = p.parse_args()

    host, port = parse_hostport(args.agent)
    http = args.collector_endpoint is not None

    def make():
        exp = JaegerExporter(
            agent_host_name=host,
            agent_port=port,
            collector_endpoint=args.collector_endpoint,
            udp_split_oversized_batches=args.split_oversized_batches,
            timeout=max(1, int(args.timeout)),
        )
        if not http:
            # The exporter falls back to OTEL_EXPORTER_JAEGER_ENDPOINT when no
            # endpoint is given; UDP was asked for, so UDP it is.
            exp.collector_endpoint = None
        return exp

    def check(exp):
        # Thrift-over-HTTP: the exporter only logs a non-2xx status; make it fatal.
        coll = getattr(exp, "_collector", None)
        if http and coll is not None:
            code = coll.http_transport.code
            if code is None or code < 200 or code >= 300:
                return f"collector answered HTTP {code} {coll.http_transport.message!r}"
        return None

    return span_tree.build_and_send(
        client="python-opentelemetry-exporter-jaeger-thrift",
        transport="http-thrift-binary" if http else "udp-thrift-compact",
        endpoint=args.collector_endpoint if http else f"{host}:{port}",
        args=args,
        make_exporter=make,
        check=check,
    )


if __name__ == "__main__":
    sys.exit(main())
