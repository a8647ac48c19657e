// Command sampling runs the real OpenTelemetry Jaeger remote sampler
// (go.opentelemetry.io/contrib/samplers/jaegerremote) against a sampling
// endpoint and reports which strategy the sampler has applied, as seen through
// its own sampling decisions.
//
// The library polls GET <url>?service=<service> (first poll at start-up, then
// every --interval) and parses the body with gogo jsonpb into
// jaeger.api_v2.SamplingStrategyResponse, e.g.
//
//	{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.5}}
//	{"strategyType":0,"probabilisticSampling":{"samplingRate":0.5}}   (legacy numeric enum)
//
// How the strategy is observed: the sampler's Description() is a constant
// ("JaegerRemoteSampler{}"), so instead this program asks the sampler
// ShouldSample() for a probe span every few milliseconds. The probe's trace id
// has a zero lower half, so any probabilistic rate > 0 samples it; sampled
// results carry the library's attributes jaeger.sampler.type
// ("probabilistic" | "ratelimiting") and jaeger.sampler.param (the rate, or
// max traces per second). Until the first strategy has been applied, an
// initial sampler answers instead and marks its result "skein.initial".
// A probe dropped without attributes is reported as type "drop" (probabilistic
// rate 0, or a rate limiter out of credit).
//
//	sampling --service S [--url http://127.0.0.1:5778/sampling] [--interval 200ms] [--timeout 20s]
//	         [--expect-rate R] [--expect-type probabilistic|ratelimiting|drop] [--operation OP] [--watch]
//
// Without --expect-*: waits for the first remote strategy, prints it, exit 0
// (1 if none was applied before --timeout). With --expect-*: waits until the
// applied strategy matches, exit 0, or prints the last one seen and exits 1 at
// --timeout. --watch also prints a line ("event":"changed") every time the
// observed strategy changes; --watch without --expect-* runs for the whole
// --timeout and exits 0 if any strategy was seen. Exit 2: bad usage.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"go.opentelemetry.io/contrib/samplers/jaegerremote"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"
)

const (
	attrType    = attribute.Key("jaeger.sampler.type")
	attrParam   = attribute.Key("jaeger.sampler.param")
	attrInitial = attribute.Key("skein.initial")
)

// initialSampler answers until the remote sampler has applied a strategy.
type initialSampler struct{}

func (initialSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	return sdktrace.SamplingResult{
		Decision:   sdktrace.RecordAndSample,
		Attributes: []attribute.KeyValue{attrInitial.Bool(true)},
		Tracestate: oteltrace.SpanContextFromContext(p.ParentContext).TraceState(),
	}
}
func (initialSampler) Description() string { return "skein-initial" }

type strategy struct {
	Type  string   `json:"type"`
	Param *float64 `json:"param,omitempty"`
}

type errLog struct {
	mu    sync.Mutex
	count int
	last  string
}

func (e *errLog) sink(prefix, args string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.count++
	e.last = args
	fmt.Fprintf(os.Stderr, "jaegerremote: %s\n", args)
}

