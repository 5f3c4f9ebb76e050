//go:build linux

// Command kmsbench measures what Trent's server costs per KMS request.
//
// It starts a real `trent serve` on a fresh data directory (or uses one that
// is already running, -endpoint and -pid), creates a symmetric key and, for
// Encrypt, Decrypt and GenerateDataKey in turn, sends -n requests from -c
// goroutines through the aws-sdk-go-v2 KMS client: real SigV4 signatures,
// keep-alive connections. It does the same against a baseline, a bare
// net/http server in a child process that returns a fixed body, and reports
// throughput, latency and, the primary figure, the server process's CPU time
// per request, each also as a ratio to the baseline.
//
// Usage:
//
//	go run ./bench/kmsbench [-n 20000] [-c 4] [-json out.json]
//
// See bench/README.md for what each figure means and its caveats. Only
// loopback addresses are accepted, and every loop is bounded by a count and a
// deadline. The program reads /proc and so runs on Linux only.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/trentkms/trent/bench/internal/harness"
)

// The account and root access key of a Trent server kmsbench starts itself.
// The secret is random per run.
const (
	benchAccount   = "111122223333"
	benchAccessKey = "AKIATRENTBENCHROOT01"
)

type config struct {
	n, concurrency, warmup int
	phaseTimeout           time.Duration
	requestTimeout         time.Duration
	timeout                time.Duration
	ops                    string
	jsonPath               string

	endpoint, region     string
	pid                  int
	accessKey, secretKey string
	trentBin             string
	noBaseline           bool

	// The hidden baseline-server mode.
	baseline harness.Baseline
}

func main() {
	var c config
	fs := flag.NewFlagSet("kmsbench", flag.ExitOnError)
	fs.IntVar(&c.n, "n", 20000, "measured requests per operation and server")
	fs.IntVar(&c.concurrency, "c", 4, "concurrent client goroutines (each keeps its own connection alive)")
	fs.IntVar(&c.warmup, "warmup", 1000, "unmeasured requests before each measured phase")
	fs.DurationVar(&c.phaseTimeout, "phase-timeout", 90*time.Second, "deadline of one phase (warm-up and measured requests)")
	fs.DurationVar(&c.requestTimeout, "request-timeout", 10*time.Second, "deadline of one request")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "deadline of the whole run")
	fs.StringVar(&c.ops, "ops", "Encrypt,Decrypt,GenerateDataKey", "comma-separated operations to measure: Encrypt, Decrypt, GenerateDataKey, Sign-ECC_NIST_P256, Sign-RSA_2048, Sign-ED25519, GenerateMac, or all")
	fs.StringVar(&c.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&c.endpoint, "endpoint", "", "URL of a running Trent on a loopback address; empty: build and start one")
	fs.IntVar(&c.pid, "pid", 0, "with -endpoint: the server's process id, to read its CPU time from /proc (0: not measured)")
	fs.StringVar(&c.region, "region", "us-east-1", "Region to sign requests for")
	fs.StringVar(&c.accessKey, "access-key-id", os.Getenv("AWS_ACCESS_KEY_ID"), "with -endpoint: access key id [AWS_ACCESS_KEY_ID]")
	fs.StringVar(&c.secretKey, "secret-access-key", os.Getenv("AWS_SECRET_ACCESS_KEY"), "with -endpoint: secret access key [AWS_SECRET_ACCESS_KEY]")
	fs.StringVar(&c.trentBin, "trent", "", "a built trent binary to start; empty: go build ./cmd/trent from the module of the working directory")
	fs.BoolVar(&c.noBaseline, "no-baseline", false, "skip the baseline server")
	// Hidden: the baseline server mode of the re-executed binary.
	c.baseline.Flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: kmsbench [flags]\n\nMeasures Trent's server CPU time, throughput and latency per KMS request against a bare net/http baseline.\n\n")
		fs.VisitAll(func(f *flag.Flag) {
			if f.Usage == "" {
				return // hidden
			}
			fmt.Fprintf(fs.Output(), "  -%s\n    \t%s (default %q)\n", f.Name, f.Usage, f.DefValue)
		})
	}
	fs.Parse(os.Args[1:])
	harness.Main("kmsbench", c.baseline, plaintextSize, c.timeout, func(ctx context.Context) error { return run(ctx, c) })
}

// report is the whole result, as written by -json.
type report struct {
	Date        time.Time     `json:"date"`
	GoVersion   string        `json:"go_version"`
	GOMAXPROCS  int           `json:"client_gomaxprocs"`
	NumCPU      int           `json:"num_cpu"`
	CPUModel    string        `json:"cpu_model"`
	N           int           `json:"n"`
	Concurrency int           `json:"concurrency"`
	Phases      []summary     `json:"phases"`
	Ratios      []ratioReport `json:"ratios,omitempty"`
}

