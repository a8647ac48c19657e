#!/usr/bin/env python3
"""Send one trace to skein with the real OpenTelemetry OTLP exporters
(PyPI opentelemetry-exporter-otlp-proto-grpc / -proto-http, pinned in requirements.txt).

    --protocol grpc     OTLP/gRPC            -> host:4317
    --protocol http     OTLP/HTTP protobuf   -> http://host:4318/v1/traces

The exporters read their settings from the standard variables, as an application's would:
OTEL_EXPORTER_OTLP_HEADERS (e.g. authorization=Bearer%20<token>),
OTEL_EXPORTER_OTLP_CERTIFICATE, ...; --endpoint sets the endpoint.

Prints one JSON line on stdout (see span_tree.py); exit 0 only when the server
accepted the export, 1 on export failure (the JSON line's "errors" says why), 2 on bad usage.

    python otlp_send.py --protocol grpc --endpoint http://127.0.0.1:4317
    python otlp_send.py --protocol http --endpoint http://127.0.0.1:4318/v1/traces
"""

import argparse
import sys

import span_tree


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--protocol", choices=["grpc", "http"], default="grpc")
    p.add_argument("--endpoint", required=True, help="gRPC: http://host:port; HTTP: the full /v1/traces URL")
    span_tree.add_common_args(p, "skein-e2e-py-otlp")
    args = p.parse_args()
    timeout = max(1, int(args.timeout))

    def make():
        if args.protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            return OTLPSpanExporter(endpoint=args.endpoint, insecure=args.endpoint.startswith("http://"), timeout=timeout)
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=args.endpoint, timeout=timeout)

    return span_tree.build_and_send(
        client=f"python-opentelemetry-exporter-otlp-proto-{args.protocol}",
        transport=f"otlp-{args.protocol}",
        endpoint=args.endpoint,
        args=args,
        make_exporter=make,
        extra={"protocol": args.protocol},
    )


if __name__ == "__main__":
    sys.exit(main())
