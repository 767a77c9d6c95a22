// Package cmd is the sgdlab command line as a library: Main runs it with
// the given arguments. cmd/sgdlab is a thin main over it, and a user's
// own main can be too, after registering models, data kinds and metrics
// of their own (models.Register, data.Register, metric.Register), so that
// `run -config`, `hessian` and `landscape` work on them:
//
//	func main() {
//		models.Register("my_net", func() models.Spec { return new(MyNetSpec) })
//		ctx, stop := cmd.WithSignals(context.Background())
//		code := cmd.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
//		stop()
//		os.Exit(code)
//	}
//
// Usage:
//
//	sgdlab reproduce [EXPERIMENT...] [-out DIR] [-quick] [-set key.path=value ...] [-print-config] [-resume] [-data DIR]
//	sgdlab run -config FILE [-set key.path=value ...] [-out DIR]
//	sgdlab list [-metrics]
//	sgdlab hessian -run DIR|CHECKPOINT [-k 5] [-examples N] [-out DIR]
//	sgdlab landscape -run DIR|CHECKPOINT [-dirs top|random] [-span S] [-n N] [-out DIR]
//	sgdlab bench [WORKLOAD...] [-time D] [-json]
//	sgdlab sweep plan|run|collect FILE [-out DIR] [-workers N] [-shard i/n] [-metric NAME] [-require-all]
//
// reproduce runs the paper's experiments (all of them if none is named)
// and writes DIR/EXPERIMENT/{config.json, metrics.csv, summary.json, *.png,
// checkpoints/RUN.json}; with -print-config it prints the configuration
// of one experiment instead, as a starting point for run -config. run
// does the same for a configuration file, of any registered model and
// data kind. hessian analyses the training-loss Hessian at the
// checkpoints of a finished experiment: extreme eigenvalues (Lanczos),
// trace (Hutch++) and spectral density (stochastic Lanczos quadrature),
// written to DIR/hessian. landscape draws 1D slices and a 2D plane of the
// loss through each checkpoint along the top Hessian eigenvectors or
// random filter-normalised directions, written to DIR/landscape. bench
// times the speed workloads of package bench.
//
// Exit status: 0 on success, 1 if an experiment failed, 2 for bad usage,
// a bad configuration or a bad checkpoint, 130 after SIGINT and 143 after
// SIGTERM (see WithSignals).
package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"sgdlab/data"
	"sgdlab/experiment"
	"sgdlab/metric"
	"sgdlab/models"
)

// errUsage marks errors that are the user's input and have been printed;
// they exit with 2. errHelp is a request for help: the usage is printed
// and the exit is 0.
var (
	errUsage = errors.New("usage")
	errHelp  = errors.New("help")
)

// Main runs the command line args (without the program name), writing
// results to stdout and diagnostics to stderr, and returns the exit
// status. Cancelling ctx stops the work at the next check; with the
// cause Interrupted (see WithSignals) the status is 128 + the signal.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := run(ctx, args, stdout, stderr)
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, experiment.ErrInvalid):
		fmt.Fprintln(stderr, "sgdlab:", err)
		return 2
	}
	if code, msg, ok := interruption(ctx, err); ok {
		fmt.Fprintln(stderr, msg)
		return code
	}
	fmt.Fprintln(stderr, "sgdlab:", err)
	return 1
}

