package policy

import (
	"encoding/base64"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Condition operators (reference_policies_elements_condition_operators.md).

type opFamily uint8

const (
	famString opFamily = iota + 1
	famStringIgnoreCase
	famStringLike
	famNumeric
	famDate
	famBool
	famBinary
	famIP
	famArn
	famNull
)

type cmp uint8

const (
	cmpEq cmp = iota + 1
	cmpLt
	cmpLte
	cmpGt
	cmpGte
)

type opInfo struct {
	fam opFamily
	neg bool
	cmp cmp
}

// operators maps each base operator name (without a set qualifier or the
// IfExists suffix) to its meaning. Names are case-sensitive as documented.
var operators = map[string]opInfo{
	"StringEquals":              {famString, false, cmpEq},
	"StringNotEquals":           {famString, true, cmpEq},
	"StringEqualsIgnoreCase":    {famStringIgnoreCase, false, cmpEq},
	"StringNotEqualsIgnoreCase": {famStringIgnoreCase, true, cmpEq},
	"StringLike":                {famStringLike, false, cmpEq},
	"StringNotLike":             {famStringLike, true, cmpEq},
	"NumericEquals":             {famNumeric, false, cmpEq},
	"NumericNotEquals":          {famNumeric, true, cmpEq},
	"NumericLessThan":           {famNumeric, false, cmpLt},
	"NumericLessThanEquals":     {famNumeric, false, cmpLte},
	"NumericGreaterThan":        {famNumeric, false, cmpGt},
	"NumericGreaterThanEquals":  {famNumeric, false, cmpGte},
	"DateEquals":                {famDate, false, cmpEq},
	"DateNotEquals":             {famDate, true, cmpEq},
	"DateLessThan":              {famDate, false, cmpLt},
	"DateLessThanEquals":        {famDate, false, cmpLte},
	"DateGreaterThan":           {famDate, false, cmpGt},
	"DateGreaterThanEquals":     {famDate, false, cmpGte},
	"Bool":                      {famBool, false, cmpEq},
	"BinaryEquals":              {famBinary, false, cmpEq},
	"IpAddress":                 {famIP, false, cmpEq},
	"NotIpAddress":              {famIP, true, cmpEq},
	"ArnEquals":                 {famArn, false, cmpEq},
	"ArnLike":                   {famArn, false, cmpEq},
	"ArnNotEquals":              {famArn, true, cmpEq},
	"ArnNotLike":                {famArn, true, cmpEq},
	"Null":                      {famNull, false, cmpEq},
}

type setQual uint8

const (
	setNone setQual = iota
	setAny          // ForAnyValue:
	setAll          // ForAllValues:
)

// opName is a parsed condition operator such as "ForAllValues:StringLikeIfExists".
type opName struct {
	raw      string
	base     string
	info     opInfo
	set      setQual
	ifExists bool
}

func parseOperator(s string) (opName, bool) {
	o := opName{raw: s}
	switch {
	case strings.HasPrefix(s, "ForAnyValue:"):
		o.set, s = setAny, s[len("ForAnyValue:"):]
	case strings.HasPrefix(s, "ForAllValues:"):
		o.set, s = setAll, s[len("ForAllValues:"):]
	}
	info, ok := operators[s]
	if !ok && strings.HasSuffix(s, "IfExists") {
		// "You can add IfExists to the end of any condition operator name
		// except the Null condition" (…condition_operators.md, "...IfExists").
		info, ok = operators[strings.TrimSuffix(s, "IfExists")]
		if !ok || info.fam == famNull {
			return o, false
		}
		o.ifExists, s = true, strings.TrimSuffix(s, "IfExists")
	}
	if !ok || (info.fam == famNull && o.set != setNone) {
		return o, false
	}
	o.base, o.info = s, info
	return o, true
}

// variablesAllowed: "You can use a policy variable for Condition values in any
// condition that involves the string operators or the ARN operators"
// (reference_policies_variables.md, "Condition element"); the Boolean section of
// the operators page allows them too. Numeric, Date, Binary, IP and Null do not.
func (f opFamily) variablesAllowed() bool {
	switch f {
	case famString, famStringIgnoreCase, famStringLike, famArn, famBool:
		return true
	}
	return false
}

// cond is one compiled operator/key pair with its values.
type cond struct {
	op     opName
	raw    []string // the values as written
	keyRaw string
	key    string // lower case
	// timeKey: aws:CurrentTime (1) or aws:EpochTime (2), which fall back to
	// Request.Time.
	timeKey uint8

	strs  []*glob   // String*, StringLike, Bool with variables
	folds []string  // StringEqualsIgnoreCase without variables
	foldG [][]part  // StringEqualsIgnoreCase with variables
	nums  []float64 // Numeric
	dates []time.Time
	bools []bool
	bins  []string
	ips   []netip.Prefix
	arns  []*arnGlob
	null  bool
}

// compileValue adds one policy value; it returns a reason when AWS would
// reject the value.
func (c *cond) compileValue(v string, vars bool) string {
	switch c.op.info.fam {
	case famString:
		parts, _ := templateParts(v, vars)
		c.strs = append(c.strs, compileGlob(parts, false, false))
	case famStringLike:
		parts, _ := templateParts(v, vars)
		c.strs = append(c.strs, compileGlob(parts, true, false))
	case famStringIgnoreCase:
		parts, vs := templateParts(v, vars)
		if len(vs) == 0 {
			c.folds = append(c.folds, v)
			if vars {
				c.folds[len(c.folds)-1] = joinLits(parts)
			}
		} else {
			c.foldG = append(c.foldG, parts)
		}
	case famArn:
		parts, _ := templateParts(v, vars)
		c.arns = append(c.arns, compileArnGlob(parts))
	case famNumeric:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return "not a number"
		}
		c.nums = append(c.nums, f)
	case famDate:
		t, ok := parseDate(v)
		if !ok {
			return "not an ISO 8601 date or epoch time"
		}
		c.dates = append(c.dates, t)
	case famBool:
		parts, vs := templateParts(v, vars)
		if len(vs) > 0 {
			c.strs = append(c.strs, compileGlob(parts, false, false))
			return ""
		}
		switch strings.ToLower(v) {
		case "true":
			c.bools = append(c.bools, true)
		case "false":
			c.bools = append(c.bools, false)
		default:
			return "not true or false"
		}
	case famBinary:
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return "not base64"
		}
		c.bins = append(c.bins, string(b))
	case famIP:
		p, ok := parsePrefix(v)
		if !ok {
			return "not an IPv4 or IPv6 address or CIDR block"
		}
		c.ips = append(c.ips, p)
	case famNull:
		switch strings.ToLower(v) {
		case "true":
			c.null = true
		case "false":
			c.null = false
		default:
			return "not true or false"
		}
	}
	return ""
}

