package metric

import (
	"fmt"
	"strings"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"sgdlab/analysis"
	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/train"
)

// FeatureOptions configure the metrics of a model's feature maps
// (Scope.Feature): measured on the first Examples points (all if 0) of
// the training set, or of the test set if Set is "test"; duplicates are
// neurons whose activations correlate above Threshold in magnitude (0.99
// if 0, the authors' default; they use 0.999 for the 1D problem). Layer
// names the map that the plain metric names measure ("feature_sparsity");
// empty means the model's last map (for mlp, its last hidden layer).
// NAME_MAP ("feature_sparsity_2") measures map MAP.
//
// Units, if > 0, selects the definitions of the authors' deep-net code
// (spec §3.4, analysis.BlockSparsity) for feature_sparsity and
// dead_or_duplicate: rows not normalised, an activation counts when > 0,
// and the de-duplication runs on Units units of a wider map (1000 in the
// paper), drawn once per run with Seed (analysis.SampleUnits): only those
// units of a wider map are kept, and every metric of the map sees them
// alone, except positive_fraction, which counts over all units.
type FeatureOptions struct {
	Set       string  `json:"set,omitempty"`
	Examples  int     `json:"examples,omitempty"`
	Threshold float64 `json:"threshold,omitempty"`
	Layer     string  `json:"layer,omitempty"`
	Units     int     `json:"units,omitempty"`
	Seed      uint32  `json:"seed,omitempty"`
}

// measureOptions are what a feature metric needs besides the map.
type measureOptions struct {
	threshold float64
	// deep selects the deep-net definitions.
	deep bool
	// positive is the fraction of the activations > 0 over all units of
	// the map as last read, sampled or not.
	positive *float64
}

// DefaultFeatureThreshold is the correlation above which two neurons
// count as one (fc_nets.feature_sparsity's default).
const DefaultFeatureThreshold = 0.99

// FeatureNames returns the names of m's feature maps, in the order the
// model tags them, by building its graph once.
func FeatureNames(m graph.Model) ([]string, error) {
	p, err := graph.CompileLoss(m, graph.OutputSum, 1)
	if err != nil {
		return nil, err
	}
	return p.FeatureNames(), nil
}

// featureMetric measures one feature map: given a reader of the map at
// the model's initialisation (the metric is built before training; only
// the metrics that compare with it read it) and the options, it returns
// the function of the current map.
type featureMetric func(initial func() (*mat.Dense, error), opt measureOptions) (func(phi *mat.Dense) (float64, error), error)

// stateless adapts a function of the current map alone.
func stateless(f func(phi mat.Matrix, opt measureOptions) (float64, error)) featureMetric {
	return func(_ func() (*mat.Dense, error), opt measureOptions) (func(*mat.Dense) (float64, error), error) {
		return func(phi *mat.Dense) (float64, error) { return f(phi, opt) }, nil
	}
}

// plain adapts a function of the map alone.
func plain(f func(phi mat.Matrix) float64) featureMetric {
	return stateless(func(phi mat.Matrix, _ measureOptions) (float64, error) { return f(phi), nil })
}

// Readout is implemented by models whose scalar output is linear in a
// feature map, ŷ = Σ_j a_j·h_j (+ a constant). The map's scaled features
// are then h_j·a_j, each neuron's share of the output (relu(Wx+b)·a in
// spec E4 and E5), which the scaled_ metrics measure.
type Readout interface {
	// ReadoutWeights returns a_j, one per column of feature map name, at
	// the current parameters; nil if the output is not linear in it.
	ReadoutWeights(name string) []float64
}

