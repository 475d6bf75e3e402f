package journal

// NewMemStorage exposes the in-memory test Storage to the external test
// package (which runs the storagetest suite on it).
func NewMemStorage() Storage { return newMemStorage() }
