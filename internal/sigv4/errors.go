package sigv4

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Sentinels a SecretLookup returns (directly or wrapped).
var (
	// ErrUnknownAccessKey is returned by a SecretLookup when the access key id
	// does not exist (or is inactive). Verify turns it into UnrecognizedClient.
	ErrUnknownAccessKey = errors.New("sigv4: unknown access key")
	// ErrExpiredToken is returned by a SecretLookup when the temporary
	// credentials behind the access key id have expired. Verify turns it into
	// ExpiredToken.
	ErrExpiredToken = errors.New("sigv4: expired token")
)

// Kind classifies a client-visible authentication failure. Its String is the
// AWS exception name that AWS JSON-protocol services (KMS among them) put in
// "__type".
type Kind uint8

const (
	// MissingAuthenticationToken: neither an Authorization header nor
	// presigned query parameters.
	MissingAuthenticationToken Kind = iota + 1 // 0 = unset, invalid
	// IncompleteSignature: the Authorization header or the presigned query
	// parameters are malformed or incomplete.
	IncompleteSignature
	// InvalidSignature: the signature does not match, the time stamp is out
	// of range, or the credential scope is wrong.
	InvalidSignature
	// UnrecognizedClient: unknown access key id, or a session token that
	// does not match the credentials.
	UnrecognizedClient
	// ExpiredToken: the temporary credentials have expired.
	ExpiredToken
)

var kindNames = [...]string{
	MissingAuthenticationToken: "MissingAuthenticationTokenException",
	IncompleteSignature:        "IncompleteSignatureException",
	InvalidSignature:           "InvalidSignatureException",
	UnrecognizedClient:         "UnrecognizedClientException",
	ExpiredToken:               "ExpiredTokenException",
}

// String returns the AWS exception name, e.g. "InvalidSignatureException".
func (k Kind) String() string {
	if k == 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("sigv4.Kind(%d)", uint8(k))
	}
	return kindNames[k]
}

