// Command jaeger-grpc is a Jaeger gRPC client built from Jaeger's own api_v2
// protobuf contract (the generated Go package of github.com/jaegertracing/jaeger-idl,
// proto-gen/api_v2 + model/v1), for skein's end-to-end tests.
//
//	jaeger-grpc [post] [--addr 127.0.0.1:14250] [--service S] [--spans N] [--run-id ID]
//	    calls jaeger.api_v2.CollectorService/PostSpans with one Batch; prints one
//	    JSON line describing every span sent (ids as hex); exit 0 on success.
//	jaeger-grpc sampling [--addr 127.0.0.1:14250] --service S
//	    calls jaeger.api_v2.SamplingManager/GetSamplingStrategy; prints the
//	    response as one JSON line (jsonpb, camelCase, enums as names).
//
// Exit status: 0 success, 1 RPC failure (the JSON line is still printed, with
// "ok":false and "error"), 2 bad usage.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gogo/protobuf/jsonpb"
	model "github.com/jaegertracing/jaeger-idl/model/v1"
	api_v2 "github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"skein/e2e/clients/internal/gogocodec"
)

const (
	rpcPostSpans   = "/jaeger.api_v2.CollectorService/PostSpans"
	rpcGetStrategy = "/jaeger.api_v2.SamplingManager/GetSamplingStrategy"
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func usage(fs *flag.FlagSet) func() {
	return func() {
		fmt.Fprintf(fs.Output(), "usage: jaeger-grpc [post|sampling] [flags]\n")
		fs.PrintDefaults()
	}
}

func main() {
	args := os.Args[1:]
	cmd := "post"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "post":
		os.Exit(runPost(args))
	case "sampling":
		os.Exit(runSampling(args))
	default:
		fmt.Fprintf(os.Stderr, "error: unknown subcommand %q (want post or sampling)\n", cmd)
		os.Exit(2)
	}
}

func dial(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(gogocodec.New())),
	)
}

// stdout receives the JSON line (a variable so the tests can capture it).
var stdout io.Writer = os.Stdout

func printJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: encoding output: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintln(stdout, string(b))
}

func rpcError(err error) string {
	if s, ok := status.FromError(err); ok {
		return fmt.Sprintf("%s: %s", s.Code(), s.Message())
	}
	return err.Error()
}

// ------------------------------------------------------------------ post ----

type outRef struct {
	RefType string `json:"ref_type"`
	TraceID string `json:"trace_id"`
	SpanID  string `json:"span_id"`
}

type outLog struct {
	TimestampUs int64          `json:"timestamp_us"`
	Fields      map[string]any `json:"fields"`
}

type outSpan struct {
	Name          string         `json:"operation_name"`
	TraceID       string         `json:"trace_id"`
	SpanID        string         `json:"span_id"`
	ParentSpanID  *string        `json:"parent_span_id"` // as Jaeger's Span.ParentSpanID()
	References    []outRef       `json:"references"`
	Flags         uint32         `json:"flags"`
	StartUs       int64          `json:"start_us"`
	DurationUs    int64          `json:"duration_us"`
	Tags          map[string]any `json:"tags"`
	Logs          []outLog       `json:"logs"`
	ProcessOnSpan bool           `json:"process_on_span,omitempty"`
}

type postOut struct {
	OK        bool           `json:"ok"`
	Client    string         `json:"client"`
	RPC       string         `json:"rpc"`
	Addr      string         `json:"addr"`
	Service   string         `json:"service"`
	RunID     string         `json:"run_id"`
	TraceID   string         `json:"trace_id"`
	TraceIDJ  string         `json:"trace_id_jaeger"`
	SpanCount int            `json:"span_count"`
	Process   map[string]any `json:"process_tags"`
	Spans     []outSpan      `json:"spans"`
	ElapsedMs int64          `json:"elapsed_ms"`
	Error     string         `json:"error,omitempty"`
}

func tagValue(kv model.KeyValue) any {
	switch kv.VType {
	case model.ValueType_BINARY:
		return hex.EncodeToString(kv.VBinary)
	default:
		return kv.Value()
	}
}

func tagMap(kvs []model.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = tagValue(kv)
	}
	return m
}

func randUint64() uint64 {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic(err)
		}
		if v := binary.BigEndian.Uint64(b[:]); v != 0 {
			return v
		}
	}
}

func spanHex(id model.SpanID) string { return fmt.Sprintf("%016x", uint64(id)) }
func traceHex(t model.TraceID) string {
	return fmt.Sprintf("%016x%016x", t.High, t.Low)
}

