package wire

import (
	"errors"
	"fmt"
)

// Error is an error a client sees: the AWS error type, its message, and the
// HTTP status.
type Error struct {
	Code    string // the AWS error type, sent as "__type", e.g. "NotFoundException"
	Message string // sent as "message"; may be empty, as AWS sends for some codes
	Status  int    // the HTTP status code
	// Reason, for the error shapes that carry one (Organizations'
	// ConstraintViolationException and InvalidInputException), is sent as
	// "Reason": the SDKs expose it as the error's Reason field.
	Reason string
}

// Error returns "Code: Message", or only the code when there is no message.
func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Code + ": " + e.Message
}

// Errorf returns an *Error with a formatted message. It is meant for codes
// outside the generated set of a service, such as ValidationException with a
// message of an operation's own, or AccessDeniedException.
func Errorf(code string, status int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: status}
}

// Codes that the AWS JSON protocol uses across services and that no service
// model lists as an error shape.
const (
	codeUnknownOperation = "UnknownOperationException"
	codeSerialization    = "SerializationException"
	codeValidation       = "ValidationException"
	codeAccessDenied     = "AccessDeniedException"
	codeInternal         = "KMSInternalException"
)

// Codes that the AWS Query protocol (IAM, STS) uses and that no model
// lists: from the Common Errors pages of the IAM and STS API references.
const (
	codeQueryValidation       = "ValidationError"
	codeInvalidParameterValue = "InvalidParameterValue"
	codeInternalFailure       = "InternalFailure"
)

// UnknownOperation is the error for a request whose X-Amz-Target names no
// operation of the service (or is missing). AWS answers it with HTTP 400 and
// a body carrying only the "__type", without a message.
func UnknownOperation() *Error {
	return &Error{Code: codeUnknownOperation, Status: 400}
}

// Serialization is the error for a request body that is not JSON, or whose
// members have the wrong JSON type.
func Serialization(msg string) *Error {
	return &Error{Code: codeSerialization, Message: msg, Status: 400}
}

// IsSerializationError reports whether err is the error of a body that
// DecodeJSON could not decode (as opposed to one that decoded but failed
// validation): what the value holds then is not what the client sent.
func IsSerializationError(err error) bool {
	var we *Error
	return errors.As(err, &we) && we.Code == codeSerialization
}

// Validation is a ValidationException (400) with the given message, for the
// checks an operation makes beyond the model's constraints (for example
// "NumberOfBytes is required.").
func Validation(msg string) *Error {
	return &Error{Code: codeValidation, Message: msg, Status: 400}
}

// QueryValidation is a ValidationError (400): the code the Query protocol
// services (IAM, STS) use where JSON services use ValidationException, for
// the model's constraints and for an operation's own checks.
func QueryValidation(msg string) *Error {
	return &Error{Code: codeQueryValidation, Message: msg, Status: 400}
}

// AccessDenied is an AccessDeniedException (400) with the given message.
func AccessDenied(msg string) *Error {
	return &Error{Code: codeAccessDenied, Message: msg, Status: 400}
}

// internalError is what a client sees for any error that is not an *Error.
// The message is fixed so no internal detail leaks.
var internalError = Error{
	Code:    codeInternal,
	Message: "An internal error occurred.",
	Status:  500,
}
