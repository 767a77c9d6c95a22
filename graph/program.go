package graph

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
)

// Program evaluates a model's loss, and optionally its gradients, on
// batches of a fixed size.
type Program struct {
	params []*Param
	batch  int
	inLen  int // scalars per example
	outLen int // scalars of output per example
	x, y   *Node
	out    *Node
	loss   *Node
	grads  []*Node
	// features holds the nodes the model tagged with Scope.Feature.
	features []feature
	// bns are the batch-normalisation layers of a train-mode program,
	// whose running statistics UpdateBatchNorm advances.
	bns  []bnStat
	exec *executor
	// The memory behind the inputs, the parameters and the gradients,
	// resolved once so that a training step does not box slices into
	// interfaces (tensor's Data allocates on every call). A gradient
	// whose value is not fixed (computed by a generic Gorgonia operation)
	// has a nil entry and is read at every Descend.
	x64, y64 []float64
	x32, y32 []float32
	w64, g64 [][]float64
	w32, g32 [][]float32
}

// Compile builds the program that evaluates loss and the gradients with
// respect to every parameter of m, on batches of batch examples. It is a
// training program: batch normalisation runs in train mode (see Mode),
// and Descend advances its running statistics.
func Compile(m Model, loss Loss, batch int) (*Program, error) {
	return compile(m, loss, batch, true, Train)
}

// CompileLoss is Compile without the gradients: for evaluation, so batch
// normalisation runs in eval mode, on the running statistics.
func CompileLoss(m Model, loss Loss, batch int) (*Program, error) {
	return compile(m, loss, batch, false, Eval)
}

// CompileLossMode is CompileLoss in the given mode: in Train mode the
// loss is that of the batch statistics (the objective SGD descends),
// and Run leaves the running statistics alone unless UpdateBatchNorm is
// called.
func CompileLossMode(m Model, loss Loss, batch int, mode Mode) (*Program, error) {
	return compile(m, loss, batch, false, mode)
}

// checkCompile validates what every compiled program needs: a known loss,
// a positive batch size and parameters with distinct names.
func checkCompile(ps []*Param, loss Loss, batch int) error {
	if err := loss.Validate(); err != nil {
		return err
	}
	if batch < 1 {
		return fmt.Errorf("graph: batch size must be ≥ 1, got %d", batch)
	}
	if len(ps) == 0 {
		return fmt.Errorf("graph: model has no parameters")
	}
	names := make(map[string]bool)
	for _, q := range ps {
		if names[q.name] {
			return fmt.Errorf("graph: two parameters are named %q", q.name)
		}
		names[q.name] = true
	}
	return nil
}

func compile(m Model, loss Loss, batch int, grads bool, mode Mode) (p *Program, err error) {
	ps := m.Params()
	if err := checkCompile(ps, loss, batch); err != nil {
		return nil, err
	}
	s := newScope(ps[0].Dtype())
	s.mode = mode
	s.firstOrder = true
	// A model written against Gorgonia may panic on a shape error; that
	// is bad input, not a bug of the caller, so it becomes an error.
	defer func() {
		if r := recover(); r != nil {
			if s.err != nil {
				err = fmt.Errorf("graph: building the model: %w", s.err)
			} else {
				err = fmt.Errorf("graph: building the model: %v", r)
			}
			p = nil
		}
	}()
	p = &Program{params: ps, batch: batch, inLen: 1}
	in := m.Input()
	for _, d := range in {
		p.inLen *= d
	}
	for _, q := range ps {
		s.Param(q)
	}
	p.x = s.input("x", append([]int{batch}, in...))
	p.out = m.Forward(s, p.x)
	if s.err != nil {
		return nil, fmt.Errorf("graph: building the model: %w", s.err)
	}
	if p.out == nil || p.out.Shape()[0] != batch {
		return nil, fmt.Errorf("graph: model output must have shape (batch, ...), got %v", p.out.Shape())
	}
	p.outLen = p.out.Shape().TotalSize() / batch
	p.y = s.input("y", p.out.Shape())
	p.loss = loss.build(s, p.out, p.y)
	if s.err != nil {
		return nil, fmt.Errorf("graph: building the %s loss: %w", loss, s.err)
	}
	targets := []*Node{p.loss, p.out}
	p.features = s.features
	p.bns = s.bns
	for _, st := range p.bns {
		if st.fused == nil {
			// The batch mean feeds only the running statistics.
			targets = append(targets, st.mean, st.vr)
		}
	}
	for _, f := range p.features {
		targets = append(targets, f.node)
	}
	if grads {
		wrt := make([]*Node, len(ps))
		for i, q := range ps {
			wrt[i] = s.Param(q)
		}
		if p.grads, err = gorgonia.Grad(p.loss, wrt...); err != nil {
			return nil, fmt.Errorf("graph: differentiating the %s loss: %w", loss, err)
		}
		targets = append(targets, p.grads...)
	}
	if p.exec, err = newExecutor(s.g, targets); err != nil {
		return nil, err
	}
	p.bind()
	p.bindBatchNorm()
	return p, nil
}

