package sweep

import (
	"errors"
	"strings"
	"testing"

	"sgdlab/experiment"
)

func TestShardFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want Shard
		ok   bool
		err  string // substring of the error; "" for none
	}{
		{"none", nil, Shard{}, false, ""},
		{"slurm count", map[string]string{EnvSlurmID: "3", EnvSlurmCount: "4"}, Shard{3, 4}, true, ""},
		{"slurm min max from 0", map[string]string{EnvSlurmID: "0", EnvSlurmMin: "0", EnvSlurmMax: "3"}, Shard{0, 4}, true, ""},
		{"slurm from 1", map[string]string{EnvSlurmID: "5", EnvSlurmMin: "1", EnvSlurmMax: "8"}, Shard{4, 8}, true, ""},
		{"slurm all four", map[string]string{EnvSlurmID: "12", EnvSlurmCount: "4", EnvSlurmMin: "10", EnvSlurmMax: "13", EnvSlurmStep: "1"}, Shard{2, 4}, true, ""},
		{"slurm step", map[string]string{EnvSlurmID: "8", EnvSlurmCount: "4", EnvSlurmMin: "0", EnvSlurmMax: "12", EnvSlurmStep: "4"}, Shard{2, 4}, true, ""},
		{"slurm wins over kubernetes", map[string]string{EnvSlurmID: "1", EnvSlurmCount: "2", EnvK8sIndex: "0", EnvShards: "3"}, Shard{1, 2}, true, ""},
		{"kubernetes", map[string]string{EnvK8sIndex: "2", EnvShards: "5"}, Shard{2, 5}, true, ""},
		{"slurm id not a number", map[string]string{EnvSlurmID: "x", EnvSlurmCount: "4"}, Shard{}, false, `SLURM_ARRAY_TASK_ID="x": want a non-negative integer`},
		{"slurm negative count", map[string]string{EnvSlurmID: "1", EnvSlurmCount: "-4"}, Shard{}, false, `SLURM_ARRAY_TASK_COUNT="-4"`},
		{"slurm no count", map[string]string{EnvSlurmID: "1"}, Shard{}, false, "SLURM_ARRAY_TASK_ID=1 without SLURM_ARRAY_TASK_COUNT"},
		{"slurm id beyond count", map[string]string{EnvSlurmID: "4", EnvSlurmCount: "4"}, Shard{}, false, "set SLURM_ARRAY_TASK_MIN"},
		{"slurm id below min", map[string]string{EnvSlurmID: "0", EnvSlurmMin: "1", EnvSlurmMax: "4"}, Shard{}, false, "SLURM_ARRAY_TASK_ID=0 is below SLURM_ARRAY_TASK_MIN=1"},
		{"slurm max below min", map[string]string{EnvSlurmID: "3", EnvSlurmMin: "3", EnvSlurmMax: "1"}, Shard{}, false, "SLURM_ARRAY_TASK_MAX=1 is below SLURM_ARRAY_TASK_MIN=3"},
		{"slurm id above max", map[string]string{EnvSlurmID: "9", EnvSlurmMin: "0", EnvSlurmMax: "3"}, Shard{}, false, "need 0 ≤ index < count"},
		{"slurm holes", map[string]string{EnvSlurmID: "5", EnvSlurmCount: "3", EnvSlurmMin: "1", EnvSlurmMax: "7"}, Shard{}, false, "arrays with holes"},
		{"slurm off step", map[string]string{EnvSlurmID: "3", EnvSlurmMin: "0", EnvSlurmMax: "8", EnvSlurmStep: "2"}, Shard{}, false, "not SLURM_ARRAY_TASK_MIN=0 plus a multiple of SLURM_ARRAY_TASK_STEP=2"},
		{"slurm zero step", map[string]string{EnvSlurmID: "0", EnvSlurmCount: "2", EnvSlurmStep: "0"}, Shard{}, false, "SLURM_ARRAY_TASK_STEP=0: must be ≥ 1"},
		{"kubernetes without count", map[string]string{EnvK8sIndex: "2"}, Shard{}, false, "JOB_COMPLETION_INDEX=2 is set but SGDLAB_SHARDS is not"},
		{"count without kubernetes", map[string]string{EnvShards: "4"}, Shard{}, false, "SGDLAB_SHARDS=4 is set but JOB_COMPLETION_INDEX is not"},
		{"kubernetes index too big", map[string]string{EnvK8sIndex: "5", EnvShards: "5"}, Shard{}, false, "JOB_COMPLETION_INDEX=5 is not below SGDLAB_SHARDS=5"},
		{"kubernetes zero count", map[string]string{EnvK8sIndex: "0", EnvShards: "0"}, Shard{}, false, "SGDLAB_SHARDS=0: must be ≥ 1"},
		{"kubernetes bad count", map[string]string{EnvK8sIndex: "0", EnvShards: "four"}, Shard{}, false, `SGDLAB_SHARDS="four"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := shardFromEnv(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, experiment.ErrInvalid) {
					t.Fatalf("error %v, want one wrapping ErrInvalid with %q", err, tc.err)
				}
				return
			}
			if err != nil || ok != tc.ok || got != tc.want {
				t.Fatalf("got %v, %v, %v; want %v, %v", got, ok, err, tc.want, tc.ok)
			}
		})
	}
	// The exported form reads the process's environment.
	t.Setenv(EnvSlurmID, "")
	t.Setenv(EnvK8sIndex, "1")
	t.Setenv(EnvShards, "3")
	if s, ok, err := ShardFromEnv(); err != nil || !ok || s != (Shard{1, 3}) {
		t.Errorf("ShardFromEnv: %v, %v, %v", s, ok, err)
	}
}

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		err  string
	}{
		{"0/4", Shard{0, 4}, ""},
		{"3/4", Shard{3, 4}, ""},
		{"0/1", Shard{0, 1}, ""},
		{"4/4", Shard{}, "need 0 ≤ index < count"},
		{"-1/4", Shard{}, "need 0 ≤ index < count"},
		{"1/0", Shard{}, "the count must be ≥ 1"},
		{"1", Shard{}, "want i/n"},
		{"a/b", Shard{}, "want i/n"},
	} {
		got, err := ParseShard(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, experiment.ErrInvalid) {
				t.Errorf("ParseShard(%q): error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v", tc.in, got, err)
		}
	}
	// Shards partition the points.
	for k := range 20 {
		n := 0
		for i := range 3 {
			if (Shard{i, 3}).Has(k) {
				n++
			}
		}
		if n != 1 || !(Shard{}).Has(k) {
			t.Errorf("point %d is in %d of 3 shards", k, n)
		}
	}
}
