//go:build linux

package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Child is a server process the benchmark started and must stop.
type Child struct {
	name   string
	cmd    *exec.Cmd
	URL    string
	done   chan struct{} // closed when the process has exited
	mu     sync.Mutex
	stderr strings.Builder
	lines  []string // stdout's first lines
}

// StartChild starts cmd and waits, at most until ctx ends or startTimeout
// passes, for a stdout line starting with banner; the first word after the
// banner is the server's URL. The child gets SIGTERM if this process dies.
func StartChild(ctx context.Context, name string, cmd *exec.Cmd, banner string, startTimeout time.Duration) (*Child, error) {
	c := &Child{name: name, cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = c
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.mu.Lock()
			if len(c.lines) < 100 {
				c.lines = append(c.lines, sc.Text())
			}
			c.mu.Unlock()
			if rest, ok := strings.CutPrefix(sc.Text(), banner); ok && len(strings.Fields(rest)) > 0 {
				select {
				case urlc <- strings.Fields(rest)[0]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout) // keep the pipe drained after a scan error
	}()
	go func() { cmd.Wait(); close(c.done) }()

	t := time.NewTimer(startTimeout)
	defer t.Stop()
	select {
	case c.URL = <-urlc:
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("%s exited before listening:\n%s", name, c.Stderr())
	case <-t.C:
		c.Stop()
		return nil, fmt.Errorf("%s did not listen within %v:\n%s", name, startTimeout, c.Stderr())
	case <-ctx.Done():
		c.Stop()
		return nil, ctx.Err()
	}
}

func (c *Child) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stderr.Len() < 1<<20 {
		c.stderr.Write(p)
	}
	return len(p), nil
}

// Stderr is what the child wrote to stderr so far (its first MiB).
func (c *Child) Stderr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

// Line returns the rest of the first stdout line that starts with prefix,
// among the child's first 100 lines, or "".
func (c *Child) Line(prefix string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.lines {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			return rest
		}
	}
	return ""
}

// Pid is the child's process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Stop sends SIGTERM, and SIGKILL if the child has not exited 15s later.
func (c *Child) Stop() {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(15 * time.Second)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		fmt.Fprintf(os.Stderr, "bench: %s ignored SIGTERM for 15s; killing it\n", c.name)
		c.cmd.Process.Kill()
		<-c.done
	}
}

// TrentBanner starts the line trent serve prints when it listens; the URL
// follows.
const TrentBanner = "Trent is serving AWS KMS at "

// BuildTrent builds cmd/trent of the module of the working directory into
// dir and returns the binary's path.
func BuildTrent(ctx context.Context, dir string) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		return "", errors.New("not inside the Trent module: run from its checkout or pass -trent")
	}
	bin := filepath.Join(dir, "trent")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/trent")
	build.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	fmt.Printf("building trent in %s\n", build.Dir)
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/trent: %v\n%s", err, out)
	}
	return bin, nil
}