// bind resolves the memory of the inputs, parameters and gradients.
func (p *Program) bind() {
	switch x := p.x.Value().Data().(type) {
	case []float64:
		p.x64, p.y64 = x, p.y.Value().Data().([]float64)
	case []float32:
		p.x32, p.y32 = x, p.y.Value().Data().([]float32)
	}
	for i, q := range p.params {
		switch w := q.value.Data().(type) {
		case []float64:
			p.w64 = append(p.w64, w)
			var g []float64
			if p.grads != nil {
				g = p.exec.float64s(p.grads[i])
			}
			p.g64 = append(p.g64, g)
		case []float32:
			p.w32 = append(p.w32, w)
			var g []float32
			if p.grads != nil {
				g = p.exec.float32s(p.grads[i])
			}
			p.g32 = append(p.g32, g)
		}
	}
}

// Batch returns the number of examples per call of Run.
func (p *Program) Batch() int { return p.batch }

// Outputs returns the number of output scalars per example: 1 for a
// scalar-output model, k for outputs of shape (batch, k).
func (p *Program) Outputs() int { return p.outLen }

// Params returns the parameters the program reads, in gradient order.
func (p *Program) Params() []*Param { return p.params }

// Run evaluates the program on the examples x (batch × example size,
// row-major) and the targets y (batch × output size; nil for OutputSum)
// and returns the loss.
func (p *Program) Run(x, y []float64) (float64, error) {
	if len(x) != p.batch*p.inLen {
		return 0, fmt.Errorf("graph: batch of %d inputs, want %d×%d", len(x), p.batch, p.inLen)
	}
	fill(p.x64, p.x32, x)
	if y != nil {
		if len(y) != p.batch*p.outLen {
			return 0, fmt.Errorf("graph: batch of %d targets, want %d×%d", len(y), p.batch, p.outLen)
		}
		fill(p.y64, p.y32, y)
	}
	if err := p.exec.run(); err != nil {
		return 0, err
	}
	return scalar(p.exec.value(p.loss)), nil
}

// FeatureNames returns the names of the model's feature maps (see
// Scope.Feature), in the order the model tagged them.
func (p *Program) FeatureNames() []string {
	names := make([]string, len(p.features))
	for i, f := range p.features {
		names[i] = f.name
	}
	return names
}

// feature returns feature map name, or nil.
func (p *Program) feature(name string) *Node {
	for _, f := range p.features {
		if f.name == name {
			return f.node
		}
	}
	return nil
}

// FeatureWidth returns the width of feature map name (its scalars per
// example), or 0 if the model has no such map.
func (p *Program) FeatureWidth(name string) int {
	n := p.feature(name)
	if n == nil {
		return 0
	}
	return n.Shape()[1]
}

// Feature copies feature map name of the last Run into dst (batch ×
// width, row-major).
func (p *Program) Feature(name string, dst []float64) error {
	n := p.feature(name)
	if n == nil {
		return fmt.Errorf("graph: the model has no feature map %q (it has %v)", name, p.FeatureNames())
	}
	if len(dst) != p.batch*n.Shape()[1] {
		return fmt.Errorf("graph: feature map %q needs %d×%d values, got %d", name, p.batch, n.Shape()[1], len(dst))
	}
	read(dst, p.exec.value(n))
	return nil
}

// Output copies the model outputs of the last Run into dst
// (batch × output size).
func (p *Program) Output(dst []float64) { read(dst, p.exec.value(p.out)) }

// Gradient copies the gradients of the last Run, all parameters
// concatenated in order, into dst. It panics if the program was compiled
// without gradients.
func (p *Program) Gradient(dst []float64) {
	off := 0
	for i, q := range p.params {
		var g64 []float64
		var g32 []float32
		if i < len(p.g64) {
			g64 = p.g64[i]
		}
		if i < len(p.g32) {
			g32 = p.g32[i]
		}
		readNode(dst[off:off+q.Len()], g64, g32, p.exec, p.grads[i])
		off += q.Len()
	}
}

// Descend applies the SGD update θ ← θ − lr·∇L of the last Run to every
// parameter, in the parameters' own type, and advances the running
// statistics of batch normalisation (UpdateBatchNorm). It allocates
// nothing.
func (p *Program) Descend(lr float64) {
	p.UpdateBatchNorm()
	for i, w := range p.w64 {
		g := p.g64[i]
		if g == nil {
			g = p.exec.value(p.grads[i]).Data().([]float64)
		}
		descend(w, g, lr)
	}
	for i, w := range p.w32 {
		g := p.g32[i]
		if g == nil {
			g = p.exec.value(p.grads[i]).Data().([]float32)
		}
		descend(w, g, float32(lr))
	}
}

