package main

import (
	"testing"

	"github.com/trentkms/trent/internal/keystore/pkcs11"
)

func TestParseHSM(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     pkcs11.Config
		wantErr  bool
	}{
		{name: "module and token", in: "cluster-2a23b4cdefg=module=/usr/lib/softhsm/libsofthsm2.so,token=kms",
			want: pkcs11.Config{ClusterID: "cluster-2a23b4cdefg", Module: "/usr/lib/softhsm/libsofthsm2.so", Token: "kms"}},
		{name: "id not as AWS's", in: "cluster-1=module=/m.so,token=kms", wantErr: true},
		{name: "no settings", in: "cluster-2a23b4cdefg", wantErr: true},
		{name: "no token", in: "cluster-2a23b4cdefg=module=/m.so", wantErr: true},
		{name: "unknown setting", in: "cluster-2a23b4cdefg=module=/m.so,token=kms,slot=1", wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseHSM(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("parseHSM(%q) = %+v, %v", tt.in, got, err)
			}
		})
	}
}
