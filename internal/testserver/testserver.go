// Package testserver starts a real `trent serve` process on a loopback port
// for end-to-end tests, and gives them AWS SDK configurations that reach it.
package testserver

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Account and the root credentials every test server starts with.
const (
	Account   = "111122223333"
	AccessKey = "AKIATRENTTESTROOT01"
	SecretKey = "trent-test-secret-access-key-0000000001"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/trent once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, err := os.MkdirTemp("", "trent-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "trent")
		// TRENT_TEST_BUILD_FLAGS adds go build flags, e.g. -race to run the
		// end-to-end tests against a race-detecting server.
		args := append([]string{"build", "-o", binPath}, strings.Fields(os.Getenv("TRENT_TEST_BUILD_FLAGS"))...)
		cmd := exec.Command("go", append(args, "./cmd/trent")...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Cleanup removes the binary Binary built; call it from TestMain after the
// tests ran.
func Cleanup() {
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
}

// Options for Start.
type Options struct {
	DataDir string    // empty: a fresh t.TempDir()
	Regions []string  // empty: us-east-1
	Env     []string  // extra environment, KEY=value
	Stdin   io.Reader // the server's standard input (a passphrase); nil: none
	// Sealed: the server starts sealed (its passphrase comes from trent
	// unseal); Start returns once it answers, and WaitServing waits for it
	// to be unsealed.
	Sealed bool
}

// Server is a running trent serve process.
type Server struct {
	URL string
	// Endpoints maps the id of each VPC endpoint listener to its URL.
	Endpoints map[string]string
	// MetricsURL is where metrics are served, if TRENT_METRICS_LISTEN was set.
	MetricsURL string
	DataDir    string
	Regions    []string
	cmd        *exec.Cmd
	stderr     *strings.Builder
	stdout     strings.Builder // guarded by mu
	mu         sync.Mutex
	done       chan struct{}
	serving    chan struct{} // closed when the server says it serves
}

// Start runs trent serve and waits until it listens. The process is stopped
// (SIGTERM) when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	return StartMany(t, o)[0]
}

// StartMany runs one trent serve per Options all at once, then waits until
// each listens: nodes of a cluster starting together.
func StartMany(t testing.TB, opts ...Options) []*Server {
	t.Helper()
	type started struct {
		s    *Server
		urlc chan string
		eps  map[string]string
		murl *string
	}
	var all []started
	for _, o := range opts {
		s, urlc, eps, murl := launch(t, o)
		all = append(all, started{s, urlc, eps, murl})
	}
	var out []*Server
	for _, st := range all {
		s := st.s
		select {
		case s.URL = <-st.urlc:
			s.Endpoints, s.MetricsURL = st.eps, *st.murl
		case <-s.done:
			t.Fatalf("trent serve exited before listening:\n%s", s.Stderr())
		case <-time.After(60 * time.Second):
			s.cmd.Process.Kill()
			t.Fatalf("trent serve did not start within 60s:\n%s", s.Stderr())
		}
		out = append(out, s)
	}
	return out
}

func launch(t testing.TB, o Options) (*Server, chan string, map[string]string, *string) {
	t.Helper()
	bin := Binary(t)
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	if len(o.Regions) == 0 {
		o.Regions = []string{"us-east-1"}
	}
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", o.DataDir, "--region", strings.Join(o.Regions, ","))
	cmd.Env = append(os.Environ(),
		"TRENT_ACCOUNT_ID="+Account,
		"TRENT_ROOT_ACCESS_KEY_ID="+AccessKey,
		"TRENT_ROOT_SECRET_ACCESS_KEY="+SecretKey,
		// Tests make requests in bursts AWS would throttle, with the SDK's
		// retries off; a test of quotas sets TRENT_QUOTA_SCALE in Env,
		// which comes later and wins.
		"TRENT_QUOTA_SCALE=0",
	)
	cmd.Env = append(cmd.Env, o.Env...)
	s := &Server{DataDir: o.DataDir, Regions: o.Regions, cmd: cmd, stderr: &strings.Builder{}, done: make(chan struct{}), serving: make(chan struct{})}
	cmd.Stdin = o.Stdin
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	urlc := make(chan string, 1)
	endpoints := map[string]string{}
	metricsURL := new(string)
	// What the server says about itself comes on standard output, or on
	// standard error when standard output carries the audit log (--audit-log
	// -): both are read for it, one line at a time.
	var lmu sync.Mutex
	handle := func(line string) {
		lmu.Lock()
		defer lmu.Unlock()
		// "VPC endpoint vpce-… (vpc-…) at http://…" lines come first.
		if rest, ok := strings.CutPrefix(line, "VPC endpoint "); ok {
			if f := strings.Fields(rest); len(f) == 4 {
				endpoints[f[0]] = f[3]
			}
		}
		if rest, ok := strings.CutPrefix(line, "Metrics at "); ok {
			*metricsURL = strings.TrimSpace(rest)
		}
		if rest, ok := strings.CutPrefix(line, "Trent is sealed at "); ok && o.Sealed {
			urlc <- strings.TrimSuffix(strings.Fields(rest)[0], ";")
		}
		if rest, ok := strings.CutPrefix(line, "Trent is serving AWS KMS at "); ok {
			if !o.Sealed {
				urlc <- strings.Fields(rest)[0]
			}
			close(s.serving)
		}
	}
	cmd.Stderr = &lineWriter{w: lockedWriter{s}, fn: handle}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.Stop(t) })
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			s.mu.Lock()
			s.stdout.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			handle(sc.Text())
		}
	}()
	return s, urlc, endpoints, metricsURL
}

