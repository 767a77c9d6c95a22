package sweep

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"sgdlab/experiment"
)

// Shard is one part of a sweep split across the tasks of a job array:
// point k belongs to shard k mod Count, so shards are of equal size
// within one point and each mixes all values of the outer axes (a shard
// that dies early does not take a whole corner of the grid with it). The
// zero Shard is the whole sweep.
type Shard struct {
	Index, Count int
}

// MaxShards bounds Shard.Count: more tasks than points is pointless and
// a count such as 10¹⁸ is a typo.
const MaxShards = MaxPoints

// String is "i/n", the form of ParseShard and of cmd's -shard flag.
func (s Shard) String() string {
	if s.Count == 0 {
		return "0/1"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Has reports whether the point of index k belongs to s.
func (s Shard) Has(k int) bool {
	return s.Count <= 1 || k%s.Count == s.Index
}

func (s Shard) check() error {
	if s.Count < 0 || s.Count > MaxShards || s.Index < 0 || s.Index >= max(s.Count, 1) {
		return fmt.Errorf("shard %d/%d: need 0 ≤ index < count ≤ %d", s.Index, s.Count, MaxShards)
	}
	return nil
}

// ParseShard parses "i/n", 0 ≤ i < n. The error wraps
// experiment.ErrInvalid.
func ParseShard(v string) (Shard, error) {
	a, b, ok := strings.Cut(v, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("%w: shard %q: want i/n, e.g. 0/4 for the first of 4 shards", experiment.ErrInvalid, v)
	}
	s := Shard{Index: i, Count: n}
	if n < 1 {
		return Shard{}, fmt.Errorf("%w: shard %q: the count must be ≥ 1", experiment.ErrInvalid, v)
	}
	if err := s.check(); err != nil {
		return Shard{}, fmt.Errorf("%w: %w", experiment.ErrInvalid, err)
	}
	return s, nil
}

// The environment variables ShardFromEnv reads.
const (
	// Slurm job arrays (sbatch --array=0-15) export the task's ID with
	// the array's count, minimum, maximum and step.
	EnvSlurmID    = "SLURM_ARRAY_TASK_ID"
	EnvSlurmCount = "SLURM_ARRAY_TASK_COUNT"
	EnvSlurmMin   = "SLURM_ARRAY_TASK_MIN"
	EnvSlurmMax   = "SLURM_ARRAY_TASK_MAX"
	EnvSlurmStep  = "SLURM_ARRAY_TASK_STEP"
	// Kubernetes Indexed Jobs (completionMode: Indexed) export the
	// index as JOB_COMPLETION_INDEX but not the number of completions,
	// so the job must pass it itself, as SGDLAB_SHARDS (set it to the
	// Job's spec.completions in the pod template's env).
	EnvK8sIndex = "JOB_COMPLETION_INDEX"
	EnvShards   = "SGDLAB_SHARDS"
)

// ShardFromEnv returns the shard of this task of a job array, from the
// environment, and false outside a job array:
//
//   - Slurm: index = SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN (0 if
//     unset; Slurm arrays may start anywhere, e.g. --array=1-16), divided
//     by SLURM_ARRAY_TASK_STEP if set; count = SLURM_ARRAY_TASK_COUNT, or
//     (MAX − MIN)/STEP + 1. Arrays with holes (--array=1,5,7) cannot be
//     numbered 0…n−1 and are refused.
//   - Kubernetes: index = JOB_COMPLETION_INDEX, count = SGDLAB_SHARDS.
//
// Slurm is looked at first. A malformed or inconsistent value is an error
// naming the variable, wrapping experiment.ErrInvalid; a task must never
// guess its share, or points would be run twice or not at all.
func ShardFromEnv() (Shard, bool, error) {
	return shardFromEnv(os.LookupEnv)
}

func shardFromEnv(lookup func(string) (string, bool)) (Shard, bool, error) {
	bad := func(format string, args ...any) (Shard, bool, error) {
		return Shard{}, false, fmt.Errorf("%w: job array: %s", experiment.ErrInvalid, fmt.Sprintf(format, args...))
	}
	num := func(name string) (int, bool, error) {
		v, ok := lookup(name)
		if !ok || strings.TrimSpace(v) == "" {
			return 0, false, nil
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return 0, true, fmt.Errorf("%w: job array: %s=%q: want a non-negative integer", experiment.ErrInvalid, name, v)
		}
		return n, true, nil
	}
	if id, ok, err := num(EnvSlurmID); err != nil {
		return Shard{}, false, err
	} else if ok {
		count, hasCount, err := num(EnvSlurmCount)
		if err != nil {
			return Shard{}, false, err
		}
		lo, hasMin, err := num(EnvSlurmMin)
		if err != nil {
			return Shard{}, false, err
		}
		hi, hasMax, err := num(EnvSlurmMax)
		if err != nil {
			return Shard{}, false, err
		}
		step, hasStep, err := num(EnvSlurmStep)
		if err != nil {
			return Shard{}, false, err
		}
		if !hasStep {
			step = 1
		}
		if step < 1 {
			return bad("%s=%d: must be ≥ 1", EnvSlurmStep, step)
		}
		if id < lo {
			return bad("%s=%d is below %s=%d", EnvSlurmID, id, EnvSlurmMin, lo)
		}
		if (id-lo)%step != 0 {
			return bad("%s=%d is not %s=%d plus a multiple of %s=%d", EnvSlurmID, id, EnvSlurmMin, lo, EnvSlurmStep, step)
		}
		index := (id - lo) / step
		if hasMax {
			if hi < lo {
				return bad("%s=%d is below %s=%d", EnvSlurmMax, hi, EnvSlurmMin, lo)
			}
			span := (hi-lo)/step + 1
			if hasCount && count != span {
				return bad("%s=%d but %s..%s = %d..%d holds %d tasks: arrays with holes (--array=1,5,7) are not supported, use a range such as --array=0-%d",
					EnvSlurmCount, count, EnvSlurmMin, EnvSlurmMax, lo, hi, span, count-1)
			}
			count, hasCount = span, true
		}
		if !hasCount {
			return bad("%s=%d without %s or %s/%s: the number of tasks is unknown", EnvSlurmID, id, EnvSlurmCount, EnvSlurmMin, EnvSlurmMax)
		}
		if !hasMin && hasCount && !hasMax && id >= count {
			return bad("%s=%d without %s, and not below %s=%d: set %s for an array that does not start at 0", EnvSlurmID, id, EnvSlurmMin, EnvSlurmCount, count, EnvSlurmMin)
		}
		s := Shard{Index: index, Count: count}
		if err := s.check(); err != nil {
			return bad("%s=%d, count %d: %v", EnvSlurmID, id, count, err)
		}
		return s, true, nil
	}
	index, hasIndex, err := num(EnvK8sIndex)
	if err != nil {
		return Shard{}, false, err
	}
	count, hasCount, err := num(EnvShards)
	if err != nil {
		return Shard{}, false, err
	}
	switch {
	case !hasIndex && !hasCount:
		return Shard{}, false, nil
	case !hasIndex:
		return bad("%s=%d is set but %s is not: the index of this task is unknown (outside an Indexed Job, use -shard i/n)", EnvShards, count, EnvK8sIndex)
	case !hasCount:
		return bad("%s=%d is set but %s is not: Kubernetes does not export the number of completions, set %s to the Job's spec.completions", EnvK8sIndex, index, EnvShards, EnvShards)
	case count < 1:
		return bad("%s=%d: must be ≥ 1", EnvShards, count)
	case index >= count:
		return bad("%s=%d is not below %s=%d", EnvK8sIndex, index, EnvShards, count)
	}
	s := Shard{Index: index, Count: count}
	if err := s.check(); err != nil {
		return bad("%s: %v", EnvShards, err)
	}
	return s, true, nil
}