// layered are the registered metrics of feature maps, by name. A scaled
// metric measures the map with each column multiplied by its readout
// weight (see Readout).
var layered = map[string]struct {
	doc     string
	scaled  bool
	measure featureMetric
}{
	"feature_sparsity": {"fraction of the (point, neuron) activations of a feature map that are non-zero, on neurons that are neither dead nor duplicates, over all neurons (spec §3.2; §3.4 with features.units)", false,
		stateless(func(phi mat.Matrix, opt measureOptions) (float64, error) {
			if opt.deep {
				s, err := analysis.BlockSparsity(phi, opt.threshold, nil)
				return s.Distinct, err
			}
			return analysis.FeatureSparsity(phi, opt.threshold)
		})},
	"dead_or_duplicate": {"neurons of a feature map that are dead on the points or duplicate another (correlation above the threshold; of the sampled units with features.units)", false,
		stateless(func(phi mat.Matrix, opt measureOptions) (float64, error) {
			if opt.deep {
				s, err := analysis.BlockSparsity(phi, opt.threshold, nil)
				return float64(s.Removed), err
			}
			n, err := analysis.DeadOrDuplicate(phi, opt.threshold)
			return float64(n), err
		})},
	"active_fraction": {"fraction of the (point, neuron) activations of a feature map that are non-zero", false,
		plain(analysis.NonZeroFraction)},
	"positive_fraction": {"fraction of the (point, unit) activations of a feature map that are > 0, the deep-net code's raw sparsity (spec §3.4)", false,
		stateless(func(_ mat.Matrix, opt measureOptions) (float64, error) { return *opt.positive, nil })},
	"effective_rank": {"effective rank (nats) of the singular values of a feature map with its rows normalised (spec §3.3, E6)", false,
		stateless(func(phi mat.Matrix, _ measureOptions) (float64, error) { return analysis.FeatureEffectiveRank(phi) })},
	"scaled_nuclear_norm": {"nuclear norm of a feature map's scaled features h_j·a_j (E4, E5)", true,
		stateless(func(phi mat.Matrix, _ measureOptions) (float64, error) { return analysis.NuclearNorm(phi) })},
	"scaled_active_fraction": {"fraction of the scaled features h_j·a_j of a feature map that are non-zero (E4, E5)", true,
		plain(analysis.NonZeroFraction)},
	"pattern_distance": {"fraction of the (point, neuron) ReLU activation patterns of a feature map that differ from those at initialisation", false,
		func(initial func() (*mat.Dense, error), _ measureOptions) (func(*mat.Dense) (float64, error), error) {
			phi0, err := initial()
			return func(phi *mat.Dense) (float64, error) { return analysis.PatternDistance(phi0, phi) }, err
		}},
}

// splitLayer resolves a metric name of a feature map: "feature_sparsity"
// (map "") or "feature_sparsity_1" (map 1) with maps the model's maps.
func splitLayer(name string, maps []string) (base, layer string, ok bool) {
	if _, ok := layered[name]; ok {
		return name, "", true
	}
	for b := range layered {
		if l, found := strings.CutPrefix(name, b+"_"); found {
			for _, m := range maps {
				if m == l {
					return b, l, true
				}
			}
		}
	}
	return "", "", false
}

