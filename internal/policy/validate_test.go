package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	const ok = `"Effect":"Allow","Action":"kms:*","Resource":"*"`
	stmt := func(body string) string {
		return `{"Version":"2012-10-17","Statement":[{` + body + `}]}`
	}
	res := Options{Kind: ResourceKind}
	id := Options{Kind: IdentityKind}
	tests := []struct {
		name, rule, doc string
		o               Options
		code            Code // 0: no finding
		sev             Severity
		msg             string // substring of the first finding's Message
	}{
		{"valid identity policy", docGrammar, stmt(ok), id, 0, 0, ""},
		{"valid key policy", docKMSKey, stmt(`"Principal":{"AWS":"111122223333"},` + ok), Options{Kind: ResourceKind, MaxBytes: 32768, Charset: Latin1Charset}, 0, 0, ""},
		{"Statement as a single object", docGrammar + ` (brackets optional for one value)`, `{"Version":"2012-10-17","Statement":{` + ok + `}}`, id, 0, 0, ""},
		{"2008-10-17 accepted", docVersion, `{"Version":"2008-10-17","Statement":{` + ok + `}}`, id, 0, 0, ""},
		{"Version absent accepted", docVersion, `{"Statement":{` + ok + `}}`, id, 0, 0, ""},
		{"bad Version", docVersion + ` (supports the following Version element values)`, `{"Version":"2012-10-18","Statement":{` + ok + `}}`, id, CodeVersion, SeverityError, "The policy failed legacy parsing"},
		{"not JSON", docGrammar, `{"Version":`, id, CodeSyntax, SeverityError, "Syntax errors in policy."},
		{"not an object", docGrammar, `[]`, id, CodeSyntax, SeverityError, "Syntax errors in policy."},
		{"duplicate key", docGrammar + ` "Policy grammar notes" (multiple instances of the same key)`, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Effect":"Deny","Action":"*","Resource":"*"}}`, id, CodeSyntax, SeverityError, "Syntax errors"},
		{"unknown top-level field", docGrammar + ` (policy = Version, Id, Statement)`, `{"Version":"2012-10-17","Foo":1,"Statement":{` + ok + `}}`, id, CodeUnknownField, SeverityError, "Syntax errors"},
		{"unknown statement field", docGrammar + ` (statement grammar)`, stmt(ok + `,"Actions":"x:y"`), id, CodeUnknownField, SeverityError, "Syntax errors"},
		{"missing Statement", docGrammar, `{"Version":"2012-10-17"}`, id, CodeMissingField, SeverityError, "Syntax errors"},
		{"empty Statement array", docKMSKey + ` (at least one statement)`, `{"Version":"2012-10-17","Statement":[]}`, id, CodeMissingField, SeverityError, ""},
		{"missing Effect", docGrammar + ` (effect_block required)`, stmt(`"Action":"*","Resource":"*"`), id, CodeMissingField, SeverityError, "Missing required field Effect"},
		{"bad Effect", "reference_policies_elements_effect.md", stmt(`"Effect":"allow","Action":"*","Resource":"*"`), id, CodeEffect, SeverityError, "Invalid effect: allow"},
		{"missing Action", docGrammar + ` (action_block required)`, stmt(`"Effect":"Allow","Resource":"*"`), id, CodeMissingField, SeverityError, "Policy statement must contain actions."},
		{"Action and NotAction", docGrammar + ` ("Action" | "NotAction")`, stmt(`"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"`), id, CodeConflict, SeverityError, "Syntax errors"},
		{"action without vendor", docGrammar + ` "action_string"`, stmt(`"Effect":"Allow","Action":"Decrypt","Resource":"*"`), id, CodeAction, SeverityError, "Actions/Conditions must be prefaced by a vendor"},
		{"wildcard vendor", docGrammar + ` "action_string"`, stmt(`"Effect":"Allow","Action":"k*:Decrypt","Resource":"*"`), id, CodeAction, SeverityError, "Action vendor must be fully qualified"},
		{"missing Resource", docResource + ` (must include Resource or NotResource)`, stmt(`"Effect":"Allow","Action":"*"`), id, CodeMissingField, SeverityError, "Policy statement must contain resources."},
		{"Resource and NotResource", docGrammar + ` ("Resource" | "NotResource")`, stmt(`"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"`), id, CodeConflict, SeverityError, "Syntax errors"},
		{"resource not an ARN", docResource, stmt(`"Effect":"Allow","Action":"*","Resource":"bucket"`), id, CodeResource, SeverityError, `Resource bucket must be in ARN format or "*".`},
		{"wildcard in resource service", docResource + ` (no wildcard in the service segment)`, stmt(`"Effect":"Allow","Action":"*","Resource":"arn:aws:*:::x"`), id, CodeResource, SeverityError, "Resource vendor must be fully qualified"},
		{"variable before the fifth colon", docVars + ` "Resource element" (only after the fifth colon)`, stmt(`"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:${aws:username}::x"`), id, CodeVariable, SeverityError, ""},
		{"variable after the fifth colon", docVars + ` "Resource element"`, stmt(`"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::x/${aws:username}"`), id, 0, 0, ""},
		{"variable before the fifth colon under 2008 is literal", docVersion, `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:${aws:username}::x"}}`, id, 0, 0, ""},
		{"identity policy with Principal", docPrin + ` (cannot use Principal in identity-based policy)`, stmt(`"Principal":"*",` + ok), id, CodeProhibitedField, SeverityError, "Policy document should not specify a principal."},
		{"identity policy with Id", docGrammar + ` (id_block must not be in identity-based policies)`, `{"Version":"2012-10-17","Id":"x","Statement":{` + ok + `}}`, id, CodeProhibitedField, SeverityError, ""},
		{"resource policy without Principal", docGrammar + ` (principal_block required in resource-based policies)`, stmt(ok), res, CodeMissingField, SeverityError, "Missing required field Principal"},
		{"Principal and NotPrincipal", docGrammar + ` ("Principal" | "NotPrincipal")`, stmt(`"Principal":"*","NotPrincipal":"*",` + ok), res, CodeConflict, SeverityError, ""},
		{"partial wildcard principal (KMS wording)", docPrin + ` (cannot use a wildcard to match part of a principal)`, stmt(`"Principal":{"AWS":"arn:aws:iam::111122223333:user/*"},` + ok), res, CodePrincipal, SeverityError, "Policy contains a statement with one or more invalid principals."},
		{"partial wildcard principal (IAM wording)", docPrin, stmt(`"Principal":{"AWS":"arn:aws:iam::111122223333:user/*"},` + ok), Options{Kind: EndpointKind}, CodePrincipal, SeverityError, `Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:user/*"`},
		{"wildcard session principal", docPrin + ` "Assumed-role session principals" (cannot use "*" to mean all sessions)`, stmt(`"Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/R/*"},` + ok), res, CodePrincipal, SeverityError, ""},
		{"group is not a principal", docPrin + ` (cannot identify a user group as a principal)`, stmt(`"Principal":{"AWS":"arn:aws:iam::111122223333:group/G"},` + ok), res, CodePrincipal, SeverityError, ""},
		{"unknown principal type", docGrammar + ` (principal_map_entry)`, stmt(`"Principal":{"Users":"x"},` + ok), res, CodePrincipal, SeverityError, ""},
		{"unique id principal accepted", docPrin + ` "IAM role principals" (principal ID)`, stmt(`"Principal":{"AWS":"AROAEXAMPLEID12345678"},` + ok), res, 0, 0, ""},
		{"trust policy with Resource", docGrammar, stmt(`"Principal":{"Service":"ec2.amazonaws.com"},"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"`), Options{Kind: TrustKind}, CodeProhibitedField, SeverityError, "Has prohibited field Resource"},
		{"trust policy without Resource", docGrammar, stmt(`"Principal":{"Service":"ec2.amazonaws.com"},"Effect":"Allow","Action":"sts:AssumeRole"`), Options{Kind: TrustKind}, 0, 0, ""},
		{"trust policy with NotPrincipal", docNotPrin + ` (not in a role trust policy)`, stmt(`"NotPrincipal":{"Service":"ec2.amazonaws.com"},"Effect":"Allow","Action":"sts:AssumeRole"`), Options{Kind: TrustKind}, CodeProhibitedField, SeverityError, ""},
		{"IAM Sid must be alphanumeric", docGrammar + ` "sid_string"`, stmt(`"Sid":"has space",` + ok), id, CodeSid, SeverityError, "Statement IDs (SID) must be alpha-numeric"},
		{"key policy Sid may have spaces", docKMSKey + ` (Sid can include spaces)`, stmt(`"Sid":"has space","Principal":"*",` + ok), res, 0, 0, ""},
		{"IAM Sids must be unique", docGrammar + ` "sid_string"`, `{"Version":"2012-10-17","Statement":[{"Sid":"A",` + ok + `},{"Sid":"A",` + ok + `}]}`, id, CodeSid, SeverityError, "must be unique"},
		{"unknown condition operator", docOps, stmt(ok + `,"Condition":{"StringEqualz":{"aws:username":"x"}}`), id, CodeCondition, SeverityError, "Syntax errors"},
		{"Null has no IfExists", docOps + ` "...IfExists" (except the Null condition)`, stmt(ok + `,"Condition":{"NullIfExists":{"aws:username":"true"}}`), id, CodeCondition, SeverityError, ""},
		{"condition key without vendor", docCond, stmt(ok + `,"Condition":{"StringEquals":{"username":"x"}}`), id, CodeCondition, SeverityError, "Actions/Conditions must be prefaced by a vendor"},
		{"bad number", docOps + ` "Numeric condition operators"`, stmt(ok + `,"Condition":{"NumericLessThan":{"s3:max-keys":"ten"}}`), id, CodeCondition, SeverityError, ""},
		{"bad date", docOps + ` "Date condition operators"`, stmt(ok + `,"Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}`), id, CodeCondition, SeverityError, ""},
		{"wildcard date", docOps + ` "Date condition operators" (wildcards are not permitted)`, stmt(ok + `,"Condition":{"DateLessThan":{"aws:CurrentTime":"2020-*"}}`), id, CodeCondition, SeverityError, ""},
		{"bad CIDR", docOps + ` "IP address condition operators"`, stmt(ok + `,"Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/33"}}`), id, CodeCondition, SeverityError, ""},
		{"bad base64", docOps + ` "Binary condition operators"`, stmt(ok + `,"Condition":{"BinaryEquals":{"s3:k":"!!"}}`), id, CodeCondition, SeverityError, ""},
		{"bad Bool", docOps + ` "Boolean condition operators"`, stmt(ok + `,"Condition":{"Bool":{"aws:SecureTransport":"yes"}}`), id, CodeCondition, SeverityError, ""},
		{"variable in Numeric", docOps + ` (You can not use a policy variable with the Numeric condition operator)`, stmt(ok + `,"Condition":{"NumericLessThan":{"s3:max-keys":"${aws:username}"}}`), id, CodeVariable, SeverityError, ""},
		{"variable in IpAddress", docOps + ` "IP address" (no policy variable)`, stmt(ok + `,"Condition":{"IpAddress":{"aws:SourceIp":"${aws:username}"}}`), id, CodeVariable, SeverityError, ""},
		{"variable in Date", docOps + ` "Date" (no policy variable)`, stmt(ok + `,"Condition":{"DateLessThan":{"aws:CurrentTime":"${aws:TokenIssueTime}"}}`), id, CodeVariable, SeverityError, ""},
		{"multivalued key as a variable", docSingle + ` (cannot use a multivalued key as a policy variable)`, stmt(ok + `,"Condition":{"StringEquals":{"s3:prefix":"${aws:TagKeys}"}}`), id, CodeVariable, SeverityError, ""},
		{"ForAllValues on a single-valued key", docMulti + ` (Do not use set operators with single-valued condition keys)`, stmt(ok + `,"Condition":{"ForAllValues:StringEquals":{"aws:SourceVpc":"vpc-1"}}`), id, CodeOverlyPermissive, SeverityWarning, "Using ForAllValues qualifier with the single-valued condition key aws:SourceVpc can be overly permissive"},
		{"ForAnyValue on a tag key", docSingle + ` (aws:ResourceTag is single-valued)`, stmt(ok + `,"Condition":{"ForAnyValue:StringEquals":{"aws:ResourceTag/env":"prod"}}`), id, CodeOverlyPermissive, SeverityWarning, "ForAnyValue"},
		{"ForAnyValue on a multivalued key", docMulti, stmt(ok + `,"Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":"env"}}`), id, 0, 0, ""},
		{"Null with a set qualifier", docOps, stmt(ok + `,"Condition":{"ForAnyValue:Null":{"aws:TagKeys":"true"}}`), id, CodeCondition, SeverityError, ""},
		{"key policy size limit", docKMSKey + ` (up to 32768 bytes)`, stmt(`"Sid":"` + strings.Repeat("a", 32768) + `","Principal":"*",` + ok), Options{Kind: ResourceKind, MaxBytes: 32768}, CodeSize, SeverityError, "Member must have length less than or equal to 32768"},
		{"key policy characters", docKMSKey + ` (printable Basic Latin and Latin-1)`, stmt(`"Sid":"snowman ☃","Principal":"*",` + ok), Options{Kind: ResourceKind, Charset: Latin1Charset}, CodeCharacters, SeverityError, `[\u0009\u000A\u000D\u0020-\u00FF]+`},
		{"key policy Latin-1 allowed", docKMSKey, stmt(`"Sid":"café","Principal":"*",` + ok), Options{Kind: ResourceKind, Charset: Latin1Charset}, 0, 0, ""},
		{"key policy control character", docKMSKey + ` (tab, LF, CR only)`, "{\"Version\":\"2012-10-17\",\u000b\"Statement\":[]}", Options{Kind: ResourceKind, Charset: Latin1Charset}, CodeCharacters, SeverityError, ""},
		{"Action as a number", docGrammar, stmt(`"Effect":"Allow","Action":5,"Resource":"*"`), id, CodeSyntax, SeverityError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := Validate([]byte(tt.doc), tt.o)
			if tt.code == 0 {
				if len(fs) != 0 {
					t.Errorf("%s: findings %v, want none", tt.rule, fs)
				}
				if _, err := Compile([]byte(tt.doc), tt.o); err != nil {
					t.Errorf("%s: Compile: %v", tt.rule, err)
				}
				return
			}
			if len(fs) == 0 {
				t.Fatalf("%s: no findings, want %s", tt.rule, tt.code)
			}
			f := fs[0]
			if f.Code != tt.code || f.Severity != tt.sev || !strings.Contains(f.Message, tt.msg) {
				t.Errorf("%s: first finding %v, want %s %s containing %q", tt.rule, f, tt.sev, tt.code, tt.msg)
			}
			_, err := Compile([]byte(tt.doc), tt.o)
			if tt.sev == SeverityWarning {
				if err != nil {
					t.Errorf("Compile with a warning: %v", err)
				}
				o := tt.o
				o.WarningsAsErrors = true
				if _, err := Compile([]byte(tt.doc), o); !errors.Is(err, ErrMalformed) {
					t.Errorf("Compile with WarningsAsErrors = %v, want ErrMalformed", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Error() != f.Message {
				t.Errorf("Compile error %v, want ValidationError %q", err, f.Message)
			}
			want := ErrMalformed
			if tt.code == CodeSize || tt.code == CodeCharacters {
				want = ErrLimit
			}
			if !errors.Is(err, want) {
				t.Errorf("Compile error %v does not wrap %v", err, want)
			}
		})
	}
}

func TestFindingString(t *testing.T) {
	fs := Validate([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:SourceVpc":"v"}}}}`), Options{})
	got := fmt.Sprint(fs[0])
	want := "warning OverlyPermissiveCondition at Statement[0].Condition.ForAllValues:StringEquals.aws:SourceVpc: Using ForAllValues qualifier with the single-valued condition key aws:SourceVpc can be overly permissive. We recommend that you remove ForAllValues:."
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