const usage = `usage:
  sgdlab reproduce [EXPERIMENT...] [-out DIR] [-quick] [-set key.path=value ...] [-print-config] [-resume] [-data DIR]
  sgdlab run -config FILE [-set key.path=value ...] [-out DIR]
  sgdlab list [-metrics]
  sgdlab hessian -run DIR|CHECKPOINT [-k 5] [-examples N] [-out DIR]
  sgdlab landscape -run DIR|CHECKPOINT [-dirs top|random] [-span S] [-n N] [-out DIR]
  sgdlab bench [WORKLOAD...] [-time D] [-json]
  sgdlab sweep plan|run|collect FILE [-out DIR] [-workers N] [-shard i/n] [-metric NAME] [-require-all]
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "reproduce":
		return reproduce(ctx, args[1:], stdout, stderr)
	case "run":
		return runConfig(ctx, args[1:], stdout, stderr)
	case "hessian":
		return hessian(ctx, args[1:], stdout, stderr)
	case "landscape":
		return landscape(ctx, args[1:], stdout, stderr)
	case "bench":
		return benchCmd(ctx, args[1:], stdout, stderr)
	case "list":
		return list(args[1:], stdout, stderr)
	case "sweep":
		return sweepCmd(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "sgdlab: unknown command %q\n%s", args[0], usage)
	return errUsage
}

// sets collects the repeated -set flag.
type sets []string

func (s *sets) String() string     { return strings.Join(*s, " ") }
func (s *sets) Set(v string) error { *s = append(*s, v); return nil }

func reproduce(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reproduce", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "results", "directory for the results")
	quick := fs.Bool("quick", false, "a tenth of the iterations: a fast look, not the paper's numbers")
	printConfig := fs.Bool("print-config", false, "print the configuration of the one named experiment (after -quick and -set) instead of running it")
	resume := fs.Bool("resume", false, "continue the runs of a stopped invocation from their saved states (configurations with checkpoint_every)")
	dataDir := fs.String("data", "", "directory of the data files, for experiments on data sets read from files (mnist, cifar10): sets data.dir")
	var overrides sets
	fs.Var(&overrides, "set", "override a configuration key, `key.path=value` (repeatable)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: sgdlab reproduce [EXPERIMENT...] [-out DIR] [-quick] [-set key.path=value ...] [-print-config] [-resume] [-data DIR]\nexperiments: %s\n", strings.Join(experiment.Names(), ", "))
		fs.PrintDefaults()
	}
	names, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if *printConfig && len(names) != 1 {
		fmt.Fprintf(stderr, "sgdlab: -print-config needs exactly one experiment (one of %s)\n", strings.Join(experiment.Names(), ", "))
		return errUsage
	}
	var configs []experiment.Config
	if len(names) == 0 {
		configs = experiment.All()
	}
	for _, n := range names {
		c, err := experiment.Lookup(n)
		if err != nil {
			fmt.Fprintf(stderr, "sgdlab: %v\n", err)
			return errUsage
		}
		configs = append(configs, c)
	}
	for i, c := range configs {
		if *quick {
			c = c.Quick()
		}
		if *dataDir != "" && c.Data.Source != nil {
			if _, ok := c.Data.Source.(data.Imager); ok {
				if c, err = c.Override("data.dir=" + strconv.Quote(*dataDir)); err != nil {
					return err
				}
			}
		}
		if len(overrides) > 0 {
			if c, err = c.Override(overrides...); err != nil {
				return err
			}
		}
		configs[i] = c
	}
	if *printConfig {
		b, err := json.MarshalIndent(configs[0], "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	return runAll(ctx, configs, experiment.Options{Out: *out, Resume: *resume}, stdout, stderr)
}

func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "the configuration file (JSON; `sgdlab reproduce NAME -print-config` writes one)")
	out := fs.String("out", "results", "directory for the results")
	resume := fs.Bool("resume", false, "continue the runs of a stopped invocation from their saved states (configurations with checkpoint_every)")
	var overrides sets
	fs.Var(&overrides, "set", "override a configuration key, `key.path=value` (repeatable)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: sgdlab run -config FILE [-set key.path=value ...] [-out DIR] [-resume]\n")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if *file == "" || len(pos) > 0 {
		fs.Usage()
		return errUsage
	}
	c, err := experiment.LoadConfig(*file, overrides...)
	if err != nil {
		return err
	}
	return runAll(ctx, []experiment.Config{c}, experiment.Options{Out: *out, Resume: *resume}, stdout, stderr)
}

// runAll runs the experiments one after the other, showing progress, and
// prints the final metrics of every run.
func runAll(ctx context.Context, configs []experiment.Config, opt experiment.Options, stdout, stderr io.Writer) error {
	out := opt.Out
	for _, c := range configs {
		start := time.Now()
		p := newProgress(stderr, c.Name)
		opt.Log, opt.Progress = p, p.update
		sum, err := experiment.Run(ctx, c, opt)
		p.stop()
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			// A signal during the write phase: the results were finished
			// and are complete; the next experiment is not started.
			return ctx.Err()
		}
		fmt.Fprintf(stdout, "%s: %d runs in %.1fs → %s\n", c.Name, len(sum.Runs), time.Since(start).Seconds(), out+"/"+c.Name)
		for _, r := range sum.Runs {
			if r.Diverged {
				fmt.Fprintf(stdout, "  %-14s η=%-8.4g diverged at iteration %d\n", r.Name, r.LR, *r.DivergedAt)
				continue
			}
			fmt.Fprintf(stdout, "  %-14s η=%-8.4g", r.Name, r.LR)
			keys := make([]string, 0, len(r.Final))
			for k := range r.Final {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if v := r.Final[k]; v != nil {
					fmt.Fprintf(stdout, " %s=%.4g", k, *v)
				}
			}
			fmt.Fprintln(stdout)
		}
	}
	return nil
}

// list prints the experiments, or with -metrics the registered metrics,
// model kinds and data kinds.
func list(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kinds := fs.Bool("metrics", false, "list the registered metrics, model kinds and data kinds instead")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: sgdlab list [-metrics]\n")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fs.Usage()
		return errUsage
	}
	if !*kinds {
		for _, c := range experiment.All() {
			fmt.Fprintf(stdout, "%-12s %s\n", c.Name, c.Description)
		}
		return nil
	}
	fmt.Fprintln(stdout, "metrics of every model:")
	for _, d := range metric.Definitions() {
		fmt.Fprintf(stdout, "  %-17s %s\n", d.Name, d.Doc)
	}
	// A model's own metrics are known once it is built: show those of
	// the models of the built-in experiments.
	own := make(map[string][]models.Metric)
	for _, c := range experiment.All() {
		if m, err := c.Model.Spec.New(); err == nil && own[c.Model.Kind] == nil {
			if mm, ok := m.(models.Measured); ok {
				own[c.Model.Kind] = mm.Metrics()
			}
		}
	}
	fmt.Fprintln(stdout, "model kinds, with the metrics they offer themselves:")
	for _, k := range models.Kinds() {
		fmt.Fprintf(stdout, "  %s\n", k)
		for _, x := range own[k] {
			fmt.Fprintf(stdout, "    %-12s %s\n", x.Name, x.Doc)
		}
	}
	fmt.Fprintln(stdout, "data kinds:")
	for _, k := range data.Kinds() {
		fmt.Fprintf(stdout, "  %s\n", k)
	}
	return nil
}

// parseInterleaved parses args with fs, allowing flags before and after
// the positional arguments, which it returns. -h is not an error; any
// other parse error is errUsage (fs has printed it with the usage).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// statusLine is one line of progress, redrawn in place on a terminal and
// not shown elsewhere (a Slurm log), with log lines passed through above
// it. Its users hold mu while they draw.
type statusLine struct {
	mu   sync.Mutex
	w    io.Writer
	tty  bool
	last time.Time
}

// init sets the line to write to w, drawing only if w is a terminal.
func (l *statusLine) init(w io.Writer) {
	l.w = w
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			l.tty = true
		}
	}
}

// due reports whether the line may be redrawn now: at most five times a
// second, unless force.
func (l *statusLine) due(force bool) bool {
	if !force && time.Since(l.last) < 200*time.Millisecond {
		return false
	}
	l.last = time.Now()
	return true
}

// draw shows s in place of the line.
func (l *statusLine) draw(s string) { fmt.Fprint(l.w, "\r", s, "\x1b[K") }

// Write prints a log line, clearing the progress line first.
func (l *statusLine) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tty {
		fmt.Fprint(l.w, "\r\x1b[K")
	}
	return l.w.Write(b)
}

func (l *statusLine) stop() {
	if l.tty {
		fmt.Fprint(l.w, "\r\x1b[K")
	}
}

// progress shows how far the runs of an experiment are.
type progress struct {
	statusLine
	name  string
	done  map[string]float64
	order []string
}

func newProgress(w io.Writer, name string) *progress {
	p := &progress{name: name, done: make(map[string]float64)}
	p.init(w)
	return p
}

func (p *progress) update(run string, done, total int) {
	if !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.done[run]; !ok {
		p.order = append(p.order, run)
	}
	p.done[run] = float64(done) / float64(total)
	if !p.due(false) {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s:", p.name)
	for _, r := range p.order {
		fmt.Fprintf(&b, " %s %3.0f%%", r, 100*p.done[r])
	}
	p.draw(b.String())
}
