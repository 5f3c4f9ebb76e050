package main

import (
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/seal"
)

func TestParseSealSpec(t *testing.T) {
	for _, tt := range []struct {
		name, in   string
		check      func(sealSpec) bool
		fromUnseal bool
		wantErr    string
	}{
		{name: "default is the file seal in the data directory", in: "", check: func(s sealSpec) bool { return s.kind == seal.File && s.path == "/data/root.key" }},
		{name: "file elsewhere", in: "file:path=/keys/k", check: func(s sealSpec) bool { return s.path == "/keys/k" }},
		{name: "passphrase from trent unseal", in: "passphrase", fromUnseal: true, check: func(s sealSpec) bool { return s.cost == seal.Argon2{} }},
		{name: "passphrase from stdin", in: "passphrase:stdin", check: func(s sealSpec) bool { return s.stdin }},
		{name: "passphrase from the default variable", in: "passphrase:env", check: func(s sealSpec) bool { return s.envName == envPassphrase }},
		{name: "passphrase from a named variable", in: "passphrase:env=MY_PASS", check: func(s sealSpec) bool { return s.envName == "MY_PASS" }},
		{name: "cost, unset ones defaulted", in: "passphrase:file=/p,memory-mib=256",
			check: func(s sealSpec) bool {
				return s.file == "/p" && s.cost == seal.Argon2{Time: seal.DefaultArgon2.Time, MemoryKiB: 256 << 10, Threads: seal.DefaultArgon2.Threads}
			}},
		{name: "pkcs11", in: "pkcs11:module=/m.so,token=t,pin-file=/pin", check: func(s sealSpec) bool { return s.module == "/m.so" && s.token == "t" && s.pinFile == "/pin" }},
		{name: "kms", in: "kms:key=alias/root,endpoint=https://kms.example,region=eu-west-1", check: func(s sealSpec) bool {
			return s.keyID == "alias/root" && s.endpoint == "https://kms.example" && s.region == "eu-west-1"
		}},
		{name: "unknown kind", in: "vault", wantErr: "unknown seal"},
		{name: "two passphrase sources", in: "passphrase:stdin,env", wantErr: "one way"},
		{name: "setting of another kind", in: "file:token=x", wantErr: `unknown or empty setting "token=x"`},
		{name: "empty value", in: "kms:key=", wantErr: "unknown or empty setting"},
		{name: "kms without key", in: "kms:region=us-east-1", wantErr: "key= is required"},
		{name: "pkcs11 without token", in: "pkcs11:module=/m.so", wantErr: "module= and token= are both required"},
		{name: "zero time", in: "passphrase:time=0", wantErr: "not a positive number"},
		{name: "memory too large", in: "passphrase:memory-mib=99999", wantErr: "more than 4096"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSealSpec(tt.in, "/data")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseSealSpec(%q) = %+v, %v; want an error saying %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(got) || got.fromUnseal() != tt.fromUnseal {
				t.Fatalf("parseSealSpec(%q) = %+v, %v", tt.in, got, err)
			}
		})
	}
}
