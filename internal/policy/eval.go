package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Effect is a statement's Effect element. The zero value is invalid.
type Effect uint8

const (
	AllowEffect Effect = iota + 1
	DenyEffect
)

func (e Effect) String() string {
	switch e {
	case AllowEffect:
		return "Allow"
	case DenyEffect:
		return "Deny"
	}
	return fmt.Sprintf("Effect(%d)", uint8(e))
}

// Decision is what one policy (or a set of policies of one kind) says about
// a request (reference_policies_evaluation-logic.md). The zero value is
// invalid.
type Decision uint8

const (
	// NotApplicable: no statement matched; on its own this is an implicit deny.
	NotApplicable Decision = iota + 1
	// Allow: an Allow statement matched and no Deny statement did.
	Allow
	// ExplicitDeny: a Deny statement matched. It overrides every Allow.
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case NotApplicable:
		return "NotApplicable"
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return fmt.Sprintf("Decision(%d)", uint8(d))
}

// Outcome is the result of Policy.Decide.
type Outcome struct {
	Decision Decision
	// Statement is the index of the deciding statement: the first matching
	// Deny, or for Allow the first matching Allow with the highest Via.
	// -1 when NotApplicable.
	Statement int
	Sid       string
	// Via is the most specific way any matching Allow statement's Principal
	// covered the caller (Allow only). ViaAccount alone means the resource
	// policy delegated to the caller's account, so the account's identity
	// policies must also allow the request.
	Via Via
}

// Match is one statement that applied to a request.
type Match struct {
	Statement int
	Sid       string
	Effect    Effect
	Via       Via
}

// Result collects every statement that applied. Reuse one Result across
// calls to Policy.Evaluate to keep evaluation free of allocations.
type Result struct {
	Outcome
	Matched []Match
}

// evalCtx is the per-evaluation view of a Request. It is a concrete type, not
// an interface, so it stays on the caller's stack.
type evalCtx struct {
	req    *Request
	caller caller

	// Ambiguous keys (Keys.SetOne) are read through pins: choose fixes one
	// value of each while it evaluates a statement under one choice. Only
	// numbers are recorded (Request.lookup), so that the Request a caller
	// builds on its stack stays there.
	pins  [maxPins]pin
	npins int
	// unpinned is the first ambiguous key read without a pin in the current
	// evaluation (-1: none), and unpinnedN its number of values: choose
	// then branches on them.
	unpinned, unpinnedN int
	// budget is how many more evaluations choose may run for the current
	// statement.
	budget int
}

// pin is the value chosen for an ambiguous key: the key's place (see
// Request.lookup) and the index of the value.
type pin struct {
	where, idx int
}

const (
	// maxPins and maxChoices bound the work an ambiguous request can cause:
	// a statement that reads more ambiguous keys, or has more combinations
	// of their values, than this is decided as if every choice went against
	// the caller.
	maxPins    = 4
	maxChoices = 64
)

func newEvalCtx(r *Request) evalCtx {
	return evalCtx{req: r, caller: newCaller(&r.Principal), unpinned: -1}
}

// values returns the values of a key as evaluation sees them: for an
// ambiguous key, the value chosen for it.
func (e *evalCtx) values(name string) []string {
	vals, where := e.req.lookup(name)
	if where < 0 {
		return vals
	}
	for i := 0; i < e.npins; i++ {
		if e.pins[i].where == where {
			return vals[e.pins[i].idx : e.pins[i].idx+1]
		}
	}
	if e.unpinned < 0 {
		e.unpinned, e.unpinnedN = where, len(vals)
	}
	// Any one value: choose discards this evaluation and branches.
	return vals[:1]
}

// choice is what choose evaluates: a whole statement, or (for Explain) its
// Resource element or one of its conditions. A plain value rather than a
// func, so that the evalCtx stays on the caller's stack.
type choice struct {
	s        *statement
	c        *cond // a condition of s
	resource bool  // the Resource element of s
}

func (t choice) eval(e *evalCtx) Via {
	switch {
	case t.c != nil:
		if t.c.eval(e) {
			return ViaIdentity
		}
		return ViaNone
	case t.resource:
		if t.s.matchResource(e) {
			return ViaIdentity
		}
		return ViaNone
	}
	return t.s.appliesOnce(e)
}

