package experiment

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"sgdlab/internal/flock"
)

// summaryFile is written last into a result directory: a directory
// without it is not a result.
const summaryFile = "summary.json"

// partial is a result being written: a hidden directory beside its
// destination, ".NAME.partial-XXXX", locked (flock) by the process
// writing it, so that a later run can tell an abandoned one (a killed
// process holds no lock) from one in progress and remove it.
type partial struct {
	dir, dst string
	lock     *os.File
}

// newPartial removes the abandoned partial directories of dst and makes
// a new one, readable by group and others as results are shared.
func newPartial(dst string) (*partial, error) {
	parent, base := filepath.Split(dst)
	if parent == "" {
		parent = "."
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	prefix := "." + base + ".partial-"
	if err := removeAbandoned(parent, prefix); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, prefix)
	if err != nil {
		return nil, err
	}
	p := &partial{dir: dir, dst: dst}
	// MkdirTemp makes 0700; results are meant to be shared.
	if err := os.Chmod(dir, 0o755); err != nil {
		p.discard()
		return nil, err
	}
	if p.lock, err = flock.TryLock(filepath.Join(dir, lockName)); err != nil {
		p.discard()
		return nil, err
	}
	return p, nil
}

// lockName is the lock file inside a partial directory; it is removed
// before the results move into place.
const lockName = ".lock"

// removeAbandoned removes the directories prefix* in parent that no
// process holds locked.
func removeAbandoned(parent, prefix string) error {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		f, err := flock.TryLock(filepath.Join(dir, lockName))
		if errors.Is(err, syscall.EWOULDBLOCK) {
			continue // being written by a live process
		}
		if f != nil {
			f.Close()
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("removing the abandoned %s: %w", dir, err)
		}
	}
	return nil
}

// discard removes the partial directory, unless commit moved it.
func (p *partial) discard() {
	if p.lock != nil {
		p.lock.Close()
		p.lock = nil
	}
	if p.dir != "" {
		os.RemoveAll(p.dir)
		p.dir = ""
	}
}

// commit moves the written results to their destination. A new
// destination is the partial directory renamed. An existing one keeps
// everything the results do not own — a user's files, hessian/,
// landscape/ — and its old results until the new ones are complete:
// its summary.json is removed first, so that it is never taken for a
// result while the entries of the new results (those in the partial
// directory) replace their old namesakes one by one, and the new
// summary.json comes last.
func (p *partial) commit() error {
	if err := os.Remove(filepath.Join(p.dir, lockName)); err != nil {
		return err
	}
	if err := os.Rename(p.dir, p.dst); err == nil {
		p.dir = ""
		return nil
	} else if _, serr := os.Stat(p.dst); serr != nil {
		return err
	}
	if err := os.Remove(filepath.Join(p.dst, summaryFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == summaryFile {
			continue
		}
		if err := replace(filepath.Join(p.dir, e.Name()), filepath.Join(p.dst, e.Name())); err != nil {
			return err
		}
	}
	return replace(filepath.Join(p.dir, summaryFile), filepath.Join(p.dst, summaryFile))
}

// replace moves src to dst, removing an old dst first.
func replace(src, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return os.Rename(src, dst)
}
