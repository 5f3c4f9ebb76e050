package main

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestParseStoreURL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want storeSpec
		err  string
	}{
		{name: "empty is bolt", in: "", want: storeSpec{engine: "bolt"}},
		{name: "bolt", in: "bolt", want: storeSpec{engine: "bolt"}},
		{name: "one endpoint, default prefix", in: "etcd://10.0.0.1:2379",
			want: storeSpec{engine: "etcd", endpoints: []string{"http://10.0.0.1:2379"}, prefix: "/trent/"}},
		{name: "several endpoints and a prefix", in: "etcd://a:2379,b:2380,c/kms/prod",
			want: storeSpec{engine: "etcd", endpoints: []string{"http://a:2379", "http://b:2380", "http://c:2379"}, prefix: "/kms/prod/"}},
		{name: "prefix with trailing slash", in: "etcd://a:1/p/",
			want: storeSpec{engine: "etcd", endpoints: []string{"http://a:1"}, prefix: "/p/"}},
		{name: "bare slash is the default prefix", in: "etcd://a:1/",
			want: storeSpec{engine: "etcd", endpoints: []string{"http://a:1"}, prefix: "/trent/"}},
		{name: "IPv6", in: "etcd://[::1]:2379,[fd00::2]",
			want: storeSpec{engine: "etcd", endpoints: []string{"http://[::1]:2379", "http://[fd00::2]:2379"}, prefix: "/trent/"}},
		{name: "TLS and a user", in: "etcds://trent@e1.example:2379,e2.example:2379/t",
			want: storeSpec{engine: "etcd", tls: true, user: "trent", endpoints: []string{"https://e1.example:2379", "https://e2.example:2379"}, prefix: "/t/"}},
		{name: "other scheme", in: "consul://a:1", err: "want bolt"},
		{name: "no scheme", in: "a:2379", err: "want bolt"},
		{name: "bolt with a path", in: "bolt://x", err: "want bolt"},
		{name: "no endpoint", in: "etcd://", err: "empty etcd endpoint"},
		{name: "empty endpoint in a list", in: "etcd://a:1,,b:2", err: "empty etcd endpoint"},
		{name: "password in the URL", in: "etcd://u:secret@a:1", err: "TRENT_ETCD_PASSWORD"},
		{name: "query", in: "etcds://a:1?ca=x", err: "no query"},
		{name: "bad host", in: "etcd://[::1:2379", err: "bad etcd endpoint"},
		{name: "bad port", in: "etcd://a:http", err: "bad etcd endpoint"},
		{name: "port out of range", in: "etcd://a:70000", err: "bad etcd endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStoreURL(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseStoreURL(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("error repeats the password: %v", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parseStoreURL(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestStoreFlagsRefuseMismatches(t *testing.T) {
	tests := []struct {
		name string
		f    storeFlags
		err  string
	}{
		{name: "TLS files with bolt", f: storeFlags{ca: "ca.pem"}, err: "need an etcds://"},
		{name: "TLS files with plaintext etcd", f: storeFlags{url: "etcd://127.0.0.1:1", cert: "c.pem", key: "k.pem"}, err: "need an etcds://"},
		{name: "user without password", f: storeFlags{url: "etcd://trent@127.0.0.1:1"}, err: "TRENT_ETCD_PASSWORD"},
		{name: "certificate without key", f: storeFlags{url: "etcds://127.0.0.1:1", cert: "c.pem"}, err: "go together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := tt.f.open(context.Background(), t.TempDir())
			if err == nil {
				st.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("open = %v; want error containing %q", err, tt.err)
			}
		})
	}
}