// choose evaluates t under every choice of one value for each ambiguous key
// it reads, and combines the results so that the decision fails closed
// whatever the real value was: for a Deny statement t holds if it holds
// under any choice, for an Allow only if it holds under all. The
// alternatives are sorted, so the same request always gets the same answer.
// Beyond maxPins keys or maxChoices evaluations the answer is the one
// against the caller: a Deny holds, an Allow does not. Callers reset npins
// and budget first.
func (e *evalCtx) choose(t choice) Via {
	deny := t.s.effect == DenyEffect
	e.unpinned = -1
	via := t.eval(e)
	where, n := e.unpinned, e.unpinnedN
	if where < 0 {
		return via
	}
	e.unpinned = -1
	if e.npins == maxPins || e.budget < n {
		if deny {
			return ViaIdentity
		}
		return ViaNone
	}
	e.budget -= n
	e.npins++
	defer func() { e.npins-- }()
	for i := 0; i < n; i++ {
		e.pins[e.npins-1] = pin{where: where, idx: i}
		via = e.choose(t)
		if (via != ViaNone) == deny {
			// A Deny that holds under one choice, or an Allow that
			// fails under one, is decided.
			return via
		}
	}
	return via
}

// resolve returns the value of a policy variable. A multivalued key cannot be
// a variable (reference_policies_single-vs-multi-valued-condition-keys.md), so
// it resolves only when the key has exactly one value.
func (e *evalCtx) resolve(v *variable) (string, bool) {
	if vals := e.values(v.key); len(vals) == 1 {
		return vals[0], true
	} else if len(vals) == 0 && !e.req.Time.IsZero() {
		switch timeKeyOf(v.key) {
		case timeCurrent:
			return e.req.Time.UTC().Format(time.RFC3339), true
		case timeEpoch:
			return strconv.FormatInt(e.req.Time.Unix(), 10), true
		}
	}
	if v.hasDef {
		return v.def, true
	}
	return "", false
}

const (
	timeCurrent uint8 = 1
	timeEpoch   uint8 = 2
)

func timeKeyOf(k string) uint8 {
	switch k {
	case "aws:currenttime":
		return timeCurrent
	case "aws:epochtime":
		return timeEpoch
	}
	return 0
}

// present reports whether a key has a value, for the Null operator.
func (e *evalCtx) present(c *cond) bool {
	// Present or absent is the same under every choice of an ambiguous key.
	if len(e.req.Values(c.key)) > 0 {
		return true
	}
	return c.timeKey != 0 && !e.req.Time.IsZero()
}

// eval applies one condition: missing keys, IfExists, set qualifiers and
// negation as documented in reference_policies_elements_condition_operators.md
// (the "Important" note at the top and "...IfExists") and
// reference_policies_multi-value-conditions.md ("ForAllValues", "ForAnyValue").
func (c *cond) eval(e *evalCtx) bool {
	if c.op.info.fam == famNull {
		// Null true: the key is absent; false: it is present.
		return c.null != e.present(c)
	}
	vals := e.values(c.key)
	if len(vals) == 0 {
		if c.timeKey != 0 && !e.req.Time.IsZero() {
			return c.evalTime(e)
		}
		if c.op.ifExists {
			return true
		}
		switch c.op.set {
		case setAll:
			return true
		case setAny:
			return false
		}
		return c.op.info.neg
	}
	neg := c.op.info.neg
	switch c.op.set {
	case setAll:
		for _, v := range vals {
			if c.matchOne(v, e) == neg {
				return false
			}
		}
		return true
	case setAny:
		for _, v := range vals {
			if c.matchOne(v, e) != neg {
				return true
			}
		}
		return false
	}
	// Without a qualifier a negated operator holds when no request value
	// matches any policy value: "the effective permissions work like a
	// logical AND" (reference_policies_multi-value-conditions.md).
	for _, v := range vals {
		if c.matchOne(v, e) {
			return !neg
		}
	}
	return neg
}

// evalTime evaluates aws:CurrentTime or aws:EpochTime from Request.Time.
func (c *cond) evalTime(e *evalCtx) bool {
	t := e.req.Time
	var m bool
	switch c.op.info.fam {
	case famDate:
		m = c.matchTime(t)
	case famNumeric:
		m = c.timeKey == timeEpoch && c.matchNumber(float64(t.Unix()))
	default:
		var s string
		if c.timeKey == timeEpoch {
			s = strconv.FormatInt(t.Unix(), 10)
		} else {
			s = t.UTC().Format(time.RFC3339)
		}
		m = c.matchOne(s, e)
	}
	// One value: with or without a set qualifier the result is the
	// operator applied to it.
	return m != c.op.info.neg
}

// statement is a compiled statement. Everything a request is compared with is
// prepared at compile time: lower-cased actions, split ARNs, parsed numbers,
// dates, CIDR blocks and base64.
type statement struct {
	index  int
	sid    string
	effect Effect

	principal    *principals // nil: no Principal/NotPrincipal element
	notPrincipal bool

	actions   []*glob
	notAction bool

	resources   []*arnGlob
	notResource bool
	noResource  bool // no Resource element (trust policies)

	conds []*cond

	// keys are the request context keys the statement reads: condition
	// keys and policy variables, as written (ContextKeys).
	keys []string
}

