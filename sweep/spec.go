package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sgdlab/experiment"
	"sgdlab/internal/suggest"
)

// Spec is a sweep file:
//
//	{"name": "lr-decay",
//	 "experiment": "dln-sgd",              // a built-in, or
//	 "config": "base.json",                // a configuration file, relative to the sweep file
//	 "set": ["iterations=2001", "grid.t=2001"],
//	 "axes": [{"key": "runs[1].schedule.lr", "values": [0.2, 0.25]},
//	          {"zip": [{"key": "runs[1].schedule.decays[0].at", "values": [201, 1001]},
//	                   {"key": "runs[1].label", "values": ["a", "b"]}]}],
//	 "seeds": {"keys": ["runs[0].optimizer.seed", "runs[1].optimizer.seed"], "values": [1, 2]}}
//
// Every point applies Set first, then one value of every axis, then its
// seed on every seed key, as "key=value" overrides of the base
// configuration (see experiment.LoadConfig). Values are JSON values.
type Spec struct {
	// Name names the sweep and its default output directory; it is a
	// plain name of [A-Za-z0-9._-].
	Name string `json:"name"`
	// Description is free text, for people.
	Description string `json:"description,omitempty"`
	// Experiment is the name of a built-in experiment (experiment.Names);
	// Config is the path of a configuration file, relative to the sweep
	// file's directory. Exactly one is given.
	Experiment string `json:"experiment,omitempty"`
	Config     string `json:"config,omitempty"`
	// Set are overrides applied to every point, before the axes.
	Set []string `json:"set,omitempty"`
	// Axes are swept as a Cartesian product, the first outermost.
	Axes []Axis `json:"axes,omitempty"`
	// Seeds, if set, is the innermost loop.
	Seeds *Seeds `json:"seeds,omitempty"`

	// dir is the directory of the sweep file, against which Config is
	// resolved ("" for the working directory).
	dir string
}

// Axis is one factor of the product: either one Key with its Values, or
// Zip, keys whose value lists have equal length and advance together
// (value i of each at point i of the axis).
type Axis struct {
	Key    string            `json:"key,omitempty"`
	Values []json.RawMessage `json:"values,omitempty"`
	Zip    []Param           `json:"zip,omitempty"`
}

// Param is one key of a zipped axis with its values.
type Param struct {
	Key    string            `json:"key"`
	Values []json.RawMessage `json:"values"`
}

// Seeds sets each of Values, in turn, on every one of Keys: the runs of
// one experiment usually take one seed each, and a seed of the sweep
// means the same seed for all of them.
type Seeds struct {
	Keys   []string          `json:"keys"`
	Values []json.RawMessage `json:"values"`
}

// MaxPoints bounds the points of a sweep: every point is resolved and
// validated when the sweep is planned (about 0.2 ms each), and a typo such
// as a list of 10⁶ values must fail at once, not after minutes.
const MaxPoints = 100_000

// maxSpecBytes bounds a sweep file.
const maxSpecBytes = 1 << 24

// Load reads the sweep file at path (see Parse). The error wraps
// experiment.ErrInvalid.
func Load(path string) (Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return Spec{}, fmt.Errorf("%w: sweep file: %w", experiment.ErrInvalid, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSpecBytes+1))
	if err != nil {
		return Spec{}, fmt.Errorf("%w: %s: %w", experiment.ErrInvalid, path, err)
	}
	if len(b) > maxSpecBytes {
		return Spec{}, fmt.Errorf("%w: %s: larger than the limit of %d bytes", experiment.ErrInvalid, path, maxSpecBytes)
	}
	s, err := Parse(path, b)
	if err != nil {
		return Spec{}, err
	}
	s.dir = filepath.Dir(path)
	return s, nil
}

// Parse decodes and checks the sweep file b; src names it in errors and
// its directory is where a relative Config is looked for. Decoding is
// strict: an unknown key, a value of the wrong type, a zip of unequal
// lists, an empty list of values are errors naming the key, all reported
// at once. The configurations of the points are checked by Plan. The
// error wraps experiment.ErrInvalid.
func Parse(src string, b []byte) (Spec, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var tree any
	if err := d.Decode(&tree); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return Spec{}, fmt.Errorf("%w: %s:%s: %v", experiment.ErrInvalid, src, position(b, se.Offset), err)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Spec{}, fmt.Errorf("%w: %s: the JSON document is empty or truncated", experiment.ErrInvalid, src)
		}
		return Spec{}, fmt.Errorf("%w: %s: %w", experiment.ErrInvalid, src, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return Spec{}, fmt.Errorf("%w: %s:%s: data after the end of the JSON document", experiment.ErrInvalid, src, position(b, d.InputOffset()))
	}
	var c checker
	s := c.spec(tree)
	if len(c.errs) > 0 {
		return Spec{}, fmt.Errorf("%w: %s: %w", experiment.ErrInvalid, src, errors.Join(c.errs...))
	}
	s.dir = filepath.Dir(src)
	return s, nil
}

