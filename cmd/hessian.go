package cmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"sgdlab/experiment"
)

const hessianUsage = "usage: sgdlab hessian -run DIR|CHECKPOINT [-k 5] [-examples N] [-out DIR]\n"

// hessian analyses the training-loss Hessian at the checkpoints of a
// finished run: top and bottom eigenvalues, trace and spectral density.
func hessian(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hessian", flag.ContinueOnError)
	fs.SetOutput(stderr)
	run := fs.String("run", "", "a result directory of sgdlab reproduce (all its checkpoints), or one checkpoint file")
	opt := experiment.DefaultHessianOptions
	fs.IntVar(&opt.K, "k", opt.K, "eigenvalues at each end of the spectrum")
	fs.IntVar(&opt.Examples, "examples", 0, "training points the loss is taken over (0: all)")
	out := fs.String("out", "", "output directory (default: DIR/hessian)")
	fs.IntVar(&opt.Draws, "draws", 0, "with -examples: also λ_max and trace on this many random subsamples of that size, with standard errors")
	block := fs.String("block", "", "comma-separated parameter names (e.g. w1,b1): the Hessian's diagonal block in them alone")
	fs.Usage = func() {
		fmt.Fprint(stderr, hessianUsage)
		fs.PrintDefaults()
	}
	cps, err := checkpointArgs(fs, args, run, out, "hessian", func() bool { return opt.K >= 1 && opt.Examples >= 0 }, stderr)
	if err != nil {
		return err
	}
	if *block != "" {
		opt.Block = strings.Split(*block, ",")
	}
	for _, cp := range cps {
		rep, err := experiment.AnalyseHessian(ctx, cp, opt)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", cp.Experiment, cp.Run, err)
		}
		if err := experiment.WriteHessian(*out, rep); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s/%s at iteration %d (%d parameters, loss on %d points %.4g): λ_max %.6g, λ_min %.6g, trace ≈ %.6g\n",
			rep.Experiment, rep.Run, rep.Iteration, rep.Params, rep.Examples, rep.Loss, rep.Top[0], rep.Bottom[0], rep.Trace)
		fmt.Fprintf(stdout, "  top %s; HVP check: symmetry %.1e, central differences %.1e\n", fmtValues(rep.Top), rep.Check.Symmetry, rep.Check.FiniteDifference)
		if s := rep.Sampled; s != nil {
			fmt.Fprintf(stdout, "  on %d subsamples of %d points: λ_max %.6g ± %.2g, trace %.6g ± %.2g (mean ± standard error)\n", s.Draws, s.Examples, s.TopMean, s.TopSE, s.TraceMean, s.TraceSE)
		}
	}
	fmt.Fprintf(stdout, "written to %s\n", *out)
	return nil
}

// checkpointArgs parses the flags of a command that analyses checkpoints,
// given whether the other flags are valid once parsed (a func, as they are
// only known after parsing), loads the checkpoints named by -run, and sets
// -out to DIR/sub when it is empty.
func checkpointArgs(fs *flag.FlagSet, args []string, run, out *string, sub string, valid func() bool, stderr io.Writer) ([]experiment.Checkpoint, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, errUsage
	}
	if *run == "" || fs.NArg() > 0 || !valid() {
		fs.Usage()
		return nil, errUsage
	}
	cps, dir, err := loadCheckpoints(*run)
	if err != nil {
		fmt.Fprintf(stderr, "sgdlab: %v\n", err)
		return nil, errUsage
	}
	if *out == "" {
		*out = filepath.Join(dir, sub)
	}
	return cps, nil
}

// loadCheckpoints reads the checkpoints named by run: every checkpoint of
// a result directory of `sgdlab reproduce`, or one checkpoint file. dir is
// the experiment's result directory, where analyses are written.
func loadCheckpoints(run string) (cps []experiment.Checkpoint, dir string, err error) {
	st, err := os.Stat(run)
	if err != nil {
		return nil, "", err
	}
	paths := []string{run}
	dir = filepath.Dir(filepath.Dir(run))
	if st.IsDir() {
		dir = run
		if paths, err = experiment.CheckpointPaths(run); err != nil {
			return nil, "", err
		}
	}
	for _, p := range paths {
		cp, err := experiment.LoadCheckpoint(p)
		if err != nil {
			return nil, "", err
		}
		cps = append(cps, cp)
	}
	return cps, dir, nil
}

func fmtValues(vs []float64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprintf("%.4g", v)
	}
	return strings.Join(s, " ")
}
