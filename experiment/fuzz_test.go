package experiment

// Fuzz tests of the loaders of user-supplied JSON: configurations
// (ParseConfig, behind LoadConfig and -set) and checkpoints
// (parseCheckpoint, behind LoadCheckpoint). Whatever the bytes, loading
// must not panic, must return promptly, must classify every refusal as
// the user's (ErrInvalid) with a readable message, must write no file, and
// whatever it accepts must be safe to act on: valid, stable through JSON,
// and naming only plain files inside the result directory.
//
// CI runs each target for a few seconds (.ci/run); plain `go test` runs
// the seeds below and any inputs saved under testdata/fuzz/.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sgdlab/data"
	"sgdlab/graph"
	"sgdlab/metric"
	"sgdlab/models"
	"sgdlab/train"
)

// A load is given baseTime plus paramTime for every parameter of the
// model it builds, to return. Validating a configuration builds its model,
// which takes some 75 ns a parameter under the fuzzer's instrumentation
// (4.8 s for a DLN of models.MaxParams parameters, 5.3 s for an MLP of as
// many, on 2 cores); the rest takes well under a millisecond for the
// inputs a fuzzer writes. baseTime is small enough for a hang to be
// reported within the 5 s of a CI fuzz run (the fuzzer stops at -fuzztime
// without waiting for an input that has not returned), and the largest
// model gets 8.7 s, below the 10 s after which the Go fuzzer kills a worker
// without saying where it was.
const (
	baseTime  = 2 * time.Second
	paramTime = 100 * time.Nanosecond
)

// timeLimit returns the time a load of c may take: baseTime, and
// paramTime for each parameter its model would have, which it reads off
// the spec of the model kinds this module registers (and assumes
// models.MaxParams for others). c need not be valid.
func timeLimit(c Config) time.Duration {
	n := 0
	if s := c.Model.Spec; s != nil && s.Validate() == nil {
		switch s := s.(type) {
		case *models.DLNSpec:
			n = 2 * s.D
		case *models.TwoLayerSpec:
			n = (s.D + 1) * s.M
		case *models.MLPSpec:
			for i := 1; i < len(s.Sizes); i++ {
				n += (s.Sizes[i-1] + 1) * s.Sizes[i]
			}
		default:
			n = models.MaxParams
		}
	}
	return baseTime + time.Duration(n)*paramTime
}

// slowLoad is the time after which the fuzz bodies skip repeating a
// validation on what a loader accepted, so that one input stays within the
// fuzzer's 10 s (the repeats only re-check a deterministic function).
const slowLoad = time.Second

// errSlack and errPerByte bound the error message of an input the
// fuzzer writes (at most some KiB): the loaders report every problem at
// once, one line each, naming its key and shortening values to 40 bytes,
// so a message grows with the input — the densest found is some 45 bytes
// of message per byte of input (a list of distinct short unknown metrics,
// each answered with the list of the known ones). A longer message repeats the input
// or grows faster than it. For inputs of the size LoadConfig accepts, see
// TestHugeInputs.
const (
	errSlack   = 64 << 10
	errPerByte = 64
)

// call runs load in a goroutine and fails t if it panics (with its stack)
// or does not return within limit (with every goroutine's stack, to show
// where it loops); it returns the time load took. A goroutine that hangs
// is left behind: the test has failed anyway.
func call(t *testing.T, what string, limit time.Duration, load func()) time.Duration {
	t.Helper()
	start := time.Now()
	done := make(chan string, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Sprintf("%v\n%s", r, debugStack(false))
				return
			}
			done <- ""
		}()
		load()
	}()
	select {
	case p := <-done:
		if p != "" {
			t.Fatalf("%s panicked: %s", what, p)
		}
	case <-time.After(limit):
		t.Fatalf("%s did not return within %v; goroutines:\n%s", what, limit.Round(time.Millisecond), debugStack(true))
	}
	return time.Since(start)
}

func debugStack(all bool) []byte {
	buf := make([]byte, 1<<16)
	return buf[:runtime.Stack(buf, all)]
}

// checkRefusal checks an error of a loader given in bytes of input: it
// must be the user's (ErrInvalid), say something, and be bounded.
func checkRefusal(t *testing.T, err error, in int) {
	t.Helper()
	msg := err.Error()
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error does not wrap ErrInvalid (a bad input must be reported as the user's): %.2000s", msg)
	}
	if strings.TrimSpace(msg) == "" {
		t.Error("empty error message")
	}
	if limit := errSlack + errPerByte*in; len(msg) > limit {
		t.Errorf("error message of %d bytes for %d bytes of input (limit %d): %.2000s…", len(msg), in, limit, msg)
	}
}

// checkFileName checks a name that the results give to a file or a
// directory (what): it must be one local path element on this system,
// so that joining it to the output directory stays inside. strict adds
// the documented rule of experiment, run and figure names, which also
// keeps them free of `\`, a separator on Windows.
func checkFileName(t *testing.T, what, name string, strict bool) {
	t.Helper()
	if !filepath.IsLocal(name) || filepath.Base(name) != name || name == "." || name == ".." ||
		strings.ContainsRune(name, '/') || strings.ContainsRune(name, filepath.Separator) {
		t.Errorf("%s %q accepted: not a plain file name inside the output directory", what, name)
	}
	if strict && strings.ContainsRune(name, '\\') {
		t.Errorf("%s %q accepted: contains a Windows path separator", what, name)
	}
}

