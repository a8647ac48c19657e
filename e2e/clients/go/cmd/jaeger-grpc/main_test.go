package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"sync"
	"testing"

	model "github.com/jaegertracing/jaeger-idl/model/v1"
	api_v2 "github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"skein/e2e/clients/internal/gogocodec"
)

// fake is an in-process Jaeger collector: it keeps the batches it is sent and
// answers GetSamplingStrategy with a fixed response.
type fake struct {
	api_v2.UnimplementedCollectorServiceServer
	api_v2.UnimplementedSamplingManagerServer
	mu      sync.Mutex
	batches []model.Batch
	fail    bool
}

func (f *fake) PostSpans(_ context.Context, r *api_v2.PostSpansRequest) (*api_v2.PostSpansResponse, error) {
	if f.fail {
		return nil, status.Error(codes.ResourceExhausted, "queue full")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches = append(f.batches, r.Batch)
	return &api_v2.PostSpansResponse{}, nil
}

func (f *fake) GetSamplingStrategy(_ context.Context, p *api_v2.SamplingStrategyParameters) (*api_v2.SamplingStrategyResponse, error) {
	if p.ServiceName == "unknown" {
		return nil, status.Error(codes.NotFound, "no strategy")
	}
	return &api_v2.SamplingStrategyResponse{
		StrategyType:          api_v2.SamplingStrategyType_PROBABILISTIC,
		ProbabilisticSampling: &api_v2.ProbabilisticSamplingStrategy{SamplingRate: 0.25},
	}, nil
}

func startFake(t *testing.T) (*fake, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodec(gogocodec.New()))
	f := &fake{}
	api_v2.RegisterCollectorServiceServer(srv, f)
	api_v2.RegisterSamplingManagerServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return f, lis.Addr().String()
}

func capture(t *testing.T, fn func() int) (int, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	stdout = &buf
	code := fn()
	var out map[string]any
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatalf("output is not one JSON object: %v: %q", err, buf.String())
	}
	return code, out
}

func TestPostSpansReachesCollector(t *testing.T) {
	f, addr := startFake(t)
	code, out := capture(t, func() int {
		return runPost([]string{"--addr", addr, "--service", "svc-x", "--spans", "6", "--run-id", "r1"})
	})
	if code != 0 || out["ok"] != true {
		t.Fatalf("exit %d, out %v", code, out)
	}
	if len(f.batches) != 1 {
		t.Fatalf("want 1 batch, got %d", len(f.batches))
	}
	b := f.batches[0]
	if b.Process.ServiceName != "svc-x" || len(b.Spans) != 6 {
		t.Fatalf("batch process %v, %d spans", b.Process, len(b.Spans))
	}
	printed := out["spans"].([]any)
	for i, sp := range b.Spans {
		p := printed[i].(map[string]any)
		if traceHex(sp.TraceID) != out["trace_id"] || spanHex(sp.SpanID) != p["span_id"] || sp.OperationName != p["operation_name"] {
			t.Errorf("span %d: received %s/%s %q, printed %v", i, traceHex(sp.TraceID), spanHex(sp.SpanID), sp.OperationName, p)
		}
		if uint64(sp.StartTime.UnixMicro()) != uint64(p["start_us"].(float64)) {
			t.Errorf("span %d: start %v vs printed %v", i, sp.StartTime.UnixMicro(), p["start_us"])
		}
	}
	refTypes := map[model.SpanRefType]int{}
	valueTypes := map[model.ValueType]int{}
	for _, sp := range b.Spans {
		for _, r := range sp.References {
			refTypes[r.RefType]++
		}
		for _, kv := range sp.Tags {
			valueTypes[kv.VType]++
		}
	}
	if refTypes[model.SpanRefType_CHILD_OF] == 0 || refTypes[model.SpanRefType_FOLLOWS_FROM] == 0 {
		t.Errorf("reference types sent: %v", refTypes)
	}
	if len(valueTypes) != 5 {
		t.Errorf("tag value types sent: %v", valueTypes)
	}
	if len(b.Spans[1].Logs) != 2 || b.Spans[2].Flags != model.SampledFlag|model.DebugFlag {
		t.Errorf("logs %d flags %v", len(b.Spans[1].Logs), b.Spans[2].Flags)
	}
}

func TestPostSpansShortTraceID(t *testing.T) {
	f, addr := startFake(t)
	code, out := capture(t, func() int { return runPost([]string{"--addr", addr, "--spans", "1", "--trace-id", "00ab"}) })
	if code != 0 || out["trace_id"] != "000000000000000000000000000000ab" || out["trace_id_jaeger"] != "00000000000000ab" {
		t.Fatalf("exit %d out %v", code, out)
	}
	if got := f.batches[0].Spans[0].TraceID; got.High != 0 || got.Low != 0xab {
		t.Fatalf("received trace id %v", got)
	}
}

func TestPostSpansFailureIsReported(t *testing.T) {
	f, addr := startFake(t)
	f.fail = true
	code, out := capture(t, func() int { return runPost([]string{"--addr", addr}) })
	if code != 1 || out["ok"] != false || out["error"] == nil {
		t.Fatalf("exit %d out %v", code, out)
	}
	code, out = capture(t, func() int { return runPost([]string{"--addr", "127.0.0.1:1", "--timeout", "2s"}) })
	if code != 1 || out["ok"] != false {
		t.Fatalf("closed port: exit %d out %v", code, out)
	}
}

func TestGetSamplingStrategy(t *testing.T) {
	_, addr := startFake(t)
	code, out := capture(t, func() int { return runSampling([]string{"--addr", addr, "--service", "svc-x"}) })
	if code != 0 {
		t.Fatalf("exit %d out %v", code, out)
	}
	resp := out["response"].(map[string]any)
	if resp["strategyType"] != "PROBABILISTIC" || resp["probabilisticSampling"].(map[string]any)["samplingRate"] != 0.25 {
		t.Fatalf("response %v", resp)
	}
	code, out = capture(t, func() int { return runSampling([]string{"--addr", addr, "--service", "unknown"}) })
	if code != 1 || out["ok"] != false {
		t.Fatalf("unknown service: exit %d out %v", code, out)
	}
}