// descend computes w[j] −= lr·g[j] for every j. It runs as gonum's axpy
// with −lr, whose assembly multiplies and adds two lanes at a time without
// fusing, so every element is rounded exactly as in the loop —
// w + (−lr)·g and w − lr·g are the same IEEE operations — at about three
// times the loop's speed. Gonum's own implementation is used even with
// the openblas tag, where an FMA would change the last bit. A zero or
// non-finite lr takes the loop: axpy skips lr = 0, which would leave a −0
// or a NaN gradient's effect out.
func descend[T float](w, g []T, lr T) {
	if lr == 0 || lr-lr != 0 {
		g = g[:len(w)]
		for j := range w {
			w[j] -= lr * g[j]
		}
		return
	}
	switch w := any(w).(type) {
	case []float64:
		pureGo.Daxpy(len(w), -float64(lr), any(g).([]float64), 1, w, 1)
	case []float32:
		pureGo.Saxpy(len(w), -float32(lr), any(g).([]float32), 1, w, 1)
	}
}

// fill copies src into the memory of an input, converting to its type.
func fill(d64 []float64, d32 []float32, src []float64) {
	if d64 != nil {
		copy(d64, src)
		return
	}
	narrow(d32, src)
}

// narrow sets dst[i] = float32(src[i]) for i < len(src): a training
// step's inputs, given in float64, for a float32 model.
func narrow(dst []float32, src []float64) {
	k := 0
	if elemAsm && len(src) >= 8 {
		k = len(src) &^ 7
		narrowAVX2(k, &src[0], &dst[:len(src)][0])
	}
	for i := k; i < len(src); i++ {
		dst[i] = float32(src[i])
	}
}

// readNode copies the value of n into dst: from d64 or d32, the memory
// the executor keeps for n across runs where it keeps one (resolved once,
// as Value.Data boxes its slice on every call), otherwise from n's
// current value.
func readNode(dst []float64, d64 []float64, d32 []float32, e *executor, n *Node) {
	switch {
	case d64 != nil:
		copy(dst, d64)
	case d32 != nil:
		for i, x := range d32 {
			dst[i] = float64(x)
		}
	default:
		read(dst, e.value(n))
	}
}

func read(dst []float64, v gorgonia.Value) {
	switch d := v.Data().(type) {
	case []float64:
		copy(dst, d)
	case []float32:
		for i, x := range d {
			dst[i] = float64(x)
		}
	case float64:
		dst[0] = d
	case float32:
		dst[0] = float64(d)
	}
}

func scalar(v gorgonia.Value) float64 {
	// Gorgonia's scalars first: Data would box the number.
	switch x := v.(type) {
	case *gorgonia.F64:
		return float64(*x)
	case *gorgonia.F32:
		return float64(*x)
	}
	switch d := v.Data().(type) {
	case float64:
		return d
	case float32:
		return float64(d)
	case []float64:
		return d[0]
	case []float32:
		return float64(d[0])
	}
	panic(fmt.Sprintf("graph: loss value of type %T", v.Data()))
}

// CheckTapeMachine runs the program on the examples x and targets y (as
// Run does), then evaluates the same graph with Gorgonia's reference
// TapeMachine, and reports the first loss, output or gradient value that
// is not bit-identical between the two. It verifies the executor on a new
// model or operation; nil means identical.
func (p *Program) CheckTapeMachine(x, y []float64) error {
	loss, err := p.Run(x, y)
	if err != nil {
		return err
	}
	// TraceExec binds a copy of every value to its node: without it a
	// node's value may be overwritten by a later in-place operation.
	vm := gorgonia.NewTapeMachine(p.loss.Graph(), gorgonia.TraceExec())
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		return fmt.Errorf("graph: TapeMachine: %w", err)
	}
	if want := scalar(p.loss.Value()); math.Float64bits(loss) != math.Float64bits(want) {
		return fmt.Errorf("graph: loss %v, TapeMachine %v", loss, want)
	}
	nodes := append([]*Node{p.out}, p.grads...)
	for i, n := range nodes {
		got, want := flat(p.exec.value(n)), flat(n.Value())
		if len(got) != len(want) {
			return fmt.Errorf("graph: %s has %d values, TapeMachine %d", describe(i, p), len(got), len(want))
		}
		for j := range want {
			if math.Float64bits(got[j]) != math.Float64bits(want[j]) {
				return fmt.Errorf("graph: %s[%d] = %v, TapeMachine %v", describe(i, p), j, got[j], want[j])
			}
		}
	}
	return nil
}

// describe names node i of CheckTapeMachine's list.
func describe(i int, p *Program) string {
	if i == 0 {
		return "output"
	}
	return fmt.Sprintf("gradient of %q", p.params[i-1].name)
}

// flat returns the values of v as float64s (exactly, for float32).
func flat(v gorgonia.Value) []float64 {
	switch x := v.(type) {
	case *gorgonia.F64, *gorgonia.F32:
		return []float64{scalar(x)}
	}
	out := make([]float64, v.Shape().TotalSize())
	read(out, v)
	return out
}
