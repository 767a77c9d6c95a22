package experiment

import (
	"context"
	"fmt"
	"image/color"
	"math"
	"path/filepath"

	"gonum.org/v1/plot/vg"

	"sgdlab/data"
	"sgdlab/models"
	"sgdlab/plots"
)

// NeuronSpec draws, for a two-layer net on 2D inputs (spec E5), where
// every hidden neuron w_j went: a gray segment from its initial to its
// final position, orange dots at the starts, blue dots at the ends, and
// the teacher's neurons as red segments from the origin. One figure, a
// panel per run in rows of two under one legend; a diverged run's panel
// shows the teacher alone and says so in its title.
type NeuronSpec struct {
	File string `json:"file"`
}

func (n *NeuronSpec) validate(c Config, add func(string, ...any)) {
	if n == nil {
		return
	}
	if filepath.Ext(n.File) != ".png" || !ValidName(n.File) {
		add("neurons.file: must be a plain file name of [A-Za-z0-9._-] ending in .png, got %s", quote(n.File))
	}
	if s, ok := c.Model.Spec.(*models.TwoLayerSpec); !ok || s.D != 2 {
		add("neurons: needs model kind two_layer with d = 2, got %s", quote(c.Model.Kind))
	}
	if t, ok := c.Data.Source.(*data.TeacherStudent); !ok || t.Teacher != "unit" {
		add("neurons: needs data kind teacher_student with the unit teacher, got %s", quote(c.Data.Kind))
	}
}

// drawNeurons writes the neuron-movement figure of every run into dir.
func drawNeurons(ctx context.Context, c Config, n *NeuronSpec, outs []Outcome, dir string) error {
	teacher, err := c.Data.Source.(*data.TeacherStudent).Neurons()
	if err != nil {
		return err
	}
	init, err := c.Model.Spec.New()
	if err != nil {
		return err
	}
	w0 := init.(*models.TwoLayer).W.Float64s()
	orange, blue := color.RGBA{R: 240, G: 150, B: 30, A: 255}, color.RGBA{R: 30, G: 80, B: 200, A: 255}
	panels := make([]plots.Panel, len(outs))
	lim := 1.0
	for i, o := range outs {
		if err := ctx.Err(); err != nil {
			return err
		}
		panel := plots.Panel{XLabel: "first coordinate", YLabel: "second coordinate", Title: label(o)}
		for j, t := range teacher {
			s := plots.Series{X: []float64{0, t[0]}, Y: []float64{0, t[1]}, Color: color.RGBA{R: 210, A: 255}}
			if j == 0 {
				s.Label = "teacher neurons"
			}
			panel.Series = append(panel.Series, s)
		}
		a := o.Final()
		if a.Result.Diverged {
			panel.Title += " — diverged"
			panels[i] = panel
			continue
		}
		m, err := a.End.Model()
		if err != nil {
			return err
		}
		w := m.(*models.TwoLayer).W.Float64s() // (2, m): column j is neuron j
		k := len(w) / 2
		starts := plots.Series{Label: "student neurons at initialisation", Color: orange, Points: true}
		ends := plots.Series{Label: "at the end", Color: blue, Points: true}
		for j := 0; j < k; j++ {
			x0, y0, x1, y1 := w0[j], w0[k+j], w[j], w[k+j]
			s := plots.Series{X: []float64{x0, x1}, Y: []float64{y0, y1}, Color: color.Gray{Y: 150}}
			if j == 0 {
				s.Label = "movement"
			}
			panel.Series = append(panel.Series, s)
			starts.X, starts.Y = append(starts.X, x0), append(starts.Y, y0)
			ends.X, ends.Y = append(ends.X, x1), append(ends.Y, y1)
			lim = max(lim, math.Abs(x0), math.Abs(y0), math.Abs(x1), math.Abs(y1))
		}
		panels[i] = panel
		panels[i].Series = append(panels[i].Series, starts, ends)
	}
	// Square limits shared by every panel, so that directions and
	// distances read true and compare across runs.
	lim *= 1.05
	for i := range panels {
		panels[i].Series = append(panels[i].Series, plots.Series{X: []float64{-lim, lim}, Y: []float64{-lim, lim}, Color: color.Transparent})
		panels[i].YMin, panels[i].YMax = -lim, lim
	}
	// The legend is that of the first panel drawn in full.
	legend := 0
	for i, o := range outs {
		if !o.Final().Result.Diverged {
			legend = i
			break
		}
	}
	row := plots.Row{Title: fmt.Sprintf("Neurons of %s", c.Name), Panels: panels, Cols: 2, Legend: legend,
		PanelWidth: 10 * vg.Centimeter, Height: 10.5 * vg.Centimeter}
	return row.Save(filepath.Join(dir, n.File))
}
