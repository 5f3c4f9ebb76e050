//go:build linux

// Command scalebench measures Trent with many keys: memory per key, start
// time, CreateKey throughput as the store grows, Encrypt latency on cold and
// hot keys, and, in the same run, the server CPU per Encrypt and Decrypt
// against a bare net/http server under a wrk-style replay.
//
// Usage:
//
//	go run ./bench/scalebench                    # 100,000 keys
//	go run ./bench/scalebench -keys 20000        # a short run on a shared machine
//	go run ./bench/scalebench -million           # 1,000,000 keys
//	go run ./bench/scalebench -profile-dir prof  # heap and CPU profiles of the server
//
// What one run does, on a fresh data directory (removed afterwards):
//
//  1. Starts `trent serve` (audit log on, as by default) and reads its
//     resident memory (VmRSS) with no key.
//  2. Creates -keys symmetric keys with the default key policy through the
//     aws-sdk-go-v2 client (SigV4), -c at a time; every CreateKey is durable
//     before its answer. Reports CreateKey/s over the run and per tenth of
//     it, and the RSS at each tenth.
//  3. Encrypt latency: on a hot key (used over and over), and on keys never
//     used since they were created: their first Encrypt (cold) and their
//     second.
//  4. Restarts the server on the same data and reports the time from exec to
//     the listening banner and to the first request served, the RSS after
//     the restart, and cold and hot Encrypt latency again.
//  5. Replays one signed Encrypt, then one signed Decrypt, from -wrk-c
//     keep-alive connections against Trent and against the baseline (the
//     bare net/http server of bench/kmsbench, in a child process): server
//     CPU per request from /proc/<pid>/task/*/schedstat, throughput,
//     latency, and ratios to the baseline.
//
// Bytes per key is (RSS with every key − RSS with none) ÷ keys: what a key
// costs the server, Go heap, runtime and store caches together. The program
// reads /proc and so runs on Linux only; only loopback addresses are used.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/trentkms/trent/bench/internal/harness"
)

const (
	account   = "111122223333"
	accessKey = "AKIATRENTSCALEROOT01"
	region    = "us-east-1"
	// plaintextSize is what Encrypt sends: a data key's size.
	plaintextSize = 32
)

var encryptionContext = map[string]string{"purpose": "scalebench", "tenant": "t-0001"}

type config struct {
	keys, concurrency       int
	coldSamples, hotSamples int
	wrkN, wrkConns, wrkWarm int
	trentBin, profileDir    string
	keepData                string
	jsonPath                string
	timeout                 time.Duration

	// The hidden baseline-server mode.
	baseline harness.Baseline
}

func main() {
	var c config
	var million bool
	fs := flag.NewFlagSet("scalebench", flag.ExitOnError)
	fs.IntVar(&c.keys, "keys", 100_000, "symmetric keys to create")
	fs.BoolVar(&million, "million", false, "create 1,000,000 keys (overrides -keys)")
	fs.IntVar(&c.concurrency, "c", 16, "concurrent CreateKey calls")
	fs.IntVar(&c.coldSamples, "cold", 200, "never-used keys whose first Encrypt is measured (before and after the restart each)")
	fs.IntVar(&c.hotSamples, "hot", 2000, "Encrypt calls on the hot key that are measured")
	fs.IntVar(&c.wrkN, "wrk-n", 40_000, "replayed requests per operation and server")
	fs.IntVar(&c.wrkConns, "wrk-c", 16, "keep-alive connections of the replay")
	fs.IntVar(&c.wrkWarm, "wrk-warmup", 4000, "unmeasured replayed requests before each phase")
	fs.StringVar(&c.trentBin, "trent", "", "a built trent binary; empty: go build ./cmd/trent from the module of the working directory")
	fs.StringVar(&c.profileDir, "profile-dir", "", "write the server's heap profile after the keys are made and a CPU profile of the Encrypt replay here")
	fs.StringVar(&c.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&c.keepData, "keep-data", "", "use this new directory as the server's data directory and keep it (its root key and credentials included); empty: a temporary one, removed")
	fs.DurationVar(&c.timeout, "timeout", 3*time.Hour, "deadline of the whole run")
	c.baseline.Flags(fs)
	fs.Parse(os.Args[1:])
	if million {
		c.keys = 1_000_000
	}
	harness.Main("scalebench", c.baseline, plaintextSize, c.timeout, func(ctx context.Context) error { return run(ctx, c) })
}

