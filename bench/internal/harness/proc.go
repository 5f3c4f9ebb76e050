//go:build linux

package harness

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

// CPUSample is the CPU a process has used so far.
type CPUSample struct {
	// Ticks is utime+stime from /proc/<pid>/stat, in 1/clockTicks s. It
	// includes threads that have exited; its resolution is 10 ms.
	Ticks int64
	// SchedNS is the sum of the first field of /proc/<pid>/task/*/schedstat:
	// nanoseconds on a CPU of the threads alive now. Go's runtime keeps its
	// threads, so this loses nothing in practice. Zero if unavailable.
	SchedNS int64
}

// ReadCPU samples the CPU time of process pid.
func ReadCPU(pid int) (CPUSample, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return CPUSample{}, err
	}
	ticks, err := parseStatTicks(b)
	if err != nil {
		return CPUSample{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return CPUSample{Ticks: ticks, SchedNS: schedNS(pid)}, nil
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

// CPUDelta is the CPU a process used between two samples.
type CPUDelta struct {
	Ticks   time.Duration // from utime+stime, 10 ms resolution
	SchedNS time.Duration // from schedstat, 0 if unavailable
}

func (a CPUSample) To(b CPUSample) CPUDelta {
	d := CPUDelta{Ticks: time.Duration(b.Ticks-a.Ticks) * (time.Second / clockTicks)}
	if a.SchedNS > 0 && b.SchedNS > 0 {
		d.SchedNS = time.Duration(b.SchedNS - a.SchedNS)
	}
	return d
}

// Best is the most precise measure available.
func (d CPUDelta) Best() time.Duration {
	if d.SchedNS > 0 {
		return d.SchedNS
	}
	return d.Ticks
}

// SelfCPU is this process's user+system CPU time, to microseconds.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Percentile is the nearest-rank q-th percentile (0 < q <= 100) of sorted.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q/100+0.999999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Memory is a process's resident memory, from /proc/<pid>/status.
type Memory struct {
	RSS  int64 // VmRSS: resident now, bytes
	Peak int64 // VmHWM: the most resident so far, bytes
	// Anon and File split RSS: the heap and runtime, and pages of mapped
	// files (the store's memory map), which the kernel can drop and read
	// again under memory pressure.
	Anon, File int64
}

// ReadMemory reads the resident set size of process pid.
func ReadMemory(pid int) (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	for line := range bytes.Lines(b) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(k) {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.Peak
		case "RssAnon":
			dst = &m.Anon
		case "RssFile":
			dst = &m.File
		default:
			continue
		}
		f := bytes.Fields(v) // "123456 kB"
		if len(f) != 2 || string(f[1]) != "kB" {
			return Memory{}, fmt.Errorf("/proc/%d/status: %s: %q", pid, k, v)
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("/proc/%d/status: %s: %w", pid, k, err)
		}
		*dst = n << 10
	}
	if m.RSS == 0 {
		return Memory{}, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
	}
	return m, nil
}
