//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/trentkms/trent/bench/internal/harness"
)

// plaintextSize is the size of the plaintext Encrypt sends.
const plaintextSize = 32

// encryptionContext is the small context bound to every ciphertext.
var encryptionContext = map[string]string{"purpose": "kmsbench", "tenant": "t-0001"}

// operation is one KMS call, made the same way against Trent and the baseline.
type operation struct {
	Name string
	call func(ctx context.Context, c *kms.Client, w *workload) error
}

// workload is what every call needs: the key and a ciphertext to decrypt.
type workload struct {
	KeyID      string
	Plaintext  []byte
	Ciphertext []byte
	// Keys of the other specs, by operation name (Sign-RSA_2048, GenerateMac, …).
	Keys map[string]string
}

// message is what the Sign and GenerateMac phases sign: 256 bytes, RAW.
var message = make([]byte, 256)

var operations = []operation{
	{"Encrypt", func(ctx context.Context, c *kms.Client, w *workload) error {
		_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(w.KeyID), Plaintext: w.Plaintext, EncryptionContext: encryptionContext})
		return err
	}},
	{"Decrypt", func(ctx context.Context, c *kms.Client, w *workload) error {
		out, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: w.Ciphertext, EncryptionContext: encryptionContext})
		if err != nil {
			return err
		}
		if len(out.Plaintext) != plaintextSize {
			return fmt.Errorf("Decrypt returned %d bytes of plaintext, want %d", len(out.Plaintext), plaintextSize)
		}
		clear(out.Plaintext)
		return nil
	}},
	{"GenerateDataKey", func(ctx context.Context, c *kms.Client, w *workload) error {
		out, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(w.KeyID), KeySpec: types.DataKeySpecAes256, EncryptionContext: encryptionContext})
		if err != nil {
			return err
		}
		if len(out.Plaintext) != 32 {
			return fmt.Errorf("GenerateDataKey returned %d bytes of plaintext, want 32", len(out.Plaintext))
		}
		clear(out.Plaintext)
		return nil
	}},
}

// asymmetric are the phases on keys other than the symmetric one: the key
// spec and usage each needs, and the call.
var asymmetric = []struct {
	op    operation
	spec  types.KeySpec
	usage types.KeyUsageType
}{
	{sign("Sign-ECC_NIST_P256", types.SigningAlgorithmSpecEcdsaSha256), types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify},
	{sign("Sign-RSA_2048", types.SigningAlgorithmSpecRsassaPssSha256), types.KeySpecRsa2048, types.KeyUsageTypeSignVerify},
	{sign("Sign-ED25519", types.SigningAlgorithmSpecEd25519Sha512), types.KeySpecEccNistEdwards25519, types.KeyUsageTypeSignVerify},
	{operation{"GenerateMac", func(ctx context.Context, c *kms.Client, w *workload) error {
		out, err := c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: aws.String(w.Keys["GenerateMac"]), Message: message, MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
		if err == nil && w.Keys["GenerateMac"] != "" && len(out.Mac) != 32 && out.KeyId != nil {
			return fmt.Errorf("GenerateMac returned a %d-byte MAC, want 32", len(out.Mac))
		}
		return err
	}}, types.KeySpecHmac256, types.KeyUsageTypeGenerateVerifyMac},
}

func sign(name string, alg types.SigningAlgorithmSpec) operation {
	return operation{name, func(ctx context.Context, c *kms.Client, w *workload) error {
		_, err := c.Sign(ctx, &kms.SignInput{KeyId: aws.String(w.Keys[name]), Message: message, MessageType: types.MessageTypeRaw, SigningAlgorithm: alg})
		return err
	}}
}

func init() {
	for _, a := range asymmetric {
		operations = append(operations, a.op)
	}
}

func findOperation(name string) (operation, bool) {
	for _, o := range operations {
		if o.Name == name {
			return o, true
		}
	}
	return operation{}, false
}

// phase is one measured run of one operation against one server.
type phase struct {
	Op, Target string
	Requests   int // completed without error
	Errors     int
	FirstError string        `json:",omitempty"`
	Wall       time.Duration // from the first request sent to the last response
	Latencies  []time.Duration
	ServerCPU  harness.CPUDelta
	ClientCPU  time.Duration // this process, which signs and parses
	CPUKnown   bool          // false when no server pid was given
}

// phaseConfig bounds a phase.
type phaseConfig struct {
	N, Concurrency, Warmup int
	Timeout                time.Duration // for the warm-up and the phase together
	RequestTimeout         time.Duration
}

