package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/trentkms/trent/internal/wire"
)

// encoder writes events as JSON lines without reflection, byte for byte as a
// json.Encoder with SetEscapeHTML(false) writes them: the same field order
// and omitempty rules, map keys sorted, strings escaped and numbers written
// as encoding/json does. Record encodes every event, and reflection and
// map sorting were most of an event's cost.
//
// It knows the types the package puts into requestParameters,
// responseElements and additionalEventData (and those encoding/json decodes
// to); a value of any other type is encoded by encoding/json. An event the
// encoder cannot write exactly as encoding/json would (a NaN, an invalid
// json.Number, a value nested too deep, a value encoding/json rejects) makes
// appendEvent fail with errNeedsJSON, and the caller encodes that event with
// encoding/json, which then decides what happens.
//
// An encoder is not safe for concurrent use; the Log's writer owns one.
type encoder struct {
	// pairs holds the members of the maps being encoded, a stack: each map
	// sorts its own members at the top of it.
	pairs []pair
	// spairs is pairs for map[string]string.
	spairs []spair
	// other receives values of types the encoder does not know, from
	// encoding/json.
	other bytes.Buffer
}

type pair struct {
	k string
	v any
}

type spair struct{ k, v string }

// errNeedsJSON says that an event must be encoded by encoding/json.
var errNeedsJSON = errors.New("audit: event needs encoding/json")

// maxEncodeDepth bounds how deeply nested values the encoder follows; deeper
// values (and cycles, which encoding/json reports) go to encoding/json.
const maxEncodeDepth = 64

// appendDecision appends additionalEventData as additionalData's map would
// be written: its members in name order (decidedBy, grantId, sid,
// statement, viaService).
func appendDecision(b []byte, d Decision, via string) []byte {
	b = append(b, `,"additionalEventData":{`...)
	if d.Decided {
		b = append(b, `"decidedBy":`...)
		b = appendString(b, d.By)
		if d.GrantID != "" {
			b = append(b, `,"grantId":`...)
			b = appendString(b, d.GrantID)
		}
		if d.Statement >= 0 {
			b = append(b, `,"sid":`...)
			b = appendString(b, d.Sid)
			b = append(b, `,"statement":`...)
			b = strconv.AppendInt(b, int64(d.Statement), 10)
		}
	}
	if via != "" {
		if d.Decided {
			b = append(b, ',')
		}
		b = append(b, `"viaService":`...)
		b = appendString(b, via)
	}
	return append(b, '}')
}

