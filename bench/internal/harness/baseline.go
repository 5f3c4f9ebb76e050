//go:build linux

package harness

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// BaselineBanner starts the line a baseline child prints when it listens.
const BaselineBanner = "trent benchmark baseline serving at "

// baselineLifetime bounds a baseline child in case its parent never stops it.
const baselineLifetime = 10 * time.Minute

// BaselineBodies are the fixed responses of the baseline server, one per
// X-Amz-Target, shaped and sized like Trent's so the client parses the same
// amount of JSON and base64. blobLen is the length of Trent's ciphertext blob
// for the benchmark's plaintext, of plaintextSize bytes.
func BaselineBodies(keyARN string, blobLen, plaintextSize int) map[string][]byte {
	blob := make([]byte, blobLen)
	pt := make([]byte, plaintextSize)
	for i := range blob {
		blob[i] = byte(i)
	}
	h := sha256.Sum256(blob)
	copy(pt, h[:])
	b64 := base64.StdEncoding.EncodeToString
	must := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err) // only fixed maps of strings are marshalled
		}
		return b
	}
	return map[string][]byte{
		"TrentService.Encrypt": must(map[string]string{
			"CiphertextBlob": b64(blob), "KeyId": keyARN, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
		}),
		"TrentService.Decrypt": must(map[string]string{
			"Plaintext": b64(pt), "KeyId": keyARN, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
		}),
		"TrentService.GenerateDataKey": must(map[string]string{
			"CiphertextBlob": b64(blob), "Plaintext": b64(pt), "KeyId": keyARN,
		}),
		// A P-256 signature's size; the other Sign phases are measured
		// against the same reply.
		"TrentService.Sign": must(map[string]string{
			"Signature": b64(blob[:72]), "KeyId": keyARN, "SigningAlgorithm": "ECDSA_SHA_256",
		}),
		"TrentService.GenerateMac": must(map[string]string{
			"Mac": b64(pt), "KeyId": keyARN, "MacAlgorithm": "HMAC_SHA_256",
		}),
	}
}

// baselineHandler accepts a KMS JSON 1.1 POST, reads its body and returns the
// fixed response for its X-Amz-Target: no signature check, no crypto, no
// store. It is the floor of what any Go HTTP server costs for the same traffic.
func baselineHandler(bodies map[string][]byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20)); err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		body, ok := bodies[r.Header.Get("X-Amz-Target")]
		if r.Method != http.MethodPost || !ok {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"UnknownOperationException"}`)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/x-amz-json-1.1")
		h.Set("X-Amzn-Requestid", "00000000-0000-4000-8000-000000000000")
		w.Write(body)
	})
}

// ServeBaseline runs the baseline server on addr, a loopback address, until
// SIGTERM, SIGINT or baselineLifetime. It is the body of the hidden
// -serve-baseline mode, run in a child process so that its CPU is read from
// /proc exactly as Trent's is.
func ServeBaseline(addr, keyARN string, blobLen, plaintextSize int) error {
	if err := CheckLoopback(addr); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, baselineLifetime)
	defer cancel()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// The same server timeouts as trent serve.
	hs := &http.Server{Handler: baselineHandler(BaselineBodies(keyARN, blobLen, plaintextSize)), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Printf("%shttp://%s\n", BaselineBanner, ln.Addr())

	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// CheckLoopback refuses any listen or endpoint host that is not a loopback
// address: the benchmark must never load a remote machine.
func CheckLoopback(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s is not a loopback address", hostport)
	}
	return nil
}
