package models

import (
	"fmt"

	"sgdlab/data"
	"sgdlab/graph"
)

// A conv layer's parameters: filters of shape (cout, cin, k, k), as
// PyTorch's Conv2d weight, and a bias of shape (cout) or nil.
type conv struct {
	W, B        *graph.Param
	stride, pad int
}

func newConv(name string, dt graph.Dtype, cin, cout, k, stride, pad int, bias bool) conv {
	c := conv{W: graph.NewParam(name+".weight", dt, cout, cin, k, k), stride: stride, pad: pad}
	if bias {
		c.B = graph.NewParam(name+".bias", dt, cout)
	}
	return c
}

func (c conv) params() []*graph.Param {
	if c.B == nil {
		return []*graph.Param{c.W}
	}
	return []*graph.Param{c.W, c.B}
}

func (c conv) apply(s *graph.Scope, x *graph.Node) *graph.Node {
	return s.Conv2D(x, c.W, c.B, c.stride, c.pad)
}

// initTorch draws the layer as the construction of torch's Conv2d does:
// weight from kaiming_uniform_(a=√5), U(±1/√fan-in) with fan-in
// cin·k·k, then the bias from U(±1/√fan-in). The weight's layout is
// torch's.
func (c conv) initTorch(r *data.TorchRand) {
	sh := c.W.Shape()
	w, b := r.Linear(sh[1]*sh[2]*sh[3], sh[0], c.B != nil)
	c.W.Set(float64s(w))
	if c.B != nil {
		c.B.Set(float64s(b))
	}
}

// linear is a dense layer: W of shape (in, out) — the transpose of
// torch's nn.Linear weight — and a bias of shape (out).
type linear struct{ W, B *graph.Param }

func newLinear(name string, dt graph.Dtype, in, out int) linear {
	return linear{graph.NewParam(name+".weight", dt, in, out), graph.NewParam(name+".bias", dt, out)}
}

// initTorch draws the layer as torch's nn.Linear construction does and
// stores the weight transposed.
func (l linear) initTorch(r *data.TorchRand) {
	sh := l.W.Shape()
	w, b := r.Linear(sh[0], sh[1], true)
	l.W.Set(fromTorch(w, sh[0], sh[1]))
	l.B.Set(float64s(b))
}

func float64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// CNN is a small convolutional classifier on images of shape (C, H, W):
// for every entry of Channels, a k×k convolution (stride 1, padding
// k/2), batch normalisation if built with it (NewCNN), a ReLU and 2×2
// max pooling; then a dense layer to Classes logits. The output has shape
// (batch, Classes).
type CNN struct {
	In       [3]int // C, H, W of one example
	Channels []int  // output channels of the conv blocks
	Classes  int
	convs    []conv
	bns      []*graph.BatchNorm // one per conv, or none
	head     linear
}

// NewCNN returns a CNN of type dt at PyTorch's default initialisation
// drawn from torch's generator seeded with seed (data.TorchRand): the
// modules are constructed in order (conv1, conv2, …, linear), so
// torch.manual_seed(seed) followed by the same construction gives the
// same values. Convolutions have biases unless bn is set (a bias before
// batch normalisation is redundant). It panics for sizes that do not fit
// (CNNSpec.Validate reports them).
func NewCNN(dt graph.Dtype, in [3]int, channels []int, k, classes int, bn bool, seed uint64) *CNN {
	m := &CNN{In: in, Channels: append([]int(nil), channels...), Classes: classes}
	cin, h, w := in[0], in[1], in[2]
	for i, c := range channels {
		m.convs = append(m.convs, newConv(fmt.Sprintf("conv%d", i+1), dt, cin, c, k, 1, k/2, !bn))
		if bn {
			m.bns = append(m.bns, graph.NewBatchNorm(fmt.Sprintf("bn%d", i+1), dt, c))
		}
		h, w = (h+2*(k/2)-k+1)/2, (w+2*(k/2)-k+1)/2
		cin = c
	}
	if h < 1 || w < 1 {
		panic(fmt.Sprintf("models: CNN with %d pooling stages on %dx%d inputs", len(channels), in[1], in[2]))
	}
	m.head = newLinear("linear", dt, cin*h*w, classes)
	r := data.NewTorchRand(seed)
	for _, c := range m.convs {
		c.initTorch(r)
	}
	m.head.initTorch(r)
	return m
}

