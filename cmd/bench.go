package cmd

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"sgdlab/bench"
)

// benchCmd runs the speed workloads (all, or those named) and prints a
// table, or with -json one object per workload for compare.sh.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	minTime := fs.Duration("time", time.Second, "minimum time per workload (the E1 run is timed at least once)")
	asJSON := fs.Bool("json", false, "print one JSON object per workload instead of a table")
	var names []string
	for _, w := range bench.All() {
		names = append(names, w.Name)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: sgdlab bench [WORKLOAD...] [-time D] [-json]\nworkloads: %s\n", strings.Join(names, ", "))
		fs.PrintDefaults()
	}
	picked, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	var ws []bench.Workload
	if len(picked) == 0 {
		ws = bench.All()
	}
	for _, n := range picked {
		w, err := bench.Lookup(n)
		if err != nil {
			fmt.Fprintf(stderr, "sgdlab: %v\n", err)
			return errUsage
		}
		ws = append(ws, w)
	}
	const row = "%-16s %12s %7s %12s %12s %12s %8s\n"
	if !*asJSON {
		fmt.Fprintf(stdout, row, "workload", "time/unit", "unit", "allocs/unit", "bytes/unit", "units timed", "GFLOP/s")
	}
	for _, w := range ws {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := bench.Measure(w, *minTime)
		if err != nil {
			return err
		}
		if *asJSON {
			b, err := json.Marshal(map[string]any{"name": r.Name, "unit": r.Unit, "ns_per_unit": r.PerOp.Nanoseconds(),
				"allocs_per_unit": r.Allocs, "bytes_per_unit": r.Bytes, "units": r.Units, "gflops": r.GFLOPS})
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, string(b))
			continue
		}
		gflops := "—"
		if r.GFLOPS > 0 {
			gflops = fmt.Sprintf("%.1f", r.GFLOPS)
		}
		fmt.Fprintf(stdout, row, r.Name, r.PerOp.Round(time.Nanosecond).String(), r.Unit,
			fmt.Sprintf("%.3g", r.Allocs), fmt.Sprintf("%.3g", r.Bytes), fmt.Sprint(r.Units), gflops)
	}
	return nil
}