// ratioReport compares Trent with the baseline for one operation.
type ratioReport struct {
	Op string `json:"op"`
	// ServerCPU is Trent's server CPU per request over the baseline's.
	ServerCPU float64 `json:"server_cpu_ratio,omitempty"`
	// ServerCPUExtraMicros is Trent's server CPU per request minus the
	// baseline's: what Trent's own work costs beyond serving HTTP.
	ServerCPUExtraMicros float64 `json:"server_cpu_extra_us_per_request,omitempty"`
	// Throughput is Trent's requests/s over the baseline's.
	Throughput float64 `json:"throughput_ratio"`
	// P50 is Trent's median latency over the baseline's.
	P50 float64 `json:"p50_ratio"`
}

func run(ctx context.Context, c config) error {
	if c.n <= 0 || c.concurrency <= 0 || c.warmup < 0 {
		return errors.New("-n and -c must be positive, -warmup not negative")
	}
	var ops []operation
	names := strings.Split(c.ops, ",")
	if c.ops == "all" {
		names = nil
		for _, o := range operations {
			names = append(names, o.Name)
		}
	}
	for _, name := range names {
		op, ok := findOperation(strings.TrimSpace(name))
		if !ok {
			return fmt.Errorf("-ops: unknown operation %q", name)
		}
		ops = append(ops, op)
	}

	trentURL, trentPID := c.endpoint, c.pid
	if c.endpoint == "" {
		srv, err := startTrent(ctx, c)
		if err != nil {
			return err
		}
		defer srv.Stop()
		trentURL, trentPID = srv.URL, srv.Pid()
		c.accessKey, c.secretKey = benchAccessKey, srv.secret
		fmt.Printf("started trent serve (pid %d) at %s\n", trentPID, trentURL)
	} else if c.accessKey == "" || c.secretKey == "" {
		return errors.New("-endpoint needs -access-key-id and -secret-access-key")
	}
	if err := checkLoopbackURL(trentURL); err != nil {
		return err
	}
	trent := newClient(trentURL, c)

	w, err := setup(ctx, trent)
	if err != nil {
		return err
	}

	var base *harness.Child
	if !c.noBaseline {
		if base, err = harness.StartBaseline(ctx, w.KeyID, len(w.Ciphertext)); err != nil {
			return err
		}
		defer base.Stop()
		fmt.Printf("started baseline (pid %d) at %s\n", base.Pid(), base.URL)
	}

	rep := report{
		Date: time.Now().UTC(), GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(),
		CPUModel: cpuModel(), N: c.n, Concurrency: c.concurrency,
	}
	cfg := phaseConfig{N: c.n, Concurrency: c.concurrency, Warmup: c.warmup, Timeout: c.phaseTimeout, RequestTimeout: c.requestTimeout}
	var failed error
	for _, op := range ops {
		p, err := runPhase(ctx, "trent", trent, op, w, trentPID, cfg)
		if err != nil {
			return err
		}
		ts := p.summarize(c.concurrency)
		rep.Phases = append(rep.Phases, ts)
		fmt.Printf("  %-16s trent     %8.0f req/s  server CPU %6.1f µs/req\n", op.Name, ts.RequestsPerSecond, ts.ServerCPUMicros)
		if p.Errors > 0 {
			failed = fmt.Errorf("%s against trent: %d errors, first: %s", op.Name, p.Errors, p.FirstError)
		}
		if base == nil {
			continue
		}
		bp, err := runPhase(ctx, "baseline", newClient(base.URL, c), op, w, base.Pid(), cfg)
		if err != nil {
			return err
		}
		bs := bp.summarize(c.concurrency)
		rep.Phases = append(rep.Phases, bs)
		fmt.Printf("  %-16s baseline  %8.0f req/s  server CPU %6.1f µs/req\n", op.Name, bs.RequestsPerSecond, bs.ServerCPUMicros)
		if bp.Errors > 0 {
			failed = fmt.Errorf("%s against the baseline: %d errors, first: %s", op.Name, bp.Errors, bp.FirstError)
		}
		rep.Ratios = append(rep.Ratios, ratios(ts, bs))
	}

	fmt.Println()
	printTable(os.Stdout, rep)
	if c.jsonPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.jsonPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return failed
}

func ratios(t, b summary) ratioReport {
	r := ratioReport{Op: t.Op}
	if t.ServerCPUMicros > 0 && b.ServerCPUMicros > 0 {
		r.ServerCPU = t.ServerCPUMicros / b.ServerCPUMicros
		r.ServerCPUExtraMicros = t.ServerCPUMicros - b.ServerCPUMicros
	}
	if b.RequestsPerSecond > 0 {
		r.Throughput = t.RequestsPerSecond / b.RequestsPerSecond
	}
	if b.P50Micros > 0 {
		r.P50 = t.P50Micros / b.P50Micros
	}
	return r
}

