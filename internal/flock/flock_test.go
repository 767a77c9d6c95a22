package flock

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// TestTryLock checks the lock against another process (flock(1) locks
// are per open file, so a second open in this process would do too, but
// a process is what the lock is for).
func TestTryLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	f, err := TryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TryLock(path); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Errorf("a second TryLock while held: %v, want EWOULDBLOCK", err)
	}
	if _, err := exec.LookPath("flock"); err == nil {
		if exec.Command("flock", "-n", path, "true").Run() == nil {
			t.Error("another process took the lock while it was held")
		}
	}
	f.Close()
	g, err := TryLock(path)
	if err != nil {
		t.Fatalf("TryLock after the holder closed: %v", err)
	}
	g.Close()
	if _, err := os.Stat(path); err != nil {
		t.Error(err)
	}
}