func (s *statement) matchPrincipal(e *evalCtx) Via {
	switch {
	case s.principal == nil:
		return ViaIdentity
	case s.notPrincipal:
		if s.principal.excludes(&e.caller) {
			return ViaNone
		}
		return ViaNotPrincipal
	}
	return s.principal.match(&e.caller)
}

func (s *statement) matchAction(e *evalCtx) bool {
	for _, g := range s.actions {
		if g.match(e.req.Action, e) {
			return !s.notAction
		}
	}
	return s.notAction
}

func (s *statement) matchResource(e *evalCtx) bool {
	if s.noResource {
		return true
	}
	for _, g := range s.resources {
		if g.match(e.req.Resource, e) {
			return !s.notResource
		}
	}
	return s.notResource
}

// applies reports how the statement applies to the request, ViaNone if it
// does not. Under ambiguous keys (Keys.SetOne) a Deny applies if it applies
// under any choice of their values, an Allow only if under every choice
// (evalCtx.choose).
func (s *statement) applies(e *evalCtx) Via {
	e.npins, e.budget = 0, maxChoices
	return e.choose(choice{s: s})
}

// appliesOnce checks the cheap elements first; any order gives the same answer.
func (s *statement) appliesOnce(e *evalCtx) Via {
	if !s.matchAction(e) || !s.matchResource(e) {
		return ViaNone
	}
	via := s.matchPrincipal(e)
	if via == ViaNone {
		return ViaNone
	}
	for _, c := range s.conds {
		if !c.eval(e) {
			return ViaNone
		}
	}
	return via
}

// Decide evaluates the policy: ExplicitDeny if any Deny statement applies,
// else Allow if any Allow statement applies, else NotApplicable
// (reference_policies_evaluation-logic.md). It does not allocate.
func (p *Policy) Decide(r *Request) Outcome {
	e := newEvalCtx(r)
	out := Outcome{Decision: NotApplicable, Statement: -1}
	for i := range p.stmts {
		s := &p.stmts[i]
		if s.effect == AllowEffect && out.Via == ViaPrincipal {
			continue // nothing can improve the Allow; only a Deny matters now
		}
		via := s.applies(&e)
		if via == ViaNone {
			continue
		}
		if s.effect == DenyEffect {
			return Outcome{Decision: ExplicitDeny, Statement: s.index, Sid: s.sid}
		}
		if via > out.Via {
			out = Outcome{Decision: Allow, Statement: s.index, Sid: s.sid, Via: via}
		}
	}
	return out
}

// Evaluate is Decide that also lists every statement that applied in
// res.Matched, reusing its storage.
func (p *Policy) Evaluate(r *Request, res *Result) {
	e := newEvalCtx(r)
	res.Matched = res.Matched[:0]
	res.Outcome = Outcome{Decision: NotApplicable, Statement: -1}
	deny := false
	for i := range p.stmts {
		s := &p.stmts[i]
		via := s.applies(&e)
		if via == ViaNone {
			continue
		}
		res.Matched = append(res.Matched, Match{Statement: s.index, Sid: s.sid, Effect: s.effect, Via: via})
		switch {
		case s.effect == DenyEffect && !deny:
			deny = true
			res.Outcome = Outcome{Decision: ExplicitDeny, Statement: s.index, Sid: s.sid}
		case s.effect == AllowEffect && !deny && via > res.Via:
			res.Outcome = Outcome{Decision: Allow, Statement: s.index, Sid: s.sid, Via: via}
		}
	}
}

// DecideAll evaluates policies of one kind as one set, for example all the
// identity policies of a principal: an explicit deny in any policy wins, else
// an Allow in any policy (reference_policies_evaluation-logic.md). It returns
// the index of the policy whose statement decided, or -1.
func DecideAll(ps []*Policy, r *Request) (Outcome, int) {
	out := Outcome{Decision: NotApplicable, Statement: -1}
	which := -1
	for i, p := range ps {
		o := p.Decide(r)
		switch {
		case o.Decision == ExplicitDeny:
			return o, i
		case o.Decision == Allow && o.Via > out.Via:
			out, which = o, i
		}
	}
	return out, which
}

// Element names a part of a statement in an explanation.
type Element uint8

const (
	ElementPrincipal Element = iota + 1
	ElementAction
	ElementResource
	ElementCondition
)