// trentChild is a trent serve process started by kmsbench.
type trentChild struct {
	*harness.Child
	secret  string
	cleanup func()
}

func (t *trentChild) Stop() {
	t.Child.Stop()
	t.cleanup()
}

// startTrent builds trent (unless -trent names a binary) and starts it on a
// loopback port with a fresh data directory, removed when it stops.
func startTrent(ctx context.Context, c config) (*trentChild, error) {
	tmp, err := os.MkdirTemp("", "kmsbench-")
	if err != nil {
		return nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	bin := c.trentBin
	if bin == "" {
		if bin, err = harness.BuildTrent(ctx, tmp); err != nil {
			cleanup()
			return nil, err
		}
	}
	root, err := harness.NewRoot(benchAccount, benchAccessKey)
	if err != nil {
		cleanup()
		return nil, err
	}
	ch, err := harness.StartTrent(ctx, harness.Serve{Bin: bin, DataDir: filepath.Join(tmp, "data"), Region: c.region, Root: root, StartTimeout: 60 * time.Second})
	if err != nil {
		cleanup()
		return nil, err
	}
	return &trentChild{Child: ch, secret: root.Secret, cleanup: cleanup}, nil
}

// newClient is a KMS client for endpoint with keep-alive connections for
// every goroutine and no retries, so that every failure is counted.
func newClient(endpoint string, c config) *kms.Client {
	return harness.NewClient(endpoint, c.region, c.accessKey, c.secretKey, c.concurrency)
}

// setup creates the benchmark's key and one ciphertext for Decrypt.
func setup(ctx context.Context, c *kms.Client) (*workload, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	k, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("kmsbench")})
	if err != nil {
		return nil, fmt.Errorf("CreateKey: %w", err)
	}
	w := &workload{KeyID: *k.KeyMetadata.Arn, Plaintext: make([]byte, plaintextSize)}
	if _, err := rand.Read(w.Plaintext); err != nil {
		return nil, err
	}
	out, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(w.KeyID), Plaintext: w.Plaintext, EncryptionContext: encryptionContext})
	if err != nil {
		return nil, fmt.Errorf("Encrypt: %w", err)
	}
	w.Ciphertext = out.CiphertextBlob
	w.Keys = map[string]string{}
	for _, a := range asymmetric {
		k, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("kmsbench " + a.op.Name), KeySpec: a.spec, KeyUsage: a.usage})
		if err != nil {
			return nil, fmt.Errorf("CreateKey %s: %w", a.spec, err)
		}
		w.Keys[a.op.Name] = *k.KeyMetadata.Arn
	}
	return w, nil
}

func checkLoopbackURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	hostport := u.Host
	if u.Port() == "" {
		hostport += ":80"
	}
	if err := harness.CheckLoopback(hostport); err != nil {
		return fmt.Errorf("endpoint: %w", err)
	}
	return nil
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func printTable(out io.Writer, r report) {
	fmt.Fprintf(out, "%d requests per phase, concurrency %d, %d CPUs (%s), %s\n\n", r.N, r.Concurrency, r.NumCPU, r.CPUModel, r.GoVersion)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tserver\trequests\terrors\treq/s\tp50 µs\tp99 µs\tserver CPU µs/req\t(stat ticks)\tclient CPU µs/req\t")
	for _, s := range r.Phases {
		cpu, ticks := "n/a", "n/a"
		if s.ServerCPUSource != "" {
			cpu, ticks = fmt.Sprintf("%.1f", s.ServerCPUMicros), fmt.Sprintf("%.0f", s.ServerCPUTickMicro)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.0f\t%.0f\t%.0f\t%s\t%s\t%.1f\t\n",
			s.Op, s.Target, s.Requests, s.Errors, s.RequestsPerSecond, s.P50Micros, s.P99Micros, cpu, ticks, s.ClientCPUMicros)
	}
	tw.Flush()
	if len(r.Ratios) == 0 {
		return
	}
	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tserver CPU trent/baseline\ttrent-baseline µs/req\tthroughput trent/baseline\tp50 trent/baseline\t")
	for _, q := range r.Ratios {
		cpu, extra := "n/a", "n/a"
		if q.ServerCPU > 0 {
			cpu, extra = fmt.Sprintf("%.2fx", q.ServerCPU), fmt.Sprintf("%+.1f", q.ServerCPUExtraMicros)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2fx\t%.2fx\t\n", q.Op, cpu, extra, q.Throughput, q.P50)
	}
	tw.Flush()
}
