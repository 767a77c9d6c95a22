package experiment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"sgdlab/internal/suggest"
)

// variant is implemented by the spec types whose keys depend on the
// value of their "kind" key (ModelSpec, DataSpec): given the kind, it
// returns the struct type that holds the other keys.
type variant interface {
	variantType(kind string) (reflect.Type, error)
}

// decodeStrict decodes the JSON document b into v, a pointer, after
// applying the overrides sets ("key.path=value", see applySet). Unlike
// encoding/json it reports every problem at once, each by its key path:
// unknown keys (naming the nearest allowed one), values of the wrong type,
// fractional or out-of-range integers. Integers may be written as 1e6.
// src names the document in errors.
func decodeStrict(src string, b []byte, sets []string, v any) error {
	tree, err := parseTree(src, b)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range sets {
		if tree, err = applySet(tree, s); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	var w walker
	tree = w.walk("", tree, reflect.TypeOf(v).Elem())
	if err := w.err(); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	norm, err := json.Marshal(tree)
	if err == nil {
		err = json.Unmarshal(norm, v)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	return nil
}

// parseTree parses b into maps, slices, strings, bools and json.Numbers.
// A syntax error names the line, the column and the key whose value was
// being read.
func parseTree(src string, b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var tree any
	err := d.Decode(&tree)
	if err == nil {
		if _, extra := d.Token(); extra != io.EOF {
			return nil, fmt.Errorf("%s:%s: data after the end of the JSON document", src, position(b, d.InputOffset()))
		}
		return tree, nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := min(int(se.Offset), len(b))
		msg := fmt.Sprintf("%s:%s: %v", src, position(b, int64(off)), err)
		if k := keyBefore(b[:off]); k != "" {
			near := string(b[max(0, off-1):min(len(b), off+8)])
			hint := ""
			if strings.ContainsAny(near, "NI") {
				hint = "; JSON has no NaN or Infinity"
			}
			msg += fmt.Sprintf(" (in the value of key %q%s)", k, hint)
		}
		return nil, errors.New(msg)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("%s: the JSON document is empty or truncated", src)
	}
	return nil, fmt.Errorf("%s: %w", src, err)
}

// position returns "line:column" of byte offset off of b.
func position(b []byte, off int64) string {
	off = min(off, int64(len(b)))
	line := 1 + bytes.Count(b[:off], []byte("\n"))
	col := off - int64(bytes.LastIndexByte(b[:off], '\n'))
	return fmt.Sprintf("%d:%d", line, col)
}

var lastKey = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"\s*:[^"]*$`)

// keyBefore returns the last object key in b, the one whose value a
// syntax error at the end of b interrupted.
func keyBefore(b []byte) string {
	if len(b) > 1<<16 {
		b = b[len(b)-1<<16:]
	}
	m := lastKey.FindSubmatch(b)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// applySet applies one override "a.b[2].c=value" (or "a.b.2.c=value") to
// tree: value is JSON if it parses as JSON, a string otherwise. Missing
// objects on the path are created; the walker then reports keys that the
// configuration does not have.
func applySet(tree any, set string) (any, error) {
	path, raw, ok := strings.Cut(set, "=")
	if !ok || path == "" {
		return tree, fmt.Errorf("-set %q: want key.path=value", set)
	}
	var val any = raw
	d := json.NewDecoder(strings.NewReader(raw))
	d.UseNumber()
	var parsed any
	if err := d.Decode(&parsed); err == nil {
		if _, extra := d.Token(); extra == io.EOF {
			val = parsed
		}
	}
	keys := strings.Split(strings.NewReplacer("[", ".", "]", "").Replace(path), ".")
	for _, k := range keys {
		if k == "" {
			return tree, fmt.Errorf("-set %q: empty key in the path", set)
		}
	}
	var put func(node any, i int) (any, error)
	put = func(node any, i int) (any, error) {
		if i == len(keys) {
			return val, nil
		}
		k, at := keys[i], strings.Join(keys[:i+1], ".")
		switch n := node.(type) {
		case map[string]any:
			v, err := put(n[k], i+1)
			n[k] = v
			return n, err
		case []any:
			j, err := strconv.Atoi(k)
			if err != nil || j < 0 || j >= len(n) {
				return n, fmt.Errorf("-set %s: %s has %d entries, no index %s", set, strings.Join(keys[:i], "."), len(n), k)
			}
			n[j], err = put(n[j], i+1)
			return n, err
		case nil:
			return put(map[string]any{}, i)
		}
		return node, fmt.Errorf("-set %s: %s is inside a %s, not an object or a list", set, at, jsonType(node))
	}
	return put(tree, 0)
}

// maxProblems bounds the problems reported one by one: a document of
// 10⁶ bad entries must give a readable error, not one of its own size.
const maxProblems = 50

// walker checks a parsed JSON tree against a Go type, collecting errors.
type walker struct {
	errs  []error
	extra int // problems beyond maxProblems, only counted
}

// full reports whether maxProblems are recorded, so that callers skip the
// cost of describing more.
func (w *walker) full() bool { return len(w.errs) >= maxProblems }

func (w *walker) fail(path, format string, args ...any) {
	if w.full() {
		w.extra++
		return
	}
	if path == "" {
		path = "(document)"
	}
	w.errs = append(w.errs, fmt.Errorf("%s: %s", shorten(path, 200), fmt.Sprintf(format, args...)))
}

// err returns the problems joined, nil if none.
func (w *walker) err() error {
	if w.extra > 0 {
		return errors.Join(append(w.errs, fmt.Errorf("… and %d more problems", w.extra))...)
	}
	return errors.Join(w.errs...)
}

// shorten cuts s to at most n bytes (at a rune boundary), marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

var (
	variantIfc  = reflect.TypeOf((*variant)(nil)).Elem()
	rawJSONType = reflect.TypeOf(json.RawMessage(nil))
)

// walk checks node against t and returns it normalised (integers written
// as 1e6 become 1000000).
func (w *walker) walk(path string, node any, t reflect.Type) any {
	if reflect.PointerTo(t).Implements(variantIfc) {
		return w.variant(path, node, reflect.New(t).Interface().(variant))
	}
	if node == nil {
		// null leaves the zero value, as encoding/json does.
		return nil
	}
	if t == rawJSONType || t.Kind() == reflect.Interface {
		return node
	}
	switch t.Kind() {
	case reflect.Pointer:
		return w.walk(path, node, t.Elem())
	case reflect.Struct:
		obj, ok := node.(map[string]any)
		if !ok {
			w.fail(path, "want an object, got %s", describe(node))
			return node
		}
		return w.object(path, obj, fieldsOf(t), nil)
	case reflect.Slice, reflect.Array:
		list, ok := node.([]any)
		if !ok {
			w.fail(path, "want a list, got %s", describe(node))
			return node
		}
		for i := range list {
			// Once full the walker only counts problems: no paths.
			p := path
			if !w.full() {
				p = fmt.Sprintf("%s[%d]", path, i)
			}
			list[i] = w.walk(p, list[i], t.Elem())
		}
		return list
	case reflect.Map:
		obj, ok := node.(map[string]any)
		if !ok {
			w.fail(path, "want an object, got %s", describe(node))
			return node
		}
		for k, v := range obj {
			obj[k] = w.walk(join(path, k), v, t.Elem())
		}
		return obj
	case reflect.String:
		if _, ok := node.(string); !ok {
			w.fail(path, "want a string, got %s", describe(node))
		}
	case reflect.Bool:
		if _, ok := node.(bool); !ok {
			w.fail(path, "want true or false, got %s", describe(node))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return w.integer(path, node, t)
	case reflect.Float32, reflect.Float64:
		return w.float(path, node)
	default:
		w.fail(path, "has a type (%v) that configurations cannot set", t)
	}
	return node
}

// object checks the keys of obj against fields (JSON name → type); extra
// keys are allowed as well, with their own types.
func (w *walker) object(path string, obj map[string]any, fields map[string]reflect.Type, extra map[string]reflect.Type) any {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ft, ok := fields[k]
		if !ok {
			ft, ok = extra[k]
		}
		if !ok && w.full() {
			w.extra++
			continue
		}
		if !ok {
			allowed := make([]string, 0, len(fields)+len(extra))
			for f := range fields {
				allowed = append(allowed, f)
			}
			for f := range extra {
				allowed = append(allowed, f)
			}
			sort.Strings(allowed)
			w.fail(join(path, k), "unknown key%s (allowed here: %s)", suggest.Key(k, allowed), strings.Join(allowed, ", "))
			continue
		}
		obj[k] = w.walk(join(path, k), obj[k], ft)
	}
	return obj
}

// variant checks an object whose keys depend on its "kind".
func (w *walker) variant(path string, node any, v variant) any {
	obj, ok := node.(map[string]any)
	if !ok {
		w.fail(path, "want an object with a \"kind\", got %s", describe(node))
		return node
	}
	kind, ok := obj["kind"].(string)
	if !ok {
		w.fail(join(path, "kind"), "want the name of a kind, got %s", describe(obj["kind"]))
		return node
	}
	t, err := v.variantType(shorten(kind, 80))
	if err != nil {
		w.fail(join(path, "kind"), "%v", err)
		return node
	}
	return w.object(path, obj, fieldsOf(t), map[string]reflect.Type{"kind": reflect.TypeOf("")})
}

func (w *walker) integer(path string, node any, t reflect.Type) any {
	num, ok := node.(json.Number)
	if !ok {
		w.fail(path, "want an integer, got %s", describe(node))
		return node
	}
	unsigned := t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64
	var err error
	if unsigned {
		_, err = strconv.ParseUint(string(num), 10, t.Bits())
	} else {
		_, err = strconv.ParseInt(string(num), 10, t.Bits())
	}
	if err == nil {
		return num
	}
	// Not a plain integer of the type: 1e6 (allowed), 1.5, or too large.
	f, ferr := strconv.ParseFloat(string(num), 64)
	if ferr != nil && !errors.Is(ferr, strconv.ErrRange) || f != math.Trunc(f) {
		w.fail(path, "want an integer, got %s", shorten(string(num), 40))
		return node
	}
	lo, hi := fmt.Sprint(-(int64(1) << (t.Bits() - 1))), fmt.Sprint(uint64(1)<<(t.Bits()-1)-1)
	if unsigned {
		lo, hi = "0", fmt.Sprint(uint64(1)<<(t.Bits()-1)*2-1)
	}
	// Integers written as floats are exact below 2⁵³; beyond, they are
	// out of range for anything a configuration counts.
	loF, hiF := -math.Ldexp(1, t.Bits()-1), math.Ldexp(1, t.Bits()-1)-1
	if unsigned {
		loF, hiF = 0, math.Ldexp(1, t.Bits())-1
	}
	if math.Abs(f) > 1<<53 || f < loF || f > hiF {
		w.fail(path, "%s is out of the range of a %v [%s, %s]", shorten(string(num), 40), t.Kind(), lo, hi)
		return node
	}
	return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
}

func (w *walker) float(path string, node any) any {
	switch v := node.(type) {
	case json.Number:
		if f, err := strconv.ParseFloat(string(v), 64); err != nil || math.IsInf(f, 0) {
			w.fail(path, "%s is not a finite float64", v)
		}
	case string:
		if f, err := strconv.ParseFloat(v, 64); err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			w.fail(path, "must be a finite number, got %s", v)
		} else {
			w.fail(path, "want a number, got %s", describe(node))
		}
	default:
		w.fail(path, "want a number, got %s", describe(node))
	}
	return node
}

// fieldsOf returns the JSON keys of struct type t and their types,
// including those of embedded structs, as encoding/json sees them.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range fieldsOf(et) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names the JSON type of a value and shows it, shortened, when
// it is formatted: a walker that has recorded its maxProblems formats
// nothing, and a list of millions of wrong values must not cost millions
// of descriptions.
func describe(v any) fmt.Stringer { return described{v} }

type described struct{ v any }

func (d described) String() string {
	v := d.v
	if v == nil {
		return "null"
	}
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return jsonType(v) + " " + s
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "list"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	}
	return fmt.Sprintf("%T", v)
}
