package models

import (
	"errors"
	"fmt"

	"sgdlab/graph"
)

// Bounds on the image models' sizes beyond MaxParams, so that a
// configuration cannot ask for activations of unbounded size.
const (
	maxImageSide   = 1024
	maxImageChan   = 64
	maxClasses     = 100000
	maxConvStages  = 8
	maxConvWidth   = 4096
	maxStageBlocks = 64
)

// CNNSpec is the parameters of model kind "cnn": a small convolutional
// classifier (see CNN), at PyTorch's default initialisation.
type CNNSpec struct {
	// Input is the shape (C, H, W) of one image: [1, 28, 28] for MNIST,
	// [3, 32, 32] for CIFAR-10.
	Input []int `json:"input"`
	// Classes is the number of logits k.
	Classes int `json:"classes"`
	// Channels are the output channels of the conv blocks, each followed
	// by a ReLU and 2×2 max pooling ([16, 32] if empty).
	Channels []int `json:"channels,omitempty"`
	// Kernel is the side of the square filters (3 if 0), padded by
	// Kernel/2 on every side.
	Kernel int `json:"kernel,omitempty"`
	// BatchNorm adds batch normalisation after every convolution (whose
	// bias is then dropped).
	BatchNorm bool `json:"batch_norm,omitempty"`
	// Dtype is "float32" (the default when empty) or "float64".
	Dtype string `json:"dtype,omitempty"`
	// Seed seeds torch's generator (data.TorchRand), from which the
	// weights are drawn as torch.manual_seed(Seed) and the construction
	// of the same modules would.
	Seed uint32 `json:"seed,omitempty"`
}

// Validate reports every invalid field, by its JSON key.
func (s *CNNSpec) Validate() error {
	errs := validateImage(s.Input, s.Classes)
	if len(s.Channels) > maxConvStages {
		errs = append(errs, fmt.Errorf("channels: at most %d conv blocks, got %d", maxConvStages, len(s.Channels)))
	}
	for i, c := range s.Channels {
		if c < 1 || c > maxConvWidth {
			errs = append(errs, fmt.Errorf("channels[%d]: must be in [1, %d], got %d", i, maxConvWidth, c))
		}
	}
	k := s.kernel()
	if k < 1 || k > 11 {
		errs = append(errs, fmt.Errorf("kernel: must be in [1, 11], got %d", s.Kernel))
	}
	if _, err := parseDtype32(s.Dtype); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	cin, h, w := s.Input[0], s.Input[1], s.Input[2]
	total := 0
	for _, c := range s.channels() {
		total += c*cin*k*k + 2*c
		h, w = (h+2*(k/2)-k+1)/2, (w+2*(k/2)-k+1)/2
		cin = c
	}
	if h < 1 || w < 1 {
		errs = append(errs, fmt.Errorf("channels: %d conv blocks with 2×2 pooling leave nothing of a %d×%d input", len(s.channels()), s.Input[1], s.Input[2]))
	} else if total += (cin*h*w + 1) * s.Classes; total > MaxParams {
		errs = append(errs, fmt.Errorf("channels, classes: %d parameters exceed %d", total, MaxParams))
	}
	return errors.Join(errs...)
}

func (s *CNNSpec) kernel() int {
	if s.Kernel == 0 {
		return 3
	}
	return s.Kernel
}

func (s *CNNSpec) channels() []int {
	if len(s.Channels) == 0 {
		return []int{16, 32}
	}
	return s.Channels
}

// New returns the CNN at its initialisation.
func (s *CNNSpec) New() (graph.Model, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	dt, _ := parseDtype32(s.Dtype)
	return NewCNN(dt, [3]int(s.Input), s.channels(), s.kernel(), s.Classes, s.BatchNorm, uint64(s.Seed)), nil
}