func joinLits(parts []part) string {
	var b strings.Builder
	for _, p := range parts {
		switch p.kind {
		case partLit:
			b.WriteString(p.text)
		case partStar:
			b.WriteByte('*')
		case partOne:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// parsePrefix reads a CIDR block; a bare address means a single host ("If you
// specify an IP address without the associated routing prefix, IAM uses the
// default prefix value of /32", …condition_operators.md, "IP address").
func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.IndexByte(s, '/') < 0 {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return p.Masked(), true
}

// dateLayouts are the W3C profile of ISO 8601 (http://www.w3.org/TR/NOTE-datetime)
// that the Date operators accept, plus the basic format without separators
// that AWS also produces.
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02",
	"2006-01",
	"2006",
	"20060102",
	"20060102T150405Z07:00",
	"20060102T150405Z",
}

// parseDate reads an ISO 8601 date or epoch seconds
// (…condition_operators.md, "Date condition operators").
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if isDigits(s) && len(s) != 4 && len(s) != 8 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(n, 0).UTC(), true
	}
	if s[0] == '-' && isDigits(s[1:]) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(n, 0).UTC(), true
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func cmpResult(c cmp, sign int) bool {
	switch c {
	case cmpEq:
		return sign == 0
	case cmpLt:
		return sign < 0
	case cmpLte:
		return sign <= 0
	case cmpGt:
		return sign > 0
	case cmpGte:
		return sign >= 0
	}
	return false
}

// matchOne reports whether one request value matches any policy value under
// the positive form of the operator. OR across policy values
// (reference_policies_multi-value-conditions.md, "Evaluation logic for
// conditions with multiple keys or values").
func (c *cond) matchOne(v string, r *evalCtx) bool {
	switch c.op.info.fam {
	case famString, famStringLike:
		for _, g := range c.strs {
			if g.match(v, r) {
				return true
			}
		}
	case famStringIgnoreCase:
		for _, f := range c.folds {
			if strings.EqualFold(v, f) {
				return true
			}
		}
		for _, parts := range c.foldG {
			if s, ok := resolveParts(parts, r); ok && strings.EqualFold(v, s) {
				return true
			}
		}
	case famArn:
		for _, g := range c.arns {
			if g.match(v, r) {
				return true
			}
		}
	case famNumeric:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) {
			return false
		}
		return c.matchNumber(f)
	case famDate:
		t, ok := parseDate(v)
		if !ok {
			return false
		}
		return c.matchTime(t)
	case famBool:
		for _, b := range c.bools {
			if b && strings.EqualFold(v, "true") || !b && strings.EqualFold(v, "false") {
				return true
			}
		}
		for _, g := range c.strs {
			if s, ok := resolveGlobLiteral(g, r); ok && strings.EqualFold(v, s) {
				return true
			}
		}
	case famBinary:
		for _, b := range c.bins {
			if v == b {
				return true
			}
		}
	case famIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range c.ips {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

func (c *cond) matchNumber(f float64) bool {
	for _, n := range c.nums {
		sign := 0
		if f < n {
			sign = -1
		} else if f > n {
			sign = 1
		}
		if cmpResult(c.op.info.cmp, sign) {
			return true
		}
	}
	return false
}

func (c *cond) matchTime(t time.Time) bool {
	for _, d := range c.dates {
		if cmpResult(c.op.info.cmp, t.Compare(d)) {
			return true
		}
	}
	return false
}

// resolveParts concatenates parts with variables resolved. Only the rare
// IgnoreCase-with-variables path uses it, and it allocates.
func resolveParts(parts []part, r *evalCtx) (string, bool) {
	var b strings.Builder
	for _, p := range parts {
		switch p.kind {
		case partLit:
			b.WriteString(p.text)
		case partStar:
			b.WriteByte('*')
		case partOne:
			b.WriteByte('?')
		case partVar:
			s, ok := r.resolve(p.v)
			if !ok {
				return "", false
			}
			b.WriteString(s)
		}
	}
	return b.String(), true
}

func resolveGlobLiteral(g *glob, r *evalCtx) (string, bool) {
	if g.isLit {
		return g.lit, true
	}
	var b strings.Builder
	for _, a := range g.segs[0] {
		switch a.kind {
		case atomLit:
			b.WriteString(a.lit)
		case atomVar:
			s, ok := r.resolve(a.v)
			if !ok {
				return "", false
			}
			b.WriteString(s)
		}
	}
	return b.String(), true
}
