// Package server is Trent's HTTP front: it reads each request, authenticates
// its SigV4 signature, routes it by protocol to the service that owns the
// operation, and writes the response or the AWS error shape. It knows no
// operation's semantics.
//
// # Concurrency
//
// A *Server is an http.Handler, safe for concurrent use.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/kms"
	"github.com/trentkms/trent/internal/sigv4"
	"github.com/trentkms/trent/internal/wire"
)

// maxBody bounds a request body. The largest KMS request (a 131072-character
// policy, or 6144 bytes of ciphertext in base64) fits well within it.
const maxBody = 1 << 20

const kmsTargetPrefix = "TrentService."

// Options configure a Server.
type Options struct {
	Regions []string     // the Regions served; the first is the default
	Log     *slog.Logger // nil: slog.Default()
}

// Server serves the AWS KMS JSON protocol.
type Server struct {
	kms      *kms.Service
	ids      *iam.Directory
	verifier *sigv4.Verifier
	regions  []string
	log      *slog.Logger
	ops      map[string]handler
}

// New returns a Server over the given services.
func New(k *kms.Service, ids *iam.Directory, o Options) (*Server, error) {
	if len(o.Regions) == 0 {
		return nil, errors.New("server: no Region to serve")
	}
	s := &Server{kms: k, ids: ids, regions: o.Regions, log: o.Log}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.verifier = sigv4.NewVerifier(ids, sigv4.Options{Scope: s.checkScope})
	s.ops = kmsOperations(k)
	return s, nil
}

func (s *Server) checkScope(region, service string) error {
	if service != "kms" {
		return sigv4.ServiceScopeError("kms")
	}
	if !slices.Contains(s.regions, region) {
		return sigv4.RegionScopeError()
	}
	return nil
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// bufPool recycles request body buffers; bodies may hold plaintext, so a
// buffer is cleared before it goes back.
var bufPool = make(chan []byte, 64)

func getBuf() []byte {
	select {
	case b := <-bufPool:
		return b[:0]
	default:
		return make([]byte, 0, 4096)
	}
}

func putBuf(b []byte) {
	if cap(b) > 64<<10 {
		return
	}
	clear(b[:cap(b)])
	select {
	case bufPool <- b:
	default:
	}
}

// readBody reads at most maxBody bytes into buf.
func readBody(r io.Reader, buf []byte) ([]byte, error) {
	lr := io.LimitedReader{R: r, N: maxBody + 1}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return buf, err
		}
	}
	if len(buf) > maxBody {
		return buf, errTooLarge
	}
	return buf, nil
}

var errTooLarge = errors.New("request body too large")

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := newRequestID()
	buf := getBuf()
	defer func() { putBuf(buf) }()
	var err error
	buf, err = readBody(r.Body, buf)
	if err != nil {
		if err == errTooLarge {
			wire.WriteError(w, id, wire.Errorf("RequestEntityTooLargeException", http.StatusRequestEntityTooLarge, "Request body is too large"))
			return
		}
		wire.WriteError(w, id, wire.Serialization("Unable to read the request body"))
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op, isKMS := strings.CutPrefix(target, kmsTargetPrefix)
	if r.Method != http.MethodPost || !isKMS {
		wire.WriteError(w, id, wire.UnknownOperation())
		return
	}
	res, err := s.verifier.Verify(r.Context(), r, buf)
	if err != nil {
		s.writeAuthError(w, id, err)
		return
	}
	p, ok := s.ids.Principal(res.AccessKeyID)
	if !ok {
		// The key vanished between verification and now.
		wire.WriteError(w, id, authError(sigv4.ErrUnknownAccessKey))
		return
	}
	h, ok := s.ops[op]
	if !ok {
		wire.WriteError(w, id, wire.UnknownOperation())
		return
	}
	caller := kms.Caller{Account: p.Account, ARN: p.ARN, Region: res.Region}
	resp, err := h(r.Context(), caller, buf)
	if err != nil {
		var we *wire.Error
		if !errors.As(err, &we) {
			s.log.Error("internal error", "requestId", id, "operation", op, "caller", p.ARN, "err", err)
		}
		wire.WriteError(w, id, err)
		return
	}
	wire.WriteJSON(w, id, resp)
	kms.Scrub(resp)
}

func (s *Server) writeAuthError(w http.ResponseWriter, id string, err error) {
	var ae *sigv4.Error
	if !errors.As(err, &ae) {
		s.log.Error("signature verification failed internally", "requestId", id, "err", err)
	}
	wire.WriteError(w, id, authError(err))
}

// authError maps a SigV4 failure to the error a client sees.
func authError(err error) error {
	var ae *sigv4.Error
	if errors.As(err, &ae) {
		return &wire.Error{Code: ae.Kind.String(), Message: ae.Message, Status: ae.Kind.HTTPStatus()}
	}
	if errors.Is(err, sigv4.ErrUnknownAccessKey) {
		return &wire.Error{Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid.", Status: 400}
	}
	return err
}

// handler runs one operation on a request body.
type handler func(ctx context.Context, c kms.Caller, body []byte) (any, error)

// op adapts a typed operation to a handler: decode and validate the request
// as the API model says, then call it.
func op[I any, PI interface {
	*I
	Validate() error
}, O any](f func(context.Context, kms.Caller, PI) (O, error)) handler {
	return func(ctx context.Context, c kms.Caller, body []byte) (any, error) {
		in := PI(new(I))
		if err := wire.DecodeJSON(body, in); err != nil {
			return nil, err
		}
		return f(ctx, c, in)
	}
}