// ResNetSpec is the parameters of model kind "resnet": the authors'
// pre-activation ResNet (see ResNet), at PyTorch's default
// initialisation.
type ResNetSpec struct {
	// Input is the shape (C, H, W) of one image ([3, 32, 32] for CIFAR).
	Input   []int `json:"input"`
	Classes int   `json:"classes"`
	// Width is the authors' model_width: the channels of stage 1 (stage
	// i has Width·2^(i−1)); 64 in PreActResNet18.
	Width int `json:"width"`
	// Blocks are the blocks per stage, four entries: [1, 1, 1, 1] is
	// resnet_tiny, [2, 2, 2, 2] ResNet-18 ([1, 1, 1, 1] if empty).
	Blocks []int `json:"blocks,omitempty"`
	// Dtype is "float32" (the default when empty) or "float64".
	Dtype string `json:"dtype,omitempty"`
	// Seed seeds torch's generator (data.TorchRand), from which the
	// weights are drawn as torch.manual_seed(Seed) followed by the
	// authors' PreActResNet constructor would.
	Seed uint32 `json:"seed,omitempty"`
}

// Validate reports every invalid field, by its JSON key.
func (s *ResNetSpec) Validate() error {
	errs := validateImage(s.Input, s.Classes)
	if s.Width < 1 || s.Width > maxConvWidth/8 {
		errs = append(errs, fmt.Errorf("width: must be in [1, %d], got %d", maxConvWidth/8, s.Width))
	}
	blocks := s.blocks()
	if len(blocks) != 4 {
		errs = append(errs, fmt.Errorf("blocks: need 4 entries (blocks per stage), got %d", len(blocks)))
	}
	for i, b := range blocks {
		if b < 1 || b > maxStageBlocks {
			errs = append(errs, fmt.Errorf("blocks[%d]: must be in [1, %d], got %d", i, maxStageBlocks, b))
		}
	}
	if _, err := parseDtype32(s.Dtype); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	total, in := 3*3*s.Input[0]*s.Width, s.Width
	for i, nb := range blocks {
		planes := s.Width << i
		for j := 0; j < nb; j++ {
			total += 2*in + 9*in*planes + 2*planes + 9*planes*planes
			if in != planes || (i > 0 && j == 0) {
				total += in * planes
			}
			in = planes
		}
	}
	if total += 2*in + (in+1)*s.Classes; total > MaxParams {
		errs = append(errs, fmt.Errorf("width, blocks, classes: %d parameters exceed %d", total, MaxParams))
	}
	return errors.Join(errs...)
}

func (s *ResNetSpec) blocks() []int {
	if len(s.Blocks) == 0 {
		return []int{1, 1, 1, 1}
	}
	return s.Blocks
}

// New returns the ResNet at its initialisation.
func (s *ResNetSpec) New() (graph.Model, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	dt, _ := parseDtype32(s.Dtype)
	return NewResNet(dt, [3]int(s.Input), s.Width, s.blocks(), s.Classes, uint64(s.Seed)), nil
}

// validateImage checks the input shape and class count of an image model.
func validateImage(in []int, classes int) []error {
	var errs []error
	if len(in) != 3 {
		errs = append(errs, fmt.Errorf("input: need (channels, height, width), got %v", in))
	} else {
		if in[0] < 1 || in[0] > maxImageChan {
			errs = append(errs, fmt.Errorf("input[0]: channels must be in [1, %d], got %d", maxImageChan, in[0]))
		}
		for i, d := range in[1:] {
			if d < 1 || d > maxImageSide {
				errs = append(errs, fmt.Errorf("input[%d]: must be in [1, %d], got %d", i+1, maxImageSide, d))
			}
		}
	}
	if classes < 2 || classes > maxClasses {
		errs = append(errs, fmt.Errorf("classes: must be in [2, %d], got %d", maxClasses, classes))
	}
	return errs
}

// parseDtype32 reads the dtype key of an image model; empty means
// float32, the type these models train in.
func parseDtype32(s string) (graph.Dtype, error) {
	if s == "" {
		return graph.Float32, nil
	}
	return parseDtype(s)
}