// report is the whole result, as written by -json.
type report struct {
	Date       time.Time `json:"date"`
	GoVersion  string    `json:"go_version"`
	NumCPU     int       `json:"num_cpu"`
	Keys       int       `json:"keys"`
	Concurrent int       `json:"concurrency"`

	RSSEmpty       int64       `json:"rss_empty_bytes"`
	RSSFull        int64       `json:"rss_full_bytes"`
	AnonFull       int64       `json:"rss_anon_full_bytes"`
	FileFull       int64       `json:"rss_file_full_bytes"`
	PeakFull       int64       `json:"rss_peak_bytes"`
	BytesPerKey    float64     `json:"bytes_per_key"`
	CreateSeconds  float64     `json:"create_seconds"`
	CreatePerSec   float64     `json:"create_per_second"`
	CreateErrors   int         `json:"create_errors"`
	Tenths         []tenth     `json:"tenths"`
	BeforeRestart  latencies   `json:"latency_before_restart"`
	RestartBanner  float64     `json:"restart_to_banner_seconds"`
	RestartReady   float64     `json:"restart_to_first_request_seconds"`
	RSSRestarted   int64       `json:"rss_after_restart_bytes"`
	PeakRestarted  int64       `json:"rss_peak_after_restart_bytes"`
	AnonRestarted  int64       `json:"rss_anon_after_restart_bytes"`
	AfterRestart   latencies   `json:"latency_after_restart"`
	RSSAfterUse    int64       `json:"rss_after_restart_and_use_bytes"`
	Replay         []replayRow `json:"replay"`
	DataDirBytes   int64       `json:"data_dir_bytes"`
	ProfileWritten []string    `json:"profiles,omitempty"`
}

// tenth is one tenth of the key creation.
type tenth struct {
	Keys      int     `json:"keys"`
	PerSecond float64 `json:"create_per_second"`
	RSS       int64   `json:"rss_bytes"`
}

// latencies are Encrypt latencies in µs, from the SDK client.
type latencies struct {
	HotP50    float64 `json:"hot_p50_us"`
	HotP99    float64 `json:"hot_p99_us"`
	ColdP50   float64 `json:"cold_first_use_p50_us"`
	ColdP99   float64 `json:"cold_first_use_p99_us"`
	ColdMax   float64 `json:"cold_first_use_max_us"`
	SecondP50 float64 `json:"cold_second_use_p50_us"`
	SecondP99 float64 `json:"cold_second_use_p99_us"`
}

// replayRow is one replayed operation against one server.
type replayRow struct {
	Op, Target        string
	Requests, Errors  int
	PerSecond         float64
	P50, P99          float64 // µs
	ServerCPUMicros   float64 // per request
	ClientCPUMicros   float64
	CPURatio, TPRatio float64 // trent ÷ baseline, on trent's rows
}

