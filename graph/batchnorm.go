package graph

import (
	"fmt"

	"gorgonia.org/gorgonia"
)

// BatchNorm is a batch-normalisation layer over C channels, PyTorch's
// BatchNorm1d/BatchNorm2d with affine parameters and running statistics:
//
//	y = (x − μ_c) / √(σ²_c + Eps) · γ_c + β_c
//
// In train mode μ and σ² are the mean and the biased variance of channel
// c over the batch (and the spatial positions); in eval mode they are the
// running estimates. After each training step (Program.Descend, or
// Program.UpdateBatchNorm for a caller's own optimiser) the running
// estimates move as PyTorch's do:
//
//	mean ← (1−Momentum)·mean + Momentum·μ
//	var  ← (1−Momentum)·var  + Momentum·σ²·m/(m−1)
//
// with m the values per channel in the batch (the unbiased variance).
// γ and β are Params (trainable); the running estimates are not, and
// live in the layer, outside every graph, so that all programs compiled
// from one model share them, as they share parameters.
type BatchNorm struct {
	// Gamma (γ, the weight) and Beta (β, the bias) have shape (C).
	Gamma, Beta *Param
	// Momentum is the weight of a batch in the running estimates (0.1
	// in NewBatchNorm, PyTorch's default); Eps is added to the variance
	// (1e-5).
	Momentum, Eps float64
	// RunningMean and RunningVar are the running estimates, shape (C),
	// named name+".running_mean" and name+".running_var" as PyTorch's
	// buffers. They are Params for storage only: no model lists them
	// among its trainable Params; Buffers does.
	RunningMean, RunningVar *Param
	name                    string
	// batches counts the batches folded in by RefreshBatchNorm, whose
	// cumulative average weighs batch k by 1/k; 0 outside it.
	batches int
}

// NewBatchNorm returns a layer over c channels of type dt with γ = 1,
// β = 0 (PyTorch's initialisation), running mean 0 and running variance
// 1. Its parameters are called name+".weight" and name+".bias", as in a
// PyTorch state dict. It panics if c < 1 (a programmer error, as in
// NewParam).
func NewBatchNorm(name string, dt Dtype, c int) *BatchNorm {
	b := &BatchNorm{
		Gamma: NewParam(name+".weight", dt, c), Beta: NewParam(name+".bias", dt, c),
		Momentum: 0.1, Eps: 1e-5, name: name,
		RunningMean: NewParam(name+".running_mean", dt, c),
		RunningVar:  NewParam(name+".running_var", dt, c),
	}
	ones := make([]float64, c)
	for i := range ones {
		ones[i] = 1
	}
	b.Gamma.Set(ones)
	b.ResetRunning()
	return b
}

// Params returns γ then β.
func (b *BatchNorm) Params() []*Param { return []*Param{b.Gamma, b.Beta} }

// Channels returns C.
func (b *BatchNorm) Channels() int { return b.Gamma.Len() }

// Name returns the layer's name (its parameters' prefix).
func (b *BatchNorm) Name() string { return b.name }

// ResetRunning sets the running mean to 0 and the running variance to 1,
// as a freshly built PyTorch layer has them.
func (b *BatchNorm) ResetRunning() {
	c := b.Channels()
	ones := make([]float64, c)
	for i := range ones {
		ones[i] = 1
	}
	b.RunningMean.Set(make([]float64, c))
	b.RunningVar.Set(ones)
}

// Running copies the running mean and variance (C values each) into
// mean and variance.
func (b *BatchNorm) Running(mean, variance []float64) {
	b.RunningMean.Get(mean)
	b.RunningVar.Get(variance)
}

// SetRunning sets the running mean and variance (C values each), e.g.
// from a checkpoint.
func (b *BatchNorm) SetRunning(mean, variance []float64) {
	b.RunningMean.Set(mean)
	b.RunningVar.Set(variance)
}

// Buffers returns the running mean and variance: the layer's state
// besides its parameters, which a checkpoint saves (see Buffered).
func (b *BatchNorm) Buffers() []*Param { return []*Param{b.RunningMean, b.RunningVar} }

// Buffered is implemented by models with state that training changes
// besides their parameters — the running statistics of batch
// normalisation, PyTorch's buffers — so that checkpoints save and
// restore it with the parameters. Buffers returns it in a fixed order,
// with names distinct from the parameters'.
type Buffered interface {
	Buffers() []*Param
}

// Mode says which statistics batch normalisation uses in a program.
type Mode int

const (
	// Eval normalises with the running statistics: CompileLoss's
	// programs, for evaluation (PyTorch's model.eval()).
	Eval Mode = iota
	// Train normalises with the batch's statistics: Compile's training
	// programs, CompileHVP's Hessian (the Hessian of the loss that SGD
	// descends), and RefreshBatchNorm's.
	Train
)

func (m Mode) String() string {
	if m == Train {
		return "train"
	}
	return "eval"
}

