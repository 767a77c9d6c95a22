package train

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"sgdlab/graph"
	"sgdlab/internal/tensorfile"
)

// State is the state of a Run after Iteration updates: everything Train
// needs to go on from there bit for bit (Run.Resume), given the same Run.
// Random streams are not in it: a resumed run replays their draws.
type State struct {
	// Iteration is the number of updates done, in [0, Run.Iterations].
	Iteration int
	// Params are copies of the model's parameters (Model.Params: names,
	// shapes and types) after Iteration updates: θ, not the average.
	Params []*graph.Param
	// Velocity are the momentum buffers, one per parameter with its name,
	// shape and type, with Run.Momentum > 0; nil otherwise.
	Velocity []*graph.Param
	// Averaged is the average θ̄, all parameters concatenated as
	// graph.Flatten orders them, with Run.Average > 0; nil otherwise.
	Averaged []float64
	// ModelState are copies of the model's non-trainable state
	// (graph.Buffered), nil for a model without any.
	ModelState []*graph.Param
	// History holds the evaluation points before Iteration.
	History History
	// Tag is the caller's own label of the run, kept in the file's
	// metadata ("tag") so that a caller can tell whose state a file holds
	// (the experiment package writes a digest of its configuration).
	Tag string
}

// stateFormat names the layout SaveState writes, in the file's metadata.
const stateFormat = "sgdlab.train.State/1"

// state returns a copy of the state of a run after i updates.
func (r Run) state(i int, res *Result, vel *graph.Velocity, avg []float64) *State {
	s := &State{Iteration: i, Params: copyParams(r.Model.Params())}
	if vel != nil {
		s.Velocity = copyParams(vel.Buffers())
	}
	if avg != nil {
		s.Averaged = slices.Clone(avg)
	}
	if st, ok := r.Model.(graph.Buffered); ok {
		s.ModelState = copyParams(st.Buffers())
	}
	h := res.History
	s.History = History{Names: slices.Clone(h.Names), Iters: slices.Clone(h.Iters), Rates: slices.Clone(h.Rates)}
	for _, row := range h.Values {
		s.History.Values = append(s.History.Values, slices.Clone(row))
	}
	for _, p := range h.Params {
		s.History.Params = append(s.History.Params, slices.Clone(p))
	}
	return s
}

// copyParams returns new parameters with the names, shapes, types and
// values of ps.
func copyParams(ps []*graph.Param) []*graph.Param {
	out := make([]*graph.Param, len(ps))
	for k, p := range ps {
		q := graph.NewParam(p.Name(), p.Dtype(), p.Shape()...)
		q.Set(graph.Flatten([]*graph.Param{p}))
		out[k] = q
	}
	return out
}

// checkParams reports the first difference in number, name, shape or type
// between the parameters got (of field, e.g. "Resume.Params") and want.
func checkParams(field string, got, want []*graph.Param) error {
	if len(got) != len(want) {
		return fmt.Errorf("%s has %d tensors, the model %d", field, len(got), len(want))
	}
	for k, w := range want {
		g := got[k]
		if g == nil {
			return fmt.Errorf("%s[%d] is nil, want %q", field, k, w.Name())
		}
		if g.Name() != w.Name() || g.Dtype() != w.Dtype() || !slices.Equal(g.Shape(), w.Shape()) {
			return fmt.Errorf("%s[%d] is %q %v %v, the model's is %q %v %v", field, k, g.Name(), g.Dtype(), g.Shape(), w.Name(), w.Dtype(), w.Shape())
		}
	}
	return nil
}

