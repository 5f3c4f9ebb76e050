package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/trentkms/trent/internal/audit"
	"github.com/trentkms/trent/internal/iam"
	tkms "github.com/trentkms/trent/internal/kms"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/server"
	"github.com/trentkms/trent/internal/store/bolt"
)

const (
	account   = "111122223333"
	accessKey = "AKIATRENTBENCHROOT01"
	secretKey = "trent-bench-secret-access-key-0000000001"
	region    = "us-east-1"
)

var encryptionContext = map[string]string{"purpose": "kmsbench", "tenant": "t-0001"}

// newHandler wires the real server the way `trent serve` does (cmd/trent/
// serve.go): file root key, bbolt store, IAM directory, KMS service, server.
// Its background goroutines stop when the benchmark ends.
func newHandler(b *testing.B) http.Handler {
	b.Helper()
	dir := b.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "trent.db"))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sealer, rootTxn, err := seal.Initialize(ctx, st, seal.NewFileSeal(filepath.Join(dir, "root.key"), rand.Reader), rand.Reader, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ids, err := iam.New(ctx, st, sealer, iam.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ids.Bootstrap(ctx, iam.Bootstrap{AccountID: account, AccessKeyID: accessKey, SecretAccessKey: secretKey, Also: rootTxn}); err != nil {
		b.Fatal(err)
	}
	k, err := tkms.New(ctx, st, sealer, tkms.Options{Log: log})
	if err != nil {
		b.Fatal(err)
	}
	// The audit log is on, as trent serve has it: its event is part of
	// every request's cost (Record encodes it; the writer writes and fsyncs
	// on its own goroutine).
	al, err := audit.Open(filepath.Join(dir, "audit.jsonl"), audit.Options{Log: log})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(k, ids, server.Options{Regions: []string{region}, Log: log, Audit: al})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{}, 3)
	go func() { ids.Run(ctx); done <- struct{}{} }()
	go func() { k.Run(ctx); done <- struct{}{} }()
	go func() { al.Run(ctx); done <- struct{}{} }()
	b.Cleanup(func() {
		al.Close()
		cancel()
		<-done
		<-done
		<-done
		st.Close()
	})
	return srv
}

// captured is one request as the SDK sent it: signed, with its body.
type captured struct {
	header http.Header
	host   string
	path   string
	body   []byte
}

// handlerTransport hands each SDK request straight to a handler, and keeps
// the last one so that it can be replayed.
type handlerTransport struct {
	h    http.Handler
	last captured
}

func (t *handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		r.Body.Close()
	}
	t.last = captured{header: r.Header.Clone(), host: r.URL.Host, path: r.URL.Path, body: body}
	in := t.last.request()
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in.WithContext(r.Context()))
	return rec.Result(), nil
}

// request rebuilds the server's view of the captured request.
func (c captured) request() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://"+c.host+c.path, bytes.NewReader(c.body))
	r.Header = c.header.Clone()
	r.Host = c.host
	r.RemoteAddr = "127.0.0.1:40000"
	return r
}

// sdkClient is a real SDK client whose requests the handler serves in-process.
func sdkClient(h http.Handler) (*kms.Client, *handlerTransport) {
	tr := &handlerTransport{h: h}
	c := kms.NewFromConfig(aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		BaseEndpoint: aws.String("http://127.0.0.1:9800"),
		HTTPClient:   &http.Client{Transport: tr},
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	})
	return c, tr
}

// discardWriter is an allocation-free http.ResponseWriter, so that the
// benchmark measures the handler and not a recorder.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(p)
	return len(p), nil
}

// signedRequests returns one SDK-signed request per operation, captured from
// the real aws-sdk-go-v2 KMS client against h.
func signedRequests(b *testing.B, h http.Handler) map[string]captured {
	b.Helper()
	c, tr := sdkClient(h)
	ctx := context.Background()
	k, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("serverbench")})
	if err != nil {
		b.Fatal(err)
	}
	keyID := k.KeyMetadata.Arn
	pt := make([]byte, 32)
	rand.Read(pt)
	reqs := map[string]captured{}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: keyID, Plaintext: pt, EncryptionContext: encryptionContext})
	if err != nil {
		b.Fatal(err)
	}
	reqs["Encrypt"] = tr.last
	if _, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: encryptionContext}); err != nil {
		b.Fatal(err)
	}
	reqs["Decrypt"] = tr.last
	if _, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: keyID, KeySpec: types.DataKeySpecAes256, EncryptionContext: encryptionContext}); err != nil {
		b.Fatal(err)
	}
	reqs["GenerateDataKey"] = tr.last
	return reqs
}

var benchOps = []string{"Encrypt", "Decrypt", "GenerateDataKey"}

// baselineHandler reads the body and writes a fixed KMS-shaped response: the
// floor of the handler benchmark, as kmsbench's baseline server is the floor
// of the process benchmark.
var baselineHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "00000000-0000-4000-8000-000000000000")
	io.WriteString(w, `{"CiphertextBlob":"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoOEhYaHiImKi4yNjo+QkZKTlJWWl5iZmpucnZ6foKGio6Slpqc=","KeyId":"arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}`)
})

// BenchmarkHandler replays one SDK-signed request per operation straight into
// the server's ServeHTTP: SigV4 verification, decoding, key lookup, crypto
// and encoding, without the network or net/http's connection handling. The
// signature stays valid for the 15-minute clock-skew window, far longer than
// a run. "baseline" is a handler that only reads the body and writes a fixed
// response.
//
//	go test -run XXX -bench Handler -benchmem -cpuprofile cpu.out ./bench/
func BenchmarkHandler(b *testing.B) {
	h := newHandler(b)
	reqs := signedRequests(b, h)
	for _, op := range benchOps {
		b.Run(op, func(b *testing.B) { replay(b, h, reqs[op]) })
	}
	b.Run("baseline", func(b *testing.B) { replay(b, baselineHandler, reqs["Encrypt"]) })
}

func replay(b *testing.B, h http.Handler, c captured) {
	r := c.request()
	br := bytes.NewReader(c.body)
	r.Body = io.NopCloser(br)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		br.Reset(c.body)
		clear(w.h)
		w.status, w.n = 0, 0
		h.ServeHTTP(w, r)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}

// BenchmarkLoopback sends the same signed requests to the server behind a real
// net/http server on a loopback port, from a plain keep-alive http.Client (no
// SDK, no signing in the loop), with parallelism GOMAXPROCS. Client and
// server share the process, so its ns/op is an upper bound of the server's
// cost; its CPU profile, focused on (*http.conn).serve, shows the server's.
func BenchmarkLoopback(b *testing.B) {
	h := newHandler(b)
	reqs := signedRequests(b, h)
	for _, op := range append(benchOps, "baseline") {
		b.Run(op, func(b *testing.B) {
			var ts *httptest.Server
			c := reqs[op]
			if op == "baseline" {
				ts = httptest.NewServer(baselineHandler)
				c = reqs["Encrypt"]
			} else {
				ts = httptest.NewServer(h)
			}
			defer ts.Close()
			client := ts.Client()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r, err := http.NewRequest(http.MethodPost, ts.URL+c.path, bytes.NewReader(c.body))
					if err != nil {
						b.Error(err)
						return
					}
					r.Header = c.header.Clone()
					r.Host = c.host // the signed host
					resp, err := client.Do(r)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Error(fmt.Sprintf("status %d", resp.StatusCode))
						return
					}
				}
			})
		})
	}
}