// Params returns the convolutions' weights and biases, the batch norms'
// γ and β after their convolution, then the head's weight and bias.
func (m *CNN) Params() []*graph.Param {
	var ps []*graph.Param
	for i, c := range m.convs {
		ps = append(ps, c.params()...)
		if m.bns != nil {
			ps = append(ps, m.bns[i].Params()...)
		}
	}
	return append(ps, m.head.W, m.head.B)
}

// Input returns [C, H, W].
func (m *CNN) Input() []int { return m.In[:] }

// BatchNorms returns the batch-normalisation layers (none without BN),
// whose running statistics belong to the model's state.
func (m *CNN) BatchNorms() []*graph.BatchNorm { return m.bns }

// Buffers returns the running statistics of the batch norms, in order
// (graph.Buffered): the state a checkpoint saves besides Params.
func (m *CNN) Buffers() []*graph.Param { return buffersOf(m.bns) }

func buffersOf(bns []*graph.BatchNorm) []*graph.Param {
	var ps []*graph.Param
	for _, bn := range bns {
		ps = append(ps, bn.Buffers()...)
	}
	return ps
}

// Forward returns the logits, shape (batch, Classes), for x of shape
// (batch, C, H, W). The output of conv block i (after its ReLU and
// pooling), flattened to (batch, c·h·w), is feature map "block<i>"; the
// last is the head's input.
func (m *CNN) Forward(s *graph.Scope, x *graph.Node) *graph.Node {
	h := x
	for i, c := range m.convs {
		h = c.apply(s, h)
		if m.bns != nil {
			h = s.BatchNorm(h, m.bns[i])
		}
		h = s.MaxPool2D(s.ReLU(h), 2, 2)
		s.Feature(fmt.Sprintf("block%d", i+1), s.Flatten(h))
	}
	return s.Dense(s.Flatten(h), m.head.W, m.head.B)
}

// ResNet is the pre-activation ResNet of the authors' deep_nets code
// (PreActResNet with PreActBlock, learnable batch norm): a 3×3
// convolution to Width channels, four stages of Blocks[i] blocks of
// Width·2^i channels (the first block of stages 2–4 with stride 2), a
// final batch norm and ReLU, global average pooling and a dense head.
// Blocks [1,1,1,1] is their resnet_tiny (TinyResNet), [2,2,2,2]
// PreActResNet18. Convolutions have no biases (bias = not learnable_bn
// in their code); the head has one. A block computes
//
//	a = relu(bn1(x));  y = conv2(relu(bn2(conv1(a)))) + shortcut
//
// with shortcut = x, or, where the shape changes, a 1×1 convolution of a
// (as theirs: "using out instead of x") with the block's stride. The average pooling
// is global: their avg_pool2d(·, 4) on the 4×4 maps of 32×32 (CIFAR) and
// 28×28 (MNIST) inputs is the same.
type ResNet struct {
	In      [3]int // C, H, W of one example
	Width   int    // channels of stage 1 (the authors' model_width)
	Blocks  []int  // blocks per stage, 4 entries
	Classes int
	conv1   conv
	stages  [][]*preActBlock
	bn      *graph.BatchNorm
	head    linear
}

// preActBlock is one PreActBlock.
type preActBlock struct {
	bn1, bn2     *graph.BatchNorm
	conv1, conv2 conv
	shortcut     *conv // nil for the identity
}

