package layers

import "sort"

// SupportRow says what kerasrun can do with one registered layer class.
type SupportRow struct {
	Class string
	// Inference is set when the layer runs forward (predict, evaluate).
	Inference bool
	// Training is set when the layer also trains: it has a backward pass
	// for every configuration it accepts (and training-only behaviour such
	// as dropout or batch statistics).
	Training bool
}

// supportTable lists every registered class. A layer that refuses
// training implements InferenceOnly; a test checks the table covers the
// registry exactly.
var supportTable = []SupportRow{
	// Core.
	{"InputLayer", true, true}, {"Dense", true, true}, {"EinsumDense", true, true},
	// tf-keras operation layers (the ops they run: OperationTable).
	{"TFOpLambda", true, true}, {"SlicingOpLambda", true, true},
	{"Embedding", true, true}, {"Identity", true, true}, {"Activation", true, true},
	{"Flatten", true, true}, {"Dropout", true, true},
	// Activations.
	{"ReLU", true, true}, {"LeakyReLU", true, true}, {"PReLU", true, true}, {"ELU", true, true},
	{"Softmax", true, true}, {"ThresholdedReLU", true, true},
	// Merging.
	{"Add", true, true}, {"Subtract", true, true}, {"Multiply", true, true}, {"Average", true, true},
	{"Maximum", true, true}, {"Minimum", true, true}, {"Concatenate", true, true}, {"Dot", true, true},
	// Normalization.
	{"BatchNormalization", true, true}, {"LayerNormalization", true, true}, {"GroupNormalization", true, true},
	{"UnitNormalization", true, true}, {"RMSNormalization", true, true},
	// Reshaping.
	{"Reshape", true, true}, {"Permute", true, true}, {"RepeatVector", true, true},
	{"Cropping1D", true, true}, {"Cropping2D", true, true}, {"Cropping3D", true, true},
	{"ZeroPadding1D", true, true}, {"ZeroPadding2D", true, true}, {"ZeroPadding3D", true, true},
	{"UpSampling1D", true, true}, {"UpSampling2D", true, true}, {"UpSampling3D", true, true},
	// Preprocessing (no trainable weights; the encoders pass no gradient).
	{"Rescaling", true, true}, {"Normalization", true, true}, {"Resizing", true, true},
	{"CenterCrop", true, true}, {"CategoryEncoding", true, true}, {"Discretization", true, true},
	{"IntegerLookup", true, true},
	// Regularization (noops.go).
	{"SpatialDropout1D", true, true}, {"SpatialDropout2D", true, true}, {"SpatialDropout3D", true, true},
	{"GaussianNoise", true, true}, {"GaussianDropout", true, true}, {"AlphaDropout", true, true},
	{"ActivityRegularization", true, true},
	// Convolution and pooling (with their Keras aliases).
	{"Conv1D", true, true}, {"Conv2D", true, true}, {"Conv3D", true, true},
	{"Convolution1D", true, true}, {"Convolution2D", true, true}, {"Convolution3D", true, true},
	{"Conv1DTranspose", true, true}, {"Conv2DTranspose", true, true}, {"Conv3DTranspose", true, true},
	{"Convolution1DTranspose", true, true}, {"Convolution2DTranspose", true, true}, {"Convolution3DTranspose", true, true},
	{"DepthwiseConv1D", true, true}, {"DepthwiseConv2D", true, true},
	{"SeparableConv1D", true, true}, {"SeparableConv2D", true, true},
	{"SeparableConvolution1D", true, true}, {"SeparableConvolution2D", true, true},
	{"MaxPooling1D", true, true}, {"MaxPooling2D", true, true}, {"MaxPooling3D", true, true},
	{"MaxPool1D", true, true}, {"MaxPool2D", true, true}, {"MaxPool3D", true, true},
	{"AveragePooling1D", true, true}, {"AveragePooling2D", true, true}, {"AveragePooling3D", true, true},
	{"AvgPool1D", true, true}, {"AvgPool2D", true, true}, {"AvgPool3D", true, true},
	{"GlobalMaxPooling1D", true, true}, {"GlobalMaxPooling2D", true, true}, {"GlobalMaxPooling3D", true, true},
	{"GlobalMaxPool1D", true, true}, {"GlobalMaxPool2D", true, true}, {"GlobalMaxPool3D", true, true},
	{"GlobalAveragePooling1D", true, true}, {"GlobalAveragePooling2D", true, true}, {"GlobalAveragePooling3D", true, true},
	{"GlobalAvgPool1D", true, true}, {"GlobalAvgPool2D", true, true}, {"GlobalAvgPool3D", true, true},
	{"AdaptiveMaxPooling1D", true, true}, {"AdaptiveMaxPooling2D", true, true}, {"AdaptiveMaxPooling3D", true, true},
	{"AdaptiveAveragePooling1D", true, true}, {"AdaptiveAveragePooling2D", true, true}, {"AdaptiveAveragePooling3D", true, true},
}

func init() {
	// Random augmentation is the identity at inference and refused in
	// training (noops.go).
	for _, class := range augmentationLayers {
		supportTable = append(supportTable, SupportRow{class, true, false})
	}
}

// SupportTable returns a row for every layer class kerasrun registers,
// sorted by class name. The README's layer table is generated from it.
func SupportTable() []SupportRow {
	rows := append([]SupportRow(nil), supportTable...)
	sort.Slice(rows, func(i, j int) bool { return rows[i].Class < rows[j].Class })
	return rows
}
