package server

import (
	"encoding/base64"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/trentkms/trent/internal/quota"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

const throttleMessage = "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."

// withQuota serves e's services through a server with request quotas at
// rates, on a clock the test moves.
func withQuota(t testing.TB, e *env, rates map[quota.Class]float64) *atomic.Int64 {
	t.Helper()
	l, err := quota.New(quota.Options{Rates: rates})
	if err != nil {
		t.Fatal(err)
	}
	var offset atomic.Int64 // nanoseconds after testNow
	srv, err := New(e.kms, e.ids, Options{Regions: []string{"us-east-1", "eu-west-1"}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return testNow.Add(time.Duration(offset.Load())) }, Quota: l})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	return &offset
}

// A request over its quota is answered with AWS's ThrottlingException and
// changes nothing; each operation's quota is its own, and a quota refills at
// its rate.
func TestManagementQuotas(t *testing.T) {
	e := newEnv(t)
	clock := withQuota(t, e, map[quota.Class]float64{quota.ForOperation("CreateKey"): 2})
	e.createKey(t, "")
	e.createKey(t, "")
	before := e.snapshot(t)
	var got jsonError
	code := e.call(t, rootCreds(), "CreateKey", "{}", &got)
	wantJSONError(t, code, got, 400, "ThrottlingException", throttleMessage)
	if after := e.snapshot(t); len(after) != len(before) {
		t.Fatalf("a throttled CreateKey wrote records: %d → %d", len(before), len(after))
	}
	var keys struct{ Keys []struct{ KeyId string } }
	if code := e.call(t, rootCreds(), "ListKeys", "{}", &keys); code != 200 || len(keys.Keys) != 2 {
		t.Fatalf("ListKeys (its own quota) = %d, %d keys", code, len(keys.Keys))
	}
	clock.Add(int64(500 * time.Millisecond)) // one CreateKey's worth at 2/s
	e.createKey(t, "")
	code = e.call(t, rootCreds(), "CreateKey", "{}", &got)
	wantJSONError(t, code, got, 400, "ThrottlingException", throttleMessage)
}

// Cryptographic operations share one quota per key type: symmetric requests
// (Decrypt of a ciphertext without a KeyId and GenerateRandom included) use
// up the symmetric quota without touching the RSA one.
func TestCryptographicQuotasByKeyType(t *testing.T) {
	e := newEnv(t)
	withQuota(t, e, map[quota.Class]float64{quota.Symmetric: 3, quota.RSA: 2})
	sym := e.createKey(t, "")
	var rsa struct{ KeyMetadata struct{ Arn string } }
	if code := e.call(t, rootCreds(), "CreateKey", `{"KeySpec":"RSA_2048","KeyUsage":"SIGN_VERIFY"}`, &rsa); code != 200 {
		t.Fatalf("CreateKey RSA: %d", code)
	}
	var enc struct{ CiphertextBlob string }
	if code := e.call(t, rootCreds(), "Encrypt", `{"KeyId":"`+sym+`","Plaintext":"`+base64.StdEncoding.EncodeToString([]byte("x"))+`"}`, &enc); code != 200 {
		t.Fatalf("Encrypt: %d", code)
	}
	decrypt := `{"CiphertextBlob":"` + enc.CiphertextBlob + `"}`
	var out map[string]any
	if code := e.call(t, rootCreds(), "Decrypt", decrypt, &out); code != 200 {
		t.Fatalf("Decrypt: %d %v", code, out)
	}
	if code := e.call(t, rootCreds(), "GenerateRandom", `{"NumberOfBytes":16}`, &out); code != 200 {
		t.Fatalf("GenerateRandom: %d %v", code, out)
	}
	// Three symmetric requests made: the next of each kind is throttled.
	for _, req := range []struct{ op, body string }{
		{"Decrypt", decrypt},
		{"GenerateRandom", `{"NumberOfBytes":16}`},
		{"GenerateDataKey", `{"KeyId":"` + sym + `","KeySpec":"AES_256"}`},
	} {
		var got jsonError
		code := e.call(t, rootCreds(), req.op, req.body, &got)
		wantJSONError(t, code, got, 400, "ThrottlingException", throttleMessage)
	}
	sign := `{"KeyId":"` + rsa.KeyMetadata.Arn + `","Message":"` + base64.StdEncoding.EncodeToString([]byte("m")) + `","SigningAlgorithm":"RSASSA_PSS_SHA_256"}`
	for i := range 2 {
		if code := e.call(t, rootCreds(), "Sign", sign, &out); code != 200 {
			t.Fatalf("Sign %d on an RSA key with the symmetric quota used up: %d %v", i, code, out)
		}
	}
	var got jsonError
	code := e.call(t, rootCreds(), "Sign", sign, &got)
	wantJSONError(t, code, got, 400, "ThrottlingException", throttleMessage)
}