// position returns "line:column" of byte offset off of b.
func position(b []byte, off int64) string {
	off = max(0, min(off, int64(len(b))))
	line := 1 + bytes.Count(b[:off], []byte("\n"))
	col := off - int64(bytes.LastIndexByte(b[:off], '\n'))
	return fmt.Sprintf("%d:%d", line, col)
}

// maxProblems bounds the problems reported one by one.
const maxProblems = 20

// checker walks the parsed tree of a sweep file, collecting problems by
// key. It is written by hand rather than with DisallowUnknownFields
// because encoding/json names neither the path of an unknown key nor the
// keys allowed there.
type checker struct{ errs []error }

func (c *checker) fail(path, format string, args ...any) {
	switch {
	case len(c.errs) < maxProblems:
		c.errs = append(c.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	case len(c.errs) == maxProblems:
		c.errs = append(c.errs, errors.New("… and more problems"))
	}
}

// object returns node as an object whose keys are all in allowed,
// reporting the others.
func (c *checker) object(path string, node any, allowed ...string) map[string]any {
	obj, ok := node.(map[string]any)
	if !ok {
		c.fail(path, "want an object, got %s", describe(node))
		return nil
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		found := false
		for _, a := range allowed {
			found = found || a == k
		}
		if !found {
			sorted := append([]string(nil), allowed...)
			sort.Strings(sorted)
			c.fail(join(path, k), "unknown key%s (allowed here: %s)", suggest.Key(k, sorted), strings.Join(sorted, ", "))
		}
	}
	return obj
}

func (c *checker) str(path string, node any) string {
	if node == nil {
		return ""
	}
	s, ok := node.(string)
	if !ok {
		c.fail(path, "want a string, got %s", describe(node))
	}
	return s
}

func (c *checker) strings(path string, node any) []string {
	if node == nil {
		return nil
	}
	list, ok := node.([]any)
	if !ok {
		c.fail(path, "want a list of strings, got %s", describe(node))
		return nil
	}
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = c.str(fmt.Sprintf("%s[%d]", path, i), v)
	}
	return out
}

// key checks a swept configuration key: "a.b[1].c", whatever the
// configuration (its validation names unknown keys).
func (c *checker) key(path string, node any) string {
	k := c.str(path, node)
	switch {
	case node == nil:
		c.fail(path, "missing: the configuration key to set, e.g. \"runs[0].schedule.lr\"")
	case k == "" && node != nil:
		c.fail(path, "must not be empty")
	case strings.ContainsAny(k, "= \t\n"):
		c.fail(path, "%q is not a key path: no '=' or spaces (the values go in \"values\")", shorten(k))
	}
	return k
}

// values returns a non-empty list of JSON values, compacted.
func (c *checker) values(path string, node any) []json.RawMessage {
	list, ok := node.([]any)
	switch {
	case node == nil:
		c.fail(path, "missing: the list of values")
		return nil
	case !ok:
		c.fail(path, "want a list of values, got %s", describe(node))
		return nil
	case len(list) == 0:
		c.fail(path, "empty: a key needs at least one value")
		return nil
	case len(list) > MaxPoints:
		c.fail(path, "%d values exceed the limit of %d points", len(list), MaxPoints)
		return nil
	}
	out := make([]json.RawMessage, len(list))
	for i, v := range list {
		// json.Number and maps re-marshal to the same value, compact,
		// with object keys sorted: the form that goes into overrides.
		b, err := json.Marshal(v)
		if err != nil {
			c.fail(fmt.Sprintf("%s[%d]", path, i), "%v", err)
		}
		out[i] = b
	}
	return out
}

