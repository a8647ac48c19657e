// promql-names prints every metric an alert rules file and a Grafana dashboard name, one
// "NAME<TAB>WHERE" line each, sorted, using Prometheus's own rule loader and PromQL parser (so
// the check compares what Prometheus would query, not what a regular expression guesses).
//
//	promql-names -rules alerts.yaml -dashboard skein.json
//
// Exit status 1 when a file does not load or an expression does not parse.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// Grafana's interval variables stand where PromQL wants a duration.
var grafanaDuration = regexp.MustCompile(`\$\{?__(rate_interval|interval|range)\}?`)

// label_values(metric{...}, label) in a dashboard variable: its first argument is a selector.
var labelValues = regexp.MustCompile(`^\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$`)

func main() {
	rules := flag.String("rules", "", "Prometheus rules file")
	dashboard := flag.String("dashboard", "", "Grafana dashboard JSON")
	flag.Parse()
	promql := parser.NewParser(parser.Options{})
	names := map[string][]string{}
	failed := false
	add := func(where, expr string) {
		parsed, err := promql.ParseExpr(grafanaDuration.ReplaceAllString(expr, "5m"))
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: expression does not parse: %v\n  %s\n", where, err, expr)
			failed = true
			return
		}
		parser.Inspect(parsed, func(node parser.Node, _ []parser.Node) error {
			if vs, ok := node.(*parser.VectorSelector); ok {
				name := vs.Name
				if name == "" {
					for _, m := range vs.LabelMatchers {
						if m.Name == "__name__" {
							name = m.Value
						}
					}
				}
				if name == "" {
					fmt.Fprintf(os.Stderr, "%s: a selector without a metric name (%s) cannot be checked; name the metric\n", where, vs)
					failed = true
					return nil
				}
				names[name] = append(names[name], where)
			}
			return nil
		})
	}
	if *rules != "" {
		groups, errs := rulefmt.ParseFile(*rules, false, model.UTF8Validation, promql, slog.Default())
		for _, err := range errs {
			fmt.Fprintf(os.Stderr, "%s: %v\n", *rules, err)
			failed = true
		}
		if groups != nil {
			for _, g := range groups.Groups {
				for _, r := range g.Rules {
					what := r.Alert
					if what == "" {
						what = r.Record
					}
					add(fmt.Sprintf("%s: %s/%s", *rules, g.Name, what), r.Expr)
				}
			}
		}
	}
	if *dashboard != "" {
		raw, err := os.ReadFile(*dashboard)
		var doc any
		if err == nil {
			err = json.Unmarshal(raw, &doc)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", *dashboard, err)
			os.Exit(1)
		}
		walk(doc, "", func(path, expr string) { add(*dashboard+": "+path, expr) })
	}
	out := make([]string, 0, len(names))
	for name, wheres := range names {
		out = append(out, name+"\t"+strings.Join(dedupe(wheres), "; "))
	}
	sort.Strings(out)
	for _, line := range out {
		fmt.Println(line)
	}
	if failed {
		os.Exit(1)
	}
}

// walk finds the PromQL of a dashboard: every target's "expr" and every query variable's query.
func walk(node any, path string, found func(path, expr string)) {
	switch v := node.(type) {
	case map[string]any:
		title, _ := v["title"].(string)
		if title == "" {
			title, _ = v["name"].(string)
		}
		here := path
		if title != "" {
			here = strings.TrimPrefix(path+" > "+title, " > ")
		}
		if expr, ok := v["expr"].(string); ok && expr != "" {
			found(here, expr)
		}
		if v["type"] == "query" {
			if q := variableQuery(v["query"]); q != "" {
				if m := labelValues.FindStringSubmatch(q); m != nil {
					found(here, m[1])
				} else if !strings.HasPrefix(strings.TrimSpace(q), "label_values(") {
					found(here, q)
				}
			}
		}
		for key, child := range v {
			if key != "query" {
				walk(child, here, found)
			}
		}
	case []any:
		for _, child := range v {
			walk(child, path, found)
		}
	}
}

// variableQuery is a query variable's PromQL: a string, or {"query": "..."} in newer dashboards.
func variableQuery(q any) string {
	switch v := q.(type) {
	case string:
		return v
	case map[string]any:
		s, _ := v["query"].(string)
		return s
	}
	return ""
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
