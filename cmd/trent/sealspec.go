package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/term"

	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/seal/awskms"
	"github.com/trentkms/trent/internal/seal/hsm"
)

// Environment variables that carry a seal's secrets: never a flag, which
// other users could read in the process list.
const (
	envPassphrase = "TRENT_SEAL_PASSPHRASE"
	envPIN        = "TRENT_SEAL_PIN"
)

// sealSpec is a parsed --seal value: kind[:setting,setting…], each setting
// name=value or a bare name.
type sealSpec struct {
	kind seal.Kind
	raw  string

	path string // file: the key file

	// passphrase: where it comes from; all empty: trent unseal
	stdin   bool
	file    string
	envName string
	cost    seal.Argon2

	module, token, pinFile string // pkcs11

	keyID, endpoint, region string // kms
}

// parseSealSpec parses s; dataDir places the file seal's default key file.
func parseSealSpec(s, dataDir string) (sealSpec, error) {
	if s == "" {
		s = "file"
	}
	name, rest, _ := strings.Cut(s, ":")
	kind, err := seal.ParseKind(name)
	if err != nil {
		return sealSpec{}, fmt.Errorf("--seal %q: %w", s, err)
	}
	sp := sealSpec{kind: kind, raw: s}
	var settings []string
	if rest != "" {
		settings = strings.Split(rest, ",")
	}
	bad := func(format string, a ...any) (sealSpec, error) {
		return sealSpec{}, fmt.Errorf("--seal %s: %s", kind, fmt.Sprintf(format, a...))
	}
	for _, kv := range settings {
		k, v, hasValue := strings.Cut(kv, "=")
		switch {
		case kind == seal.File && k == "path" && v != "":
			sp.path = v
		case kind == seal.Passphrase && k == "stdin" && !hasValue:
			sp.stdin = true
		case kind == seal.Passphrase && k == "file" && v != "":
			sp.file = v
		case kind == seal.Passphrase && k == "env":
			sp.envName = envPassphrase
			if v != "" {
				sp.envName = v
			}
		case kind == seal.Passphrase && (k == "time" || k == "memory-mib" || k == "threads"):
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || n == 0 {
				return bad("%s=%q is not a positive number", k, v)
			}
			switch k {
			case "time":
				sp.cost.Time = uint32(n)
			case "memory-mib":
				if n > 4<<10 {
					return bad("memory-mib=%d is more than 4096", n)
				}
				sp.cost.MemoryKiB = uint32(n) << 10
			case "threads":
				if n > 255 {
					return bad("threads=%d is more than 255", n)
				}
				sp.cost.Threads = uint8(n)
			}
		case kind == seal.PKCS11 && k == "module" && v != "":
			sp.module = v
		case kind == seal.PKCS11 && k == "token" && v != "":
			sp.token = v
		case kind == seal.PKCS11 && k == "pin-file" && v != "":
			sp.pinFile = v
		case kind == seal.KMS && k == "key" && v != "":
			sp.keyID = v
		case kind == seal.KMS && k == "endpoint" && v != "":
			sp.endpoint = v
		case kind == seal.KMS && k == "region" && v != "":
			sp.region = v
		default:
			return bad("unknown or empty setting %q (see trent serve --help)", kv)
		}
	}
	switch kind {
	case seal.File:
		if sp.path == "" {
			sp.path = filepath.Join(dataDir, "root.key")
		}
	case seal.Passphrase:
		n := 0
		for _, set := range []bool{sp.stdin, sp.file != "", sp.envName != ""} {
			if set {
				n++
			}
		}
		if n > 1 {
			return bad("give the passphrase one way: stdin, file= or env")
		}
		if sp.cost != (seal.Argon2{}) {
			// Unset parameters keep their defaults.
			d := seal.DefaultArgon2
			if sp.cost.Time == 0 {
				sp.cost.Time = d.Time
			}
			if sp.cost.MemoryKiB == 0 {
				sp.cost.MemoryKiB = d.MemoryKiB
			}
			if sp.cost.Threads == 0 {
				sp.cost.Threads = d.Threads
			}
		}
	case seal.PKCS11:
		if sp.module == "" || sp.token == "" {
			return bad("module= and token= are both required")
		}
	case seal.KMS:
		if sp.keyID == "" {
			return bad("key= is required")
		}
	}
	return sp, nil
}

