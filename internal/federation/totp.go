package federation

import (
	"bytes"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"image/png"
	"io"
	"net/url"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// Virtual MFA devices are TOTP (RFC 6238) with the parameters authenticator
// apps assume: HMAC-SHA-1, six digits, 30-second steps.
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	// SeedSize is the seed's length: 40 bytes, 64 Base32 characters, the
	// size of IAM's Base32StringSeed.
	SeedSize = 40
	// window is how many steps a code may be from the device's time (as
	// corrected by its drift): one either side, for a clock a little off
	// and a code typed as its step ends.
	window = 1
	// resyncWindow bounds the search for two consecutive codes when a
	// device is enabled or resynchronized: ten minutes either side.
	resyncWindow = 20
)

var seedEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSeed makes a TOTP seed.
func NewSeed(rand io.Reader) ([]byte, error) {
	seed := make([]byte, SeedSize)
	if _, err := io.ReadFull(rand, seed); err != nil {
		return nil, err
	}
	return seed, nil
}

// Base32Seed is a seed as authenticator apps take it typed in.
func Base32Seed(seed []byte) string { return seedEncoding.EncodeToString(seed) }

// QRCode is a PNG of the otpauth:// URI of a seed, for an authenticator app
// to scan, labelled issuer:account.
func QRCode(seed []byte, issuer, account string) ([]byte, error) {
	v := url.Values{}
	v.Set("secret", Base32Seed(seed))
	v.Set("issuer", issuer)
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account, RawQuery: v.Encode()}
	key, err := otp.NewKeyFromURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("federation: otpauth URI: %w", err)
	}
	img, err := key.Image(256, 256)
	if err != nil {
		return nil, fmt.Errorf("federation: QR code: %w", err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Step is the TOTP time step of t.
func Step(t time.Time) int64 { return t.Unix() / totpPeriod }

// Code is the code of a seed at a step.
func Code(seed []byte, step int64) (string, error) {
	if step < 0 {
		return "", fmt.Errorf("federation: negative TOTP step")
	}
	return hotp.GenerateCodeCustom(Base32Seed(seed), uint64(step), hotp.ValidateOpts{Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
}

// codeAt reports, in constant time for the code, whether code is the
// seed's at step.
func codeAt(seed []byte, step int64, code string) bool {
	want, err := Code(seed, step)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1
}

// CheckCode finds the step of a code from a device whose clock is drift
// steps off, within one step of now, and later than last (the step of the
// last code accepted: a code is accepted once, and none older than it).
func CheckCode(seed []byte, code string, now time.Time, drift, last int64) (step int64, ok bool) {
	at := Step(now) + drift
	found := int64(-1)
	for s := at - window; s <= at+window; s++ {
		// Every candidate step is compared, so the time taken does not
		// tell which one matched.
		if codeAt(seed, s, code) && s > last && found < 0 {
			found = s
		}
	}
	return found, found >= 0
}

// CheckConsecutive finds two consecutive codes, as EnableMFADevice and
// ResyncMFADevice take them, within resyncWindow steps of now; it returns
// the step of the second and the device's drift from now.
func CheckConsecutive(seed []byte, code1, code2 string, now time.Time) (step, drift int64, ok bool) {
	at := Step(now)
	found := int64(-1)
	for s := at - resyncWindow; s <= at+resyncWindow; s++ {
		if codeAt(seed, s, code1) && codeAt(seed, s+1, code2) && found < 0 {
			found = s + 1
		}
	}
	if found < 0 {
		return 0, 0, false
	}
	return found, found - at, true
}
