package seal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
)

// Argon2 are the Argon2id parameters of a passphrase seal. Wrap records them
// beside the wrapped key, so they can be raised later (trent seal migrate to
// the passphrase seal again) without breaking what was wrapped before.
type Argon2 struct {
	Time      uint32 `json:"time"`      // passes over memory
	MemoryKiB uint32 `json:"memoryKiB"` // memory, in KiB
	Threads   uint8  `json:"threads"`   // parallelism
}

// DefaultArgon2 is RFC 9106's second recommended option (64 MiB, three
// passes), with four lanes.
var DefaultArgon2 = Argon2{Time: 3, MemoryKiB: 64 << 10, Threads: 4}

// Bounds of the parameters: the lower ones keep a passphrase seal from being
// made cheap to guess by mistake; the upper ones keep a tampered record from
// making a node spend hours or all its memory before refusing.
const (
	minArgonTime      = 1
	maxArgonTime      = 64
	minArgonMemoryKiB = 8 << 10
	maxArgonMemoryKiB = 4 << 20
	// MinPassphrase is the shortest passphrase the seal accepts to wrap with.
	MinPassphrase = 12
	saltSize      = 16
)

func (a Argon2) check() error {
	if a.Time < minArgonTime || a.Time > maxArgonTime {
		return fmt.Errorf("seal: Argon2id time %d is outside %d…%d", a.Time, minArgonTime, maxArgonTime)
	}
	if a.MemoryKiB < minArgonMemoryKiB || a.MemoryKiB > maxArgonMemoryKiB {
		return fmt.Errorf("seal: Argon2id memory %d KiB is outside %d…%d KiB", a.MemoryKiB, minArgonMemoryKiB, maxArgonMemoryKiB)
	}
	if a.Threads == 0 {
		return fmt.Errorf("seal: Argon2id needs at least one thread")
	}
	return nil
}

// passphraseParams are the recorded parameters of a passphrase seal.
type passphraseParams struct {
	KDF  string `json:"kdf"` // argon2id
	Salt []byte `json:"salt"`
	Argon2
}

// PassphraseSeal wraps the root key with a key derived from a passphrase
// with Argon2id.
type PassphraseSeal struct {
	pass []byte
	cost Argon2
	rand io.Reader
}

var _ Wrapper = (*PassphraseSeal)(nil)

// NewPassphraseSeal returns a passphrase seal. It keeps a copy of
// passphrase until Close. cost is used by Wrap (a zero cost:
// DefaultArgon2); Unwrap uses the recorded parameters.
func NewPassphraseSeal(passphrase []byte, cost Argon2, rand io.Reader) (*PassphraseSeal, error) {
	if cost == (Argon2{}) {
		cost = DefaultArgon2
	}
	if err := cost.check(); err != nil {
		return nil, err
	}
	return &PassphraseSeal{pass: append([]byte(nil), passphrase...), cost: cost, rand: rand}, nil
}

func (*PassphraseSeal) Kind() Kind { return Passphrase }

func (p *PassphraseSeal) Close() error {
	clear(p.pass)
	p.pass = nil
	return nil
}

func (p *PassphraseSeal) Wrap(_ context.Context, key, ad []byte) (json.RawMessage, []byte, error) {
	if n := len([]rune(string(p.pass))); n < MinPassphrase {
		return nil, nil, fmt.Errorf("seal: the passphrase has %d characters; a new one needs at least %d", n, MinPassphrase)
	}
	pp := passphraseParams{KDF: "argon2id", Salt: make([]byte, saltSize), Argon2: p.cost}
	if _, err := io.ReadFull(p.rand, pp.Salt); err != nil {
		return nil, nil, fmt.Errorf("seal: salt: %w", err)
	}
	kek, err := p.kek(pp)
	if err != nil {
		return nil, nil, err
	}
	wrapped, err := kek.Seal(key, ad)
	if err != nil {
		return nil, nil, err
	}
	params, err := json.Marshal(pp)
	return params, wrapped, err
}

func (p *PassphraseSeal) Unwrap(_ context.Context, params json.RawMessage, wrapped, ad []byte) ([]byte, error) {
	var pp passphraseParams
	if err := json.Unmarshal(params, &pp); err != nil || pp.KDF != "argon2id" || len(pp.Salt) < saltSize {
		return nil, fmt.Errorf("seal: the passphrase seal's recorded parameters are malformed")
	}
	if err := pp.check(); err != nil {
		return nil, fmt.Errorf("recorded parameters: %w", err)
	}
	kek, err := p.kek(pp)
	if err != nil {
		return nil, err
	}
	key, err := kek.Open(wrapped, ad)
	if err != nil {
		return nil, fmt.Errorf("%w: wrong passphrase", ErrWrongSeal)
	}
	return key, nil
}

func (p *PassphraseSeal) kek(pp passphraseParams) (*Sealer, error) {
	if p.pass == nil {
		return nil, fmt.Errorf("seal: the passphrase seal is closed")
	}
	k := argon2.IDKey(p.pass, pp.Salt, pp.Time, pp.MemoryKiB, pp.Threads, rootKeySize)
	defer clear(k)
	return New(k, p.rand)
}