// fromUnseal reports whether the passphrase comes from trent unseal: the
// node starts sealed and waits for it.
func (sp sealSpec) fromUnseal() bool {
	return sp.kind == seal.Passphrase && !sp.stdin && sp.file == "" && sp.envName == ""
}

// secrets reads a seal's secrets for commands other than serve: a
// passphrase that would come from trent unseal is asked on the terminal
// (twice when confirm), or read as a line of standard input.
type secrets struct {
	in *bufio.Reader
}

func newSecrets(stdin io.Reader) *secrets { return &secrets{in: bufio.NewReader(stdin)} }

// line reads one line of standard input, without its line ending.
func (s *secrets) line() ([]byte, error) {
	b, err := s.in.ReadBytes('\n')
	if err != nil && !(errors.Is(err, io.EOF) && len(b) > 0) {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("standard input ended before a passphrase")
		}
		return nil, err
	}
	return []byte(strings.TrimRight(string(b), "\r\n")), nil
}

// ask reads a passphrase from the terminal without echo, or a line of
// standard input when it is not a terminal.
func (s *secrets) ask(prompt string, confirm bool) ([]byte, error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return s.line()
	}
	fmt.Fprint(os.Stderr, prompt)
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return nil, err
	}
	if confirm {
		fmt.Fprint(os.Stderr, "Again: ")
		again, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		defer clear(again)
		if err != nil {
			clear(p)
			return nil, err
		}
		if string(again) != string(p) {
			clear(p)
			return nil, errors.New("the two passphrases differ")
		}
	}
	return p, nil
}

// passphrase reads the passphrase sp names. ask is used when it would come
// from trent unseal; nil: error.
func (sp sealSpec) passphrase(s *secrets, ask func() ([]byte, error)) ([]byte, error) {
	switch {
	case sp.stdin:
		return s.line()
	case sp.file != "":
		b, err := os.ReadFile(sp.file)
		if err != nil {
			return nil, fmt.Errorf("--seal passphrase: %w", err)
		}
		p := []byte(strings.TrimRight(string(b), "\r\n"))
		clear(b)
		return p, nil
	case sp.envName != "":
		v, ok := os.LookupEnv(sp.envName)
		if !ok || v == "" {
			return nil, fmt.Errorf("--seal passphrase: %s is not set", sp.envName)
		}
		// Children of this process need not see it.
		os.Unsetenv(sp.envName)
		return []byte(v), nil
	case ask != nil:
		return ask()
	}
	return nil, errors.New("--seal passphrase: no passphrase source")
}

// wrapper makes the seal sp names. For a passphrase seal, pass is the
// passphrase (read by the caller), which wrapper copies.
func (sp sealSpec) wrapper(ctx context.Context, pass []byte) (seal.Wrapper, error) {
	switch sp.kind {
	case seal.File:
		return seal.NewFileSeal(sp.path, rand.Reader), nil
	case seal.Passphrase:
		return seal.NewPassphraseSeal(pass, sp.cost, rand.Reader)
	case seal.PKCS11:
		pin := os.Getenv(envPIN)
		if sp.pinFile != "" {
			b, err := os.ReadFile(sp.pinFile)
			if err != nil {
				return nil, fmt.Errorf("--seal pkcs11: %w", err)
			}
			pin = strings.TrimRight(string(b), "\r\n")
			clear(b)
		}
		os.Unsetenv(envPIN)
		return hsm.New(hsm.Config{Module: sp.module, Token: sp.token, PIN: pin})
	case seal.KMS:
		return awskms.New(ctx, awskms.Config{KeyID: sp.keyID, Endpoint: sp.endpoint, Region: sp.region})
	}
	return nil, fmt.Errorf("seal %s: not available", sp.kind)
}
