package wire

// The request and response types use pointers so that an absent member is
// distinguishable from its zero value. These helpers read them.

// String returns *p, or "" when p is nil.
func String(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Int32 returns *p, or 0 when p is nil.
func Int32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// Int64 returns *p, or 0 when p is nil.
func Int64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// Bool returns *p, or false when p is nil.
func Bool(p *bool) bool {
	if p == nil {
		return false
	}
	return *p
}

// Ptr returns a pointer to a copy of v.
func Ptr[T any](v T) *T {
	return &v
}
