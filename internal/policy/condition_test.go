package policy

import (
	"fmt"
	"testing"
	"time"
)

const (
	docOps      = "reference_policies_elements_condition_operators.md"
	docMulti    = "reference_policies_multi-value-conditions.md"
	docCond     = "reference_policies_elements_condition.md"
	docVars     = "reference_policies_variables.md"
	docSingle   = "reference_policies_single-vs-multi-valued-condition-keys.md"
	docVersion  = "reference_policies_elements_version.md"
	docGrammar  = "reference_policies_grammar.md"
	docPrin     = "reference_policies_elements_principal.md"
	docNotPrin  = "reference_policies_elements_notprincipal.md"
	docResource = "reference_policies_elements_resource.md"
	docAction   = "reference_policies_elements_action.md"
	docNotAct   = "reference_policies_elements_notaction.md"
	docNotRes   = "reference_policies_elements_notresource.md"
	docEval     = "reference_policies_evaluation-logic.md"
	docKMSKey   = "aws-kms-developer-guide/key-policy-overview.md"
)

var t0 = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

// condCase evaluates one Condition block in an otherwise unconditional Allow.
type condCase struct {
	name    string
	rule    string // the IAM User Guide page and section the case encodes
	cond    string // the Condition element
	keys    Keys
	time    time.Time
	version string // "" = 2012-10-17; "-" = no Version element
	want    bool
}

func condPolicy(t *testing.T, version, cond string) *Policy {
	t.Helper()
	v := `"Version":"2012-10-17",`
	switch version {
	case "-":
		v = ""
	case "":
	default:
		v = `"Version":"` + version + `",`
	}
	doc := fmt.Sprintf(`{%s"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":%s}}`, v, cond)
	p, err := Compile([]byte(doc), Options{})
	if err != nil {
		t.Fatalf("Compile(%s): %v (%v)", doc, err, err.(*ValidationError).Findings)
	}
	return p
}

func runCondCases(t *testing.T, cases []condCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			p := condPolicy(t, tt.version, tt.cond)
			r := &Request{Principal: Principal{Type: AWSPrincipal, ARN: "arn:aws:iam::111122223333:user/Alice", Account: "111122223333"},
				Action: "kms:Decrypt", Resource: "arn:aws:kms:us-east-1:111122223333:key/k", Keys: tt.keys, Time: tt.time}
			got := p.Decide(r).Decision == Allow
			if got != tt.want {
				t.Errorf("%s\ncondition %s with keys %v: matched = %v, want %v\n%s", tt.rule, tt.cond, tt.keys, got, tt.want, p.Explain(r))
			}
		})
	}
}

