package wire

import "encoding/json"

// DecodeJSONStd is DecodeJSON with encoding/json for every type: the
// reference that the generated decoders are checked against.
func DecodeJSONStd(body []byte, v interface{ Validate() error }) error {
	return decodeJSON(body, v, json.Unmarshal)
}
