package cmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"sgdlab/experiment"
	"sgdlab/sweep"
)

const sweepUsage = `usage:
  sgdlab sweep plan FILE [-out DIR]
  sgdlab sweep run FILE [-out DIR] [-workers N] [-shard i/n]
  sgdlab sweep collect FILE [-out DIR] [-metric NAME] [-require-all]
DIR defaults to sweeps/NAME. In a Slurm job array (sbatch --array=0-N) or a
Kubernetes Indexed Job (with SGDLAB_SHARDS set to the completion count), run
takes its shard from the environment; -shard wins over it.
`

// sweepTrain, if set, replaces experiment.Run for the points of a sweep:
// tests inject failures with it.
var sweepTrain sweep.TrainFunc

// sweepCmd is `sgdlab sweep plan|run|collect FILE`.
func sweepCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, sweepUsage)
		return errUsage
	}
	switch args[0] {
	case "plan":
		return sweepPlan(args[1:], stdout, stderr)
	case "run":
		return sweepRun(ctx, args[1:], stdout, stderr)
	case "collect":
		return sweepCollect(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, sweepUsage)
		return nil
	}
	fmt.Fprintf(stderr, "sgdlab: unknown sweep command %q\n%s", args[0], sweepUsage)
	return errUsage
}

// sweepFlags parses the flags of a sweep subcommand, with exactly one
// positional argument, the sweep file, and returns its plan and output
// directory.
func sweepFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (sweep.Plan, string, error) {
	fs.SetOutput(stderr)
	out := fs.String("out", "", "the sweep's output directory (default sweeps/NAME)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return sweep.Plan{}, "", err
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "sgdlab: sweep %s needs exactly one sweep file, got %d arguments\n", fs.Name(), len(pos))
		fs.Usage()
		return sweep.Plan{}, "", errUsage
	}
	s, err := sweep.Load(pos[0])
	if err != nil {
		return sweep.Plan{}, "", err
	}
	plan, err := s.Plan()
	if err != nil {
		return sweep.Plan{}, "", err
	}
	if *out == "" {
		*out = filepath.Join("sweeps", s.Name)
	}
	return plan, *out, nil
}

func usageOf(fs *flag.FlagSet, line string, stderr io.Writer) func() {
	return func() {
		fmt.Fprintf(stderr, "usage: %s\n", line)
		fs.PrintDefaults()
	}
}

// sweepPlan prints one line per point: index, ID, overrides and state.
func sweepPlan(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.Usage = usageOf(fs, "sgdlab sweep plan FILE [-out DIR]", stderr)
	plan, out, err := sweepFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	for _, pt := range plan.Points {
		fmt.Fprintf(stdout, "%d\t%s\t%s\t%s\n", pt.Index, pt.ID, plan.Label(pt), sweep.PointState(out, pt.ID))
	}
	return nil
}

// sweepRun trains the points of one shard of a sweep.
func sweepRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	workers := fs.Int("workers", 1, "points trained at once (with more than 1, each trains its runs one after the other)")
	shardFlag := fs.String("shard", "", "run only shard `i/n`: the points k with k mod n = i (default: from the job array's environment, else all)")
	fs.Usage = usageOf(fs, "sgdlab sweep run FILE [-out DIR] [-workers N] [-shard i/n]", stderr)
	plan, out, err := sweepFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	if *workers < 1 || *workers > 1024 {
		fmt.Fprintf(stderr, "sgdlab: -workers: must be in [1, 1024], got %d\n", *workers)
		return errUsage
	}
	var shard sweep.Shard
	if *shardFlag != "" {
		if shard, err = sweep.ParseShard(*shardFlag); err != nil {
			return err
		}
	} else if shard, _, err = sweep.ShardFromEnv(); err != nil {
		return err
	}
	name := plan.Spec.Name
	if shard.Count > 1 {
		name += " shard " + shard.String()
	}
	p := newSweepProgress(stderr, name)
	counts, err := sweep.Run(ctx, plan, out, sweep.Options{Workers: *workers, Shard: shard, Log: p, Progress: p.update, Train: sweepTrain})
	p.stop()
	if counts.Total > 0 || err == nil {
		line := fmt.Sprintf("sweep %s: %d points done now, %d already done, %d failed", name, counts.Done, counts.Skipped, counts.Failed)
		if len(counts.Failures) > 0 {
			line += fmt.Sprintf(" (see %s)", filepath.Join(sweep.PointDir(out, counts.Failures[0].ID), sweep.FailedFile))
		}
		if counts.Busy > 0 {
			line += fmt.Sprintf(", %d left to another process running them", counts.Busy)
		}
		if rest := counts.Total - counts.Done - counts.Skipped - counts.Failed - counts.Busy; rest > 0 {
			line += fmt.Sprintf(", %d not done", rest)
		}
		fmt.Fprintln(stdout, line)
	}
	if err != nil {
		return err
	}
	if n := len(counts.Failures); n > 0 {
		f := counts.Failures[0]
		more := ""
		if n > 1 {
			more = fmt.Sprintf(" (and %d more)", n-1)
		}
		return fmt.Errorf("sweep %s: %d of %d points failed; point %d (%s): %v%s", name, n, counts.Total, f.Index, f.ID, f.Err, more)
	}
	return nil
}

// sweepCollect writes collect.csv and the summary figures of a sweep.
func sweepCollect(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("collect", flag.ContinueOnError)
	metric := fs.String("metric", "", "the final metric the figures show (default: the first the points report)")
	requireAll := fs.Bool("require-all", false, "exit with 1 unless every point of the plan is done")
	fs.Usage = usageOf(fs, "sgdlab sweep collect FILE [-out DIR] [-metric NAME] [-require-all]", stderr)
	plan, out, err := sweepFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(out, "points")); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: sweep %s: no results under %s (run `sgdlab sweep run` first, or give the -out it used)", experiment.ErrInvalid, plan.Spec.Name, out)
	}
	rep, err := sweep.Collect(plan, out, sweep.CollectOptions{Metric: *metric})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sweep %s: %d of %d points finished, %d failed, %d missing → %s (%d rows)\n",
		plan.Spec.Name, rep.Finished, rep.Total, rep.Failed, rep.Missing, rep.CSV, rep.Rows)
	for _, f := range rep.Figures {
		fmt.Fprintln(stdout, "  "+f)
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(stderr, "sgdlab: "+n)
	}
	if *requireAll && rep.Finished < rep.Total {
		msg := fmt.Sprintf("sweep %s: -require-all: %d of %d points are not done (%d failed, %d missing)", plan.Spec.Name, rep.Total-rep.Finished, rep.Total, rep.Failed, rep.Missing)
		if len(rep.FailedIDs) > 0 {
			msg += "; see " + filepath.Join(sweep.PointDir(out, rep.FailedIDs[0]), sweep.FailedFile)
		}
		return errors.New(msg)
	}
	return nil
}

// sweepProgress shows how far a sweep is.
type sweepProgress struct {
	statusLine
	name string
}

func newSweepProgress(w io.Writer, name string) *sweepProgress {
	p := &sweepProgress{name: name}
	p.init(w)
	return p
}

func (p *sweepProgress) update(s sweep.Status) {
	if !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.due(s.Running == 0) {
		p.draw(fmt.Sprintf("sweep %s: %d/%d done (%d already), %d failed, %d running", p.name, s.Done+s.Skipped, s.Total, s.Skipped, s.Failed, s.Running))
	}
}
