package iam

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// Markers are opaque to clients; they carry the position of the next item.
func formatMarker(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("trent:" + strconv.Itoa(n)))
}

func parseMarker(m string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil {
		return 0, err
	}
	s, ok := strings.CutPrefix(string(b), "trent:")
	if !ok {
		return 0, errors.New("iam: foreign marker")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errors.New("iam: bad marker")
	}
	return n, nil
}
