package main

import "github.com/spf13/pflag"

// opsConfig holds the flags of trent serve that make it operable (issue 12):
// kept apart from serveConfig's older flags so that each group stays small.
type opsConfig struct {
	accountName, accountEmail string
	logFormat                 string
}

func (o *opsConfig) register(f *pflag.FlagSet) {
	f.StringVar(&o.accountName, "account-name", envOr("TRENT_ACCOUNT_NAME", "management"), "the first account's name, as Organizations shows it (first start only) [TRENT_ACCOUNT_NAME]")
	f.StringVar(&o.accountEmail, "account-email", envOr("TRENT_ACCOUNT_EMAIL", "root@localhost"), "the first account's email address, as Organizations shows it (first start only) [TRENT_ACCOUNT_EMAIL]")
	f.StringVar(&o.logFormat, "log-format", envOr("TRENT_LOG_FORMAT", "text"), "the server log's format: text (key=value) or json (one object a line) [TRENT_LOG_FORMAT]")
}