// check returns every reason why s cannot resume run r, joined, or nil.
func (s *State) check(r Run, vel *graph.Velocity) error {
	p := problems{owner: "Run"}
	params := r.Model.Params()
	if s.Iteration < 0 || s.Iteration > r.Iterations {
		p.add("Resume.Iteration = %d, want updates done in [0, Iterations = %d]", s.Iteration, r.Iterations)
	}
	if err := checkParams("Resume.Params", s.Params, params); err != nil {
		p.add("%w", err)
	}
	switch {
	case vel != nil:
		if err := checkParams("Resume.Velocity", s.Velocity, vel.Buffers()); err != nil {
			p.add("%w (Momentum = %v needs a buffer per parameter)", err, r.Momentum)
		}
	case len(s.Velocity) > 0:
		p.add("Resume.Velocity holds %d momentum buffers, but Momentum = 0", len(s.Velocity))
	}
	n := 0
	for _, q := range params {
		n += q.Len()
	}
	switch {
	case r.Average > 0 && len(s.Averaged) != n:
		p.add("Resume.Averaged has %d values, want the %d of all parameters (Average = %v)", len(s.Averaged), n, r.Average)
	case r.Average == 0 && s.Averaged != nil:
		p.add("Resume.Averaged is set, but Average = 0")
	}
	if st, ok := r.Model.(graph.Buffered); ok {
		if err := checkParams("Resume.ModelState", s.ModelState, st.Buffers()); err != nil {
			p.add("%w", err)
		}
	} else if len(s.ModelState) > 0 {
		p.add("Resume.ModelState holds %d tensors, but the model (%T) has no state (graph.Buffered)", len(s.ModelState), r.Model)
	}
	h := s.History
	var names []string
	for _, m := range r.Metrics {
		names = append(names, m.Name)
	}
	for _, m := range r.StepMetrics {
		names = append(names, m.Name)
	}
	switch {
	case !slices.Equal(h.Names, names):
		p.add("Resume.History.Names = %q, but the run's metrics are %q", h.Names, names)
	case len(h.Rates) != len(h.Iters) || len(h.Values) != len(h.Iters):
		p.add("Resume.History has %d Iters, %d Rates and %d rows of Values", len(h.Iters), len(h.Rates), len(h.Values))
	case r.Snapshots && len(h.Params) != len(h.Iters):
		p.add("Resume.History has %d Params snapshots for %d Iters (Snapshots is set)", len(h.Params), len(h.Iters))
	case !r.Snapshots && len(h.Params) > 0:
		p.add("Resume.History has %d Params snapshots, but Snapshots is not set", len(h.Params))
	default:
		// The rows so far must be the evaluation points of Eval before
		// Iteration, all of them: a state of another grid would give a
		// History that no single run gives.
		var want []int
		for _, e := range r.Eval {
			if e < s.Iteration {
				want = append(want, e)
			}
		}
		if !slices.Equal(h.Iters, want) {
			p.add("Resume.History.Iters = %v, want the points of Eval before Iteration %d: %v", h.Iters, s.Iteration, want)
		}
		for k, row := range h.Values {
			if len(row) != len(names) {
				p.add("Resume.History.Values[%d] has %d values for %d metrics", k, len(row), len(names))
				break
			}
		}
		for k, snap := range h.Params {
			if len(snap) != n {
				p.add("Resume.History.Params[%d] has %d values, want %d", k, len(snap), n)
				break
			}
		}
	}
	return p.err()
}

// restore puts the checked state s into the model, vel, avg and res.
func (s *State) restore(r Run, vel *graph.Velocity, res *Result, avg []float64) {
	graph.Unflatten(r.Model.Params(), graph.Flatten(s.Params))
	if vel != nil {
		graph.Unflatten(vel.Buffers(), graph.Flatten(s.Velocity))
		vel.SetStarted(s.Iteration > 0)
	}
	if avg != nil {
		copy(avg, s.Averaged)
	}
	if st, ok := r.Model.(graph.Buffered); ok {
		graph.Unflatten(st.Buffers(), graph.Flatten(s.ModelState))
	}
	h := s.History
	res.Iters = slices.Clone(h.Iters)
	res.Rates = slices.Clone(h.Rates)
	for _, row := range h.Values {
		res.Values = append(res.Values, slices.Clone(row))
	}
	for _, snap := range h.Params {
		res.Params = append(res.Params, slices.Clone(snap))
	}
}

