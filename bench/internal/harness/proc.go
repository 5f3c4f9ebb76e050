//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
// Linux fixes it at 100 on every architecture Go supports; reading it would
// need sysconf(_SC_CLK_TCK) and so cgo.
const clockTicks = 100

// cpuSample is the CPU a process has used so far.
type cpuSample struct {
	// Ticks is utime+stime from /proc/<pid>/stat, in 1/clockTicks s. It
	// includes threads that have exited; its resolution is 10 ms.
	Ticks int64
	// SchedNS is the sum of the first field of /proc/<pid>/task/*/schedstat:
	// nanoseconds on a CPU of the threads alive now. Go's runtime keeps its
	// threads, so this loses nothing in practice. Zero if unavailable.
	SchedNS int64
}

// readCPU samples the CPU time of process pid.
func readCPU(pid int) (cpuSample, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return cpuSample{}, err
	}
	ticks, err := parseStatTicks(b)
	if err != nil {
		return cpuSample{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return cpuSample{Ticks: ticks, SchedNS: schedNS(pid)}, nil
}

// parseStatTicks returns utime+stime (fields 14 and 15) of a /proc/<pid>/stat
// line. The command name (field 2) may hold spaces and parentheses, so fields
// are counted from its last ')'.
func parseStatTicks(b []byte) (int64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name")
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	utime, err := strconv.ParseInt(string(f[14-3]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime: %w", err)
	}
	stime, err := strconv.ParseInt(string(f[15-3]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime: %w", err)
	}
	return utime + stime, nil
}

// schedNS sums the on-CPU nanoseconds of every live thread of pid, or returns
// 0 if the kernel does not provide schedstat.
func schedNS(pid int) int64 {
	paths, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum int64
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread exited between Glob and ReadFile
		}
		f := bytes.Fields(b)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0
		}
		sum += n
	}
	return sum
}

// cpuDelta is the CPU a process used between two samples.
type cpuDelta struct {
	Ticks   time.Duration // from utime+stime, 10 ms resolution
	SchedNS time.Duration // from schedstat, 0 if unavailable
}

func (a cpuSample) to(b cpuSample) cpuDelta {
	d := cpuDelta{Ticks: time.Duration(b.Ticks-a.Ticks) * (time.Second / clockTicks)}
	if a.SchedNS > 0 && b.SchedNS > 0 {
		d.SchedNS = time.Duration(b.SchedNS - a.SchedNS)
	}
	return d
}

// best is the most precise measure available.
func (d cpuDelta) best() time.Duration {
	if d.SchedNS > 0 {
		return d.SchedNS
	}
	return d.Ticks
}

// selfCPU is this process's user+system CPU time, to microseconds.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