// newFeatureMetric builds metric base of feature map layer (the default
// map of env.Features if empty).
func newFeatureMetric(env *Env, base, layer string) (train.Metric, error) {
	opt := env.Features
	set := env.Train
	switch opt.Set {
	case "", "train":
	case "test":
		set = env.Test
	default:
		return train.Metric{}, fmt.Errorf("features.set: unknown %q (allowed: train, test)", opt.Set)
	}
	n := opt.Examples
	if n == 0 {
		n = set.N
	}
	thr := opt.Threshold
	if thr == 0 {
		thr = DefaultFeatureThreshold
	}
	if n < 1 || n > set.N || !(thr > 0 && thr <= 1) || opt.Units < 0 {
		return train.Metric{}, fmt.Errorf("features: need 1 ≤ examples ≤ %d, 0 < threshold ≤ 1 and units ≥ 0, got %+v", set.N, opt)
	}
	b, err := newBatches(env.Model, graph.OutputSum, set, n, env.EvalBatch)
	if err != nil {
		return train.Metric{}, err
	}
	p := b.full
	if layer == "" {
		layer = opt.Layer
	}
	if layer == "" {
		names := p.FeatureNames()
		if len(names) == 0 {
			return train.Metric{}, fmt.Errorf("the model has no feature maps (see graph.Scope.Feature)")
		}
		layer = names[len(names)-1]
	}
	width := p.FeatureWidth(layer)
	if width == 0 {
		return train.Metric{}, fmt.Errorf("the model has no feature map %q (it has %v)", layer, p.FeatureNames())
	}
	var cols []int // the sampled units, nil for all
	if opt.Units > 0 {
		cols = analysis.SampleUnits(width, opt.Units, opt.Seed)
	}
	w := width
	var part []float64 // a batch of the whole map, when sampling
	if cols != nil {
		w, part = len(cols), make([]float64, b.size*width)
	}
	mopt := measureOptions{threshold: thr, deep: opt.Units > 0, positive: new(float64)}
	read := func(dst *mat.Dense) error {
		data := dst.RawMatrix().Data
		pos := 0
		err := b.each(func(p *graph.Program, from, to int, _ float64) error {
			if cols == nil {
				return p.Feature(layer, data[from*w:to*w])
			}
			rows := part[:(to-from)*width]
			if err := p.Feature(layer, rows); err != nil {
				return err
			}
			for i := range to - from {
				row, out := rows[i*width:(i+1)*width], data[(from+i)*w:(from+i+1)*w]
				for _, v := range row {
					if v > 0 {
						pos++
					}
				}
				for c, j := range cols {
					out[c] = row[j]
				}
			}
			return nil
		})
		if cols == nil {
			*mopt.positive = analysis.PositiveFraction(dst)
		} else {
			*mopt.positive = float64(pos) / float64(n*width)
		}
		return err
	}
	def := layered[base]
	if def.scaled && cols != nil {
		return train.Metric{}, fmt.Errorf("%s: scales every unit of map %q by its readout weight; leave features.units unset", base, layer)
	}
	if def.scaled {
		r, ok := env.Model.(Readout)
		if !ok || len(r.ReadoutWeights(layer)) != width {
			return train.Metric{}, fmt.Errorf("%s: the model's output is not linear in feature map %q (see metric.Readout)", base, layer)
		}
		read = scaledBy(r, layer, read)
	}
	// The map now, before training, is the initialisation some metrics
	// compare with.
	initial := func() (*mat.Dense, error) {
		phi0 := mat.NewDense(n, w, nil)
		return phi0, read(phi0)
	}
	measure, err := def.measure(initial, mopt)
	if err != nil {
		return train.Metric{}, err
	}
	phi := mat.NewDense(n, w, nil)
	return train.Metric{Measure: func() (float64, error) {
		if err := read(phi); err != nil {
			return 0, err
		}
		return measure(phi)
	}}, nil
}

// scaledBy returns read followed by the scaling of column j by the
// current readout weight a_j of map layer.
func scaledBy(r Readout, layer string, read func(*mat.Dense) error) func(*mat.Dense) error {
	return func(dst *mat.Dense) error {
		if err := read(dst); err != nil {
			return err
		}
		a := r.ReadoutWeights(layer)
		rows, _ := dst.Dims()
		for i := 0; i < rows; i++ {
			floats.Mul(dst.RawRowView(i), a)
		}
		return nil
	}
}

// FeatureSparsity returns the metric feature_sparsity of feature map
// layer of m on the first n points of set, with the correlation
// threshold thr (see FeatureOptions).
func FeatureSparsity(m graph.Model, set data.Set, layer string, n int, thr float64) (train.Metric, error) {
	env := &Env{Model: m, Train: set, Features: FeatureOptions{Examples: n, Threshold: thr}}
	mt, err := newFeatureMetric(env, "feature_sparsity", layer)
	mt.Name = "feature_sparsity"
	return mt, err
}