// The tensor names of a state file: a prefix and the parameter's name.
const (
	prefixParam    = "param."
	prefixMomentum = "momentum."
	prefixAverage  = "average."
	prefixState    = "state."
)

// SaveState writes s to path as a safetensors file, atomically (a
// temporary file in the same directory, renamed): a crash leaves the
// previous file, never half a new one. The tensors, readable with
// safetensors.torch.load_file, are:
//
//	param.<name>     each parameter θ, in its type and shape
//	momentum.<name>  its momentum buffer (with momentum)
//	average.<name>   its average θ̄, F64, in its shape (with averaging)
//	state.<name>     each tensor of the model's non-trainable state
//	history.iters    I64 [n]: the evaluation iterations so far
//	history.rates    F64 [n]: the step size at each
//	history.values   F64 [n, metrics]: the metric values
//	history.params   F64 [n, parameters]: the snapshots (with Snapshots)
//
// and the metadata holds the format ("sgdlab.train.State/1"), the
// iteration, and the parameter, state and metric names in order (JSON
// lists), so that LoadState rebuilds s exactly.
func SaveState(path string, s *State) error {
	if s == nil {
		return fmt.Errorf("train: SaveState(%s): nil state", path)
	}
	for _, l := range [][]*graph.Param{s.Params, s.Velocity, s.ModelState} {
		if slices.Contains(l, nil) {
			return fmt.Errorf("train: SaveState(%s): the state holds a nil tensor", path)
		}
	}
	var ts []tensorfile.Tensor
	add := func(prefix string, ps []*graph.Param) []string {
		names := make([]string, len(ps))
		for k, p := range ps {
			names[k] = p.Name()
			ts = append(ts, paramTensor(prefix+p.Name(), p))
		}
		return names
	}
	params := add(prefixParam, s.Params)
	add(prefixMomentum, s.Velocity)
	stateNames := add(prefixState, s.ModelState)
	if s.Averaged != nil {
		off := 0
		for _, p := range s.Params {
			if off+p.Len() > len(s.Averaged) {
				return fmt.Errorf("train: SaveState(%s): Averaged has %d values, fewer than the parameters", path, len(s.Averaged))
			}
			ts = append(ts, tensorfile.Tensor{Name: prefixAverage + p.Name(), Dtype: tensorfile.F64, Shape: p.Shape(), F64: s.Averaged[off : off+p.Len()]})
			off += p.Len()
		}
		if off != len(s.Averaged) {
			return fmt.Errorf("train: SaveState(%s): Averaged has %d values, the parameters %d", path, len(s.Averaged), off)
		}
	}
	h := s.History
	n := len(h.Iters)
	if len(h.Rates) != n || len(h.Values) != n || (len(h.Params) != 0 && len(h.Params) != n) {
		return fmt.Errorf("train: SaveState(%s): History has %d Iters, %d Rates, %d rows of Values and %d of Params", path, n, len(h.Rates), len(h.Values), len(h.Params))
	}
	iters := make([]int64, n)
	for k, i := range h.Iters {
		iters[k] = int64(i)
	}
	ts = append(ts,
		tensorfile.Tensor{Name: "history.iters", Dtype: tensorfile.I64, Shape: []int{n}, I64: iters},
		tensorfile.Tensor{Name: "history.rates", Dtype: tensorfile.F64, Shape: []int{n}, F64: h.Rates})
	values, err := matrix(h.Values, len(h.Names))
	if err != nil {
		return fmt.Errorf("train: SaveState(%s): History.Values: %w", path, err)
	}
	ts = append(ts, tensorfile.Tensor{Name: "history.values", Dtype: tensorfile.F64, Shape: []int{n, len(h.Names)}, F64: values})
	if len(h.Params) > 0 {
		snaps, err := matrix(h.Params, len(h.Params[0]))
		if err != nil {
			return fmt.Errorf("train: SaveState(%s): History.Params: %w", path, err)
		}
		ts = append(ts, tensorfile.Tensor{Name: "history.params", Dtype: tensorfile.F64, Shape: []int{n, len(h.Params[0])}, F64: snaps})
	}
	meta := map[string]string{
		"format":        stateFormat,
		"iteration":     strconv.Itoa(s.Iteration),
		"params":        jsonList(params),
		"state":         jsonList(stateNames),
		"history.names": jsonList(h.Names),
	}
	if s.Velocity != nil {
		meta["momentum"] = "true"
	}
	if s.Tag != "" {
		meta["tag"] = s.Tag
	}
	if err := tensorfile.Write(path, ts, meta); err != nil {
		return fmt.Errorf("train: SaveState: %w", err)
	}
	return nil
}

