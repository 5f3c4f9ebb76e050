//go:build linux

package harness

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// Baseline is the hidden mode in which a benchmark program re-executes
// itself as the baseline server (StartBaseline), given by its flags.
type Baseline struct {
	addr, keyARN string
	blobLen      int
}

// Flags registers the mode's flags on fs, without usage texts: they are
// for StartBaseline only.
func (b *Baseline) Flags(fs *flag.FlagSet) {
	fs.StringVar(&b.addr, "serve-baseline", "", "")
	fs.StringVar(&b.keyARN, "baseline-key-arn", "", "")
	fs.IntVar(&b.blobLen, "baseline-blob-len", 0, "")
}

// Main ends a benchmark program's main once its flags are parsed: in the
// baseline mode it serves the baseline; otherwise it runs run under a
// context that SIGINT, SIGTERM and timeout end. An error is printed after
// the program's name and exits with status 1.
func Main(name string, b Baseline, plaintextSize int, timeout time.Duration, run func(context.Context) error) {
	if b.addr != "" {
		if err := ServeBaseline(b.addr, b.keyARN, b.blobLen, plaintextSize); err != nil {
			fmt.Fprintln(os.Stderr, name+" baseline:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		cancel()
		os.Exit(1)
	}
}

// StartBaseline re-executes this program in the baseline mode on a
// loopback port, answering as for a key keyARN whose ciphertexts are
// blobLen bytes long.
func StartBaseline(ctx context.Context, keyARN string, blobLen int) (*Child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve-baseline", "127.0.0.1:0", "-baseline-key-arn", keyARN, "-baseline-blob-len", strconv.Itoa(blobLen))
	return StartChild(ctx, "baseline", cmd, BaselineBanner, 30*time.Second)
}
