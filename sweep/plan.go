package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"sgdlab/experiment"
)

// Version is the sgdlab version that point IDs hash together with the
// resolved configuration. A change of the training code that changes
// results must change Version, so that a rerun does not take the results
// of the old code for the new ones: with another Version every point has
// another ID, hence another directory, and is trained again.
const Version = "sgdlab 0.4"

// Plan is a sweep expanded into its points.
type Plan struct {
	// Spec is the sweep the plan was made from.
	Spec Spec
	// Keys are the swept keys, in the order of the axes (the keys of a
	// zip in their order); SeedKeys are the keys the seed is set on.
	Keys, SeedKeys []string
	// Points are in a fixed order: the first axis outermost, the seeds
	// innermost. Points[k].Index is k.
	Points []Point

	// axis[i] is the index in Spec.Axes of Keys[i]: keys of one zip do
	// not vary independently, which the heat maps of Collect need.
	axis []int
}

// Point is one experiment of a sweep.
type Point struct {
	// Index is the point's position in the plan, from 0; shard k mod n
	// runs it (see Shard).
	Index int
	// ID is the first 16 hex digits of the SHA-256 of Version, a newline
	// and the JSON of Config: it names the point's directory, so results
	// are found again by what produced them, whatever the point's index
	// (a sweep can grow new values without retraining its old points).
	ID string
	// Values holds the point's value of each of Plan.Keys, as JSON.
	Values []json.RawMessage
	// Seed is the point's seed, as JSON; nil in a sweep without seeds.
	Seed json.RawMessage
	// Overrides are the point's own overrides, "key=value" (value in
	// JSON), applied after Spec.Set: the swept keys, then the seed keys.
	Overrides []string
	// Config is the resolved, validated configuration.
	Config experiment.Config
}

// maxInvalidShown is how many invalid points an error of Plan describes.
const maxInvalidShown = 3

// Plan expands s into its points and resolves and validates the
// configuration of every one, in parallel. Invalid points are reported
// (the first few, with their overrides and errors) in an error that wraps
// experiment.ErrInvalid, as are two points that resolve to the same
// configuration (values that differ only in form, such as 0.2 and 0.20).
func (s Spec) Plan() (Plan, error) {
	total, ok := s.count()
	if !ok {
		return Plan{}, fmt.Errorf("%w: sweep %s: more than the limit of %d points", experiment.ErrInvalid, s.Name, MaxPoints)
	}
	src, base, err := s.base()
	if err != nil {
		return Plan{}, err
	}
	p := Plan{Spec: s}
	for i, a := range s.Axes {
		if len(a.Zip) == 0 {
			p.Keys, p.axis = append(p.Keys, a.Key), append(p.axis, i)
		}
		for _, z := range a.Zip {
			p.Keys, p.axis = append(p.Keys, z.Key), append(p.axis, i)
		}
	}
	seeds := []json.RawMessage{nil}
	if s.Seeds != nil {
		p.SeedKeys, seeds = s.Seeds.Keys, s.Seeds.Values
	}
	p.Points = make([]Point, total)
	for k := range p.Points {
		pt := Point{Index: k}
		// Mixed radix, innermost first: the seed, then the axes from
		// the last to the first.
		r := k
		pt.Seed = seeds[r%len(seeds)]
		r /= len(seeds)
		vals := make([][]json.RawMessage, len(s.Axes))
		for i := len(s.Axes) - 1; i >= 0; i-- {
			a := s.Axes[i]
			j := r % a.len()
			r /= a.len()
			if len(a.Zip) == 0 {
				vals[i] = []json.RawMessage{a.Values[j]}
			}
			for _, z := range a.Zip {
				vals[i] = append(vals[i], z.Values[j])
			}
		}
		for _, v := range vals {
			pt.Values = append(pt.Values, v...)
		}
		for i, key := range p.Keys {
			pt.Overrides = append(pt.Overrides, key+"="+string(pt.Values[i]))
		}
		if pt.Seed != nil {
			for _, key := range p.SeedKeys {
				pt.Overrides = append(pt.Overrides, key+"="+string(pt.Seed))
			}
		}
		p.Points[k] = pt
	}
	errs := p.resolve(src, base)
	var bad []int
	for k, err := range errs {
		if err != nil {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "sweep %s: %d of %d points have an invalid configuration", s.Name, len(bad), total)
		if len(bad) > maxInvalidShown {
			fmt.Fprintf(&b, "; the first %d:", maxInvalidShown)
		}
		for _, k := range bad[:min(len(bad), maxInvalidShown)] {
			// The errors wrap ErrInvalid themselves; its prefix is noise
			// repeated for every point.
			msg := strings.TrimPrefix(errs[k].Error(), experiment.ErrInvalid.Error()+": ")
			fmt.Fprintf(&b, "\npoint %d (%s): %s", k, strings.Join(p.Points[k].Overrides, " "), strings.ReplaceAll(msg, "\n", "\n  "))
		}
		return Plan{}, fmt.Errorf("%w: %s", experiment.ErrInvalid, b.String())
	}
	first := make(map[string]int, total)
	for k, pt := range p.Points {
		if j, dup := first[pt.ID]; dup {
			return Plan{}, fmt.Errorf("%w: sweep %s: points %d (%s) and %d (%s) resolve to the same configuration; a sweep must not list a value twice",
				experiment.ErrInvalid, s.Name, j, strings.Join(p.Points[j].Overrides, " "), k, strings.Join(pt.Overrides, " "))
		}
		first[pt.ID] = k
	}
	return p, nil
}