func runPost(args []string) int {
	fs := flag.NewFlagSet("jaeger-grpc post", flag.ContinueOnError)
	fs.Usage = usage(fs)
	addr := fs.String("addr", envOr("SKEIN_JAEGER_GRPC_ADDR", "127.0.0.1:14250"), "collector gRPC HOST:PORT (env SKEIN_JAEGER_GRPC_ADDR)")
	service := fs.String("service", envOr("SKEIN_CLIENT_SERVICE", "skein-e2e-go-grpc"), "process service name (env SKEIN_CLIENT_SERVICE)")
	nspans := fs.Int("spans", 4, "number of spans in the trace, >= 1")
	runID := fs.String("run-id", "", "value of the skein.run_id tag on every span (default: random hex)")
	traceIDFlag := fs.String("trace-id", "", "trace id as 1-32 hex digits (default: random 128-bit; give 16 digits or fewer for a 64-bit id)")
	processOnSpans := fs.Bool("process-on-spans", false, "also put the Process on every span (Span.process), besides Batch.process")
	timeout := fs.Duration("timeout", 10*time.Second, "deadline of the RPC")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *nspans < 1 {
		fmt.Fprintln(os.Stderr, "error: --spans must be >= 1")
		return 2
	}
	if *runID == "" {
		*runID = fmt.Sprintf("%016x", randUint64())
	}
	traceID := model.NewTraceID(randUint64(), randUint64())
	if *traceIDFlag != "" {
		t, err := model.TraceIDFromString(*traceIDFlag)
		if err != nil {
			fmt.Fprintf(os.Stderr, "error: --trace-id: %v\n", err)
			return 2
		}
		traceID = t
	}

	process := &model.Process{
		ServiceName: *service,
		Tags: []model.KeyValue{
			model.String("hostname", "skein-e2e-host"),
			model.String("ip", "127.0.0.1"),
			model.String("jaeger.version", "Go-skein-e2e-1.0"),
			model.String("client-uuid", *runID),
			model.Int64("process.pid", int64(os.Getpid())),
			model.Bool("process.test", true),
			model.Float64("process.load", 0.5),
		},
	}

	base := time.UnixMicro(time.Now().UnixMicro()).UTC()
	ms := time.Millisecond
	ids := make([]model.SpanID, *nspans)
	for i := range ids {
		ids[i] = model.NewSpanID(randUint64())
	}
	spans := make([]*model.Span, 0, *nspans)
	out := make([]outSpan, 0, *nspans)
	add := func(i int, name string, refs []model.SpanRef, flags model.Flags, start time.Time, dur time.Duration, tags []model.KeyValue, logs []model.Log) {
		tags = append(tags, model.String("skein.run_id", *runID))
		sp := &model.Span{
			TraceID:       traceID,
			SpanID:        ids[i],
			OperationName: name,
			References:    refs,
			Flags:         flags,
			StartTime:     start,
			Duration:      dur,
			Tags:          tags,
			Logs:          logs,
		}
		if *processOnSpans {
			sp.Process = process
		}
		spans = append(spans, sp)
		o := outSpan{
			Name: name, TraceID: traceHex(traceID), SpanID: spanHex(ids[i]),
			References: []outRef{}, Flags: uint32(flags),
			StartUs: start.UnixMicro(), DurationUs: dur.Microseconds(),
			Tags: tagMap(tags), Logs: []outLog{}, ProcessOnSpan: *processOnSpans,
		}
		for _, r := range refs {
			o.References = append(o.References, outRef{RefType: r.RefType.String(), TraceID: traceHex(r.TraceID), SpanID: spanHex(r.SpanID)})
		}
		// Jaeger's rule: the first same-trace CHILD_OF, else the first FOLLOWS_FROM.
		if pid := sp.ParentSpanID(); pid != 0 {
			p := spanHex(pid)
			o.ParentSpanID = &p
		}
		for _, l := range logs {
			o.Logs = append(o.Logs, outLog{TimestampUs: l.Timestamp.UnixMicro(), Fields: tagMap(l.Fields)})
		}
		out = append(out, o)
	}

	// 0: root, SERVER, a tag of every value type.
	add(0, "jaeger-grpc-root", []model.SpanRef{}, model.SampledFlag, base, 50*ms, []model.KeyValue{
		model.String("span.kind", "server"),
		model.String("str.tag", "hello skein"),
		model.Bool("bool.tag", true),
		model.Int64("int.tag", -42),
		model.Float64("float.tag", 3.5),
		model.Binary("binary.tag", []byte{0xde, 0xad, 0xbe, 0xef}),
	}, nil)
	if *nspans >= 2 {
		// 1: CHILD_OF root, CLIENT, two logs with fields of every type.
		add(1, "jaeger-grpc-client", []model.SpanRef{model.NewChildOfRef(traceID, ids[0])}, model.SampledFlag,
			base.Add(1*ms), 20*ms, []model.KeyValue{
				model.String("span.kind", "client"),
				model.String("peer.service", "skein-downstream"),
				model.Int64("http.status_code", 200),
			}, []model.Log{
				{Timestamp: base.Add(2 * ms), Fields: []model.KeyValue{
					model.String("event", "cache.miss"),
					model.String("log.str", "key-17"),
					model.Bool("log.bool", false),
					model.Int64("log.int", 7),
					model.Float64("log.float", 0.25),
					model.Binary("log.binary", []byte{0x01, 0x02}),
				}},
				{Timestamp: base.Add(3 * ms), Fields: []model.KeyValue{model.String("message", "retrying")}},
			})
	}
	if *nspans >= 3 {
		// 2: CHILD_OF root + FOLLOWS_FROM span 1, error, debug flag.
		add(2, "jaeger-grpc-error", []model.SpanRef{
			model.NewChildOfRef(traceID, ids[0]),
			model.NewFollowsFromRef(traceID, ids[1]),
		}, model.SampledFlag|model.DebugFlag, base.Add(22*ms), 8*ms, []model.KeyValue{
			model.String("span.kind", "internal"),
			model.Bool("error", true),
			model.String("otel.status_code", "ERROR"),
		}, []model.Log{{Timestamp: base.Add(23 * ms), Fields: []model.KeyValue{
			model.String("event", "error"),
			model.String("error.kind", "ValueError"),
			model.String("message", "simulated failure"),
		}}})
	}
	if *nspans >= 4 {
		// 3: FOLLOWS_FROM span 2 only (no CHILD_OF), PRODUCER.
		add(3, "jaeger-grpc-follower", []model.SpanRef{model.NewFollowsFromRef(traceID, ids[2])}, model.SampledFlag,
			base.Add(31*ms), 10*ms, []model.KeyValue{model.String("span.kind", "producer")}, nil)
	}
	for i := 4; i < *nspans; i++ {
		// 4+: leaves, CHILD_OF span 1.
		add(i, fmt.Sprintf("jaeger-grpc-leaf-%d", i), []model.SpanRef{model.NewChildOfRef(traceID, ids[1])}, model.SampledFlag,
			base.Add(time.Duration(4000+10*(i-4))*time.Microsecond), 5*time.Microsecond,
			[]model.KeyValue{model.String("span.kind", "consumer"), model.Int64("leaf.index", int64(i))}, nil)
	}

	res := postOut{
		Client: "go-jaeger-idl-grpc", RPC: rpcPostSpans, Addr: *addr, Service: *service, RunID: *runID,
		TraceID: traceHex(traceID), TraceIDJ: traceID.String(), SpanCount: len(out),
		Process: tagMap(process.Tags), Spans: out,
	}
	start := time.Now()
	err := func() error {
		conn, err := dial(*addr)
		if err != nil {
			return err
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		_, err = api_v2.NewCollectorServiceClient(conn).PostSpans(ctx, &api_v2.PostSpansRequest{
			Batch: model.Batch{Spans: spans, Process: process},
		})
		return err
	}()
	res.ElapsedMs = time.Since(start).Milliseconds()
	if err != nil {
		res.Error = fmt.Sprintf("%s to %s: %s", rpcPostSpans, *addr, rpcError(err))
		fmt.Fprintf(os.Stderr, "error: %s\n", res.Error)
		printJSON(res)
		return 1
	}
	res.OK = true
	printJSON(res)
	return 0
}

// -------------------------------------------------------------- sampling ----

func runSampling(args []string) int {
	fs := flag.NewFlagSet("jaeger-grpc sampling", flag.ContinueOnError)
	fs.Usage = usage(fs)
	addr := fs.String("addr", envOr("SKEIN_JAEGER_GRPC_ADDR", "127.0.0.1:14250"), "collector gRPC HOST:PORT (env SKEIN_JAEGER_GRPC_ADDR)")
	service := fs.String("service", envOr("SKEIN_CLIENT_SERVICE", ""), "service to ask the strategy of (required)")
	timeout := fs.Duration("timeout", 10*time.Second, "deadline of the RPC")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *service == "" {
		fmt.Fprintln(os.Stderr, "error: --service is required")
		return 2
	}
	type out struct {
		OK       bool            `json:"ok"`
		RPC      string          `json:"rpc"`
		Addr     string          `json:"addr"`
		Service  string          `json:"service"`
		Response json.RawMessage `json:"response,omitempty"`
		Error    string          `json:"error,omitempty"`
	}
	res := out{RPC: rpcGetStrategy, Addr: *addr, Service: *service}
	resp, err := func() (*api_v2.SamplingStrategyResponse, error) {
		conn, err := dial(*addr)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		return api_v2.NewSamplingManagerClient(conn).GetSamplingStrategy(ctx, &api_v2.SamplingStrategyParameters{ServiceName: *service})
	}()
	if err == nil {
		var buf bytes.Buffer
		// EmitDefaults: PROBABILISTIC is enum value 0 and would vanish otherwise.
		if err = (&jsonpb.Marshaler{EmitDefaults: true}).Marshal(&buf, resp); err != nil {
			err = errors.New("encoding response as JSON: " + err.Error())
		} else {
			res.Response = buf.Bytes()
		}
	}
	if err != nil {
		res.Error = fmt.Sprintf("%s to %s: %s", rpcGetStrategy, *addr, rpcError(err))
		fmt.Fprintf(os.Stderr, "error: %s\n", res.Error)
		printJSON(res)
		return 1
	}
	res.OK = true
	printJSON(res)
	return 0
}
