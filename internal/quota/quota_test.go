package quota

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const guide = "../../../shared/docs/aws-kms-developer-guide/requests-per-second.md"

// Every per-operation and GenerateDataKeyPair rate of the developer guide's
// quota table is the default here, and every quota here is in the table.
func TestDefaultsAreTheDeveloperGuides(t *testing.T) {
	f, err := os.Open(guide)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// "| `CreateKey request rate` | 5 |" or, for data key pairs,
	// "|  `GenerateDataKeyPair (RSA_3072) request rate` Applies to: … |  0\.5 \(1 in…"
	row := regexp.MustCompile("^\\|\\s*`?([A-Za-z]+)(?: \\(([A-Z0-9_]+)[^)]*\\))? request rate`?[^|]*\\|\\s*([0-9.\\\\]+)")
	seen := map[Class]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := row.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		rate, err := strconv.ParseFloat(strings.ReplaceAll(m[3], `\`, ""), 64)
		if err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		var c Class
		switch {
		case m[1] == "GenerateDataKeyPair":
			c = ForDataKeyPair(m[2])
		default:
			c = ForOperation(m[1])
		}
		if c == 0 {
			t.Errorf("the guide's %s %s quota (%g/s) is not enforced", m[1], m[2], rate)
			continue
		}
		if got := Default(c, "us-east-1"); got != rate {
			t.Errorf("%s: default %g, the guide says %g", c, got, rate)
		}
		seen[c] = true
	}
	for _, o := range operations {
		if !seen[ForOperation(o.op)] {
			t.Errorf("%s has a quota the guide's table does not list", o.op)
		}
	}
	for _, p := range pairs {
		if !seen[ForDataKeyPair(p.spec)] {
			t.Errorf("GenerateDataKeyPair %s has a quota the guide's table does not list", p.spec)
		}
	}
	if len(seen) < 40 {
		t.Fatalf("only %d rows of the guide's table were read: has its format changed?", len(seen))
	}
	// The shared quotas, from the text and examples of the same page.
	for _, tc := range []struct {
		c      Class
		region string
		want   float64
	}{
		{Symmetric, "us-east-1", 50000}, {Symmetric, "eu-west-2", 10000}, {Symmetric, "ap-southeast-1", 10000},
		{Symmetric, "sa-east-1", 5500}, {RSA, "us-east-1", 500}, {ECC, "us-east-1", 300}, {SM, "cn-north-1", 300},
		{KeyStore, "", 1800},
	} {
		if got := Default(tc.c, tc.region); got != tc.want {
			t.Errorf("%s in %s: %g, want %g", tc.c, tc.region, got, tc.want)
		}
	}
}

func TestKeySpecs(t *testing.T) {
	for spec, want := range map[string]Class{
		"SYMMETRIC_DEFAULT": Symmetric, "HMAC_256": Symmetric, "RSA_4096": RSA, "ECC_NIST_P256": ECC,
		"ECC_SECG_P256K1": ECC, "ECC_NIST_EDWARDS25519": ECC, "SM2": SM, "ML_DSA_65": MLDSA,
	} {
		if got := ForKeySpec(spec); got != want {
			t.Errorf("ForKeySpec(%s) = %s, want %s", spec, got, want)
		}
	}
	if ForOperation("Encrypt") != 0 || !Cryptographic("Encrypt") || Cryptographic("CreateKey") || ForOperation("CreateKey") == 0 {
		t.Fatal("Encrypt counts against its key type's quota, CreateKey against its own")
	}
}

func TestParseRates(t *testing.T) {
	got, err := ParseRates([]string{"symmetric=20000", "createkey=50", "GenerateDataKeyPair:RSA_4096=1", " rsa = 0.5 "})
	if err != nil {
		t.Fatal(err)
	}
	if got[Symmetric] != 20000 || got[ForOperation("CreateKey")] != 50 || got[ForDataKeyPair("RSA_4096")] != 1 || got[RSA] != 0.5 {
		t.Fatalf("ParseRates = %v", got)
	}
	for _, bad := range [][]string{{"symmetric"}, {"nosuch=1"}, {"rsa=0"}, {"rsa=-1"}, {"rsa=x"}, {"rsa=1", "RSA=2"}, {"Encrypt=5"}} {
		if _, err := ParseRates(bad); err == nil {
			t.Errorf("ParseRates(%q) accepted", bad)
		}
	}
	if _, err := New(Options{Scale: -1}); err == nil {
		t.Error("a negative scale accepted")
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// Many goroutines share one bucket while the clock moves: the bucket admits
// exactly its burst plus its rate for the time that passed, never more.
func TestBucketUnderConcurrency(t *testing.T) {
	clk := &fakeClock{}
	clk.ns.Store(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	l, err := New(Options{Rates: map[Class]float64{ForOperation("CreateKey"): 100}})
	if err != nil {
		t.Fatal(err)
	}
	create := ForOperation("CreateKey")
	const workers, steps = 4, 200
	step := 3 * time.Millisecond // 0.3 of a request at 100/s: refills arrive between steps
	var admitted atomic.Int64
	// The bucket starts at the clock's first reading: a first request
	// before the clock moves (a full bucket loses what would overflow it).
	if !l.Allow(clk.Now(), "111122223333", "us-east-1", create) {
		t.Fatal("a full bucket refused")
	}
	admitted.Add(1)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for !stop.Load() {
				if l.Allow(clk.Now(), "111122223333", "us-east-1", create) {
					admitted.Add(1)
				}
			}
			// A last round after the clock's final step, so the bucket
			// ends drained.
			for range 50 {
				if l.Allow(clk.Now(), "111122223333", "us-east-1", create) {
					admitted.Add(1)
				}
			}
		})
	}
	for range steps {
		clk.ns.Add(int64(step))
		time.Sleep(50 * time.Microsecond) // let the workers drain the refill
	}
	stop.Store(true)
	wg.Wait()
	elapsed := steps * step
	want := 100 + int64(elapsed/(10*time.Millisecond)) // burst + rate·elapsed
	if got := admitted.Load(); got != want {
		t.Fatalf("admitted %d in %s at 100/s with a burst of 100, want exactly %d", got, elapsed, want)
	}
	// Other accounts, Regions and quotas have buckets of their own.
	now := clk.Now()
	if !l.Allow(now, "444455556666", "us-east-1", create) || !l.Allow(now, "111122223333", "eu-west-1", create) || !l.Allow(now, "111122223333", "us-east-1", ForOperation("CreateAlias")) {
		t.Fatal("a full bucket throttled another account, Region or quota")
	}
}

// On the real clock, with every goroutine racing, the bucket never admits
// more than its burst plus its rate for the time measured around the race.
func TestBucketOnTheRealClock(t *testing.T) {
	l, err := New(Options{Rates: map[Class]float64{Symmetric: 2000}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var admitted, tries atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for time.Since(start) < 100*time.Millisecond {
				tries.Add(1)
				if l.Allow(time.Now(), "111122223333", "us-east-1", Symmetric) {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	limit := 2000 + int64(elapsed.Seconds()*2000) + 1 // +1: the interval is rounded down to whole nanoseconds
	if got := admitted.Load(); got > limit || got < 2000 || tries.Load() <= got {
		t.Fatalf("admitted %d of %d tries in %s at 2000/s with a burst of 2000, limit %d", got, tries.Load(), elapsed, limit)
	}
}

func TestScaleAndFractionalRates(t *testing.T) {
	clk := &fakeClock{}
	l, err := New(Options{Scale: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	gpi := ForOperation("GetParametersForImport") // 0.25/s, halved: one per 8 s
	if !l.Allow(clk.Now(), "a", "r", gpi) || l.Allow(clk.Now(), "a", "r", gpi) {
		t.Fatal("a bucket of rate 0.125 must hold one request")
	}
	clk.ns.Add(int64(8*time.Second - 1))
	if l.Allow(clk.Now(), "a", "r", gpi) {
		t.Fatal("refilled before 8 s")
	}
	clk.ns.Add(1)
	if !l.Allow(clk.Now(), "a", "r", gpi) {
		t.Fatal("not refilled after 8 s")
	}
	// CreateKey at 5/s halved holds 3 (2.5 rounded); ReplicateKey's two
	// CreateKeys take two of them.
	create := ForOperation("CreateKey")
	if !l.AllowN(clk.Now(), "a", "r", create, 2) || !l.Allow(clk.Now(), "a", "r", create) || l.Allow(clk.Now(), "a", "r", create) {
		t.Fatal("CreateKey at 2.5/s should hold 3 requests")
	}
	// The quota of a custom key store is shared by every account.
	for range 900 { // 1,800 halved
		if !l.AllowKeyStore(clk.Now(), "cks-1") {
			t.Fatal("key store quota below 900")
		}
	}
	if l.AllowKeyStore(clk.Now(), "cks-1") || !l.AllowKeyStore(clk.Now(), "cks-2") {
		t.Fatal("key store quota: cks-1 should be empty and cks-2 full")
	}
}

func BenchmarkAllow(b *testing.B) {
	l, _ := New(Options{Scale: 1e9}) // never throttles: measure the admitting path
	b.ReportAllocs()
	now := time.Now() // the server passes the time it read for the request
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Allow(now, "111122223333", "us-east-1", Symmetric)
		}
	})
}
