package cmd

import (
	"context"
	"flag"
	"fmt"
	"io"

	"sgdlab/experiment"
)

const landscapeUsage = "usage: sgdlab landscape -run DIR|CHECKPOINT [-dirs top|random] [-span S] [-n N] [-out DIR]\n"

// landscape draws the loss around the checkpoints of a finished run along
// the top Hessian eigenvectors or random filter-normalised directions.
func landscape(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("landscape", flag.ContinueOnError)
	fs.SetOutput(stderr)
	run := fs.String("run", "", "a result directory of sgdlab reproduce (all its checkpoints), or one checkpoint file")
	opt := experiment.DefaultLandscapeOptions
	fs.StringVar(&opt.Directions, "dirs", opt.Directions, "directions: top (Hessian eigenvectors) or random (filter-normalised)")
	fs.Float64Var(&opt.Span, "span", opt.Span, "half-width of the slices")
	fs.IntVar(&opt.N, "n", opt.N, "points per axis")
	out := fs.String("out", "", "output directory (default: DIR/landscape)")
	fs.Usage = func() {
		fmt.Fprint(stderr, landscapeUsage)
		fs.PrintDefaults()
	}
	valid := func() bool {
		return (opt.Directions == "top" || opt.Directions == "random") && opt.N >= 3 && opt.Span > 0
	}
	cps, err := checkpointArgs(fs, args, run, out, "landscape", valid, stderr)
	if err != nil {
		return err
	}
	for _, cp := range cps {
		ls, err := experiment.LossLandscape(ctx, cp, opt)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", cp.Experiment, cp.Run, err)
		}
		if err := experiment.WriteLandscape(*out, ls); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s/%s at iteration %d: %s directions, %d×%d plane\n", cp.Experiment, cp.Run, cp.Iteration, opt.Directions, opt.N, opt.N)
	}
	fmt.Fprintf(stdout, "written to %s\n", *out)
	return nil
}