func (c *checker) spec(tree any) Spec {
	var s Spec
	obj := c.object("(document)", tree, "name", "description", "experiment", "config", "set", "axes", "seeds")
	if obj == nil {
		return s
	}
	s.Name = c.str("name", obj["name"])
	if !experiment.ValidName(s.Name) {
		c.fail("name", "must be non-empty, at most 200 characters of [A-Za-z0-9._-] and not \".\" or \"..\" (it names the output directory), got %q", shorten(s.Name))
	}
	s.Description = c.str("description", obj["description"])
	s.Experiment = c.str("experiment", obj["experiment"])
	s.Config = c.str("config", obj["config"])
	switch {
	case s.Experiment == "" && s.Config == "":
		c.fail("experiment", "missing: give the base experiment, a built-in (%s) as \"experiment\" or a configuration file as \"config\"", strings.Join(experiment.Names(), ", "))
	case s.Experiment != "" && s.Config != "":
		c.fail("config", "give either \"experiment\" or \"config\", not both")
	case s.Experiment != "":
		if _, err := experiment.Lookup(s.Experiment); err != nil {
			c.fail("experiment", "%v", err)
		}
	}
	s.Set = c.strings("set", obj["set"])
	for i, set := range s.Set {
		if k, _, ok := strings.Cut(set, "="); !ok || k == "" {
			c.fail(fmt.Sprintf("set[%d]", i), "want key.path=value, got %q", shorten(set))
		}
	}
	seen := make(map[string]string) // key → where it is swept
	sweptKey := func(path, k string) {
		if k == "" {
			return
		}
		if at, dup := seen[k]; dup {
			c.fail(path, "%q is swept already at %s; a key is set by one axis only", shorten(k), at)
		}
		seen[k] = path
	}
	if n := obj["axes"]; n != nil {
		list, ok := n.([]any)
		if !ok {
			c.fail("axes", "want a list of axes, got %s", describe(n))
		}
		for i, a := range list {
			path := fmt.Sprintf("axes[%d]", i)
			ao := c.object(path, a, "key", "values", "zip")
			if ao == nil {
				continue
			}
			var ax Axis
			if z, ok := ao["zip"]; ok {
				if ao["key"] != nil || ao["values"] != nil {
					c.fail(path, "has both \"zip\" and \"key\"/\"values\": an axis is one key with its values or a zip of keys")
				}
				zl, ok := z.([]any)
				if !ok || len(zl) == 0 {
					c.fail(path+".zip", "want a non-empty list of {\"key\", \"values\"}, got %s", describe(z))
				}
				for j, p := range zl {
					pp := fmt.Sprintf("%s.zip[%d]", path, j)
					po := c.object(pp, p, "key", "values")
					if po == nil {
						continue
					}
					prm := Param{Key: c.key(pp+".key", po["key"]), Values: c.values(pp+".values", po["values"])}
					sweptKey(pp+".key", prm.Key)
					if len(ax.Zip) > 0 && prm.Values != nil && ax.Zip[0].Values != nil && len(prm.Values) != len(ax.Zip[0].Values) {
						c.fail(pp+".values", "%d values, but %s.zip[0].values has %d: zipped lists advance together and need equal lengths", len(prm.Values), path, len(ax.Zip[0].Values))
					}
					ax.Zip = append(ax.Zip, prm)
				}
			} else {
				ax.Key = c.key(path+".key", ao["key"])
				ax.Values = c.values(path+".values", ao["values"])
				sweptKey(path+".key", ax.Key)
			}
			s.Axes = append(s.Axes, ax)
		}
	}
	if n := obj["seeds"]; n != nil {
		so := c.object("seeds", n, "keys", "values")
		if so != nil {
			s.Seeds = &Seeds{Keys: c.strings("seeds.keys", so["keys"]), Values: c.values("seeds.values", so["values"])}
			if len(s.Seeds.Keys) == 0 {
				c.fail("seeds.keys", "missing or empty: the configuration keys that take the seed, e.g. [\"runs[0].optimizer.seed\"]")
			}
			for i, k := range s.Seeds.Keys {
				p := fmt.Sprintf("seeds.keys[%d]", i)
				c.key(p, k)
				sweptKey(p, k)
			}
		}
	}
	if len(c.errs) == 0 {
		if _, ok := s.count(); !ok {
			c.fail("axes", "the sweep has more than the limit of %d points", MaxPoints)
		}
	}
	return s
}

// count returns the number of points of s, and false when it exceeds
// MaxPoints (the products are stopped before they could overflow).
func (s Spec) count() (int, bool) {
	n := 1
	factors := make([]int, 0, len(s.Axes)+1)
	for _, a := range s.Axes {
		factors = append(factors, a.len())
	}
	if s.Seeds != nil {
		factors = append(factors, len(s.Seeds.Values))
	}
	for _, k := range factors {
		if k > 0 && n > MaxPoints/k {
			return n, false
		}
		n *= k
	}
	return n, true
}

// len is the number of values along a.
func (a Axis) len() int {
	if len(a.Zip) > 0 {
		return len(a.Zip[0].Values)
	}
	return len(a.Values)
}

// shorten cuts a string from a file for an error message.
func shorten(s string) string {
	if len(s) <= 80 {
		return s
	}
	return s[:77] + "…"
}

func join(path, key string) string {
	if path == "(document)" {
		return key
	}
	return path + "." + key
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", shorten(x))
	case json.Number:
		return "number " + x.String()
	case bool:
		return fmt.Sprint("boolean ", x)
	case []any:
		return fmt.Sprintf("a list of %d", len(x))
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
