package experiment

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrInvalid marks the errors of configurations and checkpoints that are
// wrong as given (as opposed to failures while running them); test for it
// with errors.Is.
var ErrInvalid = errors.New("invalid input")

// maxConfigBytes bounds a configuration file: the paper's are below 8 KiB.
const maxConfigBytes = 1 << 24

// LoadConfig reads the configuration file at path — JSON, in the form
// `sgdlab reproduce NAME -print-config` writes — applies the overrides
// sets ("key.path=value", e.g. "runs[1].schedule.lr=0.1" or
// "data.n=40"; a value that is not JSON is a string), and validates the
// result. Every problem is reported at once, by key: unknown keys with
// the nearest valid one, wrong types, values out of range. The error
// wraps ErrInvalid.
func LoadConfig(path string, sets ...string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return Config{}, fmt.Errorf("%w: %s: %w", ErrInvalid, path, err)
	}
	if len(b) > maxConfigBytes {
		return Config{}, fmt.Errorf("%w: %s: larger than the limit of %d bytes", ErrInvalid, path, maxConfigBytes)
	}
	return ParseConfig(path, b, sets...)
}

// ParseConfig is LoadConfig on the bytes b of a configuration; src names
// it in errors.
func ParseConfig(src string, b []byte, sets ...string) (Config, error) {
	var c Config
	if err := decodeStrict(src, b, sets, &c); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if _, err := c.check(); err != nil {
		return Config{}, fmt.Errorf("%w: %s: %w", ErrInvalid, src, err)
	}
	return c, nil
}

// Override returns c with the overrides sets applied (see LoadConfig),
// validated.
func (c Config) Override(sets ...string) (Config, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return Config{}, err
	}
	return ParseConfig("experiment "+c.Name, b, sets...)
}