// checkAcceptedConfig checks a configuration that a loader accepted. With
// full it also validates c again, and loads its JSON with ParseConfig
// rather than only decoding it: each builds the model once more.
func checkAcceptedConfig(t *testing.T, c Config, full bool) {
	t.Helper()
	if full {
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted configuration does not validate: %v", err)
		}
	}
	checkFileName(t, "experiment name", c.Name, true)
	for i, r := range c.Runs {
		checkFileName(t, fmt.Sprintf("runs[%d].name", i), r.Name, true)
	}
	for i, f := range c.Figures {
		checkFileName(t, fmt.Sprintf("figures[%d].file", i), f.File, true)
	}
	if s := c.Surface; s != nil {
		checkFileName(t, "surface.train_file", s.TrainFile, false)
		checkFileName(t, "surface.test_file", s.TestFile, false)
	}
	// What is accepted must survive JSON: Run writes config.json and
	// checkpoints from it, and -print-config promises a file that loads
	// back to the same experiment.
	b1, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("accepted configuration does not marshal: %v", err)
	}
	var c2 Config
	if full {
		c2, err = ParseConfig("round-trip.json", b1)
	} else {
		err = decodeStrict("round-trip.json", b1, nil, &c2)
	}
	if err != nil {
		t.Fatalf("accepted configuration, marshalled, is refused: %v\n%.4000s", err, b1)
	}
	b2, err := json.Marshal(c2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("configuration changes through JSON:\n%.4000s\n%.4000s", b1, b2)
	}
}

// inEmptyDir makes the working directory of the test process, until t
// ends, the empty directory dir, so that a load that writes a file by a
// relative name is seen (by checkCwdEmpty). It is not done once for the
// whole fuzz target because f.Fuzz reads and writes the corpus under
// testdata/ relative to the working directory.
func inEmptyDir(t *testing.T, dir string) { t.Chdir(dir) }

// checkCwdEmpty fails t if anything appeared in the working directory,
// and clears it for the next input.
func checkCwdEmpty(t *testing.T) {
	t.Helper()
	es, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		t.Errorf("loading wrote %q", e.Name())
		os.RemoveAll(e.Name())
	}
}

