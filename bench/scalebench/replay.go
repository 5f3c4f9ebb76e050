//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/trentkms/trent/bench/internal/harness"
)

// This file is a wrk-style load generator: it replays one pre-signed HTTP
// request over keep-alive connections and reads the responses with a few
// hundred nanoseconds of client work each, so that on a shared 2-core
// machine the server, not the client, is what runs out of CPU (the SDK
// client of kmsbench costs more than the server per request). The same
// bytes go to Trent and to the bare net/http baseline.

// signedRequest returns the bytes of one HTTP/1.1 KMS request to host,
// signed with SigV4 now. The signature stays valid for the server's
// clock-skew window (5 minutes), longer than a phase.
func signedRequest(host, region, accessKey, secretKey, op string, body []byte) ([]byte, error) {
	r, err := http.NewRequest(http.MethodPost, "http://"+host+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "TrentService."+op)
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "kms", region, time.Now()); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST / HTTP/1.1\r\nHost: %s\r\n", host)
	for k, vs := range r.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	return b.Bytes(), nil
}

// replayResult is one replay phase.
type replayResult struct {
	Requests  int // answered 200
	Errors    int
	FirstErr  string
	Wall      time.Duration
	Latencies []time.Duration
	ServerCPU harness.CPUDelta
	ClientCPU time.Duration
}

// replay sends req n times over conns connections to addr (a loopback
// host:port) and reads every response, measuring the server's CPU (pid)
// over the whole phase. It stops at the deadline of ctx.
func replay(ctx context.Context, addr string, req []byte, conns, n, pid int) (*replayResult, error) {
	if err := harness.CheckLoopback(addr); err != nil {
		return nil, err
	}
	before, err := harness.ReadCPU(pid)
	if err != nil {
		return nil, err
	}
	self0 := harness.SelfCPU()
	res := &replayResult{}
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Go(func() {
			lat, errs, first := replayConn(ctx, addr, req, &next, int64(n))
			mu.Lock()
			defer mu.Unlock()
			res.Latencies = append(res.Latencies, lat...)
			res.Requests += len(lat)
			res.Errors += errs
			if first != nil && res.FirstErr == "" {
				res.FirstErr = first.Error()
			}
		})
	}
	wg.Wait()
	res.Wall = time.Since(start)
	res.ClientCPU = harness.SelfCPU() - self0
	after, err := harness.ReadCPU(pid)
	if err != nil {
		return nil, err
	}
	res.ServerCPU = before.To(after)
	return res, nil
}

// replayConn is one connection's loop: claim a request number, write, read
// the response; reconnect after an error.
func replayConn(ctx context.Context, addr string, req []byte, next *atomic.Int64, n int64) (lat []time.Duration, errs int, first error) {
	var conn net.Conn
	var br *bufio.Reader
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	fail := func(err error) {
		errs++
		if first == nil {
			first = err
		}
		if conn != nil {
			conn.Close()
			conn = nil
		}
	}
	for next.Add(1) <= n && ctx.Err() == nil {
		if conn == nil {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				fail(err)
				continue
			}
			conn, br = c, bufio.NewReaderSize(c, 16<<10)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		t0 := time.Now()
		if _, err := conn.Write(req); err != nil {
			fail(err)
			continue
		}
		status, err := readResponse(br)
		d := time.Since(t0)
		if err != nil {
			fail(err)
			continue
		}
		if status != 200 {
			fail(fmt.Errorf("HTTP %d", status))
			continue
		}
		lat = append(lat, d)
	}
	return lat, errs, first
}

// readResponse reads one HTTP/1.1 response with a Content-Length body and
// returns its status.
func readResponse(br *bufio.Reader) (int, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, err
	}
	length := -1
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(h) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(h, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return 0, err
			}
		}
	}
	if length < 0 {
		return 0, errors.New("response without Content-Length")
	}
	if _, err := br.Discard(length); err != nil {
		return 0, err
	}
	return status, nil
}
