package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/trentkms/trent/internal/kms"
	"github.com/trentkms/trent/internal/usage"
)

// serveExtras holds the flags of trent serve for the first account, logs,
// traces, the audit log and key usage (issue 12), apart from serveConfig's
// older flags and ops.go's health, fencing and TLS flags, so that each group
// stays small.
type serveExtras struct {
	accountName, accountEmail string
	logFormat                 string
	nodeID                    string
	auditMaxMiB               int64
	usageFlush                time.Duration
	keyCache, materialCache   int
	otlpEndpoint              string
	traceSampleRatio          float64
}

func (o *serveExtras) register(f *pflag.FlagSet) {
	f.StringVar(&o.accountName, "account-name", envOr("TRENT_ACCOUNT_NAME", "management"), "the first account's name, as Organizations shows it (first start only) [TRENT_ACCOUNT_NAME]")
	f.StringVar(&o.accountEmail, "account-email", envOr("TRENT_ACCOUNT_EMAIL", "root@localhost"), "the first account's email address, as Organizations shows it (first start only) [TRENT_ACCOUNT_EMAIL]")
	f.StringVar(&o.logFormat, "log-format", envOr("TRENT_LOG_FORMAT", "text"), "the server log's format: text (key=value) or json (one object a line) [TRENT_LOG_FORMAT]")
	f.StringVar(&o.nodeID, "node-id", envOr("TRENT_NODE_ID", ""), "this node's name in audit events (trentNode) and usage records; default <hostname>:<port of --listen> [TRENT_NODE_ID]")
	f.Int64Var(&o.auditMaxMiB, "audit-max-size", 100, "rotate the audit log file when it reaches this many MiB (0: only on SIGHUP); SIGHUP always rotates [TRENT_AUDIT_MAX_SIZE]")
	f.StringVar(&o.otlpEndpoint, "otlp-endpoint", envOr("TRENT_OTLP_ENDPOINT", ""), "send OpenTelemetry traces to this OTLP/gRPC collector, http://host:4317 or https://host:4317; empty: no tracing [TRENT_OTLP_ENDPOINT]")
	f.Float64Var(&o.traceSampleRatio, "trace-sample-ratio", 1, "with --otlp-endpoint, the share of requests traced, 0 to 1 [TRENT_TRACE_SAMPLE_RATIO]")
	f.IntVar(&o.keyCache, "key-cache", kms.DefaultKeyCache, "how many keys this node keeps decoded in memory; the others load from the store on their first use [TRENT_KEY_CACHE]")
	f.IntVar(&o.materialCache, "material-cache", kms.DefaultMaterialCache, "how many versions of key material this node keeps unsealed in memory; the others unseal on their first use [TRENT_MATERIAL_CACHE]")
	f.DurationVar(&o.usageFlush, "usage-flush-interval", usage.DefaultInterval, "how often this node writes the last use of each key it served to the store, for GetKeyLastUsage on every node [TRENT_USAGE_FLUSH_INTERVAL]")
}

// numericFlags are the flags whose variables settle applies, since a number
// or duration cannot be a default read with envOr.
var numericFlags = []string{"audit-max-size", "usage-flush-interval", "trace-sample-ratio", "key-cache", "material-cache"}

// settleNumeric sets each flag of numericFlags from its variable, unless the
// command line set it; a value the flag refuses is an error.
func settleNumeric(fs *pflag.FlagSet) error {
	for _, name := range numericFlags {
		env := envName(name)
		if v := os.Getenv(env); v != "" && !fs.Changed(name) {
			if err := fs.Set(name, v); err != nil {
				return fmt.Errorf("%s: %w", env, err)
			}
		}
	}
	return nil
}