// base returns the base configuration as JSON and the name that its
// errors give it.
func (s Spec) base() (string, []byte, error) {
	if s.Experiment != "" {
		c, err := experiment.Lookup(s.Experiment)
		if err != nil {
			return "", nil, fmt.Errorf("%w: sweep %s: experiment: %w", experiment.ErrInvalid, s.Name, err)
		}
		b, err := json.Marshal(c)
		return "experiment " + c.Name, b, err
	}
	path := s.Config
	if !filepath.IsAbs(path) {
		path = filepath.Join(s.dir, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", nil, fmt.Errorf("%w: sweep %s: config: %w", experiment.ErrInvalid, s.Name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSpecBytes+1))
	if err != nil {
		return "", nil, fmt.Errorf("%w: sweep %s: config: %w", experiment.ErrInvalid, s.Name, err)
	}
	if len(b) > maxSpecBytes {
		return "", nil, fmt.Errorf("%w: sweep %s: config: %s is larger than the limit of %d bytes", experiment.ErrInvalid, s.Name, path, maxSpecBytes)
	}
	return path, b, nil
}

// resolve sets the Config and ID of every point, on all cores, and
// returns the error of each point.
func (p *Plan) resolve(src string, base []byte) []error {
	errs := make([]error, len(p.Points))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), len(p.Points))) {
		wg.Go(func() {
			for k := range next {
				pt := &p.Points[k]
				sets := append(append([]string(nil), p.Spec.Set...), pt.Overrides...)
				c, err := experiment.ParseConfig(src, base, sets...)
				if err != nil {
					errs[k] = err
					continue
				}
				pt.Config = c
				pt.ID, errs[k] = ID(c)
			}
		})
	}
	for k := range p.Points {
		next <- k
	}
	close(next)
	wg.Wait()
	return errs
}

// ID returns the ID of a point of configuration c (see Point.ID).
func ID(c experiment.Config) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("hashing configuration %s: %w", c.Name, err)
	}
	h := sha256.New()
	io.WriteString(h, Version+"\n")
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Label describes pt in one line: its overrides, with the seed once
// rather than on every seed key.
func (p Plan) Label(pt Point) string {
	parts := pt.Overrides[:len(p.Keys)]
	if pt.Seed != nil {
		parts = append(append([]string(nil), parts...), "seed="+string(pt.Seed))
	}
	if len(parts) == 0 {
		return "(base configuration)"
	}
	return strings.Join(parts, " ")
}

// numericKeys returns the indices in p.Keys of the keys whose values are
// all numbers and take at least two distinct values, in order.
func (p Plan) numericKeys() []int {
	var out []int
	for i := range p.Keys {
		distinct := make(map[float64]bool)
		numeric := true
		for _, pt := range p.Points {
			var v float64
			if err := json.Unmarshal(pt.Values[i], &v); err != nil {
				numeric = false
				break
			}
			distinct[v] = true
		}
		if numeric && len(distinct) >= 2 {
			out = append(out, i)
		}
	}
	return out
}

// sortedFloats returns the distinct values of xs, increasing.
func sortedFloats(xs []float64) []float64 {
	seen := make(map[float64]bool)
	var out []float64
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Float64s(out)
	return out
}
