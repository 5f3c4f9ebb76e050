package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/trace"
)

// servePlan is a serveConfig that passed check: everything trent serve can
// know to be wrong is found before it binds a port or writes a file, so a
// failed first start leaves nothing behind.
type servePlan struct {
	dataDir   string
	level     slog.Level
	logFormat string
	sealSpec  sealSpec
	endpoints []endpointSpec
	// out is where the banner and the listener addresses go: standard
	// output, unless the audit log goes there as JSON lines.
	out           io.Writer
	nodeName      string
	auditMaxBytes int64
}

// check validates c without side effects: it reads the files c names (TLS
// certificate, endpoint policies) but creates nothing. trent serve runs it
// first, and trent config check runs only it.
func (c serveConfig) check() (*servePlan, error) {
	p := &servePlan{}
	if err := p.level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	switch c.extra.logFormat {
	case "text", "json":
		p.logFormat = c.extra.logFormat
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", c.extra.logFormat)
	}
	if len(c.regions) == 0 {
		return nil, errors.New("--region: at least one Region is needed")
	}
	for i, r := range c.regions {
		if !arn.IsRegion(r) {
			return nil, fmt.Errorf("--region %q is not the name of an AWS Region (such as us-east-1 or eu-west-1); Trent serves Regions of the aws partition", r)
		}
		if slices.Contains(c.regions[:i], r) {
			return nil, fmt.Errorf("--region %s is named twice", r)
		}
	}
	if c.accountID != "" && !arn.IsAccountID(c.accountID) {
		return nil, fmt.Errorf("--account-id %q: an AWS account id is 12 digits", c.accountID)
	}
	if (c.rootKeyID == "") != (c.rootSecret == "") {
		return nil, errors.New("the root access key id and secret go together: set both or neither")
	}
	if c.extra.accountEmail != "" && !strings.Contains(c.extra.accountEmail, "@") {
		return nil, fmt.Errorf("--account-email %q is not an email address", c.extra.accountEmail)
	}
	var err error
	if p.dataDir, err = filepath.Abs(c.dataDir); err != nil {
		return nil, err
	}
	if p.sealSpec, err = parseSealSpec(c.seal, p.dataDir); err != nil {
		return nil, err
	}
	for _, e := range c.endpoints {
		spec, err := parseEndpoint(e)
		if err != nil {
			return nil, err
		}
		p.endpoints = append(p.endpoints, spec)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	// The files are read here to check them; serve reads them again into
	// the reloader it runs (ops.go).
	if _, err := c.ops.tls(c.tlsCert, c.tlsKey, slog.New(slog.DiscardHandler)); err != nil {
		return nil, err
	}
	if err := c.store.check(); err != nil {
		return nil, err
	}
	for _, h := range c.hsms {
		if _, err := parseHSM(h); err != nil {
			return nil, err
		}
	}
	p.out = os.Stdout
	if c.auditLog == "-" {
		p.out = os.Stderr
	}
	if c.extra.auditMaxMiB < 0 {
		return nil, fmt.Errorf("--audit-max-size %d: want a size in MiB, or 0 to rotate only on SIGHUP", c.extra.auditMaxMiB)
	}
	p.auditMaxBytes = c.extra.auditMaxMiB << 20
	// A bound below one would evict the key a request is using; a
	// million keys want no more than the default.
	if c.extra.keyCache < 1 {
		return nil, fmt.Errorf("--key-cache %d: want a number of keys, at least 1", c.extra.keyCache)
	}
	if c.extra.materialCache < 1 {
		return nil, fmt.Errorf("--material-cache %d: want a number of material versions, at least 1", c.extra.materialCache)
	}
	if c.extra.usageFlush < time.Second {
		return nil, fmt.Errorf("--usage-flush-interval %v: want at least 1s", c.extra.usageFlush)
	}
	if strings.IndexFunc(c.extra.nodeID, func(r rune) bool { return r < 0x21 || r == 0x7f }) >= 0 || len(c.extra.nodeID) > 128 {
		return nil, fmt.Errorf("--node-id %q: want at most 128 printable characters, without spaces", c.extra.nodeID)
	}
	p.nodeName = c.extra.nodeID
	if c.extra.otlpEndpoint != "" {
		if err := trace.CheckEndpoint(c.extra.otlpEndpoint); err != nil {
			return nil, fmt.Errorf("--otlp-endpoint %q: %w", c.extra.otlpEndpoint, err)
		}
	}
	if r := c.extra.traceSampleRatio; r < 0 || r > 1 {
		return nil, fmt.Errorf("--trace-sample-ratio %v: want a share between 0 and 1", r)
	}
	return p, nil
}

// nodeID is --node-id, or else <hostname>:<port> of the main listener: unique
// among the nodes of a cluster unless two share a host and port.
func (p *servePlan) nodeID(listen net.Addr) string {
	if p.nodeName != "" {
		return p.nodeName
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	port := ""
	if a, ok := listen.(*net.TCPAddr); ok {
		port = strconv.Itoa(a.Port)
	}
	return net.JoinHostPort(host, port)
}

// logger is the server's log, in the chosen format on w. A line logged with
// a traced request's context carries its trace_id and span_id.
func (p *servePlan) logger(w io.Writer) *slog.Logger {
	o := &slog.HandlerOptions{Level: p.level}
	if p.logFormat == "json" {
		return slog.New(trace.LogHandler(slog.NewJSONHandler(w, o)))
	}
	return slog.New(trace.LogHandler(slog.NewTextHandler(w, o)))
}

// makeDataDir creates dir (0700) and returns a function that removes what it
// created, for a start that fails before it wrote the store's first records:
// the directory, or its topmost ancestor that did not exist either. It
// removes nothing when dir existed.
func makeDataDir(dir string) (undo func(), err error) {
	top := ""
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		top = d
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if top == "" {
		return func() {}, nil
	}
	return func() { os.RemoveAll(top) }, nil
}
