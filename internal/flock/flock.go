// Package flock takes the exclusive file locks by which a process marks
// what it is writing — a result directory being written (experiment), a
// sweep point being trained (sweep) — so that another process can tell
// work in progress from work abandoned by a killed process, which holds
// no lock. It is Linux and BSD only (flock(2)), like sgdlab's clusters.
package flock

import (
	"fmt"
	"os"
	"syscall"
)

// TryLock creates path if needed and takes an exclusive lock on it
// without waiting. The lock lasts until the returned file is closed or
// the process dies. It fails with an error wrapping syscall.EWOULDBLOCK
// when another process holds the lock.
func TryLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return f, nil
}
