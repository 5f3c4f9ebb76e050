package policy

import (
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed is returned (wrapped in a *ValidationError) by Compile when a
// document breaks a rule AWS enforces. Callers map it to KMS's
// MalformedPolicyDocumentException or IAM's MalformedPolicyDocument.
var ErrMalformed = errors.New("policy: malformed policy document")

// ErrLimit is returned (wrapped in a *ValidationError) by Compile when a
// document exceeds Options.MaxBytes or uses characters outside
// Options.Charset. AWS reports these as a ValidationException, not as a
// malformed document.
var ErrLimit = errors.New("policy: policy document outside limits")

// Code names the rule a Finding reports. The zero value is invalid.
type Code uint8

const (
	CodeSyntax           Code = iota + 1 // not JSON, wrong JSON type, duplicate key
	CodeSize                             // larger than Options.MaxBytes
	CodeCharacters                       // a character outside Options.Charset
	CodeVersion                          // Version is not 2008-10-17 or 2012-10-17
	CodeUnknownField                     // an element the grammar does not define
	CodeMissingField                     // Statement, Effect, Action, Resource or Principal missing
	CodeConflict                         // both X and NotX in one statement
	CodeProhibitedField                  // an element this kind of policy must not have
	CodeEffect                           // Effect is not Allow or Deny
	CodeSid                              // Sid characters or duplicate Sid
	CodeAction                           // action without a vendor prefix, wildcard vendor
	CodeResource                         // resource not "*" and not an ARN
	CodePrincipal                        // invalid principal, partial wildcard
	CodeCondition                        // unknown operator, bad key or value
	CodeVariable                         // a policy variable where AWS does not allow one
	CodeOverlyPermissive                 // a set operator on a single-valued key (warning)
)

var codeNames = [...]string{
	CodeSyntax:           "Syntax",
	CodeSize:             "Size",
	CodeCharacters:       "Characters",
	CodeVersion:          "Version",
	CodeUnknownField:     "UnknownField",
	CodeMissingField:     "MissingField",
	CodeConflict:         "Conflict",
	CodeProhibitedField:  "ProhibitedField",
	CodeEffect:           "Effect",
	CodeSid:              "Sid",
	CodeAction:           "Action",
	CodeResource:         "Resource",
	CodePrincipal:        "Principal",
	CodeCondition:        "Condition",
	CodeVariable:         "Variable",
	CodeOverlyPermissive: "OverlyPermissiveCondition",
}

func (c Code) String() string {
	if int(c) < len(codeNames) && codeNames[c] != "" {
		return codeNames[c]
	}
	return fmt.Sprintf("Code(%d)", uint8(c))
}

// Severity says whether a Finding makes the document invalid.
type Severity uint8

const (
	SeverityError   Severity = iota + 1 // AWS rejects the document
	SeverityWarning                     // AWS accepts it; IAM Access Analyzer warns
)

func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	}
	return fmt.Sprintf("Severity(%d)", uint8(s))
}

// Finding is one problem in a document.
type Finding struct {
	Code     Code
	Severity Severity
	// Statement is the zero-based statement index, or -1 for the document.
	Statement int
	Sid       string
	// Path locates the element, e.g. `Statement[2].Condition.StringLike`.
	Path string
	// Message is worded as AWS words it, suitable for the message of a
	// MalformedPolicyDocumentException or ValidationException.
	Message string
	// Detail says precisely what is wrong, for logs and the CLI; it is not
	// part of the AWS wording.
	Detail string
}

func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.Severity.String())
	b.WriteString(" ")
	b.WriteString(f.Code.String())
	if f.Path != "" {
		b.WriteString(" at ")
		b.WriteString(f.Path)
	}
	b.WriteString(": ")
	b.WriteString(f.Message)
	if f.Detail != "" {
		b.WriteString(" (")
		b.WriteString(f.Detail)
		b.WriteString(")")
	}
	return b.String()
}

// ValidationError is returned by Compile when a document has findings of
// SeverityError (or any finding with Options.WarningsAsErrors). It unwraps to
// ErrLimit when the first finding is a size or character limit, else to
// ErrMalformed.
type ValidationError struct {
	Findings []Finding // in document order, at least one
}

// Error returns the AWS message of the first finding: AWS reports one problem
// at a time.
func (e *ValidationError) Error() string {
	return e.Findings[0].Message
}

func (e *ValidationError) Unwrap() error {
	switch e.Findings[0].Code {
	case CodeSize, CodeCharacters:
		return ErrLimit
	}
	return ErrMalformed
}
