// Package testenv decides what a test does when something it needs from the
// machine or from ../shared is missing.
//
// On a developer's machine the test skips and says what to install. Under CI
// (the environment variable CI set, as .ci/run runs) it fails: scripts/test.sh
// installs everything the suite needs, so a skip there would be a test that
// never ran while the run reported success.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// Missing skips t, or fails it under CI, because something it needs is not
// there; format and args say what and how to get it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (CI is set: the suite must have everything it needs; see scripts/test.sh)", msg)
	}
	t.Skip(msg)
}
