package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// DecodeRequest reads a Request from the JSON form the `trent policy eval`
// command takes:
//
//	{"principal": {"type": "AWS", "arn": "…", "account": "111122223333", "id": "AIDA…"},
//	 "action": "kms:Decrypt", "resource": "arn:…", "time": "2025-01-02T03:04:05Z",
//	 "keys": {"kms:CallerAccount": "111122223333", "aws:TagKeys": ["a", "b"]}}
//
// Key names may use any case; values are a string or an array of strings.
func DecodeRequest(data []byte) (*Request, error) {
	var raw struct {
		Principal struct {
			Type    string `json:"type"`
			ARN     string `json:"arn"`
			Account string `json:"account"`
			ID      string `json:"id"`
		} `json:"principal"`
		Action   string                     `json:"action"`
		Resource string                     `json:"resource"`
		Time     string                     `json:"time"`
		Keys     map[string]json.RawMessage `json:"keys"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode request: %w", err)
	}
	r := &Request{Action: raw.Action, Resource: raw.Resource, Keys: Keys{}}
	r.Principal.ARN, r.Principal.Account, r.Principal.ID = raw.Principal.ARN, raw.Principal.Account, raw.Principal.ID
	if raw.Principal.Type != "" {
		t, err := ParsePrincipalType(raw.Principal.Type)
		if err != nil {
			return nil, fmt.Errorf("decode request: %w", err)
		}
		r.Principal.Type = t
	} else {
		r.Principal.Type = AnonymousPrincipal
	}
	if raw.Time != "" {
		t, ok := parseDate(raw.Time)
		if !ok {
			return nil, fmt.Errorf("decode request: time %q is not ISO 8601 or epoch seconds", raw.Time)
		}
		r.Time = t
	}
	for k, v := range raw.Keys {
		n, err := parseJSON(v)
		if err != nil {
			return nil, fmt.Errorf("decode request: key %s: %w", k, err)
		}
		vals, ok := scalarList(n)
		if !ok && !(n.kind == jArray && len(n.items) == 0) {
			return nil, fmt.Errorf("decode request: key %s: want a string or an array of strings", k)
		}
		r.Keys.Add(k, vals...)
	}
	return r, nil
}
