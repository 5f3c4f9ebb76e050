package server

// NewRequestID is newRequestID, for tests.
var NewRequestID = newRequestID