// patchJSON decodes the object b, lets edit change it and encodes it
// again. Numbers stay as written (json.Number), so edit can put in
// literals such as 1e300 that no Go number marshals to.
func patchJSON(tb testing.TB, b []byte, edit func(m map[string]any)) []byte {
	tb.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		tb.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// sorted returns the values of m in the order of their keys, so that
// seeds keep their numbers (seed#N in failures) from run to run.
func sorted(m map[string][]byte) [][]byte {
	var out [][]byte
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

func obj(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }

func num(s string) json.Number { return json.Number(s) }

// hostileConfigs returns configurations made to break a loader, each a
// variation of the valid base.
func hostileConfigs(tb testing.TB, base []byte) map[string][]byte {
	set := func(edit func(m map[string]any)) []byte { return patchJSON(tb, base, edit) }
	out := map[string][]byte{
		// Sizes that would take the memory of the machine, or overflow int.
		"huge n_test":      set(func(m map[string]any) { obj(m, "data")["n_test"] = num("1e8") }),
		"huge n":           set(func(m map[string]any) { obj(m, "data")["n"] = num("134217728") }),
		"huge grid t":      set(func(m map[string]any) { obj(m, "grid")["t"] = num("1e15") }),
		"huge linspace":    set(func(m map[string]any) { obj(m, "grid")["linspace"] = num("1e9") }),
		"huge iterations":  set(func(m map[string]any) { m["iterations"] = num("1e300") }),
		"maxint d":         set(func(m map[string]any) { obj(m, "data")["d"] = num("9223372036854775807") }),
		"maxint model d":   set(func(m map[string]any) { obj(m, "model")["d"] = num("9223372036854775807") }),
		"2^63 model d":     set(func(m map[string]any) { obj(m, "model")["d"] = num("9223372036854775808") }),
		"negative d":       set(func(m map[string]any) { obj(m, "data")["d"] = num("-200") }),
		"negative n_test":  set(func(m map[string]any) { obj(m, "data")["n_test"] = num("-1") }),
		"-1e400 iteration": set(func(m map[string]any) { m["iterations"] = num("-1e400") }),
		"-1e400 float":     set(func(m map[string]any) { obj(m, "model")["alpha"] = num("-1e400") }),
		"1e400 float":      set(func(m map[string]any) { m["diverge_above"] = num("1e400") }),
		"fractional":       set(func(m map[string]any) { m["iterations"] = num("100.5") }),
		"huge seed":        set(func(m map[string]any) { obj(m, "data")["seed"] = num("4294967296") }),
		"huge rank": set(func(m map[string]any) {
			m["rank"] = map[string]any{"examples": num("1e9"), "threshold": 1e-15, "every": 1}
		}),
		"huge sharpness": set(func(m map[string]any) {
			m["sharpness"] = map[string]any{"every": 1, "steps": num("1e12")}
		}),
		"huge surface": set(func(m map[string]any) {
			m["surface"] = map[string]any{"flow": "baseline", "alpha": map[string]any{"min": 0, "max": 1, "n": num("1e9")},
				"beta": map[string]any{"min": 0, "max": 1, "n": num("1e9")}, "clip": 1, "train_file": "a.png", "test_file": "b.png"}
		}),
		"huge retry": set(func(m map[string]any) {
			m["runs"].([]any)[0].(map[string]any)["retry"] = map[string]any{"step": 1e-300, "max": num("1e18")}
		}),
		"many decays": set(func(m map[string]any) {
			ds := make([]any, 10000)
			for i := range ds {
				ds[i] = map[string]any{"at": i, "factor": 1.5}
			}
			m["runs"].([]any)[0].(map[string]any)["schedule"] = map[string]any{"kind": "piecewise", "lr": 0.1, "decays": ds}
		}),
		"mlp of maxint width": set(func(m map[string]any) {
			m["model"] = map[string]any{"kind": "mlp", "sizes": []any{200, num("9223372036854775807"), 1}, "init": "he"}
		}),
		"mlp of overflowing widths": set(func(m map[string]any) {
			m["model"] = map[string]any{"kind": "mlp", "sizes": []any{200, num("67108864"), num("67108864"), 1}, "init": "he"}
		}),
		"two_layer overflowing": set(func(m map[string]any) {
			m["model"] = map[string]any{"kind": "two_layer", "d": num("67108864"), "m": num("67108864"), "scale": 1}
		}),
		// Names that would escape the result directory.
		"name ../x":       set(func(m map[string]any) { m["name"] = "../x" }),
		"name /etc":       set(func(m map[string]any) { m["name"] = "/etc" }),
		"run ../../x":     set(func(m map[string]any) { m["runs"].([]any)[0].(map[string]any)["name"] = "../../x" }),
		"figure ../x.png": set(func(m map[string]any) { m["figures"].([]any)[0].(map[string]any)["file"] = "../x.png" }),
		// Keys and types the configuration does not have.
		"unknown key":   set(func(m map[string]any) { m["iteratoins"] = 5 }),
		"unknown kind":  set(func(m map[string]any) { obj(m, "model")["kind"] = "transformer" }),
		"kind missing":  set(func(m map[string]any) { delete(obj(m, "data"), "kind") }),
		"kind a number": set(func(m map[string]any) { obj(m, "data")["kind"] = 7 }),
		"wrong types": set(func(m map[string]any) {
			m["iterations"], m["runs"], m["name"], m["grid"] = "5", map[string]any{}, 7, []any{}
		}),
		"nulls": set(func(m map[string]any) { m["data"], m["runs"], m["grid"] = nil, nil, nil }),
		"NaN as a string": set(func(m map[string]any) {
			obj(m, "model")["alpha"], m["diverge_above"] = "NaN", "+Inf"
		}),
		"1 MB key": set(func(m map[string]any) { m[strings.Repeat("k", 1<<20)] = 1 }),
	}
	// Bytes that are not one JSON document.
	out["empty"] = nil
	out["space"] = []byte(" \n\t")
	out["null"] = []byte("null")
	out["a list"] = []byte("[]")
	out["a number"] = []byte("1e400")
	out["truncated"] = base[:len(base)/2]
	out["truncated in a string"] = base[:bytes.Index(base, []byte(`"dln`))+3]
	out["trailing data"] = append(bytes.Clone(base), []byte(` {"name": "x"}`)...)
	out["NaN token"] = bytes.Replace(base, []byte(`"alpha":0.1`), []byte(`"alpha":NaN`), 1)
	out["Infinity token"] = bytes.Replace(base, []byte(`"alpha":0.1`), []byte(`"alpha":-Infinity`), 1)
	out["deep lists"] = []byte(strings.Repeat("[", 10000) + strings.Repeat("]", 10000))
	out["too deep lists"] = []byte(strings.Repeat("[", 10001) + strings.Repeat("]", 10001))
	out["unclosed lists"] = []byte(strings.Repeat("[", 100000))
	out["deep objects"] = []byte(strings.Repeat(`{"name":`, 5000) + "1" + strings.Repeat("}", 5000))
	out["deep runs"] = bytes.Replace(base, []byte(`"runs":[`), []byte(`"runs":[`+strings.Repeat("[", 9000)), 1)
	out["duplicate keys"] = bytes.Replace(base, []byte(`{"name":`), []byte(`{"name":"../../x","name":`), 1)
	out["invalid UTF-8"] = bytes.Replace(base, []byte(`"description":"`), []byte("\"description\":\"\xff\xfe"), 1)
	out["BOM"] = append([]byte("\xef\xbb\xbf"), base...)
	return out
}

// variantConfigs returns valid configurations beyond the paper's, so that
// the fuzzers start from every model kind (float32 ones among them),
// schedule kind and grid kind.
func variantConfigs() []Config {
	base := func() Config {
		c := dlnSGD().Quick()
		c.Runs = append([]RunSpec(nil), c.Runs[:2]...)
		c.Runs[1].Retry = nil // it needs the piecewise lr
		return c
	}
	// generic keeps the metrics that every model offers.
	generic := func(c Config, m ModelSpec, loss graph.Loss) Config {
		c.Model, c.Loss = m, loss
		c.Metrics = []string{"train_loss", "test_loss", "l2_uv"}
		c.Rank, c.Sharpness = metric.RankOptions{}, metric.SharpnessOptions{}
		c.Figures = []FigureSpec{{File: "losses.png", Panels: []PanelSpec{
			{Metric: "train_loss", Title: "train", LogY: true}, {Metric: "test_loss", Title: "test", YMax: 10}}}}
		return c
	}
	var out []Config
	out = append(out,
		generic(base(), Model("mlp", &models.MLPSpec{Sizes: []int{200, 8, 1}, Bias: true, Init: "uniform", Seed: 3}), graph.MSE),
		generic(base(), Model("mlp", &models.MLPSpec{Sizes: []int{200, 4, 3, 1}, Dtype: "float32", Init: "he"}), graph.HalfMSE),
		generic(base(), Model("two_layer", &models.TwoLayerSpec{D: 200, M: 6, Scale: 0.5, Dtype: "float32", Seed: 1}), graph.HalfMSE))
	c := base()
	c.Model = Model("dln", &models.DLNSpec{D: 200, Alpha: 0.3, Init: "random", Seed: 9})
	c.DivergeAbove, c.Runs[0].Palette = 1e6, "reds"
	c.Description = "ünïcødé \u2028 \"quoted\" <&>"
	out = append(out, c)
	c = base()
	c.Runs[0].Schedule = train.ScheduleSpec{Kind: "warmup", LR: 0.01, Total: 10001, Until: 500, Factor: 5, Exponent: 0.5, Decay: 2}
	c.Runs[1].Schedule = train.ScheduleSpec{Kind: "deep_piecewise", LR: 0.01, P: 0.3, WarmupExp: 2, Epochs: 10, StepsPerEpoch: 100}
	out = append(out, c)
	c = base()
	c.Runs[0].Schedule = train.ScheduleSpec{Kind: "cosine", LR: 0.1, Total: 10001}
	c.Runs[1].Schedule = train.ScheduleSpec{Kind: "sequence", Starts: []int{0, 5000},
		Parts: []train.ScheduleSpec{{Kind: "constant", LR: 0.2}, {Kind: "deep_piecewise", LR: 0.1, P: 0.5, WarmupExp: 0.5, Epochs: 5, StepsPerEpoch: 1000}}}
	out = append(out, c)
	c = base()
	c.Grid = train.Grid{Kind: "every", T: c.Iterations + 1, Every: 1000}
	out = append(out, c)
	c = base()
	c.Grid = train.Grid{Kind: "log", T: c.Iterations, First: 10, Points: 20, After: true}
	out = append(out, c)
	return out
}

// maxSeed bounds the hostile seeds given to the fuzzers: the fuzzer
// mutates a seed many times in a row, and a seed that takes 0.1 s (the
// 1 MB key) stalls a worker for seconds. The larger hostile documents go
// through the same checks in TestLargeHostileInputs.
const maxSeed = 64 << 10

// TestLargeHostileInputs runs the checks of the fuzz targets on the
// hostile documents too large to be fuzz seeds.
func TestLargeHostileInputs(t *testing.T) {
	dir := t.TempDir()
	for name, b := range hostileConfigs(t, mustMarshal(t, dlnSGD().Quick())) {
		if len(b) > maxSeed {
			t.Run("config/"+name, func(t *testing.T) {
				inEmptyDir(t, dir)
				loadConfigOnce(t, b, "")
			})
		}
	}
	for name, b := range hostileCheckpoints(t, quickCheckpoints(t)[0]) {
		if len(b) > maxSeed {
			t.Run("checkpoint/"+name, func(t *testing.T) {
				inEmptyDir(t, dir)
				loadCheckpointOnce(t, b)
			})
		}
	}
}

// FuzzParseConfig loads arbitrary bytes, with one arbitrary -set, as a
// configuration.
func FuzzParseConfig(f *testing.F) {
	for _, c := range All() {
		for _, c := range []Config{c, c.Quick()} {
			b, err := json.MarshalIndent(c, "", "  ")
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, "")
		}
		// And with overrides, valid and not.
		b, _ := json.Marshal(c.Quick())
		for _, set := range []string{"iterations=5", "runs[0].name=../x", "data.n=1e9", "grid.t=-1",
			"model.d=NaN", "runs.99.name=x", "a.b.c.d=1", "=", "iterations", "runs[].name=x", "description=\xff"} {
			f.Add(b, set)
		}
	}
	// The variants must load, or they would seed the fuzzer with refusals
	// only.
	for _, c := range variantConfigs() {
		b := mustMarshal(f, c)
		if _, err := ParseConfig("variant.json", b); err != nil {
			f.Fatalf("variant seed refused: %v", err)
		}
		f.Add(b, "")
	}
	for _, b := range sorted(hostileConfigs(f, mustMarshal(f, dlnSGD().Quick()))) {
		if len(b) <= maxSeed {
			f.Add(b, "")
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte, set string) {
		inEmptyDir(t, dir)
		loadConfigOnce(t, b, set)
	})
}

// loadConfigOnce is the body of FuzzParseConfig.
func loadConfigOnce(t *testing.T, b []byte, set string) {
	var sets []string
	if set != "" {
		sets = []string{set}
	}
	// Decoding alone builds no model: it gets baseTime, and tells what
	// the whole load may take.
	var c Config
	var err error
	call(t, "decodeStrict", baseTime, func() { err = decodeStrict("fuzz.json", b, sets, &c) })
	limit := timeLimit(c)
	took := call(t, "ParseConfig", limit, func() { c, err = ParseConfig("fuzz.json", b, sets...) })
	checkCwdEmpty(t)
	if err != nil {
		checkRefusal(t, err, len(b)+len(set))
		return
	}
	// A configuration is one JSON document: bytes after it, or a byte
	// order mark before it, mean a damaged or concatenated file.
	if !json.Valid(b) {
		t.Errorf("accepted bytes that are not one JSON document")
	}
	checkAcceptedConfig(t, c, took < slowLoad)
}

// quickCheckpoints returns valid checkpoints of every registered
// experiment, shrunk by Quick, and of the variants: each run at its start
// and at its end.
func quickCheckpoints(tb testing.TB) []Checkpoint {
	var cps []Checkpoint
	var cs []Config
	for _, c := range All() {
		cs = append(cs, c.Quick())
	}
	for _, c := range append(cs, variantConfigs()...) {
		m, err := c.Model.Spec.New()
		if err != nil {
			tb.Fatal(err)
		}
		for _, r := range c.Runs {
			cps = append(cps, newCheckpoint(c, r.Name, 0, m), newCheckpoint(c, r.Name, c.Iterations, m))
		}
	}
	return cps
}

func marshalCheckpoint(tb testing.TB, cp Checkpoint) []byte {
	tb.Helper()
	b, err := json.Marshal(cp)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// hostileCheckpoints returns checkpoints made to break the loader, each a
// variation of the valid cp.
func hostileCheckpoints(tb testing.TB, cp Checkpoint) map[string][]byte {
	base := marshalCheckpoint(tb, cp)
	with := func(edit func(cp *Checkpoint)) []byte {
		c := cp
		c.Params = append([]ParamValue(nil), cp.Params...)
		edit(&c)
		return marshalCheckpoint(tb, c)
	}
	set := func(edit func(m map[string]any)) []byte { return patchJSON(tb, base, edit) }
	param := func(m map[string]any, i int) map[string]any { return m["params"].([]any)[i].(map[string]any) }
	out := map[string][]byte{
		"run ../../x":      with(func(cp *Checkpoint) { cp.Run = "../../x" }),
		"run a/b":          with(func(cp *Checkpoint) { cp.Run = "a/b" }),
		`run a\b`:          with(func(cp *Checkpoint) { cp.Run = `a\b` }),
		"run empty":        with(func(cp *Checkpoint) { cp.Run = "" }),
		"run .":            with(func(cp *Checkpoint) { cp.Run = "." }),
		"run ..":           with(func(cp *Checkpoint) { cp.Run = ".." }),
		"run not a run":    with(func(cp *Checkpoint) { cp.Run = "nosuchrun" }),
		"experiment ../x":  with(func(cp *Checkpoint) { cp.Experiment = "../x" }),
		"both names ../x":  with(func(cp *Checkpoint) { cp.Experiment, cp.Config.Name = "../x", "../x" }),
		"iteration -1":     with(func(cp *Checkpoint) { cp.Iteration = -1 }),
		"iteration maxint": with(func(cp *Checkpoint) { cp.Iteration = math.MaxInt }),
		"no params":        with(func(cp *Checkpoint) { cp.Params = nil }),
		"extra param":      with(func(cp *Checkpoint) { cp.Params = append(cp.Params, cp.Params[0]) }),
		"params swapped":   with(func(cp *Checkpoint) { cp.Params[0], cp.Params[1] = cp.Params[1], cp.Params[0] }),
		"short values": with(func(cp *Checkpoint) {
			p := cp.Params[0]
			p.Values = p.Values[:len(p.Values)-1]
			cp.Params[0] = p
		}),
		"long values": with(func(cp *Checkpoint) {
			p := cp.Params[0]
			p.Values = append(append([]float64(nil), p.Values...), 1)
			cp.Params[0] = p
		}),
		"shape negative": with(func(cp *Checkpoint) {
			p := cp.Params[0]
			p.Shape = []int{-1, -len(p.Values)}
			cp.Params[0] = p
		}),
		"config absurd sizes": with(func(cp *Checkpoint) {
			cp.Config.Iterations = math.MaxInt
			cp.Config.Grid.T = math.MaxInt
		}),
		"shape 1e12": set(func(m map[string]any) { param(m, 0)["shape"] = []any{num("1e12")} }),
		"shape 2^63": set(func(m map[string]any) { param(m, 0)["shape"] = []any{num("9223372036854775808")} }),
		"value 1e400": set(func(m map[string]any) {
			param(m, 0)["values"].([]any)[0] = num("1e400")
		}),
		"iteration 1e18 literal":   set(func(m map[string]any) { m["iteration"] = num("1e18") }),
		"iteration 10^18":          set(func(m map[string]any) { m["iteration"] = num("1000000000000000000") }),
		"shape 10^12":              set(func(m map[string]any) { param(m, 0)["shape"] = []any{num("1000000000000")} }),
		"iteration fractional":     set(func(m map[string]any) { m["iteration"] = num("0.5") }),
		"config absurd n_test":     set(func(m map[string]any) { obj(obj(m, "config"), "data")["n_test"] = num("1e8") }),
		"config absurd iterations": set(func(m map[string]any) { obj(m, "config")["iterations"] = num("1e300") }),
		"config huge model": set(func(m map[string]any) {
			obj(obj(m, "config"), "model")["d"] = num("9223372036854775807")
		}),
		"config unknown key": set(func(m map[string]any) { obj(m, "config")["iteratoins"] = 1 }),
		"config null":        set(func(m map[string]any) { m["config"] = nil }),
		"config missing":     set(func(m map[string]any) { delete(m, "config") }),
		"config a string":    set(func(m map[string]any) { m["config"] = "{}" }),
		"unknown key":        set(func(m map[string]any) { m["runs"] = 1 }),
		"params null":        set(func(m map[string]any) { m["params"] = nil }),
		"values null":        set(func(m map[string]any) { param(m, 0)["values"] = nil }),
		"deep params": set(func(m map[string]any) {
			param(m, 0)["values"] = json.RawMessage(strings.Repeat("[", 9000) + strings.Repeat("]", 9000))
		}),
	}
	out["empty"] = nil
	out["null"] = []byte("null")
	out["a list"] = []byte("[]")
	out["truncated"] = base[:len(base)/2]
	out["truncated at the end"] = base[:len(base)-1]
	// Bytes after the checkpoint: testdata/fuzz/FuzzParseCheckpoint/trailing-data.
	out["duplicate run"] = bytes.Replace(base, []byte(`"run":`), []byte(`"run":"../../x","run":`), 1)
	out["NaN value"] = bytes.Replace(base, []byte(`"values":[`), []byte(`"values":[NaN,`), 1)
	out["deep lists"] = []byte(strings.Repeat("[", 10001))
	return out
}

// FuzzParseCheckpoint loads arbitrary bytes as a checkpoint.
func FuzzParseCheckpoint(f *testing.F) {
	cps := quickCheckpoints(f)
	for _, cp := range cps {
		b := marshalCheckpoint(f, cp)
		if _, err := parseCheckpoint("seed.json", b); err != nil {
			f.Fatalf("valid seed refused: %v", err)
		}
		f.Add(b)
	}
	for _, b := range sorted(hostileCheckpoints(f, cps[0])) {
		if len(b) <= maxSeed {
			f.Add(b)
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		inEmptyDir(t, dir)
		loadCheckpointOnce(t, b)
	})
}

// loadCheckpointOnce is the body of FuzzParseCheckpoint.
func loadCheckpointOnce(t *testing.T, b []byte) {
	// As for a configuration: what may the load of the checkpoint's
	// configuration take?
	var cfg struct{ Config json.RawMessage }
	var c Config
	call(t, "decodeStrict", baseTime, func() {
		if json.Unmarshal(b, &cfg) == nil && cfg.Config != nil {
			decodeStrict("fuzz.json", cfg.Config, nil, &c)
		}
	})
	limit := timeLimit(c)
	var cp Checkpoint
	var err error
	took := call(t, "parseCheckpoint", limit, func() { cp, err = parseCheckpoint("fuzz.json", b) })
	checkCwdEmpty(t)
	if err != nil {
		checkRefusal(t, err, len(b))
		return
	}
	// The names of an accepted checkpoint are the plain names of its
	// experiment and run: tools write beside it by them
	// (hessian/RUN.json, RUN-density.png, RUN-slices.png).
	checkFileName(t, "run", cp.Run, true)
	checkFileName(t, "experiment", cp.Experiment, true)
	if cp.Experiment != cp.Config.Name {
		t.Errorf("experiment %q accepted with a config named %q", cp.Experiment, cp.Config.Name)
	}
	if cp.Iteration < 0 || cp.Iteration > cp.Config.Iterations {
		t.Errorf("iteration %d accepted, config.iterations = %d", cp.Iteration, cp.Config.Iterations)
	}
	// A checkpoint is one JSON document, as a configuration is: bytes
	// after it mean a damaged or concatenated file.
	if !json.Valid(b) {
		t.Errorf("accepted bytes that are not one JSON document")
	}
	checkAcceptedConfig(t, cp.Config, took < slowLoad)
	var m graph.Model
	call(t, "Checkpoint.Model", limit, func() { m, err = cp.Model() })
	if err != nil {
		t.Fatalf("accepted checkpoint gives no model: %v", err)
	}
	ps := m.Params()
	for i, p := range ps {
		got := make([]float64, p.Len())
		p.Get(got)
		for j, v := range cp.Params[i].Values {
			if p.Dtype() == graph.Float32 {
				v = float64(float32(v))
			}
			if math.Float64bits(got[j]) != math.Float64bits(v) {
				t.Fatalf("params[%d] (%s)[%d]: the model holds %v, the checkpoint %v", i, p.Name(), j, got[j], cp.Params[i].Values[j])
			}
		}
	}
}

// badNames would, as the name of a file or directory of the results,
// point outside the result directory, at it, or nowhere.
var badNames = []string{"../../x", "a/b", `a\b`, "..", ".", "", "x/../../y", "/abs", "a\x00b"}

// TestCheckpointRunNameRefused checks that a checkpoint whose run is not
// a plain name is refused, naming the run; tools derive file names from
// it.
func TestCheckpointRunNameRefused(t *testing.T) {
	cp := quickCheckpoints(t)[0]
	// The valid checkpoint loads: the refusals below are the name's.
	if _, err := parseCheckpoint("ok.json", marshalCheckpoint(t, cp)); err != nil {
		t.Fatalf("valid checkpoint: %v", err)
	}
	for _, name := range append(badNames, "nosuchrun") {
		t.Run(strconv.Quote(name), func(t *testing.T) {
			bad := cp
			bad.Run = name
			_, err := parseCheckpoint("bad.json", marshalCheckpoint(t, bad))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			if want := "run: " + strconv.Quote(name); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %s", err, want)
			}
		})
	}
}

// TestCheckpointExperimentNameRefused checks the same for the experiment
// of a checkpoint, with its config renamed alike so that only the name's
// validity is at stake.
func TestCheckpointExperimentNameRefused(t *testing.T) {
	cp := quickCheckpoints(t)[0]
	for _, name := range badNames {
		t.Run(strconv.Quote(name), func(t *testing.T) {
			bad := cp
			bad.Experiment, bad.Config.Name = name, name
			_, err := parseCheckpoint("bad.json", marshalCheckpoint(t, bad))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "name: must be non-empty") {
				t.Errorf("error %q: want ErrInvalid and the config's name refused", err)
			}
		})
	}
}

