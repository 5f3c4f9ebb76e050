package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	yaml "go.yaml.in/yaml/v3"
)

// A configuration file holds trent serve's flags as YAML: one top-level key
// per flag, named as the flag without its dashes (listen, data-dir, …), with a
// scalar value, or a list for the flags that take several (region, endpoint,
// hsm). Precedence, highest first: the command line, the environment
// variable of the flag, the file, the default. Unknown keys, values of the
// wrong shape and keys given twice are refused with their line number, so that
// a typo never silently leaves a setting at its default.

// configFlag is the flag that names the file; it has no key of its own.
const configFlag = "config"

// configEntry is one key of a configuration file.
type configEntry struct {
	key    string
	line   int
	values []string // one for a scalar; the items of a list
	list   bool
}

// configError is an error at a line of a configuration file.
type configError struct {
	file string
	line int
	msg  string
}

func (e *configError) Error() string {
	if e.line == 0 {
		return e.file + ": " + e.msg
	}
	return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg)
}

// envName is the environment variable that sets a flag of trent serve: its
// name in capitals after TRENT_, dashes as underscores; the repeatable flags
// read a ';'-separated plural.
func envName(flag string) string {
	switch flag {
	case "endpoint":
		return "TRENT_ENDPOINTS"
	case "hsm":
		return "TRENT_HSMS"
	case "quota":
		return "TRENT_QUOTAS"
	}
	return "TRENT_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// secretKeys are the keys whose values are secrets: a file holding one must
// be readable by its owner only.
var secretKeys = map[string]bool{"root-secret-access-key": true}

// readConfig reads and checks the shape of a configuration file against the
// flags of fs: every key must name one of them.
func readConfig(path string, fs *pflag.FlagSet) ([]configEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// yaml's errors carry "line N" themselves.
		return nil, &configError{file: path, msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(doc.Content) == 0 {
		return nil, nil // an empty file, or only comments
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &configError{file: path, line: root.Line, msg: "want a mapping of settings (key: value), one key per flag of trent serve"}
	}
	seen := map[string]int{}
	var out []configEntry
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		bad := func(line int, format string, a ...any) error {
			return &configError{file: path, line: line, msg: fmt.Sprintf(format, a...)}
		}
		if k.Kind != yaml.ScalarNode {
			return nil, bad(k.Line, "a key must be a flag name")
		}
		f := fs.Lookup(k.Value)
		if f == nil || k.Value == configFlag || f.Hidden {
			return nil, bad(k.Line, "unknown key %q%s", k.Value, suggest(k.Value, fs))
		}
		if first, ok := seen[k.Value]; ok {
			return nil, bad(k.Line, "%s is set twice (first at line %d)", k.Value, first)
		}
		seen[k.Value] = k.Line
		e := configEntry{key: k.Value, line: k.Line}
		switch v.Kind {
		case yaml.ScalarNode:
			if v.Tag == "!!null" {
				return nil, bad(v.Line, "%s has no value; remove the key or quote an empty string (\"\")", k.Value)
			}
			e.values = []string{v.Value}
		case yaml.SequenceNode:
			if !isListFlag(f) {
				return nil, bad(v.Line, "%s takes one value, not a list", k.Value)
			}
			e.list = true
			for _, item := range v.Content {
				if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
					return nil, bad(item.Line, "each item of %s must be a value", k.Value)
				}
				e.values = append(e.values, item.Value)
			}
		default:
			return nil, bad(v.Line, "%s takes a value%s, not a mapping", k.Value, map[bool]string{true: " or a list"}[isListFlag(f)])
		}
		out = append(out, e)
	}
	for _, e := range out {
		if secretKeys[e.key] {
			fi, err := os.Stat(path)
			if err != nil {
				return nil, err
			}
			if fi.Mode().Perm()&0o077 != 0 {
				return nil, &configError{file: path, line: e.line, msg: fmt.Sprintf("%s is a secret, and the file is readable by others (mode %v): chmod 600 it, or set %s instead", e.key, fi.Mode().Perm(), envName(e.key))}
			}
		}
	}
	return out, nil
}

// isListFlag reports whether f takes several values.
func isListFlag(f *pflag.Flag) bool {
	t := f.Value.Type()
	return strings.HasSuffix(t, "Slice") || strings.HasSuffix(t, "Array")
}

// applyConfig sets the flags of fs that the file sets, except those given on
// the command line (Changed) or, unless ignoreEnv, by their environment
// variable. A value the flag refuses is reported at its line.
func applyConfig(path string, entries []configEntry, fs *pflag.FlagSet, ignoreEnv bool) error {
	for _, e := range entries {
		f := fs.Lookup(e.key)
		if f.Changed || (!ignoreEnv && os.Getenv(envName(e.key)) != "") {
			continue
		}
		for _, v := range e.values {
			if err := fs.Set(e.key, v); err != nil {
				return &configError{file: path, line: e.line, msg: fmt.Sprintf("%s: %v", e.key, err)}
			}
		}
		if e.list && len(e.values) == 0 {
			// An empty list clears the default.
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				if err := sv.Replace(nil); err != nil {
					return &configError{file: path, line: e.line, msg: fmt.Sprintf("%s: %v", e.key, err)}
				}
				f.Changed = true
			}
		}
	}
	return nil
}

// loadConfig applies the file named by --config, if any, to the flags.
func loadConfig(fs *pflag.FlagSet) error {
	path, _ := fs.GetString(configFlag)
	if path == "" {
		return nil
	}
	entries, err := readConfig(path, fs)
	if err != nil {
		return err
	}
	return applyConfig(path, entries, fs, false)
}

// suggest names the flag a mistyped key most likely meant.
func suggest(key string, fs *pflag.FlagSet) string {
	// A near spelling (data_dir, listne), or a flag the key begins with
	// (listen-address).
	best, bestD := "", max(3, len(key)/3+1)
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == configFlag || f.Hidden {
			return
		}
		d := editDistance(key, f.Name)
		if strings.HasPrefix(key, f.Name) && len(f.Name) >= 4 {
			d = min(d, 2)
		}
		if d < bestD {
			best, bestD = f.Name, d
		}
	})
	if best == "" {
		return " (the keys are the flags of trent serve, without their dashes)"
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// newConfigCmd is trent config check.
func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check trent serve configuration files"}
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Validate a configuration file as trent serve --config would read it, without starting anything",
		Long: `Validate a configuration file: every key must be a flag of trent serve, each
value must be one that trent serve accepts (Regions, seal, store, endpoints,
TLS files, …). The file's values are checked even where an environment
variable would override them; settings it leaves out are the defaults (or
their environment variables), as trent serve would take them. Nothing is
created, bound or opened, except the files the settings name (TLS
certificate, endpoint policies), which are read.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			serveCmd, c := newServeCommand()
			fs := serveCmd.Flags()
			entries, err := readConfig(args[0], fs)
			if err != nil {
				return err
			}
			if err := applyConfig(args[0], entries, fs, true); err != nil {
				return err
			}
			if _, err := c.check(); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			// Health, fencing and quota settings (ops.go).
			if err := c.ops.fromEnv(fs); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			keys := make([]string, 0, len(entries))
			for _, e := range entries {
				keys = append(keys, e.key)
			}
			sort.Strings(keys)
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (%d settings: %s)\n", args[0], len(keys), strings.Join(keys, ", "))
			return nil
		},
	}
	cmd.AddCommand(check)
	return cmd
}
