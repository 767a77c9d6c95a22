package models

import (
	"fmt"
	"slices"
	"strings"

	"sgdlab/graph"
	"sgdlab/internal/registry"
)

// Spec holds the parameters of one model kind as a configuration gives
// them. Implementations are pointers to structs with json tags, so that a
// spec decodes from and round-trips through JSON.
type Spec interface {
	// Validate reports every invalid parameter, naming each by its JSON
	// key ("d: must be ≥ 1, got 0"). It must bound every size, so that
	// New cannot be asked for more memory than MaxParams parameters.
	Validate() error
	// New returns the model at its initialisation. Two calls give
	// models with identical parameters.
	New() (graph.Model, error)
}

// MaxParams bounds the number of trainable scalars of a model built from
// a configuration: 2²⁶ float64 values are 512 MiB, and the Hessian tools
// keep several vectors of that length.
const MaxParams = 1 << 26

// Metric is a scalar function of a model's current parameters that the
// model offers itself, such as the DLN's ‖β‖₀.
type Metric struct {
	Name string
	// Doc says what Measure returns, for the list of metrics.
	Doc     string
	Measure func() float64
}

// Measured is implemented by models that offer metrics of their own. The
// metrics read the model's parameters when called, so they follow
// training.
type Measured interface {
	Metrics() []Metric
}

var kinds = registry.New[func() Spec]("model kind")

// Register makes a model kind available to configurations under name:
// newSpec returns a fresh, zero-valued spec into which a configuration's
// parameters are decoded. Like database/sql.Register, it is meant for init
// functions and panics if name is empty or taken, or newSpec is nil.
func Register(name string, newSpec func() Spec) {
	if newSpec == nil {
		panic("models: Register needs a spec constructor")
	}
	kinds.Register(name, newSpec)
}

// NewSpec returns a zero-valued spec of the registered kind name, or an
// error listing the registered kinds.
func NewSpec(name string) (Spec, error) {
	f, ok := kinds.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown model kind %q (registered: %s)", name, strings.Join(Kinds(), ", "))
	}
	return f(), nil
}

// Kinds returns the registered model kinds, sorted.
func Kinds() []string { return kinds.Names() }

// MetricNames returns the names of the metrics m offers itself (none
// unless m implements Measured).
func MetricNames(m graph.Model) []string {
	mm, ok := m.(Measured)
	if !ok {
		return nil
	}
	var names []string
	for _, x := range mm.Metrics() {
		names = append(names, x.Name)
	}
	return slices.Clip(names)
}

func init() {
	Register("dln", func() Spec { return new(DLNSpec) })
	Register("mlp", func() Spec { return new(MLPSpec) })
	Register("two_layer", func() Spec { return new(TwoLayerSpec) })
	Register("cnn", func() Spec { return new(CNNSpec) })
	Register("resnet", func() Spec { return new(ResNetSpec) })
}