type output struct {
	OK          bool      `json:"ok"`
	Event       string    `json:"event"`
	Client      string    `json:"client"`
	URL         string    `json:"url"`
	Request     string    `json:"request"`
	Service     string    `json:"service"`
	Operation   string    `json:"operation"`
	Strategy    *strategy `json:"strategy"`
	Decision    string    `json:"decision"`
	ExpectType  string    `json:"expect_type,omitempty"`
	ExpectRate  *float64  `json:"expect_rate,omitempty"`
	Matched     bool      `json:"matched"`
	ElapsedMs   int64     `json:"elapsed_ms"`
	LogErrors   int       `json:"log_errors"`
	LastLogLine string    `json:"last_log_line,omitempty"`
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func main() { os.Exit(run(os.Args[1:], os.Stdout)) }

func run(args []string, stdout io.Writer) int {
	fs := flag.NewFlagSet("sampling", flag.ContinueOnError)
	u := fs.String("url", envOr("SKEIN_SAMPLING_URL", "http://127.0.0.1:5778/sampling"), "sampling endpoint; the library requests URL?service=NAME (env SKEIN_SAMPLING_URL)")
	service := fs.String("service", envOr("SKEIN_CLIENT_SERVICE", ""), "service name to ask the strategy of (required)")
	operation := fs.String("operation", "skein-probe", "span name of the probe (matters for per-operation strategies)")
	interval := fs.Duration("interval", 200*time.Millisecond, "the sampler's polling interval (WithSamplingRefreshInterval)")
	timeout := fs.Duration("timeout", 20*time.Second, "give up after this long")
	expectRate := fs.String("expect-rate", "", "wait until jaeger.sampler.param equals this (the probabilistic rate, or max traces/s for ratelimiting)")
	expectType := fs.String("expect-type", "", "wait until the strategy type is this: probabilistic, ratelimiting or drop")
	watch := fs.Bool("watch", false, "print a JSON line every time the observed strategy changes")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *service == "" {
		fmt.Fprintln(os.Stderr, "error: --service is required")
		return 2
	}
	if _, err := url.ParseRequestURI(*u); err != nil {
		fmt.Fprintf(os.Stderr, "error: --url: %v\n", err)
		return 2
	}
	var wantRate *float64
	if *expectRate != "" {
		r, err := strconv.ParseFloat(*expectRate, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "error: --expect-rate: %v\n", err)
			return 2
		}
		wantRate = &r
	}
	switch *expectType {
	case "", "probabilistic", "ratelimiting", "drop":
	default:
		fmt.Fprintf(os.Stderr, "error: --expect-type must be probabilistic, ratelimiting or drop\n")
		return 2
	}
	if *interval <= 0 {
		fmt.Fprintln(os.Stderr, "error: --interval must be > 0")
		return 2
	}

	errs := &errLog{}
	sampler := jaegerremote.New(*service,
		jaegerremote.WithSamplingServerURL(*u),
		jaegerremote.WithSamplingRefreshInterval(*interval),
		jaegerremote.WithInitialSampler(initialSampler{}),
		jaegerremote.WithLogger(logr.New(funcr.New(errs.sink, funcr.Options{}).GetSink())),
	)
	defer sampler.Close()

	q := url.Values{}
	q.Set("service", *service)
	base := output{
		Client: "go.opentelemetry.io/contrib/samplers/jaegerremote", URL: *u,
		Request: "GET " + *u + "?" + q.Encode(), Service: *service, Operation: *operation,
		ExpectType: *expectType, ExpectRate: wantRate,
	}

	var probeID oteltrace.TraceID
	probeID[7] = 1 // non-zero id; bytes 8..15 zero => sampled by any rate > 0
	probe := func() (*strategy, string) {
		r := sampler.ShouldSample(sdktrace.SamplingParameters{
			ParentContext: context.Background(),
			TraceID:       probeID,
			Name:          *operation,
			Kind:          oteltrace.SpanKindServer,
		})
		dec := map[sdktrace.SamplingDecision]string{
			sdktrace.Drop: "DROP", sdktrace.RecordOnly: "RECORD_ONLY", sdktrace.RecordAndSample: "RECORD_AND_SAMPLE",
		}[r.Decision]
		var st strategy
		for _, a := range r.Attributes {
			switch a.Key {
			case attrInitial:
				return nil, dec
			case attrType:
				st.Type = a.Value.AsString()
			case attrParam:
				v := a.Value.AsFloat64()
				st.Param = &v
			}
		}
		if st.Type == "" {
			if r.Decision == sdktrace.Drop {
				st.Type = "drop"
			} else {
				st.Type = "unknown"
			}
		}
		return &st, dec
	}
	matches := func(st *strategy) bool {
		if st == nil {
			return false
		}
		if *expectType != "" && st.Type != *expectType {
			return false
		}
		if wantRate != nil {
			if st.Type == "drop" {
				return *wantRate == 0
			}
			if st.Param == nil || math.Abs(*st.Param-*wantRate) > 1e-9 {
				return false
			}
		}
		return true
	}
	same := func(a, b *strategy) bool {
		if a == nil || b == nil {
			return a == b
		}
		if a.Type != b.Type || (a.Param == nil) != (b.Param == nil) {
			return false
		}
		return a.Param == nil || *a.Param == *b.Param
	}
	emit := func(o output) {
		b, _ := json.Marshal(o)
		fmt.Fprintln(stdout, string(b))
	}

	start := time.Now()
	deadline := start.Add(*timeout)
	step := min(*interval/4, 50*time.Millisecond)
	step = max(step, 5*time.Millisecond)
	var cur *strategy
	curDec := ""
	for {
		st, dec := probe()
		// A rate limiter out of credit drops without attributes; that is not a new strategy.
		if st != nil && st.Type == "drop" && cur != nil && cur.Type == "ratelimiting" {
			st, dec = cur, curDec
		}
		changed := !same(st, cur)
		cur, curDec = st, dec
		o := base
		o.Strategy, o.Decision, o.ElapsedMs = cur, curDec, time.Since(start).Milliseconds()
		errs.mu.Lock()
		o.LogErrors, o.LastLogLine = errs.count, errs.last
		errs.mu.Unlock()
		done := false
		if (*expectType != "" || wantRate != nil) && matches(cur) {
			o.Matched, o.OK, o.Event, done = true, true, "matched", true
		} else if *expectType == "" && wantRate == nil && cur != nil && !*watch {
			o.Matched, o.OK, o.Event, done = true, true, "strategy", true
		}
		if *watch && changed && cur != nil && !done {
			o.Event, o.OK = "changed", true
			emit(o)
		}
		if done {
			emit(o)
			return 0
		}
		if time.Now().After(deadline) {
			o.Event = "timeout"
			if *watch && *expectType == "" && wantRate == nil && cur != nil {
				// --watch alone: ran for --timeout and saw a strategy; that is success.
				o.OK, o.Event = true, "end"
				emit(o)
				return 0
			}
			emit(o)
			fmt.Fprintf(os.Stderr, "error: after %s the sampler for %q shows strategy %s, not the one expected\n",
				*timeout, *service, describe(cur))
			return 1
		}
		time.Sleep(step)
	}
}

func describe(s *strategy) string {
	if s == nil {
		return "none (no strategy applied yet; see log errors above)"
	}
	if s.Param == nil {
		return s.Type
	}
	return fmt.Sprintf("%s(%g)", s.Type, *s.Param)
}
