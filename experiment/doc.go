// Package experiment describes the paper's experiments as data and runs
// them end to end.
//
// An experiment is a Config value: data, model, loss, the runs with their
// optimisers and step-size schedules, the evaluation grid, the metrics and
// the figures. The data and the model are kinds resolved through the
// registries of packages data and models, the metrics through package
// metric, so an experiment can use any registered architecture. Configs
// are JSON files (LoadConfig reports every problem of one at once, by
// key), and the paper's are built in by name (see Lookup). Run trains every run of a Config, in parallel,
// and writes the resolved configuration, the metrics, the figures and a
// summary under one directory.
//
// The package exists apart from cmd so that experiments can be run, tested
// and composed from Go code; it is the only package that ties train,
// analysis and plots together.
package experiment