// paramTensor is the tensor of p's values, in its type.
func paramTensor(name string, p *graph.Param) tensorfile.Tensor {
	t := tensorfile.Tensor{Name: name, Shape: p.Shape()}
	if p.Dtype() == graph.Float32 {
		t.Dtype, t.F32 = tensorfile.F32, slices.Clone(p.Float32s())
	} else {
		t.Dtype, t.F64 = tensorfile.F64, slices.Clone(p.Float64s())
	}
	return t
}

// matrix concatenates rows of width w each.
func matrix(rows [][]float64, w int) ([]float64, error) {
	out := make([]float64, 0, len(rows)*w)
	for k, row := range rows {
		if len(row) != w {
			return nil, fmt.Errorf("row %d has %d values, want %d", k, len(row), w)
		}
		out = append(out, row...)
	}
	return out, nil
}

func jsonList(names []string) string {
	if names == nil {
		names = []string{}
	}
	b, _ := json.Marshal(names) // a []string always marshals
	return string(b)
}

// LoadState reads a state written by SaveState from path and checks it
// against the model m: the parameters (and the non-trainable state of a
// graph.Buffered model) must have the model's names, shapes and types, in
// its order. Every error names the file; a file that is not a valid
// safetensors file, or not one of SaveState's layout, is an error, never
// a panic (see internal/tensorfile). Run.Train checks the rest (the
// configuration of the run it resumes).
func LoadState(path string, m graph.Model) (*State, error) {
	if isNil(m) {
		return nil, fmt.Errorf("train: LoadState(%s): nil model", path)
	}
	f, err := tensorfile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("train: LoadState: %w", err)
	}
	s, err := decodeState(path, f, m)
	if err != nil {
		return nil, fmt.Errorf("train: LoadState: %w", err)
	}
	return s, nil
}

