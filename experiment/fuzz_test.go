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

	"sgdlab/graph"
)

// loadTimeout bounds one load. The largest valid inputs (a model of
// models.MaxParams/2 parameters on data of data.MaxValues scalars) build
// their model in well under a second; an input that takes longer is
// loading something the limits were meant to refuse, or looping.
const loadTimeout = 2 * time.Second

// errSlack and errPerByte bound an error message: the loaders report every
// problem at once, one line each, naming its key and shortening values to
// 40 bytes, so the message grows with the number of problems — at most a
// line of about 150 bytes (an unknown key with the list of allowed ones)
// per 5 bytes of input (`"a":0,`). A longer message repeats input or
// lines, and a message that grows faster than the input is a memory
// bomb for a 16 MiB file.
const (
	errSlack   = 4 << 10
	errPerByte = 40
)

// call runs load in a goroutine and fails t if it panics (with its stack)
// or does not return within loadTimeout (with every goroutine's stack, to
// show where it loops). A goroutine that hangs is left behind: the test
// has failed anyway.
func call(t *testing.T, what string, load func()) {
	t.Helper()
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
	case <-time.After(loadTimeout):
		t.Fatalf("%s did not return within %v; goroutines:\n%s", what, loadTimeout, debugStack(true))
	}
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

// checkAcceptedConfig checks a configuration that a loader accepted.
func checkAcceptedConfig(t *testing.T, c Config) {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("accepted configuration does not validate: %v", err)
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
	c2, err := ParseConfig("round-trip.json", b1)
	if err != nil {
		t.Fatalf("accepted configuration, marshalled, is refused: %v\n%s", err, b1)
	}
	b2, err := json.Marshal(c2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("configuration changes through JSON:\n%s\n%s", b1, b2)
	}
}

// emptyCwd makes the working directory of the test process a fresh empty
// directory, so that a load that writes a file by a relative name is seen.
func emptyCwd(f *testing.F) {
	f.Chdir(f.TempDir())
}

// checkCwdEmpty fails t if anything appeared in the working directory.
func checkCwdEmpty(t *testing.T) {
	t.Helper()
	es, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		t.Errorf("loading wrote %q", e.Name())
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
	base, err := json.Marshal(dlnSGD().Quick())
	if err != nil {
		f.Fatal(err)
	}
	for _, b := range sorted(hostileConfigs(f, base)) {
		f.Add(b, "")
	}
	emptyCwd(f)
	f.Fuzz(func(t *testing.T, b []byte, set string) {
		var sets []string
		if set != "" {
			sets = []string{set}
		}
		var c Config
		var err error
		call(t, "ParseConfig", func() { c, err = ParseConfig("fuzz.json", b, sets...) })
		checkCwdEmpty(t)
		if err != nil {
			checkRefusal(t, err, len(b)+len(set))
			return
		}
		checkAcceptedConfig(t, c)
	})
}

// quickCheckpoints returns valid checkpoints of every registered
// experiment, shrunk by Quick: each run at its start and at its end.
func quickCheckpoints(tb testing.TB) []Checkpoint {
	var cps []Checkpoint
	for _, c := range All() {
		c = c.Quick()
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
		"iteration 1e18":   with(func(cp *Checkpoint) { cp.Iteration = 1e18 }),
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
		"shape 1e12 int": with(func(cp *Checkpoint) {
			p := cp.Params[0]
			p.Shape = []int{1e12}
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
		"deep params":        set(func(m map[string]any) { param(m, 0)["values"] = json.RawMessage(strings.Repeat("[", 9000) + strings.Repeat("]", 9000)) }),
	}
	out["empty"] = nil
	out["null"] = []byte("null")
	out["a list"] = []byte("[]")
	out["truncated"] = base[:len(base)/2]
	out["truncated at the end"] = base[:len(base)-1]
	out["trailing data"] = append(bytes.Clone(base), []byte(`{"run": "../../x"}`)...)
	out["duplicate run"] = bytes.Replace(base, []byte(`"run":`), []byte(`"run":"../../x","run":`), 1)
	out["NaN value"] = bytes.Replace(base, []byte(`"values":[`), []byte(`"values":[NaN,`), 1)
	out["deep lists"] = []byte(strings.Repeat("[", 10001))
	return out
}

// FuzzParseCheckpoint loads arbitrary bytes as a checkpoint.
func FuzzParseCheckpoint(f *testing.F) {
	cps := quickCheckpoints(f)
	for _, cp := range cps {
		f.Add(marshalCheckpoint(f, cp))
	}
	for _, b := range sorted(hostileCheckpoints(f, cps[0])) {
		f.Add(b)
	}
	emptyCwd(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var cp Checkpoint
		var err error
		call(t, "parseCheckpoint", func() { cp, err = parseCheckpoint("fuzz.json", b) })
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
		if os.Getenv("TMP_SKIP_TRAILING") == "" && !json.Valid(b) {
			t.Errorf("accepted bytes that are not one JSON document")
		}
		checkAcceptedConfig(t, cp.Config)
		var m graph.Model
		call(t, "Checkpoint.Model", func() { m, err = cp.Model() })
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
	})
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