func run(ctx context.Context, c config) error {
	if c.keys < 2*c.coldSamples+2 || c.concurrency <= 0 || c.wrkConns <= 0 {
		return fmt.Errorf("-keys must be at least 2×-cold+2 and -c, -wrk-c positive")
	}
	tmp, err := os.MkdirTemp("", "scalebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := c.trentBin
	if bin == "" {
		if bin, err = harness.BuildTrent(ctx, tmp); err != nil {
			return err
		}
	}
	root, err := harness.NewRoot(account, accessKey)
	if err != nil {
		return err
	}
	secret := root.Secret
	dataDir := filepath.Join(tmp, "data")
	if c.keepData != "" {
		if _, err := os.Stat(c.keepData); err == nil {
			return fmt.Errorf("-keep-data %s: exists; give a new directory", c.keepData)
		}
		dataDir = c.keepData
	}
	if c.profileDir != "" {
		if err := os.MkdirAll(c.profileDir, 0o755); err != nil {
			return err
		}
	}
	rep := report{Date: time.Now().UTC(), GoVersion: runtime.Version(), NumCPU: runtime.NumCPU(), Keys: c.keys, Concurrent: c.concurrency}

	srv, _, err := startTrent(ctx, bin, dataDir, root, c.profileDir != "", c.keys+1000)
	if err != nil {
		return err
	}
	defer func() { srv.Stop() }()
	fmt.Printf("started trent serve (pid %d) at %s\n", srv.Pid(), srv.URL)
	client := newClient(srv.URL, secret, c.concurrency)
	if _, err := client.ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
		return fmt.Errorf("first request: %w", err)
	}
	m, err := harness.ReadMemory(srv.Pid())
	if err != nil {
		return err
	}
	rep.RSSEmpty = m.RSS

	// 2. Keys.
	arns, err := createKeys(ctx, client, srv.Pid(), c, &rep)
	if err != nil {
		return err
	}
	m, err = harness.ReadMemory(srv.Pid())
	if err != nil {
		return err
	}
	rep.RSSFull, rep.PeakFull, rep.AnonFull, rep.FileFull = m.RSS, m.Peak, m.Anon, m.File
	rep.BytesPerKey = float64(rep.RSSFull-rep.RSSEmpty) / float64(c.keys)
	fmt.Printf("%d keys in %.1fs: %.0f CreateKey/s; RSS %s empty, %s full: %.0f bytes per key\n",
		c.keys, rep.CreateSeconds, rep.CreatePerSec, mib(rep.RSSEmpty), mib(rep.RSSFull), rep.BytesPerKey)
	if c.profileDir != "" {
		if p, err := fetchProfile(ctx, srv, "heap", filepath.Join(c.profileDir, "heap.pprof")); err != nil {
			return err
		} else {
			rep.ProfileWritten = append(rep.ProfileWritten, p)
		}
	}

	// 3. Latency before the restart. Cold keys come from the middle of the
	// creation order; those after the restart from elsewhere.
	hot := arns[0]
	cold := arns[len(arns)/4 : len(arns)/4+c.coldSamples]
	coldAfter := arns[3*len(arns)/4 : 3*len(arns)/4+c.coldSamples]
	if rep.BeforeRestart, err = measureLatency(ctx, client, hot, cold, c.hotSamples); err != nil {
		return err
	}
	printLatency("before restart", rep.BeforeRestart)

	// 4. Restart.
	srv.Stop()
	t0 := time.Now()
	srv, bannerAt, err := startTrent(ctx, bin, dataDir, root, c.profileDir != "", c.keys+1000)
	if err != nil {
		return err
	}
	rep.RestartBanner = bannerAt.Sub(t0).Seconds()
	client = newClient(srv.URL, secret, c.concurrency)
	for {
		if _, err := client.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(1)}); err == nil {
			break
		} else if ctx.Err() != nil || time.Since(t0) > 10*time.Minute {
			return fmt.Errorf("restarted server never served: %w", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	rep.RestartReady = time.Since(t0).Seconds()
	if m, err = harness.ReadMemory(srv.Pid()); err != nil {
		return err
	}
	rep.RSSRestarted, rep.PeakRestarted, rep.AnonRestarted = m.RSS, m.Peak, m.Anon
	fmt.Printf("restart: listening after %.2fs, first request served after %.2fs; RSS %s\n", rep.RestartBanner, rep.RestartReady, mib(rep.RSSRestarted))
	if rep.AfterRestart, err = measureLatency(ctx, client, hot, coldAfter, c.hotSamples); err != nil {
		return err
	}
	printLatency("after restart", rep.AfterRestart)
	if m, err = harness.ReadMemory(srv.Pid()); err != nil {
		return err
	}
	rep.RSSAfterUse = m.RSS

	// 5. Replay against Trent and the baseline.
	if err := replayPhases(ctx, c, srv, secret, hot, &rep); err != nil {
		return err
	}
	rep.DataDirBytes = dirSize(dataDir)
	printReport(os.Stdout, rep)
	if c.jsonPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(c.jsonPath, append(b, '\n'), 0o644)
	}
	return nil
}

