"""Shared helpers for skein's Python client programs.

Builds one deterministic trace with the OpenTelemetry SDK, exports it through a
real exporter, checks that the export really succeeded, and prints ONE JSON line
on stdout describing exactly what was sent (ids as lowercase hex), so a test can
then look the spans up in Elasticsearch.

The trace (``--spans N``, N >= 1; default 4):

    span 0  "skein-e2e-root"    SERVER    attributes of every scalar type, run id
    span 1  "skein-e2e-client"  CLIENT    child of 0; an event with attributes
    span 2  "skein-e2e-error"   INTERNAL  child of 0; ERROR status, an exception
                                          event, a link to span 1 (Jaeger: FOLLOWS_FROM)
    span 3+ "skein-e2e-leaf-i"  PRODUCER/CONSUMER/INTERNAL, children of span 1

Start times and durations are whole microseconds, so what is printed is exactly
what Jaeger/Zipkin carry on the wire.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import sys
import time
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence

# The Jaeger exporter is deprecated and says so on construction; that is expected.
warnings.filterwarnings("ignore", category=DeprecationWarning)

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator  # noqa: E402
from opentelemetry.sdk.trace.export import (  # noqa: E402
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Link, SpanKind, Status, StatusCode  # noqa: E402

ROOT_ATTRIBUTES = {
    "str.attr": "hello skein",
    "bool.attr": True,
    "int.attr": 42,
    "float.attr": 3.5,
}
EVENT_NAME = "cache.miss"
EVENT_ATTRIBUTES = {
    "event.str": "key-17",
    "event.bool": False,
    "event.int": 7,
    "event.float": 0.25,
}
ERROR_DESCRIPTION = "simulated failure"
LEAF_KINDS = [SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.INTERNAL]


def die(msg: str, code: int = 2) -> None:
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(code)


def add_common_args(p: argparse.ArgumentParser, default_service: str) -> None:
    p.add_argument(
        "--service",
        default=os.environ.get("SKEIN_CLIENT_SERVICE", default_service),
        help="service.name of the resource (env SKEIN_CLIENT_SERVICE; default %(default)s)",
    )
    p.add_argument(
        "--spans",
        type=int,
        default=int(os.environ.get("SKEIN_CLIENT_SPANS", "4")),
        help="number of spans in the trace, >= 1 (env SKEIN_CLIENT_SPANS; default %(default)s)",
    )
    p.add_argument(
        "--run-id",
        default=os.environ.get("SKEIN_CLIENT_RUN_ID") or secrets.token_hex(8),
        help="value of the skein.run_id attribute on every span (default: random hex)",
    )
    p.add_argument(
        "--invalid-span",
        action="store_true",
        help="also send, in the same batch, one span whose trace id is all zeros (a server must "
        "refuse it); it is not in the printed spans",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=float(os.environ.get("SKEIN_CLIENT_TIMEOUT", "10")),
        help="seconds allowed for flush + export (default %(default)s)",
    )


class ZeroTraceIdOnce(RandomIdGenerator):
    """Random ids, except that the next trace id after arm() is zero (an invalid span the SDK
    still records and exports)."""

    def __init__(self) -> None:
        self.armed = False

    def arm(self) -> None:
        self.armed = True

    def generate_trace_id(self) -> int:
        if self.armed:
            self.armed = False
            return 0
        return super().generate_trace_id()


class LogErrors(logging.Handler):
    """Collects WARNING+ records the exporters/SDK log instead of raising
    (e.g. 'Data exceeds the max UDP packet size', 'Traces cannot be uploaded')."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
        except Exception:  # pragma: no cover - defensive
            msg = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            msg = f"{msg}: {record.exc_info[1]!r}"
        self.messages.append(f"{record.name}: {msg}")