// appendEvent appends e as one JSON line. On error, b holds a partial line
// after its original length: the caller must discard it.
func (en *encoder) appendEvent(b []byte, e *Event) ([]byte, error) {
	var err error
	b = append(b, `{"eventVersion":`...)
	b = appendString(b, e.EventVersion)
	b = append(b, `,"userIdentity":`...)
	b = appendUserIdentity(b, &e.UserIdentity)
	b = appendMember(b, `,"eventTime":`, e.EventTime)
	b = appendMember(b, `,"eventSource":`, e.EventSource)
	b = appendMember(b, `,"eventName":`, e.EventName)
	b = appendMember(b, `,"awsRegion":`, e.AWSRegion)
	b = appendNonEmpty(b, `,"sourceIPAddress":`, e.SourceIPAddress)
	b = appendNonEmpty(b, `,"userAgent":`, e.UserAgent)
	b = appendNonEmpty(b, `,"errorCode":`, e.ErrorCode)
	b = appendNonEmpty(b, `,"errorMessage":`, e.ErrorMessage)
	b = append(b, `,"requestParameters":`...)
	// Compact JSON text from the generated appenders or the encoder:
	// encoding/json would write it as it is.
	if len(e.RequestParameters) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, e.RequestParameters...)
	}
	b = append(b, `,"responseElements":`...)
	if b, err = en.appendMap(b, e.ResponseElements, 0); err != nil {
		return b, err
	}
	switch {
	case len(e.AdditionalEventData) > 0:
		b = append(b, `,"additionalEventData":`...)
		if b, err = en.appendMap(b, e.AdditionalEventData, 0); err != nil {
			return b, err
		}
	case e.decision.Decided || e.viaService != "":
		b = appendDecision(b, e.decision, e.viaService)
	}
	b = appendNonEmpty(b, `,"requestID":`, e.RequestID)
	b = appendMember(b, `,"eventID":`, e.EventID)
	b = append(b, `,"readOnly":`...)
	b = strconv.AppendBool(b, e.ReadOnly)
	if len(e.Resources) > 0 {
		b = append(b, `,"resources":[`...)
		for i := range e.Resources {
			r := &e.Resources[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"accountId":`...)
			b = appendString(b, r.AccountID)
			b = appendMember(b, `,"type":`, r.Type)
			b = appendMember(b, `,"ARN":`, r.ARN)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendMember(b, `,"eventType":`, e.EventType)
	b = append(b, `,"managementEvent":`...)
	b = strconv.AppendBool(b, e.ManagementEvent)
	b = appendNonEmpty(b, `,"recipientAccountId":`, e.RecipientAccountID)
	b = appendNonEmpty(b, `,"vpcEndpointId":`, e.VPCEndpointID)
	b = appendMember(b, `,"eventCategory":`, e.EventCategory)
	if len(e.ServiceEventDetails) > 0 {
		b = append(b, `,"serviceEventDetails":`...)
		if b, err = en.appendMap(b, e.ServiceEventDetails, 0); err != nil {
			return b, err
		}
	}
	b = appendNonEmpty(b, `,"trentNode":`, e.TrentNode)
	b = appendNonEmpty(b, `,"trentTraceId":`, e.TrentTraceID)
	return append(b, "}\n"...), nil
}

func appendUserIdentity(b []byte, u *UserIdentity) []byte {
	start := len(b)
	b = append(b, '{')
	b = appendOptional(b, start, `"type":`, u.Type)
	b = appendOptional(b, start, `"principalId":`, u.PrincipalID)
	b = appendOptional(b, start, `"arn":`, u.ARN)
	b = appendOptional(b, start, `"accountId":`, u.AccountID)
	b = appendOptional(b, start, `"accessKeyId":`, u.AccessKeyID)
	b = appendOptional(b, start, `"userName":`, u.UserName)
	if sc := u.SessionContext; sc != nil {
		if len(b) > start+1 {
			b = append(b, ',')
		}
		b = append(b, `"sessionContext":{`...)
		if si := sc.SessionIssuer; si != nil {
			b = append(b, `"sessionIssuer":{"type":`...)
			b = appendString(b, si.Type)
			b = appendMember(b, `,"principalId":`, si.PrincipalID)
			b = appendMember(b, `,"arn":`, si.ARN)
			b = appendMember(b, `,"accountId":`, si.AccountID)
			b = appendMember(b, `,"userName":`, si.UserName)
			b = append(b, "},"...)
		}
		b = append(b, `"attributes":{"creationDate":`...)
		b = appendString(b, sc.Attributes.CreationDate)
		b = appendMember(b, `,"mfaAuthenticated":`, sc.Attributes.MFAAuthenticated)
		b = append(b, '}')
		b = appendNonEmpty(b, `,"sourceIdentity":`, sc.SourceIdentity)
		b = append(b, '}')
	}
	b = appendOptional(b, start, `"invokedBy":`, u.InvokedBy)
	return append(b, '}')
}

// appendMember appends name (with its leading comma and colon) and s.
func appendMember(b []byte, name, s string) []byte {
	return appendString(append(b, name...), s)
}

// appendNonEmpty is appendMember for an omitempty member.
func appendNonEmpty(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	return appendMember(b, name, s)
}

// appendOptional is appendNonEmpty for an object that begins at b[start] and
// whose members are all omitempty: name has no comma.
func appendOptional(b []byte, start int, name, s string) []byte {
	if s == "" {
		return b
	}
	if len(b) > start+1 {
		b = append(b, ',')
	}
	return appendMember(b, name, s)
}

func (en *encoder) appendValue(b []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case map[string]any:
		return en.appendMap(b, v, depth)
	case []any:
		if v == nil {
			return append(b, "null"...), nil
		}
		if depth >= maxEncodeDepth {
			return b, errNeedsJSON
		}
		b = append(b, '[')
		var err error
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = en.appendValue(b, x, depth+1); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case map[string]string:
		return en.appendStringMap(b, v), nil
	case []string:
		if v == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']'), nil
	case json.Number:
		s := string(v)
		if s == "" {
			s = "0" // as encoding/json writes the zero Number
		}
		if !validNumber(s) {
			return b, errNeedsJSON
		}
		return append(b, s...), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case uint:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint64:
		return strconv.AppendUint(b, v, 10), nil
	case float64:
		return appendFloat(b, v, 64)
	case float32:
		return appendFloat(b, float64(v), 32)
	}
	return en.appendOther(b, v)
}

// appendOther has encoding/json encode a value of a type the encoder does
// not know: what it writes for the value alone is what it writes for the
// value inside a map (same options, nothing depends on the enclosing value).
func (en *encoder) appendOther(b []byte, v any) ([]byte, error) {
	en.other.Reset()
	enc := json.NewEncoder(&en.other)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return b, errNeedsJSON
	}
	return append(b, bytes.TrimSuffix(en.other.Bytes(), []byte{'\n'})...), nil
}

func (en *encoder) appendMap(b []byte, m map[string]any, depth int) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	if depth >= maxEncodeDepth {
		return b, errNeedsJSON
	}
	start := len(en.pairs)
	for k, v := range m {
		en.pairs = append(en.pairs, pair{k, v})
	}
	ps := en.pairs[start:]
	if len(ps) > 1 {
		slices.SortFunc(ps, func(x, y pair) int { return strings.Compare(x.k, y.k) })
	}
	b = append(b, '{')
	var err error
	// Nested maps push onto en.pairs and may move it: index, don't range.
	for i := start; i < start+len(m); i++ {
		if i > start {
			b = append(b, ',')
		}
		b = appendString(b, en.pairs[i].k)
		b = append(b, ':')
		if b, err = en.appendValue(b, en.pairs[i].v, depth+1); err != nil {
			break
		}
	}
	clear(en.pairs[start:]) // keep no event's values alive
	en.pairs = en.pairs[:start]
	if err != nil {
		return b, err
	}
	return append(b, '}'), nil
}

func (en *encoder) appendStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	ps := en.spairs[:0]
	for k, v := range m {
		ps = append(ps, spair{k, v})
	}
	slices.SortFunc(ps, func(x, y spair) int { return strings.Compare(x.k, y.k) })
	b = append(b, '{')
	for i, p := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, p.k)
		b = append(b, ':')
		b = appendString(b, p.v)
	}
	clear(ps)
	en.spairs = ps[:0]
	return append(b, '}')
}

// appendFloat writes f as encoding/json does: like ES6's number to string
// conversion, %f between 1e-6 and 1e21 and %e outside, with the exponent
// unpadded. NaN and infinities are not JSON.
func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, errNeedsJSON
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// validNumber reports whether s is a JSON number (RFC 8259 section 6), as
// encoding/json checks a json.Number before writing it.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		for i++; i < len(s) && isDigit(s[i]); i++ {
		}
	}
	if i+1 < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if s[i] == '+' || s[i] == '-' {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// appendString appends s as a JSON string as encoding/json writes it with
// SetEscapeHTML(false); see wire.AppendJSONString, which the generated
// request parameters use too, so both halves of an event escape alike.
func appendString[S ~string | ~[]byte](b []byte, s S) []byte {
	return wire.AppendJSONString(b, s)
}
