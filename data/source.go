package data

import (
	"fmt"
	"strings"

	"sgdlab/internal/registry"
)

// Source produces the train and the test set of an experiment from its
// parameters. Implementations are pointers to structs with json tags, so
// that a configuration decodes into them and round-trips through JSON.
type Source interface {
	// Validate reports every invalid parameter, naming each by its JSON
	// key. It must bound every size: a valid Source never needs more
	// than MaxValues scalars.
	Validate() error
	// Size returns the shape of a valid source without loading it.
	Size() Size
	// Load returns the data. Two calls give identical sets.
	Load() (train, test Set, err error)
}

// Size is the shape of a Source's data: N training points and NTest test
// points of D features and K targets each (K = 0 for one target, as in
// Set), and NEval evaluation points (see Evaluator).
type Size struct{ N, NTest, D, NEval, K int }

// Targets returns K, the targets per example, counting K = 0 as 1: the
// output size a model needs for the source.
func (s Size) Targets() int {
	if s.K == 0 {
		return 1
	}
	return s.K
}

// Evaluator is implemented by sources that also give unlabelled
// evaluation points: inputs at which a function of the model is measured,
// such as the rank of its Jacobian on 300 uniform points of the 1D
// problem (spec E4). Their Y is all zero.
type Evaluator interface {
	EvalSet() (Set, error)
}

// MaxValues bounds the scalars (features and targets of both sets) a
// Source may produce: 2²⁸ float64 values are 2 GiB. The bound is set by
// full CIFAR-10, the largest set of the paper's recipes: 60 000 images of
// 3072 pixels and 10 one-hot targets each are 1.85·10⁸ values (1.4 GiB).
const MaxValues = 1 << 28

var sources = registry.New[func() Source]("data kind")

// Register makes a data kind available to configurations under name:
// newSource returns a fresh, zero-valued source into which a
// configuration's parameters are decoded. Like database/sql.Register, it
// is meant for init functions and panics if name is empty or taken, or
// newSource is nil.
func Register(name string, newSource func() Source) {
	if newSource == nil {
		panic("data: Register needs a source constructor")
	}
	sources.Register(name, newSource)
}

// NewSource returns a zero-valued source of the registered kind name, or
// an error listing the registered kinds.
func NewSource(name string) (Source, error) {
	f, ok := sources.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown data kind %q (registered: %s)", name, strings.Join(Kinds(), ", "))
	}
	return f(), nil
}

// Kinds returns the registered data kinds, sorted.
func Kinds() []string { return sources.Names() }

func init() {
	Register("sparse_regression", func() Source { return new(SparseRegression) })
	Register("relu_1d", func() Source { return new(ReLU1D) })
	Register("teacher_student", func() Source { return new(TeacherStudent) })
}
