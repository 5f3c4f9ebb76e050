//go:build linux

// Package harness is what Trent's benchmark programs share: starting and
// stopping server processes (Child), reading a process's CPU time and
// resident memory from /proc, the bare net/http baseline server, and latency
// percentiles. It reads /proc and so builds on Linux only.
package harness
