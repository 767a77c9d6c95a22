package train

import (
	"context"
	"fmt"
	"math"
	"slices"

	"sgdlab/data"
	"sgdlab/graph"
)

// Member is one run of an Ensemble: the parts in which it differs from
// the other members.
type Member struct {
	// Model is the member on its own, e.g. a *models.DLN for a
	// *models.DLNEnsemble: the stacked parameters without their leading
	// run dimension. Its parameters are the member's starting point; the
	// ensemble copies the member's current parameters into it before its
	// Metrics run and when training stops (where a Run leaves its model),
	// so metrics written for a Run on this model serve unchanged.
	Model       graph.Model
	Sampler     Sampler
	Schedule    Schedule
	Metrics     []Metric
	StepMetrics []StepMetric
}

// Ensemble trains the members of an ensemble model together, as one graph
// with a leading run dimension (graph.CompileEnsemble), each with its own
// parameters, sample stream, step-size schedule, metrics and divergence
// detection. Member k's Result equals that of the Run with the same
// model, loss, data, batch size, iterations and evaluation points and
// member k's Model, Sampler, Schedule and metrics, bit for bit in float64
// (see graph.EnsembleProgram for float32). A member that diverges stops
// updating at that iteration, as a Run does; the others go on.
type Ensemble struct {
	// Model holds the K = len(Members) ≥ 1 members; its parameters are set
	// from the members' models (which must match them, without the leading
	// run dimension) when training starts.
	Model   graph.EnsembleModel
	Members []Member
	Loss    graph.Loss
	Data    data.Set
	// Batch is the number of examples per member and update, in
	// [1, Data.N]; each member's Sampler picks them, from [0, Data.N)
	// (Full needs Batch = Data.N). Data.D must be the size of one example
	// of Model (Model.Input).
	Batch      int
	Iterations int // number of updates of every member, ≥ 0
	// Eval, DivergeAbove and Snapshots are those of Run, for every member.
	Eval         []int
	DivergeAbove float64
	Snapshots    bool
	// Progress, if set, is called every 1024 updates with the number of
	// updates done, and once at the end.
	Progress func(done int)
}

// Train trains the members and returns their results in order. As for
// Run, a divergence is not an error; errors are for bad configuration
// (every problem of the Ensemble in one error, see validate, and no
// results), a sampler index outside [0, Data.N), failing metrics and
// cancellation (these three return the results so far).
func (e Ensemble) Train(ctx context.Context) ([]Result, error) {
	if err := e.validate(); err != nil {
		return nil, err
	}
	k := len(e.Members)
	prog, err := graph.CompileEnsemble(e.Model, e.Loss, e.Batch)
	if err != nil {
		return nil, err
	}
	stacked := e.Model.Params()
	steps := false
	for m, mem := range e.Members {
		// validate has checked the shapes, so this cannot fail.
		if err := graph.SetMember(stacked, m, mem.Model.Params()); err != nil {
			return nil, fmt.Errorf("train: Ensemble.Members[%d].Model: %w", m, err)
		}
		steps = steps || len(mem.StepMetrics) > 0
	}
	limit := e.DivergeAbove
	if limit == 0 {
		limit = DefaultDivergence
	}
	res := make([]Result, k)
	for m, mem := range e.Members {
		for _, mt := range mem.Metrics {
			res[m].Names = append(res[m].Names, mt.Name)
		}
		for _, mt := range mem.StepMetrics {
			res[m].Names = append(res[m].Names, mt.Name)
		}
	}
	// measure records member m's metrics at iteration i, as Run's measure.
	measure := func(m, i int, rate float64) ([]float64, error) {
		mem := e.Members[m]
		if err := graph.GetMember(stacked, m, mem.Model.Params()); err != nil {
			return nil, err
		}
		row := make([]float64, len(mem.Metrics)+len(mem.StepMetrics))
		for j, mt := range mem.Metrics {
			var err error
			if row[j], err = mt.Measure(); err != nil {
				return nil, fmt.Errorf("train: member %d: metric %s at iteration %d: %w", m, mt.Name, i, err)
			}
		}
		for j := range mem.StepMetrics {
			row[len(mem.Metrics)+j] = math.NaN()
		}
		r := &res[m]
		r.Iters = append(r.Iters, i)
		r.Rates = append(r.Rates, rate)
		r.Values = append(r.Values, row)
		if e.Snapshots {
			r.Params = append(r.Params, graph.Flatten(mem.Model.Params()))
		}
		return row, nil
	}
	// However training stops, every member's parameters end up in its
	// model. SetMember has checked the shapes, so GetMember cannot fail.
	defer func() {
		for m, mem := range e.Members {
			_ = graph.GetMember(stacked, m, mem.Model.Params())
		}
	}()
	active := make([]bool, k)
	for m := range active {
		active[m] = true
	}
	running := k
	rates := make([]float64, k)
	rows := make([][]float64, k)
	idx := make([]int, e.Batch)
	var grad []float64
	if steps {
		grad = make([]float64, len(graph.Flatten(e.Members[0].Model.Params())))
	}
	next := 0
	for i := 0; i < e.Iterations && running > 0; i++ {
		if i&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			if e.Progress != nil {
				e.Progress(i)
			}
		}
		eval := next < len(e.Eval) && e.Eval[next] == i
		if eval {
			next++
			// As in Run: metrics may be slow, and come at every update.
			if err := ctx.Err(); err != nil {
				return res, err
			}
		}
		for m, mem := range e.Members {
			if !active[m] {
				continue
			}
			rates[m] = mem.Schedule.Rate(i)
			if eval {
				if rows[m], err = measure(m, i, rates[m]); err != nil {
					return res, err
				}
			}
			mem.Sampler.Next(idx)
			for b, j := range idx {
				if uint(j) >= uint(e.Data.N) { // see indexError
					return res, indexError(i, fmt.Sprintf("Ensemble.Members[%d].Sampler", m), mem.Sampler, j, b, e.Data.N)
				}
				prog.SetExample(m, b, e.Data.Row(j), e.Data.Target(j))
			}
		}
		losses, err := prog.Run()
		if err != nil {
			return res, fmt.Errorf("train: iteration %d: %w", i, err)
		}
		for m, loss := range losses {
			if active[m] && (math.IsNaN(loss) || math.IsInf(loss, 0) || loss > limit) {
				res[m].Diverged, res[m].DivergedAt = true, i
				active[m] = false
				running--
			}
		}
		if eval && steps {
			for m, mem := range e.Members {
				if !active[m] || len(mem.StepMetrics) == 0 {
					continue
				}
				prog.Gradient(m, grad)
				row := rows[m]
				for j, mt := range mem.StepMetrics {
					if row[len(mem.Metrics)+j], err = mt.Measure(grad); err != nil {
						return res, fmt.Errorf("train: member %d: metric %s at iteration %d: %w", m, mt.Name, i, err)
					}
				}
			}
		}
		prog.Descend(rates, active)
	}
	if next < len(e.Eval) && e.Eval[next] == e.Iterations {
		for m, mem := range e.Members {
			if !active[m] {
				continue
			}
			if _, err := measure(m, e.Iterations, mem.Schedule.Rate(e.Iterations)); err != nil {
				return res, err
			}
		}
	}
	if e.Progress != nil {
		e.Progress(e.Iterations)
	}
	return res, nil
}

