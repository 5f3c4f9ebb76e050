package kmsapi

import "encoding/json"

// MarshalJSON writes the constraints that are set. An empty
// EncryptionContextEquals is set — it allows only the empty encryption
// context, and AWS counts it as a constraint — but encoding/json's omitempty
// on the generated map fields would drop it and show the grant as
// unconstrained, so the maps are written whenever they are not nil.
func (s GrantConstraints) MarshalJSON() ([]byte, error) {
	var out struct {
		EncryptionContextSubset *map[string]string `json:",omitempty"`
		EncryptionContextEquals *map[string]string `json:",omitempty"`
		SourceArn               *string            `json:",omitempty"`
	}
	if s.EncryptionContextSubset != nil {
		out.EncryptionContextSubset = &s.EncryptionContextSubset
	}
	if s.EncryptionContextEquals != nil {
		out.EncryptionContextEquals = &s.EncryptionContextEquals
	}
	out.SourceArn = s.SourceArn
	return json.Marshal(out)
}
