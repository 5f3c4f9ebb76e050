// Package bench holds Trent's benchmarks: the kmsbench load generator
// (bench/kmsbench), which measures a real `trent serve` process over loopback
// against a bare net/http baseline, and in-process benchmarks of the server's
// request path (serverbench_test.go), which give CPU profiles of it.
//
// Nothing here is imported by the server. See bench/README.md for how to run
// the benchmarks and what their figures mean.
package bench
