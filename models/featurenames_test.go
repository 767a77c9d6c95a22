package models_test

import (
	"strings"
	"testing"

	"sgdlab/graph"
	"sgdlab/metric"
	"sgdlab/models"
)

// TestBlockFeatureMetricNames: the feature maps of the image models are
// reachable by metric name, feature_sparsity_block5 and the like, and a
// block the model lacks is refused.
func TestBlockFeatureMetricNames(t *testing.T) {
	res := models.NewResNet(graph.Float32, [3]int{3, 8, 8}, 2, []int{1, 1, 1, 1}, 3, 1)
	cnn := models.NewCNN(graph.Float32, [3]int{1, 8, 8}, []int{2, 3}, 3, 3, true, 1)
	for _, tc := range []struct {
		names []string
		model graph.Model
		want  string
	}{
		{[]string{"feature_sparsity", "feature_sparsity_block1", "feature_sparsity_block5", "dead_or_duplicate_block4"}, res, ""},
		{[]string{"feature_sparsity_block6"}, res, `"feature_sparsity_block6" is not a metric`},
		{[]string{"feature_sparsity_block1", "feature_sparsity_block2"}, cnn, ""},
		{[]string{"feature_sparsity_block3"}, cnn, `"feature_sparsity_block3" is not a metric`},
	} {
		err := metric.Check(tc.names, tc.model)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Check(%v) = %v, want %q", tc.names, err, tc.want)
		}
	}
}
