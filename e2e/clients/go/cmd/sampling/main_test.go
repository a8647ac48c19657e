package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// server serves whatever body is current and records the requested URIs.
type server struct {
	mu   sync.Mutex
	body string
	code int
	reqs []string
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, r.Method+" "+r.URL.RequestURI())
	if s.code != 0 {
		w.WriteHeader(s.code)
	}
	w.Write([]byte(s.body))
}

func (s *server) set(body string) { s.mu.Lock(); s.body = body; s.mu.Unlock() }

func start(t *testing.T, body string) (*server, string) {
	s := &server{body: body}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL + "/sampling"
}

func lastLine(t *testing.T, b *bytes.Buffer) map[string]any {
	t.Helper()
	var last map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.Bytes()))
	for sc.Scan() {
		last = nil
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
	}
	return last
}

func strat(out map[string]any) (string, float64) {
	s, _ := out["strategy"].(map[string]any)
	p, _ := s["param"].(float64)
	typ, _ := s["type"].(string)
	return typ, p
}

func TestFormatsJaegerServes(t *testing.T) {
	cases := []struct {
		body, typ string
		param     float64
	}{
		{`{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.5}}`, "probabilistic", 0.5},
		{`{"strategyType":0,"probabilisticSampling":{"samplingRate":0.25}}`, "probabilistic", 0.25},
		{`{"strategyType":"RATE_LIMITING","rateLimitingSampling":{"maxTracesPerSecond":7}}`, "ratelimiting", 7},
		{`{"strategyType":1,"rateLimitingSampling":{"maxTracesPerSecond":3}}`, "ratelimiting", 3},
		{`{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.5},"operationSampling":{"defaultSamplingProbability":0.1,"defaultLowerBoundTracesPerSecond":0.5,"perOperationStrategies":[{"operation":"op-a","probabilisticSampling":{"samplingRate":0.9}}]}}`, "probabilistic", 0.1},
	}
	for _, c := range cases {
		srv, u := start(t, c.body)
		var buf bytes.Buffer
		code := run([]string{"--service", "svc a", "--url", u, "--timeout", "3s"}, &buf)
		out := lastLine(t, &buf)
		typ, p := strat(out)
		if code != 0 || typ != c.typ || p != c.param {
			t.Errorf("%s: exit %d, saw %s %v: %v", c.body, code, typ, p, out)
		}
		if srv.reqs[0] != "GET /sampling?service=svc+a" {
			t.Errorf("request %q", srv.reqs[0])
		}
	}
}

func TestPerOperation(t *testing.T) {
	_, u := start(t, `{"strategyType":"PROBABILISTIC","operationSampling":{"defaultSamplingProbability":0.1,"perOperationStrategies":[{"operation":"op-a","probabilisticSampling":{"samplingRate":0.9}}]}}`)
	var buf bytes.Buffer
	if code := run([]string{"--service", "s", "--url", u, "--operation", "op-a", "--expect-rate", "0.9", "--timeout", "3s"}, &buf); code != 0 {
		t.Fatalf("exit %d: %s", code, buf.String())
	}
}

func TestSeesChangedStrategy(t *testing.T) {
	srv, u := start(t, `{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.5}}`)
	go func() {
		time.Sleep(500 * time.Millisecond)
		srv.set(`{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.25}}`)
	}()
	var buf bytes.Buffer
	code := run([]string{"--service", "s", "--url", u, "--interval", "100ms", "--watch", "--expect-rate", "0.25", "--timeout", "5s"}, &buf)
	out := lastLine(t, &buf)
	if code != 0 || out["event"] != "matched" {
		t.Fatalf("exit %d: %s", code, buf.String())
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"event":"changed"`)) {
		t.Errorf("no changed line for the first strategy: %s", buf.String())
	}
}

func TestRejectedBodiesAreNotApplied(t *testing.T) {
	for _, body := range []string{
		`garbage`,
		`{}`,
		`{"strategyType":"probabilistic","probabilisticSampling":{"samplingRate":0.5}}`,           // enum names are upper case
		`{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.5},"extra":1}`, // unknown fields rejected
	} {
		_, u := start(t, body)
		var buf bytes.Buffer
		code := run([]string{"--service", "s", "--url", u, "--timeout", "500ms"}, &buf)
		out := lastLine(t, &buf)
		if code != 1 || out["strategy"] != nil || out["log_errors"].(float64) == 0 {
			t.Errorf("%s: exit %d %v", body, code, out)
		}
	}
	srv, u := start(t, `{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.5}}`)
	srv.code = 404
	var buf bytes.Buffer
	if code := run([]string{"--service", "s", "--url", u, "--timeout", "500ms"}, &buf); code != 1 {
		t.Errorf("HTTP 404 accepted: %s", buf.String())
	}
}

func TestExpectMismatchTimesOut(t *testing.T) {
	_, u := start(t, `{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.5}}`)
	var buf bytes.Buffer
	code := run([]string{"--service", "s", "--url", u, "--expect-rate", "0.3", "--timeout", "500ms"}, &buf)
	out := lastLine(t, &buf)
	if code != 1 || out["event"] != "timeout" || out["matched"] != false {
		t.Fatalf("exit %d %v", code, out)
	}
}