// bnStat is a batch-normalisation layer of a train-mode program with the
// nodes of its batch statistics.
type bnStat struct {
	bn         *BatchNorm
	mean, vr   *Node      // batch mean and biased variance, shape (C)
	fused      *bnScratch // or, for the fused operation, its statistics
	perChan    int        // values per channel in a batch
	m64, v64   []float64
	m32, v32   []float32
	rm64, rv64 []float64
	rm32, rv32 []float32
}

// Training reports whether the graph is built in train mode (see Mode):
// a model with layers that behave differently in training reads it.
func (s *Scope) Training() bool { return s.mode == Train }

// BatchNorm returns bn applied to x, of shape (batch, C) or
// (batch, C, h, w), normalising each channel over the batch (and the h·w
// positions): the same shape as x. In train mode (Scope.Training) it uses
// the batch's mean and biased variance, in eval mode bn's running
// statistics. Programs differentiated once (Compile, CompileLoss,
// RefreshBatchNorm) run train mode as one fused operation with a
// hand-written gradient (bnOp); the Hessian (CompileHVP) and eval mode
// compose this package's channel operations (chanOp) on NCHW memory and
// Gorgonia's Sqrt and Inverse on the (C) statistics, all with exact
// derivatives of every order (Gorgonia's BatchNorm has no second
// derivative, and its InverseSqrt a wrong first one).
func (s *Scope) BatchNorm(x *Node, bn *BatchNorm) *Node {
	if s.failed(x) {
		return nil
	}
	sh := x.Shape()
	c := bn.Channels()
	if (sh.Dims() != 2 && sh.Dims() != 4) || sh[1] != c {
		s.err = fmt.Errorf("graph: batch norm %q over %d channels given shape %v, want (batch, %d) or (batch, %d, h, w)", bn.name, c, sh, c, c)
		return nil
	}
	perChan := sh.TotalSize() / c
	b, r := sh[0], perChan/sh[0]
	x3 := s.reshape(x, b, c, r)
	op := func(kind chanKind, ns ...*Node) *Node {
		if s.failed(ns...) {
			return nil
		}
		return s.Must(gorgonia.ApplyOp(newChan(kind, b, c, r), ns...))
	}
	scale := func(n *Node, v float64) *Node {
		if s.failed(n) {
			return nil
		}
		return s.Must(gorgonia.Mul(n, s.constant(v)))
	}
	if s.mode == Train && s.firstOrder {
		if perChan < 2 {
			s.err = fmt.Errorf("graph: batch norm %q in train mode needs more than one value per channel, got shape %v", bn.name, sh)
			return nil
		}
		st := new(bnScratch)
		g, bt := s.Param(bn.Gamma), s.Param(bn.Beta)
		if s.failed(x3, g, bt) {
			return nil
		}
		y := s.Must(gorgonia.ApplyOp(newBNOp(bnTrain, b, c, r, bn.Eps, st), x3, g, bt))
		s.bns = append(s.bns, bnStat{bn: bn, fused: st, perChan: perChan})
		return s.reshape(y, sh...)
	}
	var mean, vr, cen *Node
	if s.mode == Train {
		if perChan < 2 {
			s.err = fmt.Errorf("graph: batch norm %q in train mode needs more than one value per channel, got shape %v", bn.name, sh)
			return nil
		}
		// The mean for the running statistics; the normalisation
		// itself centres with chanCenter, whose derivative is itself.
		mean = scale(op(chanSum, x3), 1/float64(perChan))
		cen = op(chanCenter, x3)
		vr = scale(op(chanSumSq, cen), 1/float64(perChan))
		if s.failed(mean, vr) {
			return nil
		}
		s.bns = append(s.bns, bnStat{bn: bn, mean: mean, vr: vr, perChan: perChan})
	} else {
		mean = s.running(bn.RunningMean)
		vr = s.running(bn.RunningVar)
		cen = op(chanShift, x3, s.neg(mean))
	}
	if s.failed(cen, vr) {
		return nil
	}
	inv := s.Must(gorgonia.Inverse(s.Must(gorgonia.Sqrt(s.Must(gorgonia.Add(vr, s.constant(bn.Eps)))))))
	if s.failed(inv) {
		return nil
	}
	y := op(chanAffine, cen, s.Hadamard(inv, s.Param(bn.Gamma)), s.Param(bn.Beta))
	return s.reshape(y, sh...)
}

// neg returns −x.
func (s *Scope) neg(x *Node) *Node {
	if s.failed(x) {
		return nil
	}
	return s.Must(gorgonia.Neg(x))
}

// running returns an input node bound to a running statistic, so the
// program reads its current values at every run. It is not a parameter
// of the graph: nothing differentiates with respect to it.
func (s *Scope) running(p *Param) *Node {
	if s.err != nil {
		return nil
	}
	if p.Dtype() != s.dtype {
		s.err = fmt.Errorf("graph: running statistic %q is %v, the graph is %v", p.name, p.Dtype(), s.dtype)
		return nil
	}
	return gorgonia.NewTensor(s.g, s.dtype, 1, gorgonia.WithShape(p.shape...),
		gorgonia.WithName(p.name), gorgonia.WithValue(p.value))
}

