// Package registry holds the name-to-value tables behind models.Register,
// data.Register and metric.Register, so that the three registries share
// one implementation of their locking, duplicate checks and listing. It
// is internal: users register through those three packages.
package registry

import (
	"fmt"
	"sort"
	"sync"
)

// Set maps names to values of T, safely for concurrent use. The zero
// value is not usable; create one with New.
type Set[T any] struct {
	what string // "model kind", for panic messages
	mu   sync.RWMutex
	m    map[string]T
}

// New returns an empty set of things called what.
func New[T any](what string) *Set[T] { return &Set[T]{what: what, m: make(map[string]T)} }

// Register adds v under name. Like database/sql.Register it panics if name
// is empty or taken: registration happens in init functions, and a clash
// is a programmer error.
func (s *Set[T]) Register(name string, v T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == "" {
		panic(fmt.Sprintf("%s registry: Register needs a name", s.what))
	}
	if _, dup := s.m[name]; dup {
		panic(fmt.Sprintf("%s registry: Register called twice for %q", s.what, name))
	}
	s.m[name] = v
}

// Lookup returns the value registered under name.
func (s *Set[T]) Lookup(name string) (T, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.m[name]
	return v, ok
}

// Names returns the registered names, sorted.
func (s *Set[T]) Names() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.m))
	for k := range s.m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
