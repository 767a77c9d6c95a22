package experiment

import (
	"fmt"
	"math"
	"slices"

	"sgdlab/analysis"
	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/models"
	"sgdlab/train"
)

// MetricNames lists the metrics a Config may ask for:
//
//	train_loss, test_loss  the loss on the whole train / test set
//	l0                     ‖u⊙v‖₀, threshold analysis.DefaultL0Threshold
//	l1                     ‖u⊙v‖₁
//	l2_uv                  ‖θ‖₂ over all parameters, ‖(u,v)‖₂ for a DLN
//	balancedness           ‖|u|−|v|‖₂
//	rank                   rank(φ_θ(X_test[:examples])), see RankSpec
var MetricNames = []string{"train_loss", "test_loss", "l0", "l1", "l2_uv", "balancedness", "rank"}

func isMetric(name string) bool { return slices.Contains(MetricNames, name) }

// metrics builds the metrics of c for one model.
func (c Config) metrics(m *models.DLN, trainSet, testSet data.Set, evals int) ([]train.Metric, error) {
	beta := make([]float64, c.Model.D)
	out := make([]train.Metric, 0, len(c.Metrics))
	for _, name := range c.Metrics {
		var mt train.Metric
		var err error
		switch name {
		case "train_loss":
			mt, err = train.LossMetric(name, m, c.Loss, trainSet)
		case "test_loss":
			mt, err = train.LossMetric(name, m, c.Loss, testSet)
		case "l0":
			mt = train.Metric{Name: name, Measure: func() (float64, error) {
				m.Beta(beta)
				return float64(analysis.L0(beta, analysis.DefaultL0Threshold)), nil
			}}
		case "l1":
			mt = train.Metric{Name: name, Measure: func() (float64, error) {
				m.Beta(beta)
				return analysis.L1(beta), nil
			}}
		case "l2_uv":
			mt = train.Metric{Name: name, Measure: func() (float64, error) {
				return analysis.L2(graph.Flatten(m.Params())), nil
			}}
		case "balancedness":
			mt = train.Metric{Name: name, Measure: func() (float64, error) {
				return analysis.Balancedness(m.U.Float64s(), m.V.Float64s()), nil
			}}
		case "rank":
			mt, err = c.rankMetric(m, testSet, evals)
		default:
			err = fmt.Errorf("unknown metric %q", name)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, mt)
	}
	return out, nil
}

// rankMetric measures the rank at every Rank.Every-th of the evals
// evaluation points and at the last; NaN marks the points it skips.
func (c Config) rankMetric(m graph.Model, testSet data.Set, evals int) (train.Metric, error) {
	k := c.Rank.Examples
	jac, err := analysis.NewJacobian(m, testSet.X[:k*testSet.D], k)
	if err != nil {
		return train.Metric{}, err
	}
	call := 0
	return train.Metric{Name: "rank", Measure: func() (float64, error) {
		i := call
		call++
		if i%c.Rank.Every != 0 && i != evals-1 {
			return math.NaN(), nil
		}
		r, err := jac.Rank(c.Rank.Threshold)
		return float64(r), err
	}}, nil
}
