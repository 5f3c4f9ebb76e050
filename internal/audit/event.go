package audit

import (
	"crypto/rand"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/trentkms/trent/internal/authz"
)

// TimeLayout is the form of eventTime (and of session creation dates):
// RFC 3339 in UTC to the second, as CloudTrail writes it.
const TimeLayout = "2006-01-02T15:04:05Z"

// Event is one CloudTrail record. Field names and their order follow the KMS
// Developer Guide's CloudTrail examples (eventVersion 1.08); tlsDetails is
// not recorded.
type Event struct {
	EventVersion        string         `json:"eventVersion"`
	UserIdentity        UserIdentity   `json:"userIdentity"`
	EventTime           string         `json:"eventTime"`
	EventSource         string         `json:"eventSource"`
	EventName           string         `json:"eventName"`
	AWSRegion           string         `json:"awsRegion"`
	SourceIPAddress     string         `json:"sourceIPAddress,omitempty"`
	UserAgent           string         `json:"userAgent,omitempty"`
	ErrorCode           string         `json:"errorCode,omitempty"`
	ErrorMessage        string         `json:"errorMessage,omitempty"`
	RequestParameters   Parameters     `json:"requestParameters"`
	ResponseElements    map[string]any `json:"responseElements"`
	AdditionalEventData map[string]any `json:"additionalEventData,omitempty"`
	RequestID           string         `json:"requestID,omitempty"`
	EventID             string         `json:"eventID"`
	ReadOnly            bool           `json:"readOnly"`
	Resources           []Resource     `json:"resources,omitempty"`
	EventType           string         `json:"eventType"`
	ManagementEvent     bool           `json:"managementEvent"`
	RecipientAccountID  string         `json:"recipientAccountId,omitempty"`
	VPCEndpointID       string         `json:"vpcEndpointId,omitempty"`
	EventCategory       string         `json:"eventCategory"`
	// ServiceEventDetails is set only on AwsServiceEvent records (the file's
	// header).
	ServiceEventDetails map[string]any `json:"serviceEventDetails,omitempty"`
	// TrentNode and TrentTraceID are Trent's own, after CloudTrail's fields
	// and prefixed so that no CloudTrail field will ever clash: the node that
	// served the request (Options.Node of the Log, set by Record), and the
	// OpenTelemetry trace id of the request when it was traced.
	TrentNode    string `json:"trentNode,omitempty"`
	TrentTraceID string `json:"trentTraceId,omitempty"`

	// at is EventTime as a time, when NewEvent made the event; Record uses it
	// instead of parsing EventTime.
	at time.Time
	// decision and viaService are additionalEventData as NewEvent got them
	// (Call.Decision, Call.ViaService), written by the encoder without a
	// map; AdditionalEventData, when set, is written instead.
	decision   Decision
	viaService string
	// res holds Resources when the event names one key, as most do.
	res [1]Resource
	// params holds RequestParameters when NewEvent wrote them
	// (Call.KMSRequest), and keeps its array when the event is recycled.
	params []byte
	// pooled marks an event from NewEvent, which Log.Record puts back into
	// events once it has encoded it.
	pooled bool
}

// events recycles the events NewEvent makes: an event is the largest thing
// a request allocates, and Record is done with it once it is encoded.
var events = sync.Pool{New: func() any { return new(Event) }}

// recycle gives e back to NewEvent if it came from it. Nothing may use e
// afterwards.
func recycle(e *Event) {
	if e != nil && e.pooled {
		params := e.params[:0]
		if cap(params) > maxParamBuffer {
			params = nil
		}
		*e = Event{params: params}
		events.Put(e)
	}
}

// Decision is what decided a request, as its event's additionalEventData
// shows it to operators: {"decidedBy": By, "statement": Statement, "sid":
// Sid, "grantId": GrantID}.
type Decision struct {
	// Decided marks a request that was authorized on a key; the zero
	// Decision is none.
	Decided bool
	// By names what allowed the request ("key-policy", "iam", "grant", …),
	// or is "deny".
	By string
	// Statement is the index of the deciding statement, with its Sid; -1:
	// none (neither is shown).
	Statement int
	Sid       string
	GrantID   string // the grant that allowed it; "": none (not shown)
}