// validate returns every problem of the configuration of e joined in one
// error (errors.Join), each naming its field and, for a member's, the
// member: "train: Ensemble.Members[2].Sampler is nil". It checks what
// Run.validate checks of a Run, for the shared fields and for every
// member's, and what only an ensemble needs: a model of len(Members)
// members, each member's model of the shapes of one of them, a loss
// available for ensembles (graph.EnsembleLosses) and examples of
// Data.D values, the size of Model.Input (graph.EnsembleProgram would
// silently train on part of each example otherwise). Train calls it
// before anything else, so a misconfigured ensemble changes no model.
func (e Ensemble) validate() error {
	p := problems{owner: "Ensemble"}
	var stacked []*graph.Param
	if isNil(e.Model) {
		p.add("Model is nil")
	} else {
		if n := e.Model.Members(); n != len(e.Members) {
			p.add("Model has %d members, want len(Members) = %d", n, len(e.Members))
		}
		stacked = e.Model.Params()
	}
	if len(e.Members) == 0 {
		p.add("Members is empty, want ≥ 1 member")
	}
	if err := e.Loss.Validate(); err != nil {
		p.add("Loss: %w", err)
	} else if !slices.Contains(graph.EnsembleLosses, e.Loss) {
		p.add("Loss: the %s loss is not available for ensembles (available: %v)", e.Loss, graph.EnsembleLosses)
	}
	dataOK := p.checkData(e.Data, e.Batch)
	if dataOK && !isNil(e.Model) {
		in := e.Model.Input()
		size := 1
		for _, d := range in {
			size *= d
		}
		if size != e.Data.D {
			p.add("Data.D = %d, but Model takes examples of shape %v (%d values)", e.Data.D, in, size)
		}
	}
	p.checkSteps(e.Iterations, e.DivergeAbove, e.Eval)
	for m, mem := range e.Members {
		f := fmt.Sprintf("Members[%d]", m)
		if isNil(mem.Model) {
			p.add("%s.Model is nil", f)
		} else if stacked != nil {
			p.checkMember(f+".Model", stacked, mem.Model.Params())
		}
		p.checkSampler(f+".Sampler", mem.Sampler, e.Batch, e.Data.N, dataOK)
		if isNil(mem.Schedule) {
			p.add("%s.Schedule is nil", f)
		}
		p.checkMetrics(f+".", mem.Metrics, mem.StepMetrics)
	}
	return p.err()
}

// checkMember adds the problems of the parameters ps of a member's model,
// held in field, that the stacked parameters of the ensemble's Model must
// hold, as graph.SetMember requires: as many, each of the same dtype and
// of the stacked shape without its leading run dimension. Unlike
// SetMember, it writes nothing.
func (p *problems) checkMember(field string, stacked, ps []*graph.Param) {
	if len(ps) != len(stacked) {
		p.add("%s has %d parameters, but Model has %d stacked ones", field, len(ps), len(stacked))
		return
	}
	for i, q := range ps {
		s := stacked[i]
		if q == nil || s == nil {
			p.add("%s: parameter %d is nil (in the member or in Model)", field, i)
			continue
		}
		if sh, qh := s.Shape(), q.Shape(); len(sh) != len(qh)+1 || !slices.Equal(sh[1:], qh) || s.Dtype() != q.Dtype() {
			p.add("%s: parameter %q (%v %v) does not fit Model's stacked parameter %q (%v %v)",
				field, q.Name(), q.Dtype(), qh, s.Name(), s.Dtype(), sh)
		}
	}
}