func TestStringOperators(t *testing.T) {
	s := docOps + ` "String condition operators"`
	runCondCases(t, []condCase{
		{"StringEquals matches exactly", s, `{"StringEquals":{"aws:username":"johndoe"}}`, NewKeys("aws:username", "johndoe"), t0, "", true},
		{"StringEquals is case-sensitive", docCond + ` (JohnDoe is denied)`, `{"StringEquals":{"aws:username":"johndoe"}}`, NewKeys("aws:username", "JohnDoe"), t0, "", false},
		{"StringEquals treats * literally", s, `{"StringEquals":{"s3:prefix":"home/*"}}`, NewKeys("s3:prefix", "home/x"), t0, "", false},
		{"StringEquals * literal equal", s, `{"StringEquals":{"s3:prefix":"home/*"}}`, NewKeys("s3:prefix", "home/*"), t0, "", true},
		{"StringNotEquals differs", s, `{"StringNotEquals":{"aws:username":"bob"}}`, NewKeys("aws:username", "alice"), t0, "", true},
		{"StringNotEquals equal", s, `{"StringNotEquals":{"aws:username":"bob"}}`, NewKeys("aws:username", "bob"), t0, "", false},
		{"StringEqualsIgnoreCase", docCond + ` (johndoe or JohnDoe)`, `{"StringEqualsIgnoreCase":{"aws:username":"johndoe"}}`, NewKeys("aws:username", "JohnDoe"), t0, "", true},
		{"StringNotEqualsIgnoreCase equal but case", s, `{"StringNotEqualsIgnoreCase":{"aws:username":"johndoe"}}`, NewKeys("aws:username", "JOHNDOE"), t0, "", false},
		{"StringNotEqualsIgnoreCase differs", s, `{"StringNotEqualsIgnoreCase":{"aws:username":"johndoe"}}`, NewKeys("aws:username", "jane"), t0, "", true},
		{"StringLike star", s, `{"StringLike":{"s3:prefix":"home/*"}}`, NewKeys("s3:prefix", "home/a/b"), t0, "", true},
		{"StringLike question mark is one character", s, `{"StringLike":{"s3:prefix":"a?c"}}`, NewKeys("s3:prefix", "abc"), t0, "", true},
		{"StringLike question mark not two", s, `{"StringLike":{"s3:prefix":"a?c"}}`, NewKeys("s3:prefix", "abbc"), t0, "", false},
		{"StringLike is case-sensitive", s, `{"StringLike":{"s3:prefix":"home/*"}}`, NewKeys("s3:prefix", "HOME/a"), t0, "", false},
		{"StringLike needs a wildcard for partial match", s, `{"StringLike":{"s3:prefix":"home"}}`, NewKeys("s3:prefix", "home/a"), t0, "", false},
		{"StringLike empty string value", docVars + ` (s3:prefix "")`, `{"StringLike":{"s3:prefix":["","home/"]}}`, NewKeys("s3:prefix", ""), t0, "", true},
		{"StringNotLike no match", s, `{"StringNotLike":{"s3:prefix":"tmp/*"}}`, NewKeys("s3:prefix", "home/a"), t0, "", true},
		{"StringNotLike match", s, `{"StringNotLike":{"s3:prefix":"tmp/*"}}`, NewKeys("s3:prefix", "tmp/a"), t0, "", false},
	})
}

func TestNumericOperators(t *testing.T) {
	n := docOps + ` "Numeric condition operators"`
	k := func(v string) Keys { return NewKeys("s3:max-keys", v) }
	runCondCases(t, []condCase{
		{"NumericEquals", n, `{"NumericEquals":{"s3:max-keys":"10"}}`, k("10"), t0, "", true},
		{"NumericEquals decimal", n, `{"NumericEquals":{"s3:max-keys":"10.0"}}`, k("10"), t0, "", true},
		{"NumericEquals unquoted JSON number", docGrammar + ` (quotation marks optional)`, `{"NumericEquals":{"s3:max-keys":10}}`, k("10"), t0, "", true},
		{"NumericNotEquals", n, `{"NumericNotEquals":{"s3:max-keys":"10"}}`, k("11"), t0, "", true},
		{"NumericNotEquals equal", n, `{"NumericNotEquals":{"s3:max-keys":"10"}}`, k("10"), t0, "", false},
		{"NumericLessThan", n, `{"NumericLessThan":{"s3:max-keys":"10"}}`, k("9"), t0, "", true},
		{"NumericLessThan equal", n, `{"NumericLessThan":{"s3:max-keys":"10"}}`, k("10"), t0, "", false},
		{"NumericLessThanEquals", n + ` (up to 10)`, `{"NumericLessThanEquals":{"s3:max-keys":"10"}}`, k("10"), t0, "", true},
		{"NumericLessThanEquals above", n, `{"NumericLessThanEquals":{"s3:max-keys":"10"}}`, k("11"), t0, "", false},
		{"NumericGreaterThan", n, `{"NumericGreaterThan":{"s3:max-keys":"10"}}`, k("10.5"), t0, "", true},
		{"NumericGreaterThan equal", n, `{"NumericGreaterThan":{"s3:max-keys":"10"}}`, k("10"), t0, "", false},
		{"NumericGreaterThanEquals", n, `{"NumericGreaterThanEquals":{"s3:max-keys":"10"}}`, k("10"), t0, "", true},
		{"NumericGreaterThanEquals below", n, `{"NumericGreaterThanEquals":{"s3:max-keys":"10"}}`, k("-1"), t0, "", false},
		{"Numeric request value not a number", n, `{"NumericLessThan":{"s3:max-keys":"10"}}`, k("ten"), t0, "", false},
		{"Numeric missing key does not match", n + ` (key not present)`, `{"NumericLessThan":{"s3:max-keys":"10"}}`, nil, t0, "", false},
		{"aws:EpochTime from Request.Time", n, `{"NumericGreaterThan":{"aws:EpochTime":"1700000000"}}`, nil, t0, "", true},
	})
}

