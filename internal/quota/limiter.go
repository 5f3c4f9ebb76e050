package quota

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Limiter. The zero value enforces AWS's default rates.
type Options struct {
	// Scale multiplies every rate: this node's share of the deployment's
	// quotas (1/N for N nodes behind a balancer that spreads requests
	// evenly). 0: 1.
	Scale float64
	// Rates overrides the default rate of classes, in requests per second
	// before Scale: the quota one would ask AWS to raise. A rate applies in
	// every Region.
	Rates map[Class]float64
}

// Limiter enforces request quotas per account and Region (and per custom key
// store), each with a token bucket that holds one second of its rate.
//
// Callers pass the time of the request: the server reads the clock once per
// request already, and a clock read costs as much as the rest of Allow.
// Times are taken relative to the limiter's creation, on the monotonic clock
// when they carry it (time.Now's do).
type Limiter struct {
	scale float64
	rates map[Class]float64
	epoch time.Time

	// tables is read on every request and written once per new account
	// and Region: a map replaced whole under mu, read without a lock.
	tables    atomic.Pointer[map[scope]*table]
	mu        sync.Mutex
	keyStores sync.Map // custom key store id → *bucket
}

// scope is what AWS calculates quotas for: an account in a Region. For
// cross-account requests it is the caller's account (KMS Developer Guide:
// Cross-account requests).
type scope struct{ account, region string }

// table holds the buckets of one scope, made on first use.
type table struct {
	buckets []atomic.Pointer[bucket] // by Class
}

// New returns a limiter; it refuses a negative scale or a rate that is not a
// positive number.
func New(o Options) (*Limiter, error) {
	l := &Limiter{scale: o.Scale, rates: o.Rates, epoch: time.Now()}
	l.tables.Store(&map[scope]*table{})
	if l.scale == 0 {
		l.scale = 1
	}
	if l.scale < 0 || math.IsNaN(l.scale) || math.IsInf(l.scale, 0) {
		return nil, fmt.Errorf("quota: scale %g: want a positive number", o.Scale)
	}
	for c, r := range l.rates {
		if !(r > 0) || math.IsInf(r, 0) {
			return nil, fmt.Errorf("quota: %s=%g: want a positive rate", c, r)
		}
	}
	return l, nil
}

// rate is the enforced rate of c in region, in requests per second.
func (l *Limiter) rate(c Class, region string) float64 {
	r, ok := l.rates[c]
	if !ok {
		r = Default(c, region)
	}
	return r * l.scale
}

// Allow counts one request of c made at now in an account and Region against
// its quota, and reports whether the quota allowed it. A Class of 0 always
// allows.
func (l *Limiter) Allow(now time.Time, account, region string, c Class) bool {
	return l.AllowN(now, account, region, c, 1)
}

// AllowN counts n requests at once (ReplicateKey counts as two CreateKey).
// n is capped at the bucket's size, so a quota scaled below n per second
// still admits the request now and then.
func (l *Limiter) AllowN(now time.Time, account, region string, c Class, n int) bool {
	if c == 0 || int(c) >= len(classes) {
		return true
	}
	t := l.table(account, region)
	b := t.buckets[c].Load()
	if b == nil {
		b = l.newBucket(c, region)
		if !t.buckets[c].CompareAndSwap(nil, b) {
			b = t.buckets[c].Load()
		}
	}
	return b.take(int64(now.Sub(l.epoch)), n)
}

// AllowKeyStore counts one request against the quota of a custom key store,
// shared by every account that uses its keys.
func (l *Limiter) AllowKeyStore(now time.Time, id string) bool {
	v, ok := l.keyStores.Load(id)
	if !ok {
		v, _ = l.keyStores.LoadOrStore(id, l.newBucket(KeyStore, ""))
	}
	return v.(*bucket).take(int64(now.Sub(l.epoch)), 1)
}

func (l *Limiter) table(account, region string) *table {
	k := scope{account, region}
	if t := (*l.tables.Load())[k]; t != nil {
		return t
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	old := *l.tables.Load()
	if t := old[k]; t != nil {
		return t
	}
	m := make(map[scope]*table, len(old)+1)
	for k, t := range old {
		m[k] = t
	}
	t := &table{buckets: make([]atomic.Pointer[bucket], len(classes))}
	m[k] = t
	l.tables.Store(&m)
	return t
}

func (l *Limiter) newBucket(c Class, region string) *bucket {
	return newBucket(l.rate(c, region))
}

// bucket is a token bucket as the generic cell rate algorithm keeps it: one
// number, the theoretical arrival time (tat) of the next request had
// requests come exactly at the rate. A request at now is admitted if, after
// it, tat is at most burst intervals ahead of now. Admitting n requests
// within [t0, t1] moves tat from at least t0 to at least t0+n·interval, and
// the last of them needed tat ≤ t1+burst·interval, so n ≤ rate·(t1−t0) +
// burst: never more, however many goroutines race, since each admission is
// one compare-and-swap and a caller's stale clock reading only makes it
// stricter. (golang.org/x/time/rate, by contrast, takes the time before its
// lock; a caller with an earlier time moves its clock back and the interval
// is refilled twice, admitting slightly more than the rate under
// concurrency.)
type bucket struct {
	tat      atomic.Int64 // nanoseconds after the limiter's epoch
	interval int64        // nanoseconds per request
	burst    int64        // requests the bucket holds: one second's worth, at least 1
}

func newBucket(rate float64) *bucket {
	burst := int64(math.Round(rate))
	if burst < 1 {
		burst = 1
	}
	interval := int64(float64(time.Second) / rate)
	if interval < 1 {
		interval = 1
	}
	b := &bucket{interval: interval, burst: burst}
	// Full from the start, even for times before the limiter's epoch
	// (a caller's clock may be behind it).
	b.tat.Store(math.MinInt64 / 4)
	return b
}

func (b *bucket) take(now int64, n int) bool {
	if int64(n) > b.burst {
		n = int(b.burst)
	}
	cost := int64(n) * b.interval
	limit := now + b.burst*b.interval
	for {
		tat := b.tat.Load()
		next := max(tat, now) + cost
		if next > limit {
			return false
		}
		if b.tat.CompareAndSwap(tat, next) {
			return true
		}
	}
}

// ParseRates parses overrides written name=rate (e.g. "symmetric=20000",
// "CreateKey=50", "GenerateDataKeyPair:RSA_4096=1").
func ParseRates(specs []string) (map[Class]float64, error) {
	out := map[Class]float64{}
	for _, s := range specs {
		name, v, ok := strings.Cut(strings.TrimSpace(s), "=")
		if !ok {
			return nil, fmt.Errorf("quota %q: want name=requests-per-second", s)
		}
		c, err := ParseClass(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		r, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(r > 0) || math.IsInf(r, 0) {
			return nil, fmt.Errorf("quota %q: the rate must be a positive number of requests per second", s)
		}
		if _, dup := out[c]; dup {
			return nil, fmt.Errorf("quota %s is given twice", c)
		}
		out[c] = r
	}
	return out, nil
}
