// Package metrics counts what the server does and writes it in the
// Prometheus text exposition format, with no dependency: request counts by
// service, operation and outcome, request durations as histograms, and
// gauges read from the rest of the server when scraped.
//
// # Concurrency
//
// A *Registry is safe for concurrent use; recording a request takes no lock
// once its series exists.
package metrics

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// buckets are the upper bounds, in seconds, of the duration histograms:
// from 50 µs (a cached Encrypt) to 10 s.
var buckets = []float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10}

type series struct {
	count  atomic.Uint64
	errors atomic.Uint64
	sumNs  atomic.Uint64
	bucket [17]atomic.Uint64 // len(buckets)+1: the last is +Inf
}

type seriesKey struct{ service, operation string }

type codeKey struct{ service, operation, code string }

// Gauge is a value read when metrics are scraped.
type Gauge struct {
	Name, Help string
	Value      func() float64
}

// Registry holds the server's metrics.
type Registry struct {
	series sync.Map // seriesKey → *series
	codes  sync.Map // codeKey → *atomic.Uint64
	start  time.Time

	mu     sync.Mutex
	gauges []Gauge
}

// New returns an empty registry.
func New() *Registry { return &Registry{start: time.Now()} }

// AddGauge registers a gauge.
func (r *Registry) AddGauge(g Gauge) {
	r.mu.Lock()
	r.gauges = append(r.gauges, g)
	r.mu.Unlock()
}

// Observe records one request: its service ("kms", "iam", …), operation, the
// AWS error code ("" for success) and how long it took.
func (r *Registry) Observe(service, operation, code string, d time.Duration) {
	k := seriesKey{service, operation}
	v, ok := r.series.Load(k)
	if !ok {
		v, _ = r.series.LoadOrStore(k, &series{})
	}
	s := v.(*series)
	s.count.Add(1)
	s.sumNs.Add(uint64(d.Nanoseconds()))
	sec := d.Seconds()
	i := sort.SearchFloat64s(buckets, sec)
	s.bucket[i].Add(1)
	if code != "" {
		s.errors.Add(1)
		ck := codeKey{service, operation, code}
		c, ok := r.codes.Load(ck)
		if !ok {
			c, _ = r.codes.LoadOrStore(ck, new(atomic.Uint64))
		}
		c.(*atomic.Uint64).Add(1)
	}
}

// WriteTo writes every metric in the Prometheus text format.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	type entry struct {
		k seriesKey
		s *series
	}
	var es []entry
	r.series.Range(func(k, v any) bool {
		es = append(es, entry{k.(seriesKey), v.(*series)})
		return true
	})
	sort.Slice(es, func(i, j int) bool {
		if es[i].k.service != es[j].k.service {
			return es[i].k.service < es[j].k.service
		}
		return es[i].k.operation < es[j].k.operation
	})
	b.WriteString("# HELP trent_requests_total Requests answered, by service and operation.\n# TYPE trent_requests_total counter\n")
	for _, e := range es {
		fmt.Fprintf(&b, "trent_requests_total{service=%q,operation=%q} %d\n", e.k.service, e.k.operation, e.s.count.Load())
	}
	b.WriteString("# HELP trent_request_errors_total Requests answered with an error, by service, operation and AWS error code.\n# TYPE trent_request_errors_total counter\n")
	type centry struct {
		k codeKey
		n uint64
	}
	var cs []centry
	r.codes.Range(func(k, v any) bool {
		cs = append(cs, centry{k.(codeKey), v.(*atomic.Uint64).Load()})
		return true
	})
	sort.Slice(cs, func(i, j int) bool {
		a, c := cs[i].k, cs[j].k
		return a.service+"\x00"+a.operation+"\x00"+a.code < c.service+"\x00"+c.operation+"\x00"+c.code
	})
	for _, c := range cs {
		fmt.Fprintf(&b, "trent_request_errors_total{service=%q,operation=%q,code=%q} %d\n", c.k.service, c.k.operation, c.k.code, c.n)
	}
	b.WriteString("# HELP trent_request_duration_seconds Time from reading a request to writing its answer.\n# TYPE trent_request_duration_seconds histogram\n")
	for _, e := range es {
		var cum uint64
		for i, ub := range buckets {
			cum += e.s.bucket[i].Load()
			fmt.Fprintf(&b, "trent_request_duration_seconds_bucket{service=%q,operation=%q,le=%q} %d\n", e.k.service, e.k.operation, formatFloat(ub), cum)
		}
		cum += e.s.bucket[len(buckets)].Load()
		fmt.Fprintf(&b, "trent_request_duration_seconds_bucket{service=%q,operation=%q,le=\"+Inf\"} %d\n", e.k.service, e.k.operation, cum)
		fmt.Fprintf(&b, "trent_request_duration_seconds_sum{service=%q,operation=%q} %s\n", e.k.service, e.k.operation, formatFloat(float64(e.s.sumNs.Load())/1e9))
		fmt.Fprintf(&b, "trent_request_duration_seconds_count{service=%q,operation=%q} %d\n", e.k.service, e.k.operation, cum)
	}
	r.mu.Lock()
	gauges := append([]Gauge(nil), r.gauges...)
	r.mu.Unlock()
	gauges = append(gauges, Gauge{Name: "trent_uptime_seconds", Help: "Seconds since the server started.", Value: func() float64 { return time.Since(r.start).Seconds() }})
	for _, g := range gauges {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", g.Name, g.Help, g.Name, g.Name, formatFloat(g.Value()))
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func formatFloat(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.9f", f), "0"), ".")
}