// startTrent starts trent serve on dataDir and returns when it listens, with
// the time it printed its banner.
func startTrent(ctx context.Context, bin, dataDir string, root harness.Root, pprof bool, maxKeys int) (*harness.Child, time.Time, error) {
	s := harness.Serve{Bin: bin, DataDir: dataDir, Region: region, Root: root, Args: []string{"--metrics-listen", "127.0.0.1:0"},
		// AWS's quota of keys per account and Region is 100,000; the run
		// makes more with -million. (An environment variable, which older
		// builds without quotas ignore, not a flag they would refuse.)
		// Nor may the request quotas throttle the creation: CreateKey is
		// 5 a second in AWS, the run wants thousands.
		Env:          []string{"TRENT_MAX_KEYS_PER_REGION=" + strconv.Itoa(maxKeys), "TRENT_QUOTA_SCALE=0"},
		StartTimeout: 10 * time.Minute}
	if pprof {
		s.Env = append(s.Env, "TRENT_DEBUG_PPROF=1")
	}
	ch, err := harness.StartTrent(ctx, s)
	return ch, time.Now(), err
}

func newClient(endpoint, secret string, conns int) *kms.Client {
	return harness.NewClient(endpoint, region, accessKey, secret, conns)
}

// createKeys makes c.keys keys, c.concurrency at a time, and records the
// rate and RSS at each tenth. It returns their ARNs in creation order.
func createKeys(ctx context.Context, client *kms.Client, pid int, c config, rep *report) ([]string, error) {
	arns := make([]string, c.keys)
	var next, done, errs atomic.Int64
	var firstErr error
	var mu sync.Mutex
	start := time.Now()
	stopTenths := make(chan struct{})
	tenthsDone := make(chan struct{})
	go func() {
		defer close(tenthsDone)
		step := int64(c.keys / 10)
		mark, last, lastT := step, int64(0), start
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			// The last tenth often ends between ticks: it is recorded
			// once the creation has stopped.
			stopping := false
			select {
			case <-stopTenths:
				stopping = true
			case <-tick.C:
			}
			if d := done.Load(); d >= mark && mark <= int64(c.keys) {
				now := time.Now()
				m, _ := harness.ReadMemory(pid)
				t := tenth{Keys: int(d), PerSecond: float64(d-last) / now.Sub(lastT).Seconds(), RSS: m.RSS}
				mu.Lock()
				rep.Tenths = append(rep.Tenths, t)
				mu.Unlock()
				fmt.Printf("  %8d keys  %6.0f CreateKey/s  RSS %s\n", t.Keys, t.PerSecond, mib(t.RSS))
				last, lastT = d, now
				for mark <= d {
					mark += step
				}
			}
			if stopping {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range c.concurrency {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(c.keys) || ctx.Err() != nil {
					return
				}
				rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				out, err := client.CreateKey(rctx, &kms.CreateKeyInput{})
				cancel()
				if err != nil {
					errs.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				arns[i] = *out.KeyMetadata.Arn
				done.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopTenths)
	<-tenthsDone
	rep.CreateSeconds = elapsed.Seconds()
	rep.CreatePerSec = float64(done.Load()) / elapsed.Seconds()
	rep.CreateErrors = int(errs.Load())
	if firstErr != nil {
		return nil, fmt.Errorf("%d CreateKey calls failed, first: %w", errs.Load(), firstErr)
	}
	return arns, ctx.Err()
}

// measureLatency times Encrypt on each cold key twice (its first use, then
// its second) and c.hotSamples times on the hot key after a warm-up, one
// call at a time.
func measureLatency(ctx context.Context, client *kms.Client, hot string, cold []string, hotN int) (latencies, error) {
	pt := make([]byte, plaintextSize)
	rand.Read(pt)
	encrypt := func(key string) (time.Duration, error) {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		t0 := time.Now()
		_, err := client.Encrypt(rctx, &kms.EncryptInput{KeyId: aws.String(key), Plaintext: pt, EncryptionContext: encryptionContext})
		return time.Since(t0), err
	}
	var first, second, hotLat []time.Duration
	for _, k := range cold {
		d, err := encrypt(k)
		if err != nil {
			return latencies{}, fmt.Errorf("Encrypt on a cold key: %w", err)
		}
		first = append(first, d)
		if d, err = encrypt(k); err != nil {
			return latencies{}, err
		}
		second = append(second, d)
	}
	for i := range hotN + 200 {
		d, err := encrypt(hot)
		if err != nil {
			return latencies{}, fmt.Errorf("Encrypt on the hot key: %w", err)
		}
		if i >= 200 {
			hotLat = append(hotLat, d)
		}
	}
	for _, l := range [][]time.Duration{first, second, hotLat} {
		slices.Sort(l)
	}
	return latencies{
		HotP50: micros(harness.Percentile(hotLat, 50)), HotP99: micros(harness.Percentile(hotLat, 99)),
		ColdP50: micros(harness.Percentile(first, 50)), ColdP99: micros(harness.Percentile(first, 99)), ColdMax: micros(first[len(first)-1]),
		SecondP50: micros(harness.Percentile(second, 50)), SecondP99: micros(harness.Percentile(second, 99)),
	}, nil
}

func printLatency(when string, l latencies) {
	fmt.Printf("Encrypt %s: hot p50 %.0f µs p99 %.0f µs; cold first use p50 %.0f µs p99 %.0f µs max %.0f µs; second use p50 %.0f µs p99 %.0f µs\n",
		when, l.HotP50, l.HotP99, l.ColdP50, l.ColdP99, l.ColdMax, l.SecondP50, l.SecondP99)
}

// replayPhases replays a signed Encrypt and a signed Decrypt on the hot key
// against Trent and the baseline.
func replayPhases(ctx context.Context, c config, srv *harness.Child, secret, key string, rep *report) error {
	client := newClient(srv.URL, secret, 1)
	pt := make([]byte, plaintextSize)
	rand.Read(pt)
	enc, err := client.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(key), Plaintext: pt, EncryptionContext: encryptionContext})
	if err != nil {
		return err
	}
	base, err := harness.StartBaseline(ctx, key, len(enc.CiphertextBlob))
	if err != nil {
		return err
	}
	defer base.Stop()
	ec, _ := json.Marshal(encryptionContext)
	bodies := map[string][]byte{
		"Encrypt": fmt.Appendf(nil, `{"KeyId":%q,"Plaintext":%q,"EncryptionContext":%s}`, key, base64.StdEncoding.EncodeToString(pt), ec),
		"Decrypt": fmt.Appendf(nil, `{"CiphertextBlob":%q,"EncryptionContext":%s}`, base64.StdEncoding.EncodeToString(enc.CiphertextBlob), ec),
	}
	for _, op := range []string{"Encrypt", "Decrypt"} {
		var rows [2]replayRow
		for i, target := range []*harness.Child{srv, base} {
			u, err := url.Parse(target.URL)
			if err != nil {
				return err
			}
			req, err := signedRequest(u.Host, region, accessKey, secret, op, bodies[op])
			if err != nil {
				return err
			}
			pctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			if _, err := replay(pctx, u.Host, req, c.wrkConns, c.wrkWarm, target.Pid()); err != nil {
				cancel()
				return err
			}
			var prof chan error
			if i == 0 && op == "Encrypt" && c.profileDir != "" {
				prof = make(chan error, 1)
				go func() {
					_, err := fetchProfile(ctx, srv, "profile?seconds=5", filepath.Join(c.profileDir, "cpu-encrypt.pprof"))
					prof <- err
				}()
			}
			r, err := replay(pctx, u.Host, req, c.wrkConns, c.wrkN, target.Pid())
			cancel()
			if err != nil {
				return err
			}
			if prof != nil {
				if err := <-prof; err != nil {
					return err
				}
			}
			name := []string{"trent", "baseline"}[i]
			if r.Errors > 0 {
				return fmt.Errorf("replayed %s against %s: %d errors, first: %s", op, name, r.Errors, r.FirstErr)
			}
			slices.Sort(r.Latencies)
			sent := float64(r.Requests + r.Errors)
			rows[i] = replayRow{
				Op: op, Target: name, Requests: r.Requests, Errors: r.Errors,
				PerSecond: float64(r.Requests) / r.Wall.Seconds(),
				P50:       micros(harness.Percentile(r.Latencies, 50)), P99: micros(harness.Percentile(r.Latencies, 99)),
				ServerCPUMicros: micros(r.ServerCPU.Best()) / sent, ClientCPUMicros: micros(r.ClientCPU) / sent,
			}
			fmt.Printf("  replay %-8s %-9s %7.0f req/s  server CPU %5.1f µs/req  p99 %5.0f µs\n", op, name, rows[i].PerSecond, rows[i].ServerCPUMicros, rows[i].P99)
		}
		rows[0].CPURatio = rows[0].ServerCPUMicros / rows[1].ServerCPUMicros
		rows[0].TPRatio = rows[0].PerSecond / rows[1].PerSecond
		rep.Replay = append(rep.Replay, rows[0], rows[1])
	}
	return nil
}

// fetchProfile saves a profile from the server's metrics listener
// (TRENT_DEBUG_PPROF=1).
func fetchProfile(ctx context.Context, srv *harness.Child, name, path string) (string, error) {
	metrics := srv.Line("Metrics at ")
	u, err := url.Parse(metrics)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("no metrics listener to profile (%q)", metrics)
	}
	if err := harness.CheckLoopback(u.Host); err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+u.Host+"/debug/pprof/"+name, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("profile %s: HTTP %d", name, resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		return "", err
	}
	fmt.Printf("wrote %s\n", path)
	return path, nil
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func printReport(w io.Writer, r report) {
	fmt.Fprintf(w, "\n%d keys, CreateKey concurrency %d, %d CPUs, %s\n", r.Keys, r.Concurrent, r.NumCPU, r.GoVersion)
	fmt.Fprintf(w, "  RSS: %s empty, %s with the keys (anon %s, file %s; peak %s); %.0f bytes per key\n",
		mib(r.RSSEmpty), mib(r.RSSFull), mib(r.AnonFull), mib(r.FileFull), mib(r.PeakFull), r.BytesPerKey)
	fmt.Fprintf(w, "  RSS after a restart: %s (anon %s, peak %s), %s after the restart's latency runs\n",
		mib(r.RSSRestarted), mib(r.AnonRestarted), mib(r.PeakRestarted), mib(r.RSSAfterUse))
	fmt.Fprintf(w, "  CreateKey: %.0f/s over the run", r.CreatePerSec)
	if len(r.Tenths) > 0 {
		fmt.Fprintf(w, " (first tenth %.0f/s, last %.0f/s)", r.Tenths[0].PerSecond, r.Tenths[len(r.Tenths)-1].PerSecond)
	}
	fmt.Fprintf(w, "\n  restart: listening %.2fs, first request served %.2fs after exec\n", r.RestartBanner, r.RestartReady)
	fmt.Fprintf(w, "  data directory: %s\n", mib(r.DataDirBytes))
	for _, row := range r.Replay {
		if row.Target != "trent" {
			continue
		}
		var b replayRow
		for _, x := range r.Replay {
			if x.Op == row.Op && x.Target == "baseline" {
				b = x
			}
		}
		fmt.Fprintf(w, "  replay %s: trent %.1f µs CPU/req, baseline %.1f → %.2f×; throughput %.0f vs %.0f req/s → %.2f×; trent p99 %.0f µs\n",
			row.Op, row.ServerCPUMicros, b.ServerCPUMicros, row.CPURatio, row.PerSecond, b.PerSecond, row.TPRatio, row.P99)
	}
}
