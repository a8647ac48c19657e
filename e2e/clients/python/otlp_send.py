#!/usr/bin/env python3
"""Send one trace to skein with the real OpenTelemetry OTLP exporters
(PyPI opentelemetry-exporter-otlp-proto-grpc / -proto-http, pinned in requirements.txt).

    --protocol grpc   OTLP/gRPC, --endpoint https://127.0.0.1:4317 (http:// for plaintext)
    --protocol http   OTLP/HTTP protobuf, --endpoint https://127.0.0.1:4318/v1/traces

TLS settings come from the SDK's own variables, as an application sets them:
OTEL_EXPORTER_OTLP_CERTIFICATE (CA to trust), OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and
OTEL_EXPORTER_OTLP_CLIENT_KEY (mTLS). The pinned 1.21.0 exporters read the first one
themselves; the client certificate variables are read by later releases only, so for
those this script hands the files to the exporters' own arguments (gRPC channel
credentials, the HTTP exporter's requests session), which is what later releases do. Prints one JSON line on stdout (see span_tree.py);
exit 0 only when the export succeeded, 1 on export failure, 2 on bad usage.
"""

import argparse
import os
import sys

import span_tree


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--protocol", choices=["grpc", "http"], required=True)
    p.add_argument("--endpoint", required=True)
    span_tree.add_common_args(p, "skein-e2e-py-otlp")
    args = p.parse_args()
    timeout = max(1, int(args.timeout))

    ca = os.environ.get("OTEL_EXPORTER_OTLP_CERTIFICATE")
    client_cert = os.environ.get("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE")
    client_key = os.environ.get("OTEL_EXPORTER_OTLP_CLIENT_KEY")

    def read(path):
        with open(path, "rb") as f:
            return f.read()

    def make():
        if args.protocol == "grpc":
            import grpc
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            credentials = None
            if client_cert and client_key:
                credentials = grpc.ssl_channel_credentials(
                    root_certificates=read(ca) if ca else None,
                    private_key=read(client_key),
                    certificate_chain=read(client_cert),
                )
            return OTLPSpanExporter(
                endpoint=args.endpoint,
                insecure=args.endpoint.startswith("http://"),
                credentials=credentials,
                timeout=timeout,
            )
        import requests
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        session = requests.Session()
        if client_cert and client_key:
            session.cert = (client_cert, client_key)
        return OTLPSpanExporter(endpoint=args.endpoint, timeout=timeout, session=session)

    return span_tree.build_and_send(
        client=f"python-opentelemetry-exporter-otlp-proto-{args.protocol}",
        transport=f"otlp-{args.protocol}",
        endpoint=args.endpoint,
        args=args,
        make_exporter=make,
    )


if __name__ == "__main__":
    sys.exit(main())
