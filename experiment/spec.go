package experiment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

	"sgdlab/data"
	"sgdlab/models"
)

// ModelSpec selects the model: Kind names a kind registered with
// models.Register, and Spec holds its parameters. In JSON the parameters
// sit beside the kind: {"kind": "dln", "d": 200, "alpha": 0.1, "init": "const"}.
type ModelSpec struct {
	Kind string
	Spec models.Spec
}

// DataSpec selects the data: Kind names a kind registered with
// data.Register, and Source holds its parameters, beside the kind in JSON
// as for ModelSpec.
type DataSpec struct {
	Kind   string
	Source data.Source
}

// Model returns the spec of a model of the given kind with its
// parameters, for building a Config in Go.
func Model(kind string, spec models.Spec) ModelSpec { return ModelSpec{Kind: kind, Spec: spec} }

// Data returns the spec of a data set of the given kind, for building a
// Config in Go.
func Data(kind string, src data.Source) DataSpec { return DataSpec{Kind: kind, Source: src} }

// MarshalJSON writes the kind and then the parameters, in one object.
func (m ModelSpec) MarshalJSON() ([]byte, error) { return marshalKind(m.Kind, m.Spec) }

// UnmarshalJSON reads the kind, then the parameters into a new spec of
// that kind. Unknown keys are an error only through LoadConfig, which
// reports them all.
func (m *ModelSpec) UnmarshalJSON(b []byte) error {
	kind, s, err := unmarshalKind(b, models.NewSpec)
	*m = ModelSpec{Kind: kind, Spec: s}
	return err
}

func (*ModelSpec) variantType(kind string) (reflect.Type, error) {
	s, err := models.NewSpec(kind)
	if err != nil {
		return nil, err
	}
	return reflect.TypeOf(s).Elem(), nil
}

// MarshalJSON writes the kind and then the parameters, in one object.
func (d DataSpec) MarshalJSON() ([]byte, error) { return marshalKind(d.Kind, d.Source) }

// UnmarshalJSON reads the kind, then the parameters into a new source of
// that kind.
func (d *DataSpec) UnmarshalJSON(b []byte) error {
	kind, s, err := unmarshalKind(b, data.NewSource)
	*d = DataSpec{Kind: kind, Source: s}
	return err
}

func (*DataSpec) variantType(kind string) (reflect.Type, error) {
	s, err := data.NewSource(kind)
	if err != nil {
		return nil, err
	}
	t := reflect.TypeOf(s)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t, nil
}

// marshalKind writes {"kind": kind, ...params}.
func marshalKind(kind string, params any) ([]byte, error) {
	k, err := json.Marshal(kind)
	if err != nil {
		return nil, err
	}
	if params == nil || reflect.ValueOf(params).IsNil() {
		return []byte(`{"kind":` + string(k) + `}`), nil
	}
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	p = bytes.TrimSpace(p)
	if len(p) < 2 || p[0] != '{' {
		return nil, fmt.Errorf("parameters of kind %s are not a JSON object", kind)
	}
	var b bytes.Buffer
	b.WriteString(`{"kind":`)
	b.Write(k)
	if len(bytes.TrimSpace(p[1:len(p)-1])) > 0 {
		b.WriteByte(',')
	}
	b.Write(p[1:])
	return b.Bytes(), nil
}

// unmarshalKind reads the "kind" of the JSON object b, makes a new value
// of that kind with newKind, and decodes the object into it.
func unmarshalKind[T any](b []byte, newKind func(string) (T, error)) (string, T, error) {
	var zero T
	var k struct {
		Kind *string `json:"kind"`
	}
	if err := json.Unmarshal(b, &k); err != nil {
		return "", zero, err
	}
	if k.Kind == nil {
		return "", zero, fmt.Errorf("kind: missing")
	}
	v, err := newKind(*k.Kind)
	if err != nil {
		return "", zero, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return "", zero, fmt.Errorf("%s: %w", *k.Kind, err)
	}
	return *k.Kind, v, nil
}

// reseeded returns a copy of m's spec with its "seed" key set to seed, by
// way of its JSON form, so that any model kind with a seed can be run over
// several seeds; a kind without a seed key is an error.
func reseeded(m ModelSpec, seed uint32) (models.Spec, error) {
	b, err := json.Marshal(m.Spec)
	if err != nil {
		return nil, err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, err
	}
	keys["seed"] = json.RawMessage(strconv.FormatUint(uint64(seed), 10))
	if b, err = json.Marshal(keys); err != nil {
		return nil, err
	}
	spec, err := models.NewSpec(m.Kind)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(spec); err != nil {
		return nil, fmt.Errorf("model_seed: model kind %s has no seed: %w", m.Kind, err)
	}
	return spec, nil
}