// runPhase sends cfg.Warmup unmeasured requests, then cfg.N measured ones,
// each time from cfg.Concurrency goroutines, and reads the server's CPU time
// (pid; 0: not measured) just before and after the measured requests. It
// stops early when the phase deadline passes or ctx ends.
func runPhase(ctx context.Context, target string, c *kms.Client, op operation, w *workload, pid int, cfg phaseConfig) (*phase, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	p := &phase{Op: op.Name, Target: target}

	if cfg.Warmup > 0 {
		warm := &phase{}
		drive(ctx, c, op, w, cfg.Warmup, cfg, warm)
		if warm.Errors > 0 {
			return nil, fmt.Errorf("%s %s warm-up: %d of %d requests failed, first: %s", target, op.Name, warm.Errors, cfg.Warmup, warm.FirstError)
		}
	}
	var before harness.CPUSample
	if pid > 0 {
		var err error
		if before, err = harness.ReadCPU(pid); err != nil {
			return nil, err
		}
	}
	self0 := harness.SelfCPU()
	start := time.Now()
	drive(ctx, c, op, w, cfg.N, cfg, p)
	p.Wall = time.Since(start)
	p.ClientCPU = harness.SelfCPU() - self0
	if pid > 0 {
		after, err := harness.ReadCPU(pid)
		if err != nil {
			return nil, err
		}
		p.ServerCPU, p.CPUKnown = before.To(after), true
	}
	if err := ctx.Err(); err != nil && p.Requests+p.Errors < cfg.N {
		return p, fmt.Errorf("%s %s: stopped after %d of %d requests: %w", target, op.Name, p.Requests+p.Errors, cfg.N, err)
	}
	return p, nil
}

// drive makes n calls of op from cfg.Concurrency goroutines and records the
// latency of each successful one in p.
func drive(ctx context.Context, c *kms.Client, op operation, w *workload, n int, cfg phaseConfig, p *phase) {
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() {
			lat := make([]time.Duration, 0, n/cfg.Concurrency+1)
			var errs int
			var first error
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				rctx, cancel := context.WithTimeout(ctx, cfg.RequestTimeout)
				t0 := time.Now()
				err := op.call(rctx, c, w)
				d := time.Since(t0)
				cancel()
				if err != nil {
					errs++
					if first == nil && !errors.Is(err, context.Canceled) {
						first = err
					}
					continue
				}
				lat = append(lat, d)
			}
			mu.Lock()
			defer mu.Unlock()
			p.Latencies = append(p.Latencies, lat...)
			p.Requests += len(lat)
			p.Errors += errs
			if first != nil && p.FirstError == "" {
				p.FirstError = first.Error()
			}
		})
	}
	wg.Wait()
}

// summary is the reported figures of a phase.
type summary struct {
	Op                 string  `json:"op"`
	Target             string  `json:"target"`
	Requests           int     `json:"requests"`
	Errors             int     `json:"errors"`
	FirstError         string  `json:"first_error,omitempty"`
	Concurrency        int     `json:"concurrency"`
	WallSeconds        float64 `json:"wall_seconds"`
	RequestsPerSecond  float64 `json:"requests_per_second"`
	P50Micros          float64 `json:"p50_us"`
	P90Micros          float64 `json:"p90_us"`
	P99Micros          float64 `json:"p99_us"`
	MaxMicros          float64 `json:"max_us"`
	ServerCPUMicros    float64 `json:"server_cpu_us_per_request,omitempty"`       // schedstat if available, else stat ticks
	ServerCPUTickMicro float64 `json:"server_cpu_ticks_us_per_request,omitempty"` // from /proc/<pid>/stat, 10 ms resolution
	ServerCPUSource    string  `json:"server_cpu_source,omitempty"`
	ClientCPUMicros    float64 `json:"client_cpu_us_per_request"`
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func (p *phase) summarize(concurrency int) summary {
	s := summary{Op: p.Op, Target: p.Target, Requests: p.Requests, Errors: p.Errors, FirstError: p.FirstError, Concurrency: concurrency, WallSeconds: p.Wall.Seconds()}
	if p.Requests == 0 {
		return s
	}
	lat := slices.Clone(p.Latencies)
	slices.Sort(lat)
	s.RequestsPerSecond = float64(p.Requests) / p.Wall.Seconds()
	s.P50Micros = micros(harness.Percentile(lat, 50))
	s.P90Micros = micros(harness.Percentile(lat, 90))
	s.P99Micros = micros(harness.Percentile(lat, 99))
	s.MaxMicros = micros(lat[len(lat)-1])
	// Failed requests cost the server too; divide by all that were sent.
	sent := float64(p.Requests + p.Errors)
	s.ClientCPUMicros = micros(p.ClientCPU) / sent
	if p.CPUKnown {
		s.ServerCPUMicros = micros(p.ServerCPU.Best()) / sent
		s.ServerCPUTickMicro = micros(p.ServerCPU.Ticks) / sent
		s.ServerCPUSource = "stat"
		if p.ServerCPU.SchedNS > 0 {
			s.ServerCPUSource = "schedstat"
		}
	}
	return s
}