// HTTPStatus is the status code AWS answers with for this kind.
//
// Sources: AWS "Common Errors" pages (e.g. the RDS and CloudSearch API
// references) list MissingAuthenticationToken as 403 and IncompleteSignature
// as 400; reports of real responses from JSON-protocol services show 400 for
// InvalidSignatureException (ECS, and KMS via minio/kes#303),
// UnrecognizedClientException (DynamoDB, Kinesis, Cognito) and
// ExpiredTokenException (DynamoDB; salesforce/multicloudj#608), and 403 for
// MissingAuthenticationTokenException "Missing Authentication Token"
// (brefphp/bref#1250).
func (k Kind) HTTPStatus() int {
	switch k {
	case MissingAuthenticationToken:
		return http.StatusForbidden
	case IncompleteSignature, InvalidSignature, UnrecognizedClient, ExpiredToken:
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// Error is a client-visible authentication failure: Kind names the AWS
// exception and Message is the text AWS sends with it. A Message never holds
// a secret access key or a session token; it may quote the Authorization
// header (as AWS does), which carries only the access key id and signature.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return e.Kind.String() + ": " + e.Message }

// Messages, word for word as AWS sends them. Where each came from:
//
//   - msgSignatureMismatch: KMS InvalidSignatureException, as reported in
//     aws/aws-sdk-cpp#1681 and teralytics/prometheus-ecs-discovery#7. (Some
//     services append the expected canonical request; KMS does not.)
//   - msgUnknownKey: KMS and other JSON services' UnrecognizedClientException
//     (aws/aws-encryption-sdk-java#9, localstack/localstack#4329).
//   - msgExpiredToken: ExpiredTokenException (aws/aws-sdk-java-v2#1649,
//     cfn-sphere/cfn-sphere#55). AWS sends it without a final period.
//   - msgMissingToken: MissingAuthenticationTokenException
//     (brefphp/bref#1250, common-voice/common-voice#1599).
//   - "Signature expired: … is now earlier than … (… - 5 min.)" and
//     "Signature not yet current: … is still later than … (… + 5 min.)":
//     aws/aws-sdk-js#573, serverless/enterprise#11.
//   - "Authorization header requires '…' parameter. " and "Authorization
//     header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
//     followed by "Authorization=<header>": aws/chalice#828,
//     brendanhay/amazonka#316, aws/aws-sdk-ruby#317.
//   - "'…' not a valid key=value pair (missing equal-sign) in Authorization
//     header: '…'.": aws/aws-sdk-go#289, iann0036/cloud9-sync#10.
//   - "Credential must have exactly 5 slash-delimited elements, e.g.
//     keyid/date/region/service/term, got '…'":
//     prometheus-community/yet-another-cloudwatch-exporter#169, mhart/aws4#97.
//   - "Credential should be scoped to a valid region. " (STS, with the
//     trailing space: namecheap/node-vault-client#25; KMS: minio/kes#303) and
//     "Credential should be scoped to correct service: 'kms'. " (DynamoDB
//     JSON body with the trailing space: arnemolland/sigv4#15).
//   - "'Host' or ':authority' must be a 'SignedHeader' in the AWS
//     Authorization.": aws/aws-sdk-php#2469, opensearch-php#248.
//   - "Request has expired": presigned Transcribe streaming URLs
//     (amazon-transcribe-websocket-static#15); S3 sends the same text.
//   - X-Amz-Expires range texts, the "Query-string authentication version 4
//     requires …" text and "Only one auth mechanism allowed; …": S3's
//     AuthorizationQueryParametersError / InvalidArgument texts (minio/minio#5162,
//     bryanjos/aws_auth#31); no non-S3 record was found, so S3's are used.
//   - "Credential should be scoped with a valid terminator: 'aws4_request',
//     not '…'. " and "Date in Credential scope does not match YYYYMMDD from
//     ISO-8601 version of date from HTTP: …": the texts AWS services are
//     known to send; no public copy was found, so treat them as best effort.
//   - "Unsupported AWS 'algorithm': '…'.": best effort likewise.
//   - msgUnsignedHeaders: S3's AccessDenied text for an x-amz-* header the
//     signature does not cover (badslug/Paw-AWSSignature4DynamicValue#4,
//     soto-project/soto#374, apache/arrow-rs-object-store#708; S3 names the
//     headers in a HeadersNotSigned element the JSON error shape has no room
//     for). No record of a JSON-protocol service's text was found; it is sent
//     as IncompleteSignature, the exception AWS's Common Errors describe as
//     "the request signature does not conform to AWS standards".
//   - msgHeaderMalformed + msgThreeComponents (a repeated component): S3's
//     AuthorizationHeaderMalformed text (ex-aws/ex_aws#537,
//     robmcvey/cakephp-amazon-s3#15); msgHeaderMalformed + "the
//     authorization component "…" is malformed." (an unknown component): the
//     same family as an S3-compatible service sends it
//     (backblaze-b2-samples/b2-browser-upload#3). Both as
//     IncompleteSignature; no non-S3 record was found.
const (
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgUnknownKey        = "The security token included in the request is invalid."
	msgExpiredToken      = "The security token included in the request is expired"
	msgMissingToken      = "Missing Authentication Token"
	msgHostNotSigned     = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	msgPresignExpired    = "Request has expired"
	msgQueryIncomplete   = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
	msgTwoMechanisms     = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified"
	msgExpiresTooLarge   = "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds"
	msgExpiresNegative   = "X-Amz-Expires must be non-negative"
	msgExpiresNotNumber  = "X-Amz-Expires should be a number"
	msgRegionScope       = "Credential should be scoped to a valid region. "
	msgUnsignedHeaders   = "There were headers present in the request which were not signed"
	msgHeaderMalformed   = "The authorization header is malformed; "
	msgThreeComponents   = "the authorization header requires three components: Credential, SignedHeaders, and Signature."
	amzDateFormat        = "20060102T150405Z"
)

func newError(k Kind, msg string) *Error { return &Error{Kind: k, Message: msg} }

// RegionScopeError is the error AWS returns when the credential scope names
// a region the endpoint does not serve. Options.Scope may return it.
func RegionScopeError() *Error { return newError(InvalidSignature, msgRegionScope) }

// ServiceScopeError is the error AWS returns when the credential scope names
// another service than want (e.g. "kms"). Options.Scope may return it.
func ServiceScopeError(want string) *Error {
	return newError(InvalidSignature, "Credential should be scoped to correct service: '"+want+"'. ")
}

func skewError(signed, now time.Time, skew time.Duration) *Error {
	if signed.Before(now) {
		return newError(InvalidSignature, "Signature expired: "+signed.Format(amzDateFormat)+
			" is now earlier than "+now.Add(-skew).Format(amzDateFormat)+
			" ("+now.Format(amzDateFormat)+" - "+fmtSkew(skew)+")")
	}
	return newError(InvalidSignature, "Signature not yet current: "+signed.Format(amzDateFormat)+
		" is still later than "+now.Add(skew).Format(amzDateFormat)+
		" ("+now.Format(amzDateFormat)+" + "+fmtSkew(skew)+")")
}

// fmtSkew writes the window as AWS does ("5 min."); a window that is not a
// whole number of minutes is written in seconds ("90 sec.").
func fmtSkew(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min.", d/time.Minute)
	}
	return fmt.Sprintf("%d sec.", d/time.Second)
}