// NewResNet returns a ResNet of type dt at PyTorch's default
// initialisation (Conv2d and Linear weights from kaiming_uniform_(a=√5),
// i.e. U(±1/√fan-in), the head's bias U(±1/√fan-in), batch norms γ = 1,
// β = 0) drawn from torch's generator seeded with seed in the order the
// authors' constructor builds the modules, so torch.manual_seed(seed)
// and their PreActResNet give the same values. Parameter names follow
// their state dict ("layer2.0.conv1.weight"), except that the head's
// weight is stored transposed, (in, classes). It panics for sizes that
// do not fit (ResNetSpec.Validate reports them).
func NewResNet(dt graph.Dtype, in [3]int, width int, blocks []int, classes int, seed uint64) *ResNet {
	if len(blocks) != 4 {
		panic(fmt.Sprintf("models: ResNet needs 4 stages, got blocks %v", blocks))
	}
	m := &ResNet{In: in, Width: width, Blocks: append([]int(nil), blocks...), Classes: classes}
	r := data.NewTorchRand(seed)
	m.conv1 = newConv("conv1", dt, in[0], width, 3, 1, 1, false)
	m.conv1.initTorch(r)
	inPlanes := width
	for i, nb := range blocks {
		planes := width << i
		stride := 2
		if i == 0 {
			stride = 1
		}
		var stage []*preActBlock
		for j := 0; j < nb; j++ {
			st := 1
			if j == 0 {
				st = stride
			}
			name := fmt.Sprintf("layer%d.%d", i+1, j)
			b := &preActBlock{
				bn1:   graph.NewBatchNorm(name+".bn1", dt, inPlanes),
				conv1: newConv(name+".conv1", dt, inPlanes, planes, 3, st, 1, false),
				bn2:   graph.NewBatchNorm(name+".bn2", dt, planes),
				conv2: newConv(name+".conv2", dt, planes, planes, 3, 1, 1, false),
			}
			b.conv1.initTorch(r)
			b.conv2.initTorch(r)
			if st != 1 || inPlanes != planes {
				sc := newConv(name+".shortcut.0", dt, inPlanes, planes, 1, st, 0, false)
				sc.initTorch(r)
				b.shortcut = &sc
			}
			stage = append(stage, b)
			inPlanes = planes
		}
		m.stages = append(m.stages, stage)
	}
	m.bn = graph.NewBatchNorm("bn", dt, inPlanes)
	m.head = newLinear("linear", dt, inPlanes, classes)
	m.head.initTorch(r)
	return m
}

// Params returns the parameters in the order of the authors' state dict:
// conv1, then per block bn1, conv1, bn2, conv2 and the shortcut, then the
// final bn and the head.
func (m *ResNet) Params() []*graph.Param {
	ps := m.conv1.params()
	for _, stage := range m.stages {
		for _, b := range stage {
			ps = append(ps, b.bn1.Params()...)
			ps = append(ps, b.conv1.params()...)
			ps = append(ps, b.bn2.Params()...)
			ps = append(ps, b.conv2.params()...)
			if b.shortcut != nil {
				ps = append(ps, b.shortcut.params()...)
			}
		}
	}
	ps = append(ps, m.bn.Params()...)
	return append(ps, m.head.W, m.head.B)
}

// BatchNorms returns every batch-normalisation layer, in the order of
// Params; their running statistics belong to the model's state.
func (m *ResNet) BatchNorms() []*graph.BatchNorm {
	var bns []*graph.BatchNorm
	for _, stage := range m.stages {
		for _, b := range stage {
			bns = append(bns, b.bn1, b.bn2)
		}
	}
	return append(bns, m.bn)
}

// Buffers returns the running statistics of every batch norm, in the
// order of BatchNorms (graph.Buffered): the state a checkpoint saves
// besides Params, named as in the authors' state dict
// ("layer1.0.bn1.running_mean").
func (m *ResNet) Buffers() []*graph.Param { return buffersOf(m.BatchNorms()) }

// Input returns [C, H, W].
func (m *ResNet) Input() []int { return m.In[:] }

// Forward returns the logits, shape (batch, Classes), for x of shape
// (batch, C, H, W). Feature maps, flattened to (batch, c·h·w), follow the
// authors' return_block (spec §3.4): "block1"–"block3" are the outputs
// of stages 1–3 (pre-activation sums, of either sign), "block4" is
// relu(bn(stage 4)), "block5" the pooled vector, shape (batch, 8·Width).
func (m *ResNet) Forward(s *graph.Scope, x *graph.Node) *graph.Node {
	h := m.conv1.apply(s, x)
	for i, stage := range m.stages {
		for _, b := range stage {
			h = b.apply(s, h)
		}
		if i < 3 {
			s.Feature(fmt.Sprintf("block%d", i+1), s.Flatten(h))
		}
	}
	h = s.ReLU(s.BatchNorm(h, m.bn))
	s.Feature("block4", s.Flatten(h))
	h = s.Feature("block5", s.GlobalAvgPool(h))
	return s.Dense(h, m.head.W, m.head.B)
}

func (b *preActBlock) apply(s *graph.Scope, x *graph.Node) *graph.Node {
	a := s.ReLU(s.BatchNorm(x, b.bn1))
	sc := x
	if b.shortcut != nil {
		sc = b.shortcut.apply(s, a)
	}
	h := s.ReLU(s.BatchNorm(b.conv1.apply(s, a), b.bn2))
	return s.Add(b.conv2.apply(s, h), sc)
}
