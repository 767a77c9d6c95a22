package experiment

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestTmpScratch(t *testing.T) {
	if os.Getenv("TMP_SCRATCH") == "" {
		t.Skip()
	}
	base, _ := json.Marshal(dlnSGD().Quick())
	var m map[string]any
	json.Unmarshal(base, &m)
	mk := func(edit func(m map[string]any)) []byte {
		var mm map[string]any
		json.Unmarshal(base, &mm)
		edit(mm)
		b, _ := json.Marshal(mm)
		return b
	}
	const N = 16 << 20
	cases := map[string][]byte{}
	cases["16MiB key"] = mk(func(m map[string]any) { m[strings.Repeat("k", N-len(base)-100)] = 1 })
	{
		var sb strings.Builder
		sb.WriteString("{")
		for i := 0; sb.Len() < N-20; i++ {
			fmt.Fprintf(&sb, "%q:0,", fmt.Sprintf("%x", i))
		}
		sb.WriteString(`"z":0}`)
		cases["16MiB unknown keys"] = []byte(sb.String())
	}
	{
		n := 0
		cases["16MiB metrics distinct"] = mk(func(m map[string]any) {
			var l []any
			for i := 0; n < N-len(base); i++ {
				s := fmt.Sprintf("m%d", i)
				l = append(l, s)
				n += len(s) + 3
			}
			m["metrics"] = l
		})
	}
	{
		cases["100k metrics distinct"] = mk(func(m map[string]any) {
			var l []any
			for i := 0; i < 100000; i++ {
				l = append(l, fmt.Sprintf("m%d", i))
			}
			m["metrics"] = l
		})
	}
	{
		cases["16MiB runs list of numbers"] = mk(func(m map[string]any) {
			l := make([]any, (N-len(base))/2)
			for i := range l {
				l[i] = 0
			}
			m["runs"] = l
		})
	}
	{
		cases["many runs valid"] = mk(func(m map[string]any) {
			r := m["runs"].([]any)[0].(map[string]any)
			var l []any
			for i := 0; i < 60000; i++ {
				rr := map[string]any{}
				for k, v := range r {
					rr[k] = v
				}
				rr["name"] = fmt.Sprintf("r%d", i)
				l = append(l, rr)
			}
			m["runs"] = l
		})
	}
	{
		cases["many decays"] = mk(func(m map[string]any) {
			ds := make([]any, 400000)
			for i := range ds {
				ds[i] = map[string]any{"at": i, "factor": 1.5}
			}
			m["iterations"] = 1000000000
			m["runs"].([]any)[0].(map[string]any)["schedule"] = map[string]any{"kind": "piecewise", "lr": 0.1, "decays": ds}
		})
	}
	{
		cases["many surface paths"] = mk(func(m map[string]any) {
			ps := make([]any, 500000)
			for i := range ps {
				ps[i] = map[string]any{"run": "baseline", "style": "gd"}
			}
			m["surface"] = map[string]any{"flow": "baseline", "alpha": map[string]any{"min": 0, "max": 1, "n": 10},
				"beta": map[string]any{"min": 0, "max": 1, "n": 10}, "clip": 1, "train_file": "a.png", "test_file": "b.png", "paths": ps}
		})
	}
	cases["max dln"] = mk(func(m map[string]any) {
		m["data"] = map[string]any{"kind": "sparse_regression", "n": 1, "n_test": 1, "d": 1 << 25, "r": 1}
		m["model"] = map[string]any{"kind": "dln", "d": 1 << 25, "alpha": 0.1, "init": "random"}
		m["metrics"] = []any{"train_loss"}
		m["figures"] = []any{}
	})
	cases["max mlp"] = mk(func(m map[string]any) {
		m["data"] = map[string]any{"kind": "sparse_regression", "n": 1, "n_test": 1, "d": 8000, "r": 1}
		m["model"] = map[string]any{"kind": "mlp", "sizes": []any{8000, 8000, 1}, "init": "he"}
		m["loss"] = "mse"
		m["metrics"] = []any{"train_loss"}
		m["figures"] = []any{}
	})
	for name, b := range cases {
		runtime.GC()
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		t0 := time.Now()
		_, err := ParseConfig("x.json", b)
		d := time.Since(t0)
		runtime.ReadMemStats(&ms1)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		t.Logf("%-28s in %8d B: %v, err %d B, alloc %d MB; %.200q", name, len(b), d, len(msg), (ms1.TotalAlloc-ms0.TotalAlloc)>>20, msg)
	}
}
