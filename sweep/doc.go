// Package sweep runs grids of experiments: the Cartesian product of
// swept configuration keys (with zipped keys that advance together) times
// a list of seeds, on one machine or split across a Slurm or Kubernetes
// job array, without ever losing or half-collecting a result.
//
// A sweep is a value, like an experiment: a JSON file (Spec, read by Load)
// names a base experiment (a built-in or a configuration file), fixed
// overrides and the axes; Spec.Plan expands it into numbered points, each
// an experiment.Config with an ID that hashes the sgdlab Version and the
// resolved configuration. Run trains the points of one shard, each with
// experiment.Run into OUT/points/ID/, and marks each finished point with
// done.json, written atomically after its results are complete; a rerun
// skips the points that have it, so a killed job loses only the points it
// was training. Collect reads only points with done.json and writes
// OUT/collect.csv and summary figures.
//
// It is a package of its own, between cmd and experiment, so that sweeps
// can be planned, run and collected from Go code and tested without the
// command line, while package experiment stays about one experiment.
//
// Layout of a sweep's output directory OUT (cmd's default: sweeps/NAME):
//
//	OUT/points/ID/             experiment.Run's output contract for the point
//	OUT/points/ID/point.json   index, ID, overrides and seed (PointInfo)
//	OUT/points/ID/done.json    the completion mark and final metrics (Done)
//	OUT/points/ID/failed.json  the error of a point that failed (Failed)
//	OUT/collect.csv            one row per finished point and run
//	OUT/collect-METRIC-*.png   summary figures
package sweep