// TestConfigNameRefused checks that ParseConfig refuses every name that
// names a file or directory of the results — the experiment (the result
// directory), a run (its checkpoint) and a figure — unless it is a plain
// name, and names the key.
func TestConfigNameRefused(t *testing.T) {
	c := dlnSGD().Quick()
	if _, err := ParseConfig("ok.json", mustMarshal(t, c)); err != nil {
		t.Fatalf("valid configuration: %v", err)
	}
	fields := []struct {
		key string
		set func(c *Config, name string)
	}{
		{"name", func(c *Config, name string) { c.Name = name }},
		{"runs[1].name", func(c *Config, name string) { c.Runs[1].Name = name }},
		// A figure is also refused for not ending in .png: give the path
		// forms the suffix, so that only the path is wrong.
		{"figures[0].file", func(c *Config, name string) {
			if strings.ContainsAny(name, "/\\\x00") {
				name += ".png"
			}
			c.Figures[0].File = name
		}},
	}
	for _, fl := range fields {
		for _, name := range badNames {
			t.Run(fl.key+"="+strconv.Quote(name), func(t *testing.T) {
				bad := c
				bad.Runs = append([]RunSpec(nil), c.Runs...)
				bad.Figures = append([]FigureSpec(nil), c.Figures...)
				fl.set(&bad, name)
				_, err := ParseConfig("bad.json", mustMarshal(t, bad))
				if err == nil {
					t.Fatal("accepted")
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("%v does not wrap ErrInvalid", err)
				}
				if !strings.Contains(err.Error(), fl.key+": ") {
					t.Errorf("error %q does not name %s", err, fl.key)
				}
			})
		}
	}
	// The same through -set, the way a user renames a run.
	for _, name := range badNames {
		_, err := ParseConfig("ok.json", mustMarshal(t, c), "runs[0].name="+name)
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "runs[0].name: ") {
			t.Errorf("-set runs[0].name=%q: %v, want ErrInvalid naming runs[0].name", name, err)
		}
	}
}