// additionalData returns additionalEventData as a map: AdditionalEventData,
// or the one decision and viaService stand for (nil when neither is set).
func (e *Event) additionalData() map[string]any {
	if len(e.AdditionalEventData) > 0 || (!e.decision.Decided && e.viaService == "") {
		return e.AdditionalEventData
	}
	m := map[string]any{}
	if d := e.decision; d.Decided {
		m["decidedBy"] = d.By
		if d.Statement >= 0 {
			m["statement"], m["sid"] = d.Statement, d.Sid
		}
		if d.GrantID != "" {
			m["grantId"] = d.GrantID
		}
	}
	if e.viaService != "" {
		m["viaService"] = e.viaService
	}
	return m
}

// UserIdentity is the caller, as CloudTrail describes it.
type UserIdentity struct {
	Type           string          `json:"type,omitempty"` // Root, IAMUser or AssumedRole
	PrincipalID    string          `json:"principalId,omitempty"`
	ARN            string          `json:"arn,omitempty"`
	AccountID      string          `json:"accountId,omitempty"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	UserName       string          `json:"userName,omitempty"`
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
	InvokedBy      string          `json:"invokedBy,omitempty"`
}

// SessionContext describes temporary credentials: the role a session was
// issued for (none for GetSessionToken sessions) and when.
type SessionContext struct {
	SessionIssuer  *SessionIssuer    `json:"sessionIssuer,omitempty"`
	Attributes     SessionAttributes `json:"attributes"`
	SourceIdentity string            `json:"sourceIdentity,omitempty"`
}

// SessionIssuer is the role behind an assumed-role session.
type SessionIssuer struct {
	Type        string `json:"type"` // Role
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// SessionAttributes are a session's creation date and MFA state, both as
// strings, as CloudTrail writes them.
type SessionAttributes struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

// Resource is a KMS key an event touched.
type Resource struct {
	AccountID string `json:"accountId"`
	Type      string `json:"type"`
	ARN       string `json:"ARN"`
}

// Call is what the server knows of one request, for NewEvent. Zero fields
// are left out of the event.
type Call struct {
	Time      time.Time
	RequestID string
	// Service is the signing name of the API: "kms", "iam", "sts" or
	// "organizations"; the event's eventSource is "<service>.amazonaws.com".
	Service   string
	Operation string // eventName, e.g. "Encrypt"
	Region    string
	SourceIP  string
	UserAgent string
	// Identity is the authenticated caller; nil when authentication failed.
	Identity          *authz.Identity
	RequestParameters Parameters // from KMSRequestParameters or QueryRequestParameters
	// KMSRequest, when RequestParameters is nil, is the KMS request whose
	// parameters the event shows, as KMSRequestParameters writes them with
	// Resources, into memory the event reuses once written.
	KMSRequest       KMSRequest
	ResponseElements map[string]any // from KMSResponseElements; nil for errors
	ErrorCode        string         // the AWS error code (__type) of a failed request
	ErrorMessage     string
	// Resources are the ARNs of the KMS keys the request used, in order
	// (ReEncrypt: source, then destination).
	Resources     []string
	VPCEndpointID string
	// AdditionalEventData is for operators. It must hold no secret. When it
	// is set, Decision and ViaService are not shown.
	AdditionalEventData map[string]any
	// Decision is the statement or grant that allowed or denied the
	// request, and ViaService the service that made it on the caller's
	// behalf: additionalEventData's decidedBy, statement, sid, grantId and
	// viaService, written without building a map.
	Decision   Decision
	ViaService string
	// EventID is the event's eventID; empty: a random UUID.
	EventID string
	// TraceID is the request's trace id (32 hex digits) when it was traced.
	TraceID string
}

// NewEvent builds the CloudTrail record of a call. The event takes
// ownership of the maps and parameters in c. An event handed to
// Log.Record belongs to the Log, which reuses its memory once written.
//
// recipientAccountId is the account of the first key touched, or else the
// caller's.
func NewEvent(c Call) *Event {
	t := c.Time.UTC().Truncate(time.Second)
	// eventTime and a new eventID in one allocation.
	var sb [len(TimeLayout) + 36]byte
	b := appendTime(sb[:0], t)
	timeLen := len(b)
	if c.EventID == "" {
		b = appendUUID(b)
	}
	strs := string(b)
	e := events.Get().(*Event)
	params := e.params
	*e = Event{
		params:              params,
		pooled:              true,
		EventVersion:        "1.08",
		UserIdentity:        userIdentity(c.Identity),
		EventTime:           strs[:timeLen],
		EventSource:         eventSource(c.Service),
		EventName:           c.Operation,
		AWSRegion:           c.Region,
		SourceIPAddress:     c.SourceIP,
		UserAgent:           c.UserAgent,
		ErrorCode:           c.ErrorCode,
		ErrorMessage:        c.ErrorMessage,
		RequestParameters:   c.RequestParameters,
		ResponseElements:    c.ResponseElements,
		AdditionalEventData: c.AdditionalEventData,
		RequestID:           c.RequestID,
		EventID:             c.EventID,
		ReadOnly:            readOnly(c.Service, c.Operation),
		EventType:           "AwsApiCall",
		ManagementEvent:     true,
		RecipientAccountID:  callerAccount(c.Identity),
		VPCEndpointID:       c.VPCEndpointID,
		EventCategory:       "Management",
		TrentTraceID:        c.TraceID,
		at:                  t,
		decision:            c.Decision,
		viaService:          c.ViaService,
	}
	if e.EventID == "" {
		e.EventID = strs[timeLen:]
	}
	if c.RequestParameters == nil && c.KMSRequest != nil {
		e.setKMSParameters(c.KMSRequest, c.Resources)
	}
	switch n := len(c.Resources); {
	case n > len(e.res):
		e.Resources = make([]Resource, 0, n)
	case n > 0:
		e.Resources = e.res[:0]
	}
	for i, a := range c.Resources {
		acct := arnAccount(a)
		if i == 0 && acct != "" {
			e.RecipientAccountID = acct
		}
		e.Resources = append(e.Resources, Resource{AccountID: acct, Type: "AWS::KMS::Key", ARN: a})
	}
	return e
}

// setKMSParameters writes the requestParameters of a KMS request into the
// event's own buffer. They are written into a pooled scratch buffer first
// and copied, so that an event whose buffer is too small (a new one: the
// pool of events is emptied by every GC) allocates once, at their size,
// rather than at every step of append's growth.
func (e *Event) setKMSParameters(req KMSRequest, resources []string) {
	buf := paramBufs.Get().(*[]byte)
	b := appendKMSRequestParameters((*buf)[:0], req, resources)
	if len(b) > 0 {
		if cap(e.params) < len(b) {
			e.params = make([]byte, 0, len(b))
		}
		e.params = append(e.params[:0], b...)
		e.RequestParameters = Parameters(e.params)
	}
	if cap(b) <= maxParamBuffer {
		*buf = b
		paramBufs.Put(buf)
	}
}

// eventSource is "<service>.amazonaws.com", without building the usual ones.
func eventSource(service string) string {
	switch service {
	case "kms":
		return "kms.amazonaws.com"
	case "iam":
		return "iam.amazonaws.com"
	case "sts":
		return "sts.amazonaws.com"
	}
	return service + ".amazonaws.com"
}

func callerAccount(id *authz.Identity) string {
	if id == nil {
		return ""
	}
	return id.Account
}

// userIdentity describes a caller as CloudTrail does (CloudTrail User Guide,
// userIdentity element): Root, IAMUser or AssumedRole, with a sessionContext
// for temporary credentials.
func userIdentity(id *authz.Identity) UserIdentity {
	if id == nil {
		return UserIdentity{Type: "Unknown"}
	}
	u := UserIdentity{PrincipalID: id.UserID, ARN: id.ARN, AccountID: id.Account, AccessKeyID: id.AccessKeyID}
	switch id.Type {
	case authz.RootType:
		u.Type = "Root"
	case authz.UserType:
		u.Type, u.UserName = "IAMUser", id.Name
	case authz.AssumedRoleType:
		u.Type = "AssumedRole"
	case authz.FederatedUserType:
		u.Type = "FederatedUser"
	default:
		u.Type = "Unknown"
	}
	if id.Temporary {
		sc := &SessionContext{
			Attributes:     SessionAttributes{MFAAuthenticated: "false"},
			SourceIdentity: id.SourceIdentity,
		}
		if !id.Issued.IsZero() {
			sc.Attributes.CreationDate = formatTime(id.Issued.UTC())
		}
		if id.Type == authz.AssumedRoleType {
			roleID, _, _ := strings.Cut(id.UserID, ":")
			sc.SessionIssuer = &SessionIssuer{Type: "Role", PrincipalID: roleID, ARN: id.RoleARN, AccountID: id.Account, UserName: id.Name}
		}
		u.SessionContext = sc
	}
	return u
}

// readOnly is CloudTrail's readOnly: true for operations that change
// nothing, the cryptographic ones included (KMS Developer Guide examples).
func readOnly(service, op string) bool {
	for _, p := range []string{"Describe", "List", "Get"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	switch service {
	case "kms":
		switch op {
		case "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
			"GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac",
			"Sign", "Verify", "GenerateRandom", "DeriveSharedSecret":
			return true
		}
	case "sts":
		return true // AssumeRole, GetSessionToken, GetCallerIdentity change no resource
	}
	return false
}

// arnAccount is the account field of an ARN, or "".
func arnAccount(a string) string {
	rest, ok := strings.CutPrefix(a, "arn:")
	if !ok {
		return ""
	}
	// Past partition, service and region, to the account and the ':'
	// that ends it (fewer than six fields: none). Every event with a key
	// calls this: IndexByte, not strings.Cut's general search.
	for range 3 {
		i := strings.IndexByte(rest, ':')
		if i < 0 {
			return ""
		}
		rest = rest[i+1:]
	}
	i := strings.IndexByte(rest, ':')
	if i < 0 {
		return ""
	}
	return rest[:i]
}

// formatTime is t.Format(TimeLayout) for a UTC time, without the layout
// interpretation of Format.
func formatTime(t time.Time) string {
	var b [len(TimeLayout)]byte
	return string(appendTime(b[:0], t))
}

// appendTime appends formatTime(t).
func appendTime(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, TimeLayout)
	}
	hour, minute, sec := t.Clock()
	two := func(v int) { b = append(b, byte('0'+v/10), byte('0'+v%10)) }
	two(year / 100)
	two(year % 100)
	b = append(b, '-')
	two(int(month))
	b = append(b, '-')
	two(day)
	b = append(b, 'T')
	two(hour)
	b = append(b, ':')
	two(minute)
	b = append(b, ':')
	two(sec)
	return append(b, 'Z')
}

// NewUUID is a random (version 4) UUID: event ids, and the request ids the
// server gives each request.
func NewUUID() string {
	var s [36]byte
	return string(appendUUID(s[:0]))
}

// appendUUID appends a random (version 4) UUID.
func appendUUID(dst []byte) []byte {
	var b [16]byte
	idRandRead(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexd = "0123456789abcdef"
	for i, v := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexd[v>>4], hexd[v&0x0f])
	}
	return dst
}

// idRand generates ids (request ids, event ids): ChaCha8 generators seeded
// from crypto/rand, as unpredictable, without a getrandom system call for
// every id. Key material and nonces still come from crypto/rand.
var idRand = sync.Pool{New: func() any {
	var seed [32]byte
	rand.Read(seed[:])
	return mrand.NewChaCha8(seed)
}}

func idRandRead(b []byte) {
	g := idRand.Get().(*mrand.ChaCha8)
	g.Read(b)
	idRand.Put(g)
}
