package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sgdlab/experiment"
)

// mustPlan parses the sweep file text (in testdata, so that "config"
// finds base.json) and plans it.
func mustPlan(t *testing.T, text string) Plan {
	t.Helper()
	s, err := Parse("testdata/test.json", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Plan()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const productSweep = `{
  "name": "product", "config": "base.json",
  "axes": [
    {"key": "runs[1].schedule.lr", "values": [0.15, 0.2]},
    {"zip": [{"key": "runs[1].schedule.decays[0].at", "values": [201, 1001, 1501]},
             {"key": "runs[1].label", "values": ["a", "b", "c"]}]}
  ],
  "seeds": {"keys": ["runs[0].optimizer.seed", "runs[1].optimizer.seed"], "values": [1, 2]}
}`

// TestPlanOrder checks the count (product × zip × seeds) and the order
// (first axis outermost, seeds innermost) of the points, and that each
// point's configuration has its values.
func TestPlanOrder(t *testing.T) {
	p := mustPlan(t, productSweep)
	if got, want := len(p.Points), 2*3*2; got != want {
		t.Fatalf("%d points, want %d", got, want)
	}
	if want := []string{"runs[1].schedule.lr", "runs[1].schedule.decays[0].at", "runs[1].label"}; fmt.Sprint(p.Keys) != fmt.Sprint(want) {
		t.Errorf("keys %v, want %v", p.Keys, want)
	}
	for _, tc := range []struct {
		k    int
		want string
	}{
		{0, `runs[1].schedule.lr=0.15 runs[1].schedule.decays[0].at=201 runs[1].label="a" seed=1`},
		{1, `runs[1].schedule.lr=0.15 runs[1].schedule.decays[0].at=201 runs[1].label="a" seed=2`},
		{2, `runs[1].schedule.lr=0.15 runs[1].schedule.decays[0].at=1001 runs[1].label="b" seed=1`},
		{5, `runs[1].schedule.lr=0.15 runs[1].schedule.decays[0].at=1501 runs[1].label="c" seed=2`},
		{6, `runs[1].schedule.lr=0.2 runs[1].schedule.decays[0].at=201 runs[1].label="a" seed=1`},
		{11, `runs[1].schedule.lr=0.2 runs[1].schedule.decays[0].at=1501 runs[1].label="c" seed=2`},
	} {
		pt := p.Points[tc.k]
		if pt.Index != tc.k {
			t.Errorf("point %d has index %d", tc.k, pt.Index)
		}
		if got := p.Label(pt); got != tc.want {
			t.Errorf("point %d: %s, want %s", tc.k, got, tc.want)
		}
	}
	// The values reach the configuration.
	c := p.Points[11].Config
	if c.Runs[1].Schedule.LR != 0.2 || c.Runs[1].Schedule.Decays[0].At != 1501 || c.Runs[1].Label != "c" ||
		c.Runs[0].Optimizer.Seed != 2 || c.Runs[1].Optimizer.Seed != 2 {
		t.Errorf("point 11 resolved to %+v", c.Runs)
	}
	if p.Points[11].Overrides[len(p.Points[11].Overrides)-1] != "runs[1].optimizer.seed=2" {
		t.Errorf("overrides %v do not end with the seed keys", p.Points[11].Overrides)
	}
}

// TestIDs checks that IDs are stable across plans, distinct whenever an
// override differs, and the documented hash of Version and the config.
func TestIDs(t *testing.T) {
	a, b := mustPlan(t, productSweep), mustPlan(t, productSweep)
	seen := make(map[string]int)
	for k := range a.Points {
		id := a.Points[k].ID
		if id != b.Points[k].ID {
			t.Errorf("point %d: ID %s, then %s", k, id, b.Points[k].ID)
		}
		if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) {
			t.Errorf("point %d: ID %q is not 16 hex digits", k, id)
		}
		if j, dup := seen[id]; dup {
			t.Errorf("points %d and %d share ID %s", j, k, id)
		}
		seen[id] = k
		js, _ := json.Marshal(a.Points[k].Config)
		sum := sha256.Sum256(append([]byte(Version+"\n"), js...))
		if want := hex.EncodeToString(sum[:])[:16]; id != want {
			t.Errorf("point %d: ID %s, want %s", k, id, want)
		}
	}
	// A fixed override changes every ID; the same point in another
	// sweep (a grown axis) keeps its ID.
	c := mustPlan(t, strings.Replace(productSweep, `"config": "base.json",`, `"config": "base.json", "set": ["data.seed=5"],`, 1))
	grown := mustPlan(t, strings.Replace(productSweep, `[0.15, 0.2]`, `[0.1, 0.15, 0.2]`, 1))
	for k := range a.Points {
		if c.Points[k].ID == a.Points[k].ID {
			t.Errorf("point %d: data.seed=5 kept ID %s", k, a.Points[k].ID)
		}
		if g := grown.Points[k+6]; g.ID != a.Points[k].ID {
			t.Errorf("point %d: ID %s in the grown sweep, %s before", k, g.ID, a.Points[k].ID)
		}
	}
}

// TestBuiltinBase plans a sweep over a built-in experiment.
func TestBuiltinBase(t *testing.T) {
	p := mustPlan(t, `{"name": "b", "experiment": "dln-sgd", "set": ["iterations=2001", "grid.t=2001",
	  "runs[1].schedule.decays[0].at=201", "runs[2].schedule.decays[0].at=601", "runs[3].schedule.decays[0].at=1001"],
	  "axes": [{"key": "runs[1].schedule.lr", "values": [0.2, 0.25, 0.3]}]}`)
	if len(p.Points) != 3 || p.Points[2].Config.Iterations != 2001 || p.Points[2].Config.Runs[1].Schedule.LR != 0.3 {
		t.Errorf("plan: %d points, last %+v", len(p.Points), p.Points[len(p.Points)-1].Config.Runs[1])
	}
}

// TestInvalidSweeps checks that every kind of bad sweep file is an error
// wrapping experiment.ErrInvalid that names the key.
func TestInvalidSweeps(t *testing.T) {
	big := make([]string, 400)
	for i := range big {
		big[i] = fmt.Sprint(i + 1)
	}
	list := "[" + strings.Join(big, ",") + "]"
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"syntax", "{\"name\": \"x\",\n \"axes\": [}", []string{"testdata/test.json:2:"}},
		{"empty", "", []string{"empty or truncated"}},
		{"not an object", `[1]`, []string{"(document): want an object"}},
		{"unknown key", `{"name": "x", "experiment": "dln-sgd", "axis": []}`, []string{`axis: unknown key (did you mean "axes"?)`, "allowed here: axes, config"}},
		{"unknown axis key", `{"name": "x", "experiment": "dln-sgd", "axes": [{"key": "iterations", "vals": [1]}]}`,
			[]string{`axes[0].vals: unknown key (did you mean "values"?)`, "axes[0].values: missing"}},
		{"unknown zip key", `{"name": "x", "experiment": "dln-sgd", "axes": [{"zip": [{"key": "a", "values": [1], "step": 2}]}]}`,
			[]string{"axes[0].zip[0].step: unknown key (allowed here: key, values)"}},
		{"bad name", `{"name": "../x", "experiment": "dln-sgd"}`, []string{`name: must be non-empty`, `got "../x"`}},
		{"no base", `{"name": "x"}`, []string{"experiment: missing", "dln-sgd"}},
		{"two bases", `{"name": "x", "experiment": "dln-sgd", "config": "base.json"}`, []string{`config: give either "experiment" or "config", not both`}},
		{"unknown experiment", `{"name": "x", "experiment": "dln-sdg"}`, []string{`experiment: unknown experiment "dln-sdg" (valid: `}},
		{"set not a list", `{"name": "x", "experiment": "dln-sgd", "set": "iterations=5"}`, []string{`set: want a list of strings, got string "iterations=5"`}},
		{"set without =", `{"name": "x", "experiment": "dln-sgd", "set": ["iterations"]}`, []string{`set[0]: want key.path=value`}},
		{"empty values", `{"name": "x", "experiment": "dln-sgd", "axes": [{"key": "iterations", "values": []}]}`, []string{"axes[0].values: empty"}},
		{"values not a list", `{"name": "x", "experiment": "dln-sgd", "axes": [{"key": "iterations", "values": 5}]}`, []string{"axes[0].values: want a list of values, got number 5"}},
		{"key with value", `{"name": "x", "experiment": "dln-sgd", "axes": [{"key": "iterations=5", "values": [1]}]}`, []string{`axes[0].key: "iterations=5" is not a key path`}},
		{"zip and key", `{"name": "x", "experiment": "dln-sgd", "axes": [{"key": "a", "values": [1], "zip": [{"key": "b", "values": [1]}]}]}`,
			[]string{`axes[0]: has both "zip" and "key"/"values"`}},
		{"unequal zip", `{"name": "x", "experiment": "dln-sgd", "axes": [{"zip": [{"key": "a", "values": [1, 2]}, {"key": "b", "values": [1, 2, 3]}]}]}`,
			[]string{"axes[0].zip[1].values: 3 values, but axes[0].zip[0].values has 2"}},
		{"key twice", `{"name": "x", "experiment": "dln-sgd", "axes": [{"key": "iterations", "values": [1]}, {"key": "iterations", "values": [2]}]}`,
			[]string{`axes[1].key: "iterations" is swept already at axes[0].key`}},
		{"seed key swept", `{"name": "x", "experiment": "dln-sgd", "axes": [{"key": "data.seed", "values": [1]}], "seeds": {"keys": ["data.seed"], "values": [1]}}`,
			[]string{`seeds.keys[0]: "data.seed" is swept already at axes[0].key`}},
		{"seeds without keys", `{"name": "x", "experiment": "dln-sgd", "seeds": {"values": [1, 2]}}`, []string{"seeds.keys: missing or empty"}},
		{"seeds without values", `{"name": "x", "experiment": "dln-sgd", "seeds": {"keys": ["data.seed"]}}`, []string{"seeds.values: missing"}},
		{"too many points", `{"name": "x", "experiment": "dln-sgd", "axes": [{"key": "a", "values": ` + list + `}, {"key": "b", "values": ` + list + `}]}`,
			[]string{"axes: the sweep has more than the limit of 100000 points"}},
		{"several at once", `{"name": "", "experiment": "dln-sgd", "axes": [{"key": "", "values": []}]}`, []string{"name: must be", "axes[0].key: must not be empty", "axes[0].values: empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("testdata/test.json", []byte(tc.text))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, experiment.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestInvalidPoints checks the errors of Plan: points whose configuration
// is invalid (the first few, with their overrides), points that resolve
// to one configuration, and a missing base file.
func TestInvalidPoints(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"bad value", `{"name": "x", "config": "base.json", "axes": [{"key": "runs[0].schedule.lr", "values": [0.1, -0.1]}]}`,
			[]string{"sweep x: 1 of 2 points have an invalid configuration", "point 1 (runs[0].schedule.lr=-0.1)", "runs[0].schedule: schedule constant: lr must be > 0"}},
		{"unknown config key", `{"name": "x", "config": "base.json", "axes": [{"key": "runs[0].schedule.rate", "values": [0.1, 0.2, 0.3, 0.4, 0.5]}]}`,
			[]string{"5 of 5 points", "the first 3:", "point 0 (runs[0].schedule.rate=0.1)", "point 2", "runs[0].schedule.rate: unknown key"}},
		{"bad fixed set", `{"name": "x", "config": "base.json", "set": ["iteratons=5"], "axes": [{"key": "data.seed", "values": [1]}]}`,
			[]string{`iteratons: unknown key (did you mean "iterations"?)`}},
		{"decay past the end", `{"name": "x", "config": "base.json", "axes": [{"key": "iterations", "values": [2001, 501]}]}`,
			[]string{"point 1 (iterations=501)", "runs[1].schedule: a step-size change at update 1001 comes after the last update"}},
		{"same configuration", `{"name": "x", "config": "base.json", "axes": [{"key": "runs[0].schedule.lr", "values": [0.2, 0.20]}]}`,
			[]string{"points 0 (runs[0].schedule.lr=0.2) and 1 (runs[0].schedule.lr=0.20) resolve to the same configuration"}},
		{"missing base", `{"name": "x", "config": "nonexistent.json"}`, []string{"sweep x: config:", filepath.Join("testdata", "nonexistent.json")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("testdata/test.json", []byte(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Plan()
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, experiment.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestLoadExample loads the example sweep of testdata, with its base
// found relative to the sweep file from another directory.
func TestLoadExample(t *testing.T) {
	abs, err := filepath.Abs("testdata/lr-decay.json")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	s, err := Load(abs)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Plan()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Points) != 3*2*2*3 {
		t.Errorf("%d points, want 36", len(p.Points))
	}
	if _, err := Load("nonexistent.json"); !errors.Is(err, experiment.ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v", err)
	}
}