func mustMarshal(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// hugeTime bounds a load in TestHugeInputs: each pass over 16 MiB of
// JSON (decoding, checking the keys, normalising, decoding into a Config)
// takes some tenths of a second, and the largest model (2²⁶ parameters
// drawn from numpy's normal stream) 2.6 s to build on one 2-core machine
// of the measurements and 4.5–5.7 s alone on another, more when CI runs
// other packages beside it: the bound catches a hang or a quadratic
// loader, not a slow machine.
const hugeTime = 15 * time.Second

// hugeErrLimit bounds the error message of any input: a message is read by
// a person, and 1 MiB is some ten thousand lines, more than anyone reads.
// A loader that says more for a large file holds many times the file in
// memory.
const hugeErrLimit = 1 << 20

// TestHugeInputs loads documents of the size LoadConfig accepts
// (maxConfigBytes), each built to make a loader do the most work per byte,
// as the fuzzer, whose inputs stay small, does not: each must be answered
// within hugeTime, a refusal as ErrInvalid in at most hugeErrLimit
// bytes.
func TestHugeInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds documents of 16 MiB")
	}
	base := func(edit func(c *Config)) func() []byte {
		return func() []byte {
			c := dlnSGD().Quick()
			edit(&c)
			return mustMarshal(t, c)
		}
	}
	// fill writes items made by item(i) between open and close, up to
	// maxConfigBytes in all.
	fill := func(open, close string, item func(i int) string) func() []byte {
		return func() []byte {
			var b bytes.Buffer
			b.WriteString(open)
			for i := 0; ; i++ {
				it := item(i)
				if b.Len()+len(it)+1+len(close) > maxConfigBytes {
					break
				}
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(it)
			}
			b.WriteString(close)
			return b.Bytes()
		}
	}
	rows := []struct {
		name   string
		doc    func() []byte
		accept bool // a valid configuration
		cp     bool // a checkpoint rather than a configuration
	}{
		{name: "one key of 16 MiB", doc: func() []byte {
			return []byte(`{"` + strings.Repeat("k", maxConfigBytes-10) + `":1}`)
		}},
		{name: "16 MiB of unknown keys", doc: fill("{", "}", func(i int) string { return fmt.Sprintf(`"%x":0`, i) })},
		{name: "16 MiB of runs of the wrong type", doc: fill(`{"runs":[`, "]}", func(int) string { return "0" })},
		{name: "16 MiB of one metric, repeated", doc: base(func(c *Config) {
			for range (maxConfigBytes - 4096) / len(`"l1",`) {
				c.Metrics = append(c.Metrics, "l1")
			}
		})},
		{name: "100 000 distinct unknown metrics", doc: base(func(c *Config) {
			c.Metrics = nil
			for i := range 100_000 {
				c.Metrics = append(c.Metrics, fmt.Sprintf("m%d", i))
			}
		})},
		{name: "60 000 valid runs", doc: base(func(c *Config) {
			r := c.Runs[0]
			c.Runs = nil
			for i := range 60_000 {
				r.Name = fmt.Sprintf("r%d", i)
				c.Runs = append(c.Runs, r)
			}
		})},
		{name: "a description of 16 MiB", accept: true, doc: base(func(c *Config) {
			c.Description = strings.Repeat("d", maxConfigBytes-4096)
		})},
		{name: "the largest DLN", accept: true, doc: base(func(c *Config) {
			c.Data = Data("sparse_regression", &data.SparseRegression{N: 1, NTest: 1, D: models.MaxParams / 2, R: 1})
			c.Model = Model("dln", &models.DLNSpec{D: models.MaxParams / 2, Alpha: 0.1, Init: "random"})
			c.Metrics, c.Figures, c.Rank, c.Sharpness = []string{"train_loss"}, nil, metric.RankOptions{}, metric.SharpnessOptions{}
		})},
		// A checkpoint is refused for its parameters only once its model
		// is built.
		{name: "a small checkpoint of the largest DLN", cp: true, doc: func() []byte {
			cp := quickCheckpoints(t)[0]
			cp.Config.Data = Data("sparse_regression", &data.SparseRegression{N: 1, NTest: 1, D: models.MaxParams / 2, R: 1})
			cp.Config.Model = Model("dln", &models.DLNSpec{D: models.MaxParams / 2, Alpha: 0.1, Init: "random"})
			cp.Config.Metrics, cp.Config.Figures = []string{"train_loss"}, nil
			cp.Config.Rank, cp.Config.Sharpness = metric.RankOptions{}, metric.SharpnessOptions{}
			return marshalCheckpoint(t, cp)
		}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			b := row.doc()
			if len(b) > maxConfigBytes {
				t.Fatalf("document of %d bytes, beyond the limit of %d", len(b), maxConfigBytes)
			}
			done := make(chan error, 1)
			start := time.Now()
			go func() {
				defer func() {
					if r := recover(); r != nil {
						done <- fmt.Errorf("panic: %v\n%s", r, debugStack(false))
					}
				}()
				var err error
				if row.cp {
					_, err = parseCheckpoint("huge.json", b)
				} else {
					_, err = ParseConfig("huge.json", b)
				}
				done <- err
			}()
			// Wait for the end even past hugeTime, to report the time
			// and not to run the next document beside this one.
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * hugeTime):
				t.Fatalf("no answer within %v", 10*hugeTime)
			}
			took := time.Since(start)
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			t.Logf("%d bytes: answered in %v with %d bytes of error", len(b), took.Round(time.Millisecond), len(msg))
			if took > hugeTime {
				t.Errorf("took %v, more than %v", took.Round(time.Millisecond), hugeTime)
			}
			switch {
			case strings.HasPrefix(msg, "panic: "):
				t.Fatal(msg)
			case row.accept && err != nil:
				t.Fatalf("refused: %.2000s", msg)
			case !row.accept && err == nil:
				t.Fatal("accepted")
			case err != nil:
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("error does not wrap ErrInvalid: %.2000s", msg)
				}
				if len(msg) > hugeErrLimit {
					t.Errorf("error message of %d bytes, more than %d: %.500s…", len(msg), hugeErrLimit, msg)
				}
			}
		})
	}
}