func (el Element) String() string {
	switch el {
	case ElementPrincipal:
		return "Principal"
	case ElementAction:
		return "Action"
	case ElementResource:
		return "Resource"
	case ElementCondition:
		return "Condition"
	}
	return fmt.Sprintf("Element(%d)", uint8(el))
}

// Miss says why an element of a statement did not match.
type Miss struct {
	Element Element
	Reason  string
}

// Trace is the evaluation of one statement.
type Trace struct {
	Statement int
	Sid       string
	Effect    Effect
	Applied   bool
	Via       Via    // when Applied
	Misses    []Miss // when not Applied: every element that failed
}

// Explanation is the result of Policy.Explain.
type Explanation struct {
	Outcome
	Statements []Trace
}

// Explain evaluates every element of every statement and records why each
// statement did or did not apply. It allocates; use it for diagnostics, not on
// the request path.
func (p *Policy) Explain(r *Request) Explanation {
	e := newEvalCtx(r)
	var res Result
	p.Evaluate(r, &res)
	ex := Explanation{Outcome: res.Outcome}
	for i := range p.stmts {
		s := &p.stmts[i]
		deny := s.effect == DenyEffect
		t := Trace{Statement: s.index, Sid: s.sid, Effect: s.effect}
		via := s.matchPrincipal(&e)
		if via == ViaNone {
			why := fmt.Sprintf("caller %s %q is not covered by Principal", r.Principal.Type, r.Principal.ARN)
			if s.notPrincipal {
				why = fmt.Sprintf("caller %s %q is excluded by NotPrincipal", r.Principal.Type, r.Principal.ARN)
			}
			t.Misses = append(t.Misses, Miss{ElementPrincipal, why})
		}
		if !s.matchAction(&e) {
			el := "Action"
			if s.notAction {
				el = "NotAction"
			}
			t.Misses = append(t.Misses, Miss{ElementAction, fmt.Sprintf("action %q does not match %s", r.Action, el)})
		}
		e.npins, e.budget = 0, maxChoices
		if e.choose(choice{s: s, resource: true}) == ViaNone {
			el := "Resource"
			if s.notResource {
				el = "NotResource"
			}
			t.Misses = append(t.Misses, Miss{ElementResource, fmt.Sprintf("resource %q does not match %s", r.Resource, el)})
		}
		for _, c := range s.conds {
			e.npins, e.budget = 0, maxChoices
			if e.choose(choice{s: s, c: c}) == ViaNone {
				vals, where := r.lookup(c.key)
				what := "is absent"
				if where >= 0 {
					which := "every one"
					if deny {
						which = "any"
					}
					what = fmt.Sprintf("has one of %s (names that differ only in case) and fails for %s", quoteList(vals), which)
				} else if len(vals) > 0 {
					what = fmt.Sprintf("has %s", quoteList(vals))
				} else if c.timeKey != 0 && !r.Time.IsZero() {
					what = "is " + r.Time.UTC().Format(time.RFC3339)
				}
				t.Misses = append(t.Misses, Miss{ElementCondition, fmt.Sprintf("%s %s: request %s", c.op.raw, c.keyRaw, what)})
			}
		}
		if len(t.Misses) == 0 {
			if via = s.applies(&e); via != ViaNone {
				t.Applied, t.Via = true, via
			} else {
				// Each condition holds under some choice of the ambiguous
				// keys, but no one choice satisfies them all.
				t.Misses = append(t.Misses, Miss{ElementCondition, "no single choice among the values of keys whose names differ only in case satisfies every condition"})
			}
		}
		ex.Statements = append(ex.Statements, t)
	}
	return ex
}

func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// String renders the explanation for people, one line per statement.
func (ex Explanation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Decision: %s", ex.Decision)
	if ex.Statement >= 0 {
		fmt.Fprintf(&b, " (statement %d", ex.Statement)
		if ex.Sid != "" {
			fmt.Fprintf(&b, " %q", ex.Sid)
		}
		if ex.Decision == Allow {
			fmt.Fprintf(&b, ", via %s", ex.Via)
		}
		b.WriteString(")")
	}
	b.WriteString("\n")
	for _, t := range ex.Statements {
		fmt.Fprintf(&b, "  [%d]", t.Statement)
		if t.Sid != "" {
			fmt.Fprintf(&b, " %q", t.Sid)
		}
		fmt.Fprintf(&b, " %s: ", t.Effect)
		if t.Applied {
			fmt.Fprintf(&b, "applies (via %s)\n", t.Via)
			continue
		}
		b.WriteString("does not apply\n")
		for _, m := range t.Misses {
			fmt.Fprintf(&b, "      %s: %s\n", m.Element, m.Reason)
		}
	}
	return b.String()
}