// bindBatchNorm resolves the memory of the batch statistics, so that
// UpdateBatchNorm allocates nothing.
func (p *Program) bindBatchNorm() {
	for i := range p.bns {
		st := &p.bns[i]
		if st.fused == nil {
			st.m64, st.v64 = p.exec.float64s(st.mean), p.exec.float64s(st.vr)
			st.m32, st.v32 = p.exec.float32s(st.mean), p.exec.float32s(st.vr)
		}
		st.rm64, _ = st.bn.RunningMean.value.Data().([]float64)
		st.rv64, _ = st.bn.RunningVar.value.Data().([]float64)
		st.rm32, _ = st.bn.RunningMean.value.Data().([]float32)
		st.rv32, _ = st.bn.RunningVar.value.Data().([]float32)
	}
}

// UpdateBatchNorm folds the batch statistics of the last Run into the
// running statistics of every batch-normalisation layer of a train-mode
// program, by PyTorch's rule (see BatchNorm); Descend calls it, so an
// SGD step advances them once. A caller that updates the parameters
// itself (another optimiser) calls it once per step. Programs in eval
// mode, and the Hessian tools, never change the running statistics. It
// allocates nothing.
func (p *Program) UpdateBatchNorm() {
	for i := range p.bns {
		st := &p.bns[i]
		mom := st.bn.Momentum
		if st.bn.batches > 0 {
			mom = 1 / float64(st.bn.batches)
		}
		corr := float64(st.perChan) / float64(st.perChan-1)
		switch {
		case st.fused != nil && len(st.fused.mean) == 0:
			// Not run yet: no statistics to fold in.
		case st.fused != nil && st.rm64 != nil:
			updateRunning(st.rm64, st.rv64, st.fused.mean, st.fused.vr, mom, corr)
		case st.fused != nil:
			updateRunning32(st.rm32, st.rv32, st.fused.mean, st.fused.vr, float32(mom), float32(corr))
		case st.rm64 != nil:
			updateRunning(st.rm64, st.rv64, st.m64, st.v64, mom, corr)
		default:
			updateRunning(st.rm32, st.rv32, st.m32, st.v32, float32(mom), float32(corr))
		}
	}
}

// updateRunning moves the running mean rm and variance rv towards the
// batch's mean m and biased variance v (times corr = m/(m−1)).
func updateRunning[T float](rm, rv, m, v []T, mom, corr T) {
	for c := range rm {
		rm[c] = (1-mom)*rm[c] + mom*m[c]
		rv[c] = (1-mom)*rv[c] + mom*v[c]*corr
	}
}

// updateRunning32 is updateRunning for float32 statistics from the
// fused operation's float64 batch statistics, rounded to float32 first
// as a float32 graph would hold them.
func updateRunning32(rm, rv []float32, m, v []float64, mom, corr float32) {
	for c := range rm {
		rm[c] = (1-mom)*rm[c] + mom*float32(m[c])
		rv[c] = (1-mom)*rv[c] + mom*float32(v[c])*corr
	}
}

// BatchNorms returns the batch-normalisation layers of a train-mode
// program, in the order the model applies them; none in eval mode.
func (p *Program) BatchNorms() []*BatchNorm {
	out := make([]*BatchNorm, len(p.bns))
	for i, st := range p.bns {
		out[i] = st.bn
	}
	return out
}

// RefreshBatchNorm recomputes the running statistics of every
// batch-normalisation layer of m from the n examples x (n × example size,
// row-major), as PyTorch's torch.optim.swa_utils.update_bn: the running
// estimates are reset (mean 0, variance 1) and then set to the
// cumulative average, over the batches, of each batch's mean and
// unbiased variance (momentum None). It is what an iterate average (EMA)
// needs before evaluation, since its parameters never produced
// statistics of their own. The examples are taken in consecutive
// batches of batch; a last partial batch is left out (every program has a
// fixed batch size), so n must be at least batch. The parameters are not
// changed.
func RefreshBatchNorm(m Model, x []float64, n, batch int) error {
	if n < 1 || batch < 1 || n < batch {
		return fmt.Errorf("graph: RefreshBatchNorm of %d examples in batches of %d: need n ≥ batch ≥ 1", n, batch)
	}
	p, err := compile(m, OutputSum, batch, false, Train)
	if err != nil {
		return fmt.Errorf("graph: RefreshBatchNorm: %w", err)
	}
	if len(x) != n*p.inLen {
		return fmt.Errorf("graph: RefreshBatchNorm of %d values, want %d examples × %d", len(x), n, p.inLen)
	}
	if len(p.bns) == 0 {
		return nil // no batch normalisation: nothing to refresh
	}
	for _, st := range p.bns {
		st.bn.ResetRunning()
	}
	defer func() {
		for _, st := range p.bns {
			st.bn.batches = 0
		}
	}()
	for k := 0; (k+1)*batch <= n; k++ {
		if _, err := p.Run(x[k*batch*p.inLen:(k+1)*batch*p.inLen], nil); err != nil {
			return fmt.Errorf("graph: RefreshBatchNorm, batch %d: %w", k, err)
		}
		for _, st := range p.bns {
			st.bn.batches = k + 1
		}
		p.UpdateBatchNorm()
	}
	return nil
}