// lineWriter passes what it is written to w, and each whole line to fn.
type lineWriter struct {
	w   io.Writer
	fn  func(string)
	buf []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.fn(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	return l.w.Write(p)
}

// Stdout is what the server wrote to standard output so far, whole lines.
func (s *Server) Stdout() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stdout.String()
}

// Signal sends sig to the server process.
func (s *Server) Signal(sig os.Signal) error { return s.cmd.Process.Signal(sig) }

// WaitServing waits until the server says it serves (after an unseal).
func (s *Server) WaitServing(t testing.TB) {
	t.Helper()
	select {
	case <-s.serving:
	case <-s.done:
		t.Fatalf("trent serve exited:\n%s", s.Stderr())
	case <-time.After(60 * time.Second):
		t.Fatalf("trent serve did not serve within 60s:\n%s", s.Stderr())
	}
}

// Wait waits for the server to exit by itself and returns what it logged.
func (s *Server) Wait(t testing.TB) string {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("trent serve did not exit within 60s:\n%s", s.Stderr())
	}
	return s.Stderr()
}

type lockedWriter struct{ s *Server }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.stderr.Write(p)
}

// Stderr is what the server logged so far.
func (s *Server) Stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// Stop ends the server with SIGTERM and waits for it. A data race the
// server reported (built with -race) fails the test.
func (s *Server) Stop(t testing.TB) {
	defer func() {
		if log := s.Stderr(); strings.Contains(log, "WARNING: DATA RACE") {
			t.Errorf("trent serve reported a data race:\n%s", log)
		}
	}()
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		t.Errorf("trent serve did not stop on SIGTERM within 15s")
	}
}

// Kill ends the server with SIGKILL, as a crash would.
func (s *Server) Kill() {
	s.cmd.Process.Kill()
	<-s.done
}

// Config is an AWS SDK configuration for the server's root credentials in
// region (empty: the first Region served).
func (s *Server) Config(region string) aws.Config {
	return s.ConfigFor(region, AccessKey, SecretKey, "")
}

// ConfigVia is ConfigFor through the VPC endpoint listener with the given id.
func (s *Server) ConfigVia(endpointID, region, accessKey, secret, token string) aws.Config {
	cfg := s.ConfigFor(region, accessKey, secret, token)
	cfg.BaseEndpoint = aws.String(s.Endpoints[endpointID])
	return cfg
}

// ConfigFor is an AWS SDK configuration with the given credentials.
func (s *Server) ConfigFor(region, accessKey, secret, token string) aws.Config {
	if region == "" {
		region = s.Regions[0]
	}
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secret, token),
		BaseEndpoint: aws.String(s.URL),
		// Keep retries from hiding errors in tests.
		RetryMaxAttempts: 1,
	}
}

// Context is a context bounded for one end-to-end step.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
