package e2e

import (
	"os"
	"testing"

	"github.com/trentkms/trent/internal/testserver"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.Cleanup()
	os.Exit(code)
}
