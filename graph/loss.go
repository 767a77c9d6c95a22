package graph

import (
	"fmt"
	"strings"

	"gorgonia.org/gorgonia"
)

// Loss names a training objective over a batch of model outputs ŷ and
// targets y. Losses are built from primitives whose first and second
// derivatives Gorgonia gets right.
type Loss string

// The losses.
const (
	// HalfMSE is ½·mean((ŷ−y)²), the paper's diagonal-network loss.
	HalfMSE Loss = "half_mse"
	// MSE is mean((ŷ−y)²), the paper's ReLU-network loss.
	MSE Loss = "mse"
	// Logistic is mean(log(1+exp(−ŷ·y))) for labels y ∈ {−1, +1}.
	Logistic Loss = "logistic"
	// SoftmaxCE is the mean over the batch of −Σ_k y_k·log softmax(ŷ)_k for
	// outputs and one-hot (or probability) targets of shape (batch, k).
	SoftmaxCE Loss = "softmax_ce"
	// OutputSum is Σ ŷ: its gradient is the sum of the per-example output
	// gradients, and, for a batch of one, a row of the Jacobian φ(X).
	// Targets are ignored.
	OutputSum Loss = "output_sum"
)

var losses = []Loss{HalfMSE, MSE, Logistic, SoftmaxCE, OutputSum}

// Validate reports whether l is a known loss.
func (l Loss) Validate() error {
	for _, k := range losses {
		if l == k {
			return nil
		}
	}
	names := make([]string, len(losses))
	for i, k := range losses {
		names[i] = string(k)
	}
	return fmt.Errorf("unknown loss %q (allowed: %s)", string(l), strings.Join(names, ", "))
}

// build adds the loss of outputs out against targets y to s and returns the
// scalar loss node.
func (l Loss) build(s *Scope, out, y *Node) *Node {
	if s.failed(out, y) {
		return nil
	}
	switch l {
	case HalfMSE, MSE:
		diff := s.Must(gorgonia.Sub(out, y))
		if diff == nil {
			return nil
		}
		m := s.Must(gorgonia.Mean(s.Must(gorgonia.Square(diff))))
		if l == MSE || m == nil {
			return m
		}
		return s.Must(gorgonia.Mul(m, s.constant(0.5)))
	case Logistic:
		margin := s.Must(gorgonia.HadamardProd(out, y))
		if margin == nil {
			return nil
		}
		return s.Must(gorgonia.Mean(s.Must(gorgonia.Softplus(s.Must(gorgonia.Neg(margin))))))
	case SoftmaxCE:
		return s.softmaxCE(out, y)
	case OutputSum:
		return s.Must(gorgonia.Sum(out))
	}
	s.err = l.Validate()
	return nil
}

// softmaxCE computes the cross-entropy with a max-shifted log-sum-exp;
// Gorgonia's SoftMax and LogSumExp break second derivatives.
func (s *Scope) softmaxCE(z, y *Node) *Node {
	if z.Dims() != 2 {
		s.err = fmt.Errorf("graph: softmax cross-entropy needs outputs of shape (batch, k), got %v", z.Shape())
		return nil
	}
	shift := s.Must(gorgonia.BroadcastSub(z, s.Must(gorgonia.Max(z, 1)), nil, []byte{1}))
	if shift == nil {
		return nil
	}
	lse := s.Must(gorgonia.Log(s.Must(gorgonia.Sum(s.Must(gorgonia.Exp(shift)), 1))))
	if lse == nil {
		return nil
	}
	logp := s.Must(gorgonia.BroadcastSub(shift, lse, nil, []byte{1}))
	if logp == nil {
		return nil
	}
	ce := s.Must(gorgonia.Sum(s.Must(gorgonia.HadamardProd(y, logp)), 1))
	if ce == nil {
		return nil
	}
	return s.Must(gorgonia.Neg(s.Must(gorgonia.Mean(ce))))
}

func (s *Scope) constant(v float64) *Node {
	if s.dtype == Float32 {
		return gorgonia.NewConstant(float32(v))
	}
	return gorgonia.NewConstant(v)
}
