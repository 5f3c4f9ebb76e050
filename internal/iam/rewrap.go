package iam

import (
	"encoding/json"
	"fmt"
	"strings"
)

// VisitSealed is the seal.Visitor of the IAM and STS records that hold
// blobs sealed under the root key: access keys' secrets, and temporary
// credentials' secrets and session tokens, virtual MFA devices' seeds.
// trent rootkey rotate uses it to
// rewrap them and count them by root key version; each record is written
// back with its own type, so every field stays as it was.
func VisitSealed(key string, value []byte, fn func(sealed, ad []byte) ([]byte, error)) ([]byte, bool, error) {
	switch {
	case strings.HasPrefix(key, accessKeysPrefix):
		var rec accessKeyRecord
		if err := json.Unmarshal(value, &rec); err != nil {
			return nil, false, fmt.Errorf("iam: undecodable access key record: %w", err)
		}
		var err error
		if rec.Secret, err = fn(rec.Secret, secretAAD(rec.AccessKeyID)); err != nil {
			return nil, true, err
		}
		b, err := json.Marshal(rec)
		return b, true, err
	case strings.HasPrefix(key, sessionsPrefix):
		var rec sessionRecord
		if err := json.Unmarshal(value, &rec); err != nil {
			return nil, false, fmt.Errorf("iam: undecodable session record: %w", err)
		}
		var err error
		if rec.Secret, err = fn(rec.Secret, secretAAD(rec.AccessKeyID)); err != nil {
			return nil, true, err
		}
		if rec.Token, err = fn(rec.Token, tokenAAD(rec.AccessKeyID)); err != nil {
			return nil, true, err
		}
		b, err := json.Marshal(rec)
		return b, true, err
	case strings.HasPrefix(key, accountsPrefix):
		// acct/<account>/iam/mfa/<name>
		account, rest, _ := strings.Cut(strings.TrimPrefix(key, accountsPrefix), "/")
		if !strings.HasPrefix(rest, "iam/"+mfaDir+"/") {
			return nil, false, nil
		}
		var m MFADevice
		if err := json.Unmarshal(value, &m); err != nil {
			return nil, false, fmt.Errorf("iam: undecodable MFA device record: %w", err)
		}
		var err error
		if m.Seed, err = fn(m.Seed, mfaSeedAAD(MFADeviceARN(account, m.Path, m.Name))); err != nil {
			return nil, true, err
		}
		b, err := json.Marshal(m)
		return b, true, err
	}
	return nil, false, nil
}