func TestDateOperators(t *testing.T) {
	d := docOps + ` "Date condition operators"`
	tk := func(v string) Keys { return NewKeys("aws:TokenIssueTime", v) }
	runCondCases(t, []condCase{
		{"DateGreaterThan ISO 8601", d, `{"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"}}`, tk("2020-06-01T00:00:00Z"), t0, "", true},
		{"DateGreaterThan before", d + ` (TokenIssueTime example)`, `{"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"}}`, tk("2019-12-31T00:00:00Z"), t0, "", false},
		{"DateEquals", d, `{"DateEquals":{"aws:TokenIssueTime":"2020-01-01T00:00:00Z"}}`, tk("2020-01-01T00:00:00Z"), t0, "", true},
		{"DateEquals epoch vs ISO", d + ` (epoch time)`, `{"DateEquals":{"aws:TokenIssueTime":"1577836800"}}`, tk("2020-01-01T00:00:00Z"), t0, "", true},
		{"DateEquals date only", d + ` (W3C formats)`, `{"DateEquals":{"aws:TokenIssueTime":"2020-01-01"}}`, tk("2020-01-01T00:00:00Z"), t0, "", true},
		{"DateEquals offset", d, `{"DateEquals":{"aws:TokenIssueTime":"2020-01-01T01:00:00+01:00"}}`, tk("2020-01-01T00:00:00Z"), t0, "", true},
		{"DateNotEquals", d, `{"DateNotEquals":{"aws:TokenIssueTime":"2020-01-01T00:00:00Z"}}`, tk("2020-01-02T00:00:00Z"), t0, "", true},
		{"DateLessThan", d, `{"DateLessThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}}`, nil, t0, "", true},
		{"DateLessThan after", d, `{"DateLessThan":{"aws:CurrentTime":"2025-01-01T00:00:00Z"}}`, nil, t0, "", false},
		{"DateLessThanEquals", d, `{"DateLessThanEquals":{"aws:CurrentTime":"2025-06-15T12:00:00Z"}}`, nil, t0, "", true},
		{"DateGreaterThanEquals", d, `{"DateGreaterThanEquals":{"aws:CurrentTime":"2025-06-15T12:00:00Z"}}`, nil, t0, "", true},
		{"DateGreaterThanEquals epoch policy value", d, `{"DateGreaterThanEquals":{"aws:EpochTime":"1749988800"}}`, nil, t0, "", true},
		{"aws:CurrentTime absent without Request.Time", d + ` (key not present)`, `{"DateLessThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}}`, nil, time.Time{}, "", false},
		{"explicit aws:CurrentTime key wins over Request.Time", d, `{"DateLessThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}}`, NewKeys("aws:CurrentTime", "2030-01-01T00:00:00Z"), t0, "", false},
	})
}