// decodeState rebuilds the State of the file f read from path.
func decodeState(path string, f *tensorfile.File, m graph.Model) (*State, error) {
	if f.Meta["format"] != stateFormat {
		return nil, fmt.Errorf("%s: metadata format %q, want %q (not a state saved by SaveState)", path, f.Meta["format"], stateFormat)
	}
	it, err := strconv.Atoi(f.Meta["iteration"])
	if err != nil || it < 0 {
		return nil, fmt.Errorf("%s: metadata iteration %q, want a count of updates ≥ 0", path, f.Meta["iteration"])
	}
	s := &State{Iteration: it, Tag: f.Meta["tag"]}
	var names, stateNames, metrics []string
	for _, l := range []struct {
		key string
		dst *[]string
	}{{"params", &names}, {"state", &stateNames}, {"history.names", &metrics}} {
		if err := json.Unmarshal([]byte(f.Meta[l.key]), l.dst); err != nil {
			return nil, fmt.Errorf("%s: metadata %s %q is not a JSON list of names: %w", path, l.key, f.Meta[l.key], err)
		}
	}
	params := m.Params()
	if len(params) == 0 {
		return nil, fmt.Errorf("%s: the model (%T) has no parameters", path, m)
	}
	if len(names) != len(params) {
		return nil, fmt.Errorf("%s: %d parameters, the model (%T) has %d", path, len(names), m, len(params))
	}
	load := func(prefix string, want []*graph.Param) ([]*graph.Param, error) {
		out := make([]*graph.Param, len(want))
		for k, w := range want {
			dtype := tensorfile.F64
			if w.Dtype() == graph.Float32 {
				dtype = tensorfile.F32
			}
			t, err := f.Require(path, prefix+w.Name(), dtype, w.Shape())
			if err != nil {
				return nil, fmt.Errorf("the model's %q (%v %v): %w", w.Name(), w.Dtype(), w.Shape(), err)
			}
			q := graph.NewParam(w.Name(), w.Dtype(), w.Shape()...)
			if t.F32 != nil {
				copy(q.Float32s(), t.F32)
			} else {
				copy(q.Float64s(), t.F64)
			}
			out[k] = q
		}
		return out, nil
	}
	for k, p := range params {
		if names[k] != p.Name() {
			return nil, fmt.Errorf("%s: parameter %d is %q, the model's is %q", path, k, names[k], p.Name())
		}
	}
	if s.Params, err = load(prefixParam, params); err != nil {
		return nil, err
	}
	if f.Meta["momentum"] == "true" {
		if s.Velocity, err = load(prefixMomentum, params); err != nil {
			return nil, err
		}
	}
	if st, ok := m.(graph.Buffered); ok {
		want := st.Buffers()
		if len(stateNames) != len(want) {
			return nil, fmt.Errorf("%s: %d state tensors, the model (%T) has %d", path, len(stateNames), m, len(want))
		}
		if s.ModelState, err = load(prefixState, want); err != nil {
			return nil, err
		}
	} else if len(stateNames) > 0 {
		return nil, fmt.Errorf("%s: %d state tensors, but the model (%T) has no state", path, len(stateNames), m)
	}
	if _, ok := f.Tensor(prefixAverage + params[0].Name()); ok {
		for _, p := range params {
			t, err := f.Require(path, prefixAverage+p.Name(), tensorfile.F64, p.Shape())
			if err != nil {
				return nil, err
			}
			s.Averaged = append(s.Averaged, t.F64...)
		}
	}
	iters, ok := f.Tensor("history.iters")
	if !ok || iters.Dtype != tensorfile.I64 || len(iters.Shape) != 1 {
		return nil, fmt.Errorf("%s: tensor \"history.iters\" is missing or not I64 [n] (%s %v)", path, iters.Dtype, iters.Shape)
	}
	n := len(iters.I64)
	rates, err := f.Require(path, "history.rates", tensorfile.F64, []int{n})
	if err != nil {
		return nil, err
	}
	values, err := f.Require(path, "history.values", tensorfile.F64, []int{n, len(metrics)})
	if err != nil {
		return nil, err
	}
	h := History{Names: metrics, Rates: rates.F64}
	if n == 0 {
		h.Rates = nil
	}
	for k, i := range iters.I64 {
		if i < 0 || i > int64(it) {
			return nil, fmt.Errorf("%s: history.iters[%d] = %d, outside [0, iteration %d]", path, k, i, it)
		}
		h.Iters = append(h.Iters, int(i))
		h.Values = append(h.Values, values.F64[k*len(metrics):(k+1)*len(metrics)])
	}
	if t, ok := f.Tensor("history.params"); ok {
		width := 0
		for _, p := range params {
			width += p.Len()
		}
		t, err := f.Require(path, t.Name, tensorfile.F64, []int{n, width})
		if err != nil {
			return nil, err
		}
		for k := 0; k < n; k++ {
			h.Params = append(h.Params, t.F64[k*width:(k+1)*width])
		}
	}
	s.History = h
	return s, nil
}
