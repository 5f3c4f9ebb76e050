package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/store/bolt"
	"github.com/trentkms/trent/internal/store/etcd"
)

// etcdDefaultPort is the port of an etcd endpoint written without one.
const etcdDefaultPort = "2379"

// storeFlags choose the store engine of `trent serve`.
type storeFlags struct {
	url           string
	ca, cert, key string
	password      string // only from the environment, never a flag
}

func (s *storeFlags) register(f *pflag.FlagSet) {
	f.StringVar(&s.url, "store", os.Getenv("TRENT_STORE"),
		"the store: empty or bolt for the embedded file in the data directory; "+
			"etcd://[user@]host:port[,host:port…][/prefix] for an etcd cluster (prefix default /trent/), "+
			"etcds://… for etcd over TLS; the etcd password comes from TRENT_ETCD_PASSWORD [TRENT_STORE]")
	f.StringVar(&s.ca, "etcd-ca", os.Getenv("TRENT_ETCD_CA"), "with etcds://: PEM CA bundle of the etcd servers; default the system roots [TRENT_ETCD_CA]")
	f.StringVar(&s.cert, "etcd-cert", os.Getenv("TRENT_ETCD_CERT"), "with etcds://: PEM client certificate for etcd [TRENT_ETCD_CERT]")
	f.StringVar(&s.key, "etcd-key", os.Getenv("TRENT_ETCD_KEY"), "with etcds://: its PEM private key [TRENT_ETCD_KEY]")
	s.password = os.Getenv("TRENT_ETCD_PASSWORD")
}

// storeSpec is a parsed --store.
type storeSpec struct {
	engine    string // "bolt" or "etcd"
	endpoints []string
	prefix    string
	tls       bool
	user      string
	password  string
}

// parseStoreURL parses the --store value.
func parseStoreURL(raw string) (storeSpec, error) {
	if raw == "" || raw == "bolt" {
		return storeSpec{engine: "bolt"}, nil
	}
	raw = redactPassword(raw)
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || (scheme != "etcd" && scheme != "etcds") {
		return storeSpec{}, fmt.Errorf("--store %q: want bolt, etcd://host:port[,host:port…][/prefix] or etcds://…", raw)
	}
	sp := storeSpec{engine: "etcd", tls: scheme == "etcds", prefix: etcd.DefaultPrefix}
	hosts, path, _ := strings.Cut(rest, "/")
	if strings.ContainsAny(hosts, "?#") || strings.ContainsAny(path, "?#") {
		return storeSpec{}, fmt.Errorf("--store %q: no query or fragment is understood; TLS files are the --etcd-* flags", raw)
	}
	if user, h, ok := strings.Cut(hosts, "@"); ok {
		if user == "" || strings.Contains(user, ":") {
			return storeSpec{}, fmt.Errorf("--store %q: give the etcd user as user@, its password in TRENT_ETCD_PASSWORD", raw)
		}
		sp.user, hosts = user, h
	}
	for _, h := range strings.Split(hosts, ",") {
		if h == "" {
			return storeSpec{}, fmt.Errorf("--store %q: an empty etcd endpoint", raw)
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			// No port: etcd's client port.
			switch {
			case !strings.Contains(h, ":"):
				host, port = h, etcdDefaultPort
			case strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]"):
				host, port = h[1:len(h)-1], etcdDefaultPort
			}
		}
		if n, err := strconv.Atoi(port); host == "" || strings.ContainsAny(host, "[]@/") || err != nil || n < 1 || n > 65535 {
			return storeSpec{}, fmt.Errorf("--store %q: bad etcd endpoint %q", raw, h)
		}
		u := "http://"
		if sp.tls {
			u = "https://"
		}
		sp.endpoints = append(sp.endpoints, u+net.JoinHostPort(host, port))
	}
	if path = strings.Trim(path, "/"); path != "" {
		sp.prefix = "/" + path + "/"
	}
	return sp, nil
}

// redactPassword hides a password written in a --store URL, so that no
// error repeats it (parseStoreURL refuses it anyway).
func redactPassword(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	userinfo, hosts, ok := strings.Cut(rest, "@")
	if !ok || strings.Contains(userinfo, "/") {
		return raw
	}
	if user, _, ok := strings.Cut(userinfo, ":"); ok {
		return scheme + "://" + user + ":REDACTED@" + hosts
	}
	return raw
}

// check validates the store flags without opening anything.
func (s *storeFlags) check() error {
	sp, err := parseStoreURL(s.url)
	if err != nil {
		return err
	}
	if !sp.tls && (s.ca != "" || s.cert != "" || s.key != "") {
		return errors.New("--etcd-ca, --etcd-cert and --etcd-key need an etcds:// --store")
	}
	if sp.user != "" && s.password == "" {
		return fmt.Errorf("--store: etcd user %s needs TRENT_ETCD_PASSWORD", sp.user)
	}
	return nil
}

// open opens the store s names; bolt lives in dataDir.
func (s *storeFlags) open(ctx context.Context, dataDir string) (store.Store, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	sp, err := parseStoreURL(s.url)
	if err != nil {
		return nil, err
	}
	if sp.engine == "bolt" {
		st, err := bolt.Open(filepath.Join(dataDir, "trent.db"))
		if errors.Is(err, bolt.ErrLocked) {
			// bbolt's own error is "timeout": say who holds the file.
			return nil, fmt.Errorf("the data directory %s is in use by another trent process (its store, trent.db, is locked): stop that one, or give this one another --data-dir", dataDir)
		}
		return st, err
	}
	o := etcd.Options{Prefix: sp.prefix, Username: sp.user, Password: s.password}
	if sp.tls {
		o.TLS = &etcd.TLSFiles{CA: s.ca, Cert: s.cert, Key: s.key}
	}
	return etcd.Open(ctx, sp.endpoints, o)
}
