//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a server process the benchmark started and must stop.
type child struct {
	name   string
	cmd    *exec.Cmd
	URL    string
	done   chan struct{} // closed when the process has exited
	mu     sync.Mutex
	stderr strings.Builder
}

// startChild starts cmd and waits, at most until ctx ends or startTimeout
// passes, for a stdout line starting with banner; the first word after the
// banner is the server's URL. The child gets SIGTERM if this process dies.
func startChild(ctx context.Context, name string, cmd *exec.Cmd, banner string, startTimeout time.Duration) (*child, error) {
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
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

func (c *child) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stderr.Len() < 1<<20 {
		c.stderr.Write(p)
	}
	return len(p), nil
}

// Stderr is what the child wrote to stderr so far (its first MiB).
func (c *child) Stderr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

// Pid is the child's process id.
func (c *child) Pid() int { return c.cmd.Process.Pid }

// Stop sends SIGTERM, and SIGKILL if the child has not exited 15s later.
func (c *child) Stop() {
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
		fmt.Fprintf(os.Stderr, "kmsbench: %s ignored SIGTERM for 15s; killing it\n", c.name)
		c.cmd.Process.Kill()
		<-c.done
	}
}
