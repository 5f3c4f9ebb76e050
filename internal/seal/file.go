package seal

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// fileMagic starts a key file. It says "root key" because an older Trent kept
// the root key itself in the file; the file seal keeps the key that wraps it.
const fileMagic = "TRENT ROOT KEY v1\n"

// FileSeal wraps the root key with a key kept in a file (mode 0600). It is the
// development default: whoever reads the file and the store has every key.
type FileSeal struct {
	path string
	rand io.Reader
}

var _ Wrapper = (*FileSeal)(nil)

// NewFileSeal returns the file seal of the key file at path. Wrap creates the
// file if it does not exist; Unwrap needs it.
func NewFileSeal(path string, rand io.Reader) *FileSeal { return &FileSeal{path: path, rand: rand} }

func (*FileSeal) Kind() Kind { return File }

// Path is the key file's path.
func (f *FileSeal) Path() string { return f.path }

func (*FileSeal) Close() error { return nil }

func (f *FileSeal) Wrap(_ context.Context, key, ad []byte) (json.RawMessage, []byte, error) {
	fk, err := f.read()
	if errors.Is(err, os.ErrNotExist) {
		fk = make([]byte, rootKeySize)
		if _, err := io.ReadFull(f.rand, fk); err != nil {
			return nil, nil, fmt.Errorf("seal: generate key file: %w", err)
		}
		err = writeKeyFile(f.path, fk)
		if errors.Is(err, os.ErrExist) {
			// Another process made it in the meantime: use that one.
			clear(fk)
			fk, err = f.read()
		}
	}
	if err != nil {
		clear(fk)
		return nil, nil, err
	}
	defer clear(fk)
	aead, err := f.kek(fk)
	if err != nil {
		return nil, nil, err
	}
	wrapped, err := aead.Seal(key, ad)
	return nil, wrapped, err
}

func (f *FileSeal) Unwrap(_ context.Context, _ json.RawMessage, wrapped, ad []byte) ([]byte, error) {
	fk, err := f.read()
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("seal: the store's root key is wrapped by a key file, and %s does not exist: every node on the file seal needs the same file (or use another seal)", f.path)
	}
	if err != nil {
		return nil, err
	}
	defer clear(fk)
	aead, err := f.kek(fk)
	if err != nil {
		return nil, err
	}
	key, err := aead.Open(wrapped, ad)
	if err != nil {
		return nil, fmt.Errorf("%w: the key file %s is not the one it was wrapped with (every node on the file seal needs the same file)", ErrWrongSeal, f.path)
	}
	return key, nil
}

// kek derives the wrapping key from the file's key, so that the root key of
// a store adopted from an older Trent (the file's key itself) is not
// encrypted under itself.
func (f *FileSeal) kek(fk []byte) (*Sealer, error) {
	k, err := hkdf.Key(sha256.New, fk, nil, "trent/seal/file v1", rootKeySize)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	return New(k, f.rand)
}

// legacyKey is the key in the file, which an older Trent used as the root key.
func (f *FileSeal) legacyKey() ([]byte, error) {
	k, err := f.read()
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w, and %s does not exist", ErrLegacy, f.path)
	}
	return k, err
}

// read returns the key in the file; an error wrapping os.ErrNotExist if there
// is no file.
func (f *FileSeal) read() ([]byte, error) {
	fi, err := os.Stat(f.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("seal: key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		// As ssh with a private key: a key others can read is refused, not used.
		return nil, fmt.Errorf("seal: key file %s has mode %v: others can read it; chmod 600 it", f.path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return nil, fmt.Errorf("seal: read key file: %w", err)
	}
	defer clear(b)
	enc, ok := bytes.CutPrefix(b, []byte(fileMagic))
	if !ok {
		return nil, fmt.Errorf("seal: %s is not a Trent key file", f.path)
	}
	key := make([]byte, rootKeySize)
	n, err := base64.StdEncoding.Decode(key, bytes.TrimSpace(enc))
	if err != nil || n != rootKeySize {
		clear(key)
		return nil, fmt.Errorf("seal: %s: malformed key", f.path)
	}
	return key, nil
}

// writeKeyFile writes the key durably: a temporary file, fsync, link, fsync
// of the directory, so a crash leaves either no key file or a whole one. It
// returns an error wrapping os.ErrExist if the file exists.
func writeKeyFile(path string, key []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".rootkey-*")
	if err != nil {
		return fmt.Errorf("seal: create key file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("seal: chmod key file: %w", err)
	}
	buf := make([]byte, 0, len(fileMagic)+45)
	buf = append(buf, fileMagic...)
	buf = base64.StdEncoding.AppendEncode(buf, key)
	buf = append(buf, '\n')
	defer clear(buf)
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return fmt.Errorf("seal: write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("seal: sync key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		// Link, not Rename: never replace a key another process just made.
		return fmt.Errorf("seal: install key file: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
