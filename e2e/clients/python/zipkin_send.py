#!/usr/bin/env python3
"""Send one trace to skein with the real OpenTelemetry Zipkin exporters
(PyPI opentelemetry-exporter-zipkin-json / -proto-http, pinned in requirements.txt).

    --encoding json     Zipkin v2 JSON   (application/json)      -> /api/v2/spans
    --encoding proto    Zipkin v2 proto3 (application/x-protobuf) -> /api/v2/spans
    --encoding json-v1  Zipkin v1 JSON   (application/json)      -> /api/v1/spans

Prints one JSON line on stdout (see span_tree.py); exit 0 only when the server
answered 2xx to every POST, 1 on export failure, 2 on bad usage.

    python zipkin_send.py --encoding json  --endpoint http://127.0.0.1:9411/api/v2/spans
    python zipkin_send.py --encoding proto --host 127.0.0.1 --port 9411
"""

import argparse
import os
import sys

import span_tree

DEFAULT_PATHS = {"json": "/api/v2/spans", "proto": "/api/v2/spans", "json-v1": "/api/v1/spans"}
CONTENT_TYPES = {"json": "application/json", "proto": "application/x-protobuf", "json-v1": "application/json"}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--encoding", choices=sorted(DEFAULT_PATHS), default="json")
    p.add_argument(
        "--endpoint",
        default=os.environ.get("SKEIN_ZIPKIN_ENDPOINT") or None,
        help="full URL (env SKEIN_ZIPKIN_ENDPOINT); default http://HOST:PORT/api/v2/spans "
        "(/api/v1/spans for json-v1)",
    )
    p.add_argument("--host", default="127.0.0.1", help="used when --endpoint is not given")
    p.add_argument("--port", type=int, default=9411, help="used when --endpoint is not given")
    p.add_argument(
        "--local-ipv4",
        default=None,
        help="localEndpoint.ipv4 to put on every span (default: none)",
    )
    span_tree.add_common_args(p, "skein-e2e-py-zipkin")
    args = p.parse_args()

    endpoint = args.endpoint or f"http://{args.host}:{args.port}{DEFAULT_PATHS[args.encoding]}"
    timeout = max(1, int(args.timeout))

    def make():
        if args.encoding == "proto":
            from opentelemetry.exporter.zipkin.proto.http import ZipkinExporter

            return ZipkinExporter(endpoint=endpoint, local_node_ipv4=args.local_ipv4, timeout=timeout)
        from opentelemetry.exporter.zipkin.json import Protocol, ZipkinExporter

        if args.encoding == "json-v1":
            # The v1 encoder compares max_tag_value_length > 0 without a None check
            # (TypeError in 1.21.0); 0 means "no truncation" to both encoders.
            return ZipkinExporter(
                version=Protocol.V1,
                endpoint=endpoint,
                local_node_ipv4=args.local_ipv4,
                timeout=timeout,
                max_tag_value_length=0,
            )
        return ZipkinExporter(
            version=Protocol.V2, endpoint=endpoint, local_node_ipv4=args.local_ipv4, timeout=timeout
        )

    return span_tree.build_and_send(
        client=f"python-opentelemetry-exporter-zipkin-{'proto-http' if args.encoding == 'proto' else 'json'}",
        transport=f"http-zipkin-{args.encoding}",
        endpoint=endpoint,
        args=args,
        make_exporter=make,
        extra={"encoding": args.encoding, "content_type": CONTENT_TYPES[args.encoding]},
    )


if __name__ == "__main__":
    sys.exit(main())