// The cost of quotas per request: the same Encrypt served with and without
// them, and the admission step alone.
func BenchmarkQuota(b *testing.B) {
	e := newEnv(b)
	key := e.createKey(b, "")
	body := `{"KeyId":"` + key + `","Plaintext":"` + base64.StdEncoding.EncodeToString([]byte("attack at dawn")) + `"}`
	r := kmsRequest(b, "Encrypt", body)
	sign(b, r, body, rootCreds(), "us-east-1")
	raw := wireBytes(b, r)
	serve := func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if rec, _ := e.serveBytes(raw); rec.Code != 200 {
				b.Fatalf("Encrypt: %d %s", rec.Code, rec.Body)
			}
		}
	}
	plain := e.srv
	b.Run("Encrypt/without", serve)
	// A scale that never throttles: the benchmark measures admitting.
	l, err := quota.New(quota.Options{Scale: 1e9})
	if err != nil {
		b.Fatal(err)
	}
	quoted, err := New(e.kms, e.ids, Options{Regions: []string{"us-east-1", "eu-west-1"}, Log: plain.log, Now: plain.now, Quota: l})
	if err != nil {
		b.Fatal(err)
	}
	e.srv = quoted
	b.Run("Encrypt/with", serve)
	e.srv = plain
	b.Run("Encrypt/without-again", serve)
	// The two servers in alternating rounds, timed by this thread's CPU
	// time: the machine is shared, and wall time measures the others'
	// load as much as ours. ns/req of each, and their difference: the
	// cost of quotas per request.
	b.Run("Encrypt/interleaved", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		const round = 100
		var spent [2]time.Duration
		servers := [2]*Server{plain, quoted}
		order := [2][2]int{{0, 1}, {1, 0}} // which goes first alternates: the second of a pair runs a little slower
		for r := 0; b.Loop(); r++ {
			for _, i := range order[r%2] {
				e.srv = servers[i]
				start := threadCPU(b)
				for range round {
					if rec, _ := e.serveBytes(raw); rec.Code != 200 {
						b.Fatalf("Encrypt: %d %s", rec.Code, rec.Body)
					}
				}
				spent[i] += threadCPU(b) - start
			}
		}
		e.srv = plain
		n := float64(b.N * round)
		b.ReportMetric(float64(spent[0].Nanoseconds())/n, "cpu-ns/req-without")
		b.ReportMetric(float64(spent[1].Nanoseconds())/n, "cpu-ns/req-with")
		b.ReportMetric(float64((spent[1]-spent[0]).Nanoseconds())/n, "cpu-ns/req-quota")
		b.ReportMetric(0, "ns/op")
	})

	// The admission step alone: classify by the key, then take a token.
	ident, err := e.ids.Identity(rootKeyID)
	if err != nil {
		b.Fatal(err)
	}
	c := call{identity: ident, region: "us-east-1", op: "Encrypt", quota: quoted.quota}
	c.request.Time = time.Now()
	var out map[string]any
	if code := e.call(b, rootCreds(), "CreateAlias", `{"AliasName":"alias/bench","TargetKeyId":"`+key+`"}`, &out); code != 200 {
		b.Fatalf("CreateAlias: %d %v", code, out)
	}
	for _, id := range []string{key, "alias/bench"} {
		in := &kmsapi.EncryptRequest{KeyId: &id}
		name := "admit/key-arn"
		if id == "alias/bench" {
			name = "admit/alias"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.quota.admit(c, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// threadCPU is the CPU time this OS thread has used.
func threadCPU(b *testing.B) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ts.Nano())
}
