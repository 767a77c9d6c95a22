// Package models provides the paper's architectures as graph.Model values:
// the diagonal linear network of the sparse-regression experiments and its
// initialisations.
package models
