package pkcs11

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/keystore"
	"github.com/trentkms/trent/internal/softhsmtest"
)

const (
	module   = softhsmtest.Module
	userPIN  = "kmsuser-pass"
	tokLabel = "trent-test"
)

// softHSM initialises a SoftHSM2 token in a temporary directory and returns
// Clusters naming it cluster-2345672345a. SoftHSM2 reads SOFTHSM2_CONF when
// the module is initialised, which New does.
func softHSM(t *testing.T) *Clusters {
	t.Helper()
	softhsmtest.Setenv(t, softhsmtest.Token{Label: tokLabel, PIN: userPIN})
	c, err := New([]Config{{ClusterID: "cluster-2345672345a", Module: module, Token: tokLabel}}, Options{MaxSessions: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

func TestLogin(t *testing.T) {
	c := softHSM(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name, cluster, pin string
		want               error
	}{
		{name: "unknown cluster", cluster: "cluster-2222222222a", pin: userPIN, want: keystore.ErrClusterNotFound},
		{name: "wrong password", cluster: "cluster-2345672345a", pin: "not-the-pin", want: keystore.ErrInvalidCredentials},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.Open(ctx, tt.cluster, tt.pin); !errors.Is(err, tt.want) {
				t.Fatalf("Open: %v, want %v", err, tt.want)
			}
		})
	}
	tok, err := c.Open(ctx, "cluster-2345672345a", userPIN)
	if err != nil {
		t.Fatal(err)
	}
	// A second login in this process would not check the password.
	if _, err := c.Open(ctx, "cluster-2345672345a", "not-the-pin"); !errors.Is(err, keystore.ErrLoggedIn) {
		t.Fatalf("second Open: %v, want ErrLoggedIn", err)
	}
	if err := tok.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Open(ctx, "cluster-2345672345a", "not-the-pin"); !errors.Is(err, keystore.ErrInvalidCredentials) {
		t.Fatalf("Open after Close with a wrong password: %v", err)
	}
	tok, err = c.Open(ctx, "cluster-2345672345a", userPIN)
	if err != nil {
		t.Fatal(err)
	}
	tok.Close()
}

func TestKeyInToken(t *testing.T) {
	c := softHSM(t)
	ctx := context.Background()
	tokI, err := c.Open(ctx, "cluster-2345672345a", userPIN)
	if err != nil {
		t.Fatal(err)
	}
	defer tokI.Close()
	tok := tokI.(*token)
	const label = "kms/1234abcd-12ab-34cd-56ef-1234567890ab/00"
	if err := tok.GenerateKey(ctx, label); err != nil {
		t.Fatal(err)
	}
	nonce := bytes.Repeat([]byte{7}, 12)
	ct, err := tok.Seal(label, nonce, []byte("hello"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ct) != len("hello")+16 {
		t.Fatalf("ciphertext is %d bytes, want plaintext+16", len(ct))
	}
	// A fresh login finds the key by label, as after a restart.
	tok.Close()
	tokI, err = c.Open(ctx, "cluster-2345672345a", userPIN)
	if err != nil {
		t.Fatal(err)
	}
	tok = tokI.(*token)
	pt, err := tok.Open(label, nonce, ct, []byte("aad"))
	if err != nil || string(pt) != "hello" {
		t.Fatalf("Open: %q, %v", pt, err)
	}
	if _, err := tok.Open(label, nonce, ct, []byte("other aad")); !errors.Is(err, keys.ErrCiphertext) {
		t.Fatalf("Open with other aad: %v, want keys.ErrCiphertext", err)
	}
	if _, err := tok.Seal("kms/none", nonce, []byte("x"), nil); !errors.Is(err, errNoKey) {
		t.Fatalf("Seal with a missing key: %v", err)
	}

	// The material cannot leave the token.
	s, err := tok.session()
	if err != nil {
		t.Fatal(err)
	}
	defer tok.put(s)
	h, err := tok.handle(s, label)
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := tok.m.GetAttributeValue(s, h, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_EXTRACTABLE, nil), p11.NewAttribute(p11.CKA_SENSITIVE, nil),
		p11.NewAttribute(p11.CKA_TOKEN, nil), p11.NewAttribute(p11.CKA_NEVER_EXTRACTABLE, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint]byte{p11.CKA_EXTRACTABLE: 0, p11.CKA_SENSITIVE: 1, p11.CKA_TOKEN: 1, p11.CKA_NEVER_EXTRACTABLE: 1}
	for _, a := range attrs {
		if len(a.Value) != 1 || a.Value[0] != want[a.Type] {
			t.Errorf("attribute %#x = %v, want %d", a.Type, a.Value, want[a.Type])
		}
	}
	if _, err := tok.m.GetAttributeValue(s, h, []*p11.Attribute{p11.NewAttribute(p11.CKA_VALUE, nil)}); !errors.Is(err, p11.Error(p11.CKR_ATTRIBUTE_SENSITIVE)) {
		t.Fatalf("reading CKA_VALUE: %v, want CKR_ATTRIBUTE_SENSITIVE", err)
	}
}

func TestConcurrentSessions(t *testing.T) {
	c := softHSM(t)
	ctx := context.Background()
	tok, err := c.Open(ctx, "cluster-2345672345a", userPIN)
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	if err := tok.GenerateKey(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	// More goroutines than sessions (3): they queue for the pool.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			nonce := make([]byte, 12)
			nonce[0] = byte(i)
			ct, err := tok.Seal("k", nonce, []byte{byte(i)}, nil)
			if err == nil {
				var pt []byte
				pt, err = tok.Open("k", nonce, ct, nil)
				if err == nil && (len(pt) != 1 || pt[0] != byte(i)) {
					err = errors.New("round trip changed the plaintext")
				}
			}
			if err == nil {
				_, err = tok.Random(ctx, 32)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(tok.(*token).sem); n > 3 {
		t.Fatalf("%d sessions open, want at most 3", n)
	}
}
