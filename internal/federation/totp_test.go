package federation_test

import (
	"bytes"
	"crypto/rand"
	"image/png"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/federation"
)

// RFC 6238, Appendix B: the SHA-1 seed "12345678901234567890"; six digits
// are the last six of the eight the RFC lists.
func TestTOTPVectors(t *testing.T) {
	seed := []byte("12345678901234567890")
	for _, v := range []struct {
		unix int64
		code string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"}} {
		got, err := federation.Code(seed, federation.Step(time.Unix(v.unix, 0)))
		if err != nil || got != v.code {
			t.Errorf("code at %d = %q, %v; want %s", v.unix, got, err, v.code)
		}
	}
}

// A code is accepted within a step of the device's time, once: not again,
// and no older code after it.
func TestCheckCode(t *testing.T) {
	seed, _ := federation.NewSeed(rand.Reader)
	now := time.Unix(1_800_000_000, 0)
	at := federation.Step(now)
	code := func(s int64) string { c, _ := federation.Code(seed, s); return c }
	if s, ok := federation.CheckCode(seed, code(at), now, 0, 0); !ok || s != at {
		t.Fatalf("current code: %d %v", s, ok)
	}
	if _, ok := federation.CheckCode(seed, code(at), now, 0, at); ok {
		t.Fatal("a code was accepted twice")
	}
	if _, ok := federation.CheckCode(seed, code(at-1), now, 0, at); ok {
		t.Fatal("an older code was accepted after a newer one")
	}
	if _, ok := federation.CheckCode(seed, code(at+1), now, 0, at); !ok {
		t.Fatal("the next step's code was refused")
	}
	if _, ok := federation.CheckCode(seed, code(at-3), now, 0, 0); ok {
		t.Fatal("a code three steps old was accepted")
	}
	if _, ok := federation.CheckCode(seed, code(at+5), now, 5, 0); !ok {
		t.Fatal("a drifted device's code was refused with its drift known")
	}
	if _, ok := federation.CheckCode(seed, "12345", now, 0, 0); ok {
		t.Fatal("a short code was accepted")
	}
	// Two consecutive codes give the device's drift.
	if s, d, ok := federation.CheckConsecutive(seed, code(at+6), code(at+7), now); !ok || s != at+7 || d != 7 {
		t.Fatalf("consecutive codes: %d %d %v", s, d, ok)
	}
	if _, _, ok := federation.CheckConsecutive(seed, code(at), code(at+2), now); ok {
		t.Fatal("codes two steps apart were taken as consecutive")
	}
}

func TestQRCode(t *testing.T) {
	seed, _ := federation.NewSeed(rand.Reader)
	b, err := federation.QRCode(seed, "Trent", "111122223333:alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if len(federation.Base32Seed(seed)) != 64 {
		t.Fatalf("seed of %d characters", len(federation.Base32Seed(seed)))
	}
}