class RecordingExporter(SpanExporter):
    """Wraps a real exporter and remembers what every export() call returned,
    so exceptions and FAILURE results surface as a non-zero exit instead of
    being swallowed by the BatchSpanProcessor."""

    def __init__(
        self,
        inner: SpanExporter,
        check: Optional[Callable[[], Optional[str]]] = None,
    ) -> None:
        self.inner = inner
        self.check = check
        self.exported = 0
        self.errors: List[str] = []

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception as e:  # noqa: BLE001 - report every failure
            self.errors.append(f"export raised {type(e).__name__}: {e}")
            return SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS:
            self.errors.append(f"export returned {result.name}")
            return result
        if self.check is not None:
            problem = self.check()
            if problem:
                self.errors.append(problem)
                return SpanExportResult.FAILURE
        self.exported += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def _hex_trace(ctx) -> str:
    return format(ctx.trace_id, "032x")


def _hex_span(ctx) -> str:
    return format(ctx.span_id, "016x")


def _jsonable(attrs: Dict[str, Any]) -> Dict[str, Any]:
    return dict(attrs)


def build_and_send(
    *,
    client: str,
    transport: str,
    endpoint: str,
    args: argparse.Namespace,
    make_exporter: Callable[[], SpanExporter],
    check: Optional[Callable[[SpanExporter], Optional[str]]] = None,
    extra: Optional[Dict[str, Any]] = None,
) -> int:
    """Creates the provider, the real exporter (wrapped), emits the trace,
    flushes and shuts down, prints the JSON line; returns the exit code."""
    if args.spans < 1:
        die("--spans must be >= 1")

    log_errors = LogErrors()
    logging.getLogger("opentelemetry").addHandler(log_errors)
    logging.getLogger("opentelemetry").setLevel(logging.WARNING)

    resource = Resource.create(
        {
            "service.name": args.service,
            "service.version": "1.2.3",
            "skein.run_id": args.run_id,
        }
    )
    ids = ZeroTraceIdOnce()
    provider = TracerProvider(resource=resource, id_generator=ids)
    # Global provider first: the Jaeger exporter reads the service name from it.
    trace.set_tracer_provider(provider)

    try:
        real = make_exporter()
    except Exception as e:  # noqa: BLE001
        die(f"cannot create exporter: {type(e).__name__}: {e}", 1)
    recorder = RecordingExporter(real, (lambda: check(real)) if check else None)
    provider.add_span_processor(
        BatchSpanProcessor(
            recorder,
            max_export_batch_size=max(512, args.spans),
            schedule_delay_millis=60_000,  # export only on flush: one batch
            export_timeout_millis=int(args.timeout * 1000),
        )
    )
    tracer = provider.get_tracer("skein-e2e-clients", "0.1.0")

    # Whole microseconds, root covers everything.
    base_ns = (time.time_ns() // 1000) * 1000
    us = 1000
    spans_out: List[Dict[str, Any]] = []

    def record(span, parent_ctx, start_ns, end_ns, kind, attrs, events, status, links):
        ctx = span.get_span_context()
        spans_out.append(
            {
                "name": span.name,
                "trace_id": _hex_trace(ctx),
                "span_id": _hex_span(ctx),
                "parent_span_id": _hex_span(parent_ctx) if parent_ctx else None,
                "kind": kind.name,
                "status": status,
                "start_us": start_ns // 1000,
                "duration_us": (end_ns - start_ns) // 1000,
                "attributes": _jsonable(attrs),
                "events": events,
                "links": links,
            }
        )

    root_start, root_end = base_ns, base_ns + 50_000 * us
    root_attrs = dict(ROOT_ATTRIBUTES, **{"skein.run_id": args.run_id})
    root = tracer.start_span(
        "skein-e2e-root", kind=SpanKind.SERVER, attributes=root_attrs, start_time=root_start
    )
    root_ctx = root.get_span_context()
    parent_of_root = trace.set_span_in_context(root)

    client_span = None
    client_ctx = None
    if args.spans >= 2:
        s, e = base_ns + 1_000 * us, base_ns + 21_000 * us
        attrs = {"peer.service": "skein-downstream", "skein.run_id": args.run_id, "int.attr": 2}
        client_span = tracer.start_span(
            "skein-e2e-client", context=parent_of_root, kind=SpanKind.CLIENT, attributes=attrs, start_time=s
        )
        client_ctx = client_span.get_span_context()
        ev_ts = s + 5_000 * us
        client_span.add_event(EVENT_NAME, attributes=EVENT_ATTRIBUTES, timestamp=ev_ts)
        events = [{"name": EVENT_NAME, "timestamp_us": ev_ts // 1000, "attributes": dict(EVENT_ATTRIBUTES)}]
        # leaves under the client span are created below; end the client last.
        client_times = (s, e, attrs, events)

    if args.spans >= 3:
        s, e = base_ns + 22_000 * us, base_ns + 30_000 * us
        attrs = {"skein.run_id": args.run_id, "bool.attr": False}
        err = tracer.start_span(
            "skein-e2e-error",
            context=parent_of_root,
            kind=SpanKind.INTERNAL,
            attributes=attrs,
            start_time=s,
            links=[Link(client_ctx, {"link.reason": "retry-of"})],
        )
        exc_ts = s + 1_000 * us
        try:
            raise ValueError(ERROR_DESCRIPTION)
        except ValueError as exc:
            err.record_exception(exc, timestamp=exc_ts, escaped=False)
        err.set_status(Status(StatusCode.ERROR, ERROR_DESCRIPTION))
        err.end(end_time=e)
        record(
            err,
            root_ctx,
            s,
            e,
            SpanKind.INTERNAL,
            attrs,
            [{"name": "exception", "timestamp_us": exc_ts // 1000,
              "attributes": {"exception.type": "ValueError", "exception.message": ERROR_DESCRIPTION}}],
            {"code": "ERROR", "description": ERROR_DESCRIPTION},
            [{"trace_id": _hex_trace(client_ctx), "span_id": _hex_span(client_ctx), "attributes": {"link.reason": "retry-of"}}],
        )

    for i in range(3, args.spans):
        kind = LEAF_KINDS[(i - 3) % len(LEAF_KINDS)]
        s = base_ns + (2_000 + (i - 3) * 10) * us
        e = s + 5 * us
        attrs = {"skein.run_id": args.run_id, "leaf.index": i, "float.attr": i / 4}
        leaf = tracer.start_span(
            f"skein-e2e-leaf-{i}",
            context=trace.set_span_in_context(client_span),
            kind=kind,
            attributes=attrs,
            start_time=s,
        )
        leaf.end(end_time=e)
        record(leaf, client_ctx, s, e, kind, attrs, [], {"code": "UNSET"}, [])

    if client_span is not None:
        s, e, attrs, events = client_times
        client_span.set_status(Status(StatusCode.OK))
        client_span.end(end_time=e)
        record(client_span, root_ctx, s, e, SpanKind.CLIENT, attrs, events, {"code": "OK"}, [])

    root.end(end_time=root_end)
    record(root, None, root_start, root_end, SpanKind.SERVER, root_attrs, [], {"code": "UNSET"}, [])

    if args.invalid_span:
        ids.arm()
        invalid = tracer.start_span("skein-e2e-invalid", kind=SpanKind.INTERNAL, start_time=root_start)
        invalid.end(end_time=root_start + 5 * us)

    # Flush, then shut down (BatchSpanProcessor exports on both).
    flushed = provider.force_flush(timeout_millis=int(args.timeout * 1000))
    provider.shutdown()

    errors = list(recorder.errors) + list(log_errors.messages)
    if not flushed:
        errors.append(f"force_flush did not finish within {args.timeout}s")
    expected = args.spans + (1 if args.invalid_span else 0)
    if recorder.exported != expected and not recorder.errors:
        errors.append(f"exported {recorder.exported} spans, expected {expected}")

    order = {"skein-e2e-root": 0, "skein-e2e-client": 1, "skein-e2e-error": 2}
    spans_out.sort(key=lambda d: (order.get(d["name"], 3), d["start_us"]))
    out: Dict[str, Any] = {
        "ok": not errors,
        "client": client,
        "transport": transport,
        "endpoint": endpoint,
        "service": args.service,
        "run_id": args.run_id,
        "trace_id": _hex_trace(root_ctx),
        "span_count": len(spans_out),
        "exported": recorder.exported,
        "invalid_span_sent": bool(args.invalid_span),
        "spans": spans_out,
    }
    if extra:
        out.update(extra)
    if errors:
        out["errors"] = errors
        for m in errors:
            print(f"error: {m}", file=sys.stderr)
    print(json.dumps(out, separators=(",", ":")), flush=True)
    return 0 if not errors else 1