func TestBoolBinaryIPArnNull(t *testing.T) {
	b := docOps + ` "Boolean condition operators"`
	ip := docOps + ` "IP address condition operators"`
	arn := docOps + ` "Amazon Resource Name (ARN) condition operators"`
	null := docOps + ` "Condition operator to check existence of condition keys"`
	bin := docOps + ` "Binary condition operators"`
	runCondCases(t, []condCase{
		{"Bool false", b, `{"Bool":{"aws:SecureTransport":"false"}}`, NewKeys("aws:SecureTransport", "false"), t0, "", true},
		{"Bool mismatch", b, `{"Bool":{"aws:SecureTransport":"false"}}`, NewKeys("aws:SecureTransport", "true"), t0, "", false},
		{"Bool JSON boolean", docGrammar + ` (quotation marks optional)`, `{"Bool":{"aws:SecureTransport":true}}`, NewKeys("aws:SecureTransport", "true"), t0, "", true},
		{"Bool with a policy variable", b + ` (policy variables allowed)`, `{"Bool":{"aws:SecureTransport":"${aws:PrincipalTag/secure}"}}`, NewKeys("aws:SecureTransport", "true", "aws:PrincipalTag/secure", "true"), t0, "", true},
		{"BinaryEquals", bin, `{"BinaryEquals":{"s3:key":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}`, NewKeys("s3:key", "BinaryValueInBase64"), t0, "", true},
		{"BinaryEquals differs", bin, `{"BinaryEquals":{"s3:key":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}`, NewKeys("s3:key", "QmluYXJ5VmFsdWVJbkJhc2U2NA=="), t0, "", false},
		{"IpAddress CIDR", ip, `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, NewKeys("aws:SourceIp", "203.0.113.77"), t0, "", true},
		{"IpAddress outside", ip, `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, NewKeys("aws:SourceIp", "203.0.114.1"), t0, "", false},
		{"IpAddress bare address is /32", ip + ` (default prefix /32)`, `{"IpAddress":{"aws:SourceIp":"203.0.113.5"}}`, NewKeys("aws:SourceIp", "203.0.113.5"), t0, "", true},
		{"IpAddress bare address other host", ip, `{"IpAddress":{"aws:SourceIp":"203.0.113.5"}}`, NewKeys("aws:SourceIp", "203.0.113.6"), t0, "", false},
		{"IpAddress IPv6", ip + ` (mix IPv4 and IPv6)`, `{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64"]}}`, NewKeys("aws:SourceIp", "2001:db8:1234:5678::9"), t0, "", true},
		{"IpAddress host bits in prefix", ip, `{"IpAddress":{"aws:SourceIp":"203.0.113.9/24"}}`, NewKeys("aws:SourceIp", "203.0.113.200"), t0, "", true},
		{"NotIpAddress outside", ip, `{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, NewKeys("aws:SourceIp", "198.51.100.1"), t0, "", true},
		{"NotIpAddress inside", ip, `{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, NewKeys("aws:SourceIp", "203.0.113.1"), t0, "", false},
		{"ArnLike does not cross colons", arn + ` (us-east-2:999999999999:store/abc: example)`, `{"ArnLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}}`,
			NewKeys("aws:SourceArn", "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"), t0, "", false},
		{"StringLike crosses colons", arn + ` (the match succeeds with StringLike)`, `{"StringLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}}`,
			NewKeys("aws:SourceArn", "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"), t0, "", true},
		{"ArnLike per segment", arn, `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:123456789012:TOPIC-*"}}`, NewKeys("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:TOPIC-1"), t0, "", true},
		{"ArnLike resource segment keeps colons", arn + ` (six components)`, `{"ArnLike":{"aws:SourceArn":"arn:aws:logs:*:*:log-group:*"}}`, NewKeys("aws:SourceArn", "arn:aws:logs:us-east-1:1:log-group:a:b"), t0, "", true},
		{"ArnEquals behaves like ArnLike", arn + ` (ArnEquals and ArnLike behave identically)`, `{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:*:123456789012:*"}}`, NewKeys("aws:SourceArn", "arn:aws:sns:eu-west-1:123456789012:t"), t0, "", true},
		{"ArnNotEquals", arn, `{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::444455556666:user/user-name"}}`, NewKeys("aws:PrincipalArn", "arn:aws:iam::444455556666:user/other"), t0, "", true},
		{"ArnNotLike matched", arn, `{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::444455556666:user/*"}}`, NewKeys("aws:PrincipalArn", "arn:aws:iam::444455556666:user/other"), t0, "", false},
		{"ArnLike too few segments", arn, `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`, NewKeys("aws:SourceArn", "not-an-arn"), t0, "", false},
		{"Null true: key absent", null, `{"Null":{"aws:TokenIssueTime":"true"}}`, nil, t0, "", true},
		{"Null true: key present", null, `{"Null":{"aws:TokenIssueTime":"true"}}`, NewKeys("aws:TokenIssueTime", "2020-01-01T00:00:00Z"), t0, "", false},
		{"Null false: key present", null, `{"Null":{"aws:TokenIssueTime":"false"}}`, NewKeys("aws:TokenIssueTime", "2020-01-01T00:00:00Z"), t0, "", true},
		{"Null false: key absent", null, `{"Null":{"aws:TokenIssueTime":"false"}}`, nil, t0, "", false},
		{"Null JSON boolean", null, `{"Null":{"aws:TokenIssueTime":true}}`, nil, t0, "", true},
	})
}

func TestMissingKeysIfExistsAndSets(t *testing.T) {
	imp := docOps + ` (Important: key not present)`
	ife := docOps + ` "...IfExists condition operators"`
	tags := func(v ...string) Keys { k := Keys{}; k.Set("aws:TagKeys", v...); return k }
	attrs := func(v ...string) Keys { k := Keys{}; k.Set("dynamodb:Attributes", v...); return k }
	runCondCases(t, []condCase{
		{"positive operator, missing key: false", imp, `{"StringEquals":{"aws:PrincipalTag/job-category":"iamuser-admin"}}`, nil, t0, "", false},
		{"StringNotLike, missing key: true", imp, `{"StringNotLike":{"aws:PrincipalTag/x":"a*"}}`, nil, t0, "", true},
		{"ArnNotLike, missing key: true", imp, `{"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`, nil, t0, "", true},
		{"NotIpAddress, missing key: true", imp, `{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, nil, t0, "", true},
		{"DateNotEquals, missing key: true", imp, `{"DateNotEquals":{"aws:TokenIssueTime":"2020-01-01"}}`, nil, t0, "", true},
		{"IfExists, missing key: true", ife, `{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}`, nil, t0, "", true},
		{"IfExists, present and matching", ife, `{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}`, NewKeys("ec2:InstanceType", "t2.micro"), t0, "", true},
		{"IfExists, present and not matching", ife, `{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}`, NewKeys("ec2:InstanceType", "c5.large"), t0, "", false},
		{"NumericLessThanIfExists present", ife, `{"NumericLessThanIfExists":{"s3:max-keys":"10"}}`, NewKeys("s3:max-keys", "20"), t0, "", false},
		{"StringNotEqualsIfExists missing", ife + ` (Deny with StringNotEqualsIfExists)`, `{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-1"}}`, nil, t0, "", true},
		{"ForAllValues: every request value in the set", docMulti + ` "Examples of using multiple values…" (ForAllValues:StringEquals)`, `{"ForAllValues:StringEquals":{"dynamodb:Attributes":["ID","Message","Tags"]}}`, attrs("ID", "Message", "Tags"), t0, "", true},
		{"ForAllValues: one value outside", docMulti + ` (UserName is not in the list)`, `{"ForAllValues:StringEquals":{"dynamodb:Attributes":["PostDateTime","Message","Tags"]}}`, attrs("PostDateTime", "UserName"), t0, "", false},
		{"ForAllValues: missing key is true", docMulti + ` (true if there are no keys in the request)`, `{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}`, nil, t0, "", true},
		{"ForAllValues: empty list is true", docMulti + ` (empty data set returns true)`, `{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}`, tags(), t0, "", true},
		{"ForAnyValue: one value matches", docMulti + ` (ForAnyValue PostDateTime matches)`, `{"ForAnyValue:StringEquals":{"dynamodb:Attributes":["ID","PostDateTime"]}}`, attrs("UserName", "Message", "PostDateTime"), t0, "", true},
		{"ForAnyValue: none matches", docMulti + ` (PutItem with just UserName)`, `{"ForAnyValue:StringEquals":{"dynamodb:Attributes":["ID","PostDateTime"]}}`, attrs("UserName"), t0, "", false},
		{"ForAnyValue: missing key is false", docMulti + ` (no matching key returns false)`, `{"ForAnyValue:StringEquals":{"aws:TagKeys":["a"]}}`, nil, t0, "", false},
		{"ForAnyValue: empty list is false", docMulti + ` (empty data set returns false)`, `{"ForAnyValue:StringEquals":{"aws:TagKeys":["a"]}}`, tags(), t0, "", false},
		{"ForAnyValue:StringNotEquals: one value outside", docMulti, `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a","b"]}}`, tags("a", "z"), t0, "", true},
		{"ForAnyValue:StringNotEquals: all inside", docMulti, `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a","b"]}}`, tags("a", "b"), t0, "", false},
		{"ForAllValues:StringNotLike: none match", docMulti, `{"ForAllValues:StringNotLike":{"aws:TagKeys":["sys*"]}}`, tags("a", "b"), t0, "", true},
		{"ForAllValues:StringNotLike: one matches", docMulti, `{"ForAllValues:StringNotLike":{"aws:TagKeys":["sys*"]}}`, tags("a", "system"), t0, "", false},
		{"ForAnyValue:StringLikeIfExists missing", ife + ` (any operator but Null)`, `{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a*"]}}`, nil, t0, "", true},
		{"ForAllValues case-insensitive", docMulti, `{"ForAllValues:StringEqualsIgnoreCase":{"aws:TagKeys":["Env","Team"]}}`, tags("env", "TEAM"), t0, "", true},
		{"multivalued key without qualifier: any value", docMulti, `{"StringEquals":{"aws:TagKeys":"b"}}`, tags("a", "b"), t0, "", true},
		{"negated without qualifier: no value may match", docMulti + ` (negated operators work like a logical AND)`, `{"StringNotEquals":{"aws:TagKeys":"b"}}`, tags("a", "b"), t0, "", false},
	})
}

func TestConditionLogic(t *testing.T) {
	and := docMulti + ` "Evaluation logic for conditions with multiple keys or values"`
	both := `{"StringEqualsIgnoreCase":{"aws:PrincipalTag/department":["finance","hr","legal"],"aws:PrincipalTag/role":["audit","security"]},"StringEquals":{"aws:PrincipalAccount":"123456789012"}}`
	runCondCases(t, []condCase{
		{"AND across keys and operators, OR across values", and, both,
			NewKeys("aws:PrincipalTag/department", "HR", "aws:PrincipalTag/role", "audit", "aws:PrincipalAccount", "123456789012"), t0, "", true},
		{"one key fails", and, both,
			NewKeys("aws:PrincipalTag/department", "HR", "aws:PrincipalTag/role", "dev", "aws:PrincipalAccount", "123456789012"), t0, "", false},
		{"one operator fails", and, both,
			NewKeys("aws:PrincipalTag/department", "HR", "aws:PrincipalTag/role", "audit", "aws:PrincipalAccount", "999999999999"), t0, "", false},
		{"negated with several values is AND", docMulti + ` (Note: StringNotEquals with multiple values)`, `{"StringNotEquals":{"aws:PrincipalAccount":["111111111111","222222222222"]}}`,
			NewKeys("aws:PrincipalAccount", "222222222222"), t0, "", false},
		{"negated with several values, none equal", docMulti, `{"StringNotEquals":{"aws:PrincipalAccount":["111111111111","222222222222"]}}`,
			NewKeys("aws:PrincipalAccount", "333333333333"), t0, "", true},
		{"key names are case-insensitive", docCond + ` (aws:SourceIP equals AWS:SourceIp)`, `{"IpAddress":{"AWS:SOURCEIP":"10.0.0.0/8"}}`, NewKeys("aws:SourceIp", "10.1.2.3"), t0, "", true},
		{"encryption context key suffix is case-insensitive", docCond + ` (key names are not case-sensitive, kms:EncryptionContext)`, `{"StringEquals":{"kms:EncryptionContext:Department":"IT"}}`, NewKeys("KMS:encryptioncontext:DEPARTMENT", "IT"), t0, "", true},
		{"resource tag key suffix is case-insensitive", docCond + ` (TagKey1 or tagkey1)`, `{"StringEquals":{"aws:ResourceTag/TagKey1":"Value1"}}`, NewKeys("aws:resourcetag/tagkey1", "Value1"), t0, "", true},
		{"values stay case-sensitive", docCond + ` (values depend on the operator)`, `{"StringEquals":{"aws:ResourceTag/TagKey1":"Value1"}}`, NewKeys("aws:resourcetag/tagkey1", "value1"), t0, "", false},
	})
}

func TestConditionVariables(t *testing.T) {
	v := docVars + ` "Condition element"`
	nv := docVars + ` "Policy variables with no value"`
	runCondCases(t, []condCase{
		{"${aws:username} in StringLike", v, `{"StringLike":{"s3:prefix":"home/${aws:username}/*"}}`, NewKeys("aws:username", "David", "s3:prefix", "home/David/x"), t0, "", true},
		{"${aws:username} other user", v, `{"StringLike":{"s3:prefix":"home/${aws:username}/*"}}`, NewKeys("aws:username", "David", "s3:prefix", "home/Eve/x"), t0, "", false},
		{"variable names are case-insensitive", docVars + ` (Key names are case-insensitive)`, `{"StringEquals":{"s3:prefix":"${AWS:UserName}"}}`, NewKeys("aws:username", "David", "s3:prefix", "David"), t0, "", true},
		{"principal tag variable", v, `{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}`, NewKeys("aws:PrincipalTag/team", "yellow", "aws:ResourceTag/team", "yellow"), t0, "", true},
		{"aws:userid variable", v, `{"StringEquals":{"s3:prefix":"${aws:userid}"}}`, NewKeys("aws:userid", "AIDAEXAMPLE", "s3:prefix", "AIDAEXAMPLE"), t0, "", true},
		{"any context key as a variable", docVars + ` "Using variables in policies"`, `{"StringEquals":{"s3:prefix":"${s3:delimiter}"}}`, NewKeys("s3:delimiter", "/", "s3:prefix", "/"), t0, "", true},
		{"default value used", docVars + ` "Specifying default values"`, `{"StringEquals":{"s3:prefix":"${aws:PrincipalTag/team, 'company-wide'}"}}`, NewKeys("s3:prefix", "company-wide"), t0, "", true},
		{"default ignored when the key has a value", docVars + ` "Specifying default values"`, `{"StringEquals":{"s3:prefix":"${aws:PrincipalTag/team, 'company-wide'}"}}`, NewKeys("aws:PrincipalTag/team", "red", "s3:prefix", "company-wide"), t0, "", false},
		{"unresolved: StringEquals fails", nv, `{"StringEquals":{"s3:ExistingObjectTag/Team":"${aws:PrincipalTag/Team}"}}`, NewKeys("s3:ExistingObjectTag/Team", ""), t0, "", false},
		{"unresolved: StringNotEquals matches", nv + ` (Inverted condition operators … do match)`, `{"StringNotEquals":{"s3:ExistingObjectTag/Team":"${aws:PrincipalTag/Team}"}}`, NewKeys("s3:ExistingObjectTag/Team", "blue"), t0, "", true},
		{"unresolved: StringNotLike matches", nv, `{"StringNotLike":{"s3:prefix":"${aws:username}/*"}}`, NewKeys("s3:prefix", "x/y"), t0, "", true},
		{"unresolved value does not hide the others", docMulti + ` (OR across values)`, `{"StringEquals":{"s3:prefix":["${aws:username}","fixed"]}}`, NewKeys("s3:prefix", "fixed"), t0, "", true},
		{"multivalued key is not a variable", docSingle + ` (cannot use a multivalued key as a variable)`, `{"StringEquals":{"s3:prefix":"${s3:many}"}}`, func() Keys { k := NewKeys("s3:prefix", "a"); k.Set("s3:many", "a", "b"); return k }(), t0, "", false},
		{"${*} is a literal star in StringLike", docVars + ` "Special characters"`, `{"StringLike":{"s3:prefix":"a${*}b"}}`, NewKeys("s3:prefix", "a*b"), t0, "", true},
		{"${*} does not act as a wildcard", docVars + ` "Special characters"`, `{"StringLike":{"s3:prefix":"a${*}b"}}`, NewKeys("s3:prefix", "axxb"), t0, "", false},
		{"${?} is a literal question mark", docVars + ` "Special characters"`, `{"StringLike":{"s3:prefix":"a${?}"}}`, NewKeys("s3:prefix", "ab"), t0, "", false},
		{"${$} is a literal dollar", docVars + ` "Special characters"`, `{"StringEquals":{"s3:prefix":"${$}{aws:username}"}}`, NewKeys("s3:prefix", "${aws:username}", "aws:username", "x"), t0, "", true},
		{"2008-10-17: variables are literal", docVersion + ` (treated as literal strings)`, `{"StringEquals":{"s3:prefix":"${aws:username}"}}`, NewKeys("s3:prefix", "${aws:username}", "aws:username", "David"), t0, "2008-10-17", true},
		{"no Version: variables are literal", docVars + ` (If you don't include the Version element)`, `{"StringEquals":{"s3:prefix":"${aws:username}"}}`, NewKeys("s3:prefix", "${aws:username}", "aws:username", "David"), t0, "-", true},
		{"variable in ArnLike", docOps + ` (policy variable with the ARN operator)`, `{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::bucket/${aws:username}/*"}}`, NewKeys("aws:SourceArn", "arn:aws:s3:::bucket/David/a", "aws:username", "David"), t0, "", true},
		{"variable in StringEqualsIgnoreCase", v, `{"StringEqualsIgnoreCase":{"s3:prefix":"${aws:username}"}}`, NewKeys("s3:prefix", "DAVID", "aws:username", "david"), t0, "", true},
		{"aws:CurrentTime as a variable from Request.Time", v, `{"StringLike":{"s3:prefix":"${aws:CurrentTime}"}}`, NewKeys("s3:prefix", "2025-06-15T12:00:00Z"), t0, "", true},
	})
}

func TestTagKeyVariableWithSpace(t *testing.T) {
	runCondCases(t, []condCase{
		{"tag key with a space as a variable", docVars + ` "Tags as policy variables"`, `{"StringEquals":{"s3:prefix":"${aws:PrincipalTag/cost center}"}}`, NewKeys("aws:PrincipalTag/Cost Center", "42", "s3:prefix", "42"), t0, "", true},
		{"not a variable: literal text", docVars, `{"StringEquals":{"s3:prefix":"${nocolon}"}}`, NewKeys("s3:prefix", "${nocolon}"), t0, "", true},
		{"unterminated variable is literal", docVars, `{"StringEquals":{"s3:prefix":"${aws:username"}}`, NewKeys("s3:prefix", "${aws:username"), t0, "", true},
	})
}
