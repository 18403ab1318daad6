package kerasjson

import (
	"fmt"
	"sort"
)

// Keras 1 and Keras 2 configurations are rewritten to Keras 3 vocabulary
// here. The table follows Keras 2's own converters for Keras 1 files,
// keras/legacy/interfaces.py and keras/legacy/layers.py (keras-team/keras
// 2.x), the class aliases of Keras 2 (Convolution2D = Conv2D, ...), and
// the conversions Keras 3 applies when it loads a legacy .h5 file
// (keras/src/legacy/saving/saving_utils.py: batch_input_shape, axis).
//
// Class renames (Keras 1 / Keras 2 alias -> Keras 3):
//
//	Convolution1D, AtrousConvolution1D          -> Conv1D
//	Convolution2D, AtrousConvolution2D          -> Conv2D
//	Convolution3D                               -> Conv3D
//	Deconvolution2D, Deconv2D, Convolution2DTranspose -> Conv2DTranspose
//	Deconvolution3D, Deconv3D, Convolution3DTranspose -> Conv3DTranspose
//	SeparableConvolution1D/2D                   -> SeparableConv1D/2D
//	MaxPool1D/2D/3D, AvgPool1D/2D/3D            -> MaxPooling*, AveragePooling*
//	GlobalMaxPool*, GlobalAvgPool*              -> GlobalMaxPooling*, GlobalAveragePooling*
//	Merge (mode sum/mul/concat/ave/max/dot)     -> Add/Multiply/Concatenate/Average/Maximum/Dot
//
// A Merge with mode "cos", a Python function as mode, or Sequential
// branches keeps its class name "Merge" (branches are refused with an
// UnsupportedError), so a loader reports it by name.
//
// Argument renames (old -> new), applied only when the new name is absent:
//
//	Dense:      output_dim->units init->kernel_initializer W_regularizer->kernel_regularizer
//	            b_regularizer->bias_regularizer W_constraint->kernel_constraint
//	            b_constraint->bias_constraint bias->use_bias; input_dim dropped
//	Conv1D:     nb_filter->filters filter_length->kernel_size subsample_length->strides
//	            border_mode->padding, the Dense weight names; input_dim/input_length dropped
//	Conv2D/3D, Conv2DTranspose, SeparableConv2D:
//	            nb_filter->filters subsample->strides border_mode->padding
//	            dim_ordering->data_format, nb_row+nb_col (kernel_dim1..3)->kernel_size,
//	            the Dense weight names; Conv2DTranspose drops output_shape;
//	            SeparableConv2D: init->depthwise_initializer and pointwise_initializer
//	Atrous*:    atrous_rate->dilation_rate
//	LSTM, GRU, SimpleRNN (and ConvLSTM2D with the Conv2D names):
//	            output_dim->units init->kernel_initializer inner_init->recurrent_initializer
//	            inner_activation->recurrent_activation W_regularizer->kernel_regularizer
//	            U_regularizer->recurrent_regularizer b_regularizer->bias_regularizer
//	            dropout_W->dropout dropout_U->recurrent_dropout
//	            consume_less->implementation (cpu 0, mem 1, gpu 2)
//	            forget_bias_init "one"->unit_forget_bias true (other values dropped)
//	            input_dim/input_length dropped
//	Embedding:  init->embeddings_initializer W_regularizer->embeddings_regularizer
//	            W_constraint->embeddings_constraint; dropout dropped
//	Pooling1D:  pool_length->pool_size stride->strides border_mode->padding
//	Pooling2D/3D: border_mode->padding dim_ordering->data_format
//	Global*Pooling*, UpSampling2D/3D, ZeroPadding2D/3D, Cropping2D/3D: dim_ordering->data_format
//	UpSampling1D: length->size
//	ZeroPadding2D: padding {top_pad,...} or 4 integers -> [[top,bottom],[left,right]]
//	Dropout, GaussianDropout, SpatialDropout1D/2D/3D: p->rate
//	GaussianNoise: sigma->stddev
//	PReLU:      init->alpha_initializer
//	BatchNormalization: beta_init->beta_initializer gamma_init->gamma_initializer,
//	            mode 0 dropped (mode 1 and 2 are refused with an UnsupportedError, as Keras 2 does)
//	LeakyReLU:  alpha->negative_slope (Keras 2 -> 3)
//	InputLayer: input_dtype->dtype; other layers drop Keras 1 input_dtype
//
// dim_ordering values: "th"->"channels_first", "tf"->"channels_last",
// "default"-> key removed (Keras 3 default, channels_last), as Keras 2 does.
// Every built-in layer also gets axis [n] -> n, as Keras 3's legacy loader
// does. The rewrites run on every built-in layer, whatever the Keras
// version: they only touch keys that Keras 3 configs of those classes do
// not have (tf.keras 2.13+ writes "module" like Keras 3, so the dialect
// cannot be told from that).

var (
	weightRenames = [][2]string{
		{"init", "kernel_initializer"},
		{"W_regularizer", "kernel_regularizer"},
		{"b_regularizer", "bias_regularizer"},
		{"W_constraint", "kernel_constraint"},
		{"b_constraint", "bias_constraint"},
		{"bias", "use_bias"},
	}
	denseRenames  = append([][2]string{{"output_dim", "units"}}, weightRenames...)
	conv1DRenames = append([][2]string{
		{"nb_filter", "filters"},
		{"filter_length", "kernel_size"},
		{"subsample_length", "strides"},
		{"border_mode", "padding"},
		{"atrous_rate", "dilation_rate"},
	}, weightRenames...)
	conv2DRenames = append([][2]string{
		{"nb_filter", "filters"},
		{"subsample", "strides"},
		{"border_mode", "padding"},
		{"dim_ordering", "data_format"},
		{"atrous_rate", "dilation_rate"},
	}, weightRenames...)
	separableRenames = [][2]string{
		{"nb_filter", "filters"},
		{"subsample", "strides"},
		{"border_mode", "padding"},
		{"dim_ordering", "data_format"},
		{"b_regularizer", "bias_regularizer"},
		{"b_constraint", "bias_constraint"},
		{"bias", "use_bias"},
	}
	recurrentRenames = [][2]string{
		{"output_dim", "units"},
		{"init", "kernel_initializer"},
		{"inner_init", "recurrent_initializer"},
		{"inner_activation", "recurrent_activation"},
		{"W_regularizer", "kernel_regularizer"},
		{"b_regularizer", "bias_regularizer"},
		{"U_regularizer", "recurrent_regularizer"},
		{"dropout_W", "dropout"},
		{"dropout_U", "recurrent_dropout"},
		{"consume_less", "implementation"},
	}
	convLSTMRenames = append(append([][2]string{}, conv2DRenames...),
		[2]string{"inner_init", "recurrent_initializer"},
		[2]string{"U_regularizer", "recurrent_regularizer"},
		[2]string{"inner_activation", "recurrent_activation"},
		[2]string{"dropout_W", "dropout"},
		[2]string{"dropout_U", "recurrent_dropout"},
	)
	pool1DRenames = [][2]string{{"pool_length", "pool_size"}, {"stride", "strides"}, {"border_mode", "padding"}}
	pool2DRenames = [][2]string{{"border_mode", "padding"}, {"dim_ordering", "data_format"}}
	orderRenames  = [][2]string{{"dim_ordering", "data_format"}}
	dropRenames   = [][2]string{{"p", "rate"}}
	dropNDRenames = [][2]string{{"p", "rate"}, {"dim_ordering", "data_format"}}
)

// legacyRule rewrites one legacy class.
type legacyRule struct {
	class   string // Keras 3 class name; "" keeps the name
	renames [][2]string
	drop    []string
	fix     func(cfg Config, path string) error
}

var legacyRules = map[string]legacyRule{
	"Dense":                  {renames: denseRenames, drop: []string{"input_dim"}},
	"Conv1D":                 {renames: conv1DRenames, drop: []string{"input_dim", "input_length"}},
	"Convolution1D":          {class: "Conv1D", renames: conv1DRenames, drop: []string{"input_dim", "input_length"}},
	"AtrousConvolution1D":    {class: "Conv1D", renames: conv1DRenames, drop: []string{"input_dim", "input_length"}},
	"Conv2D":                 {renames: conv2DRenames, fix: kernelSize2D},
	"Convolution2D":          {class: "Conv2D", renames: conv2DRenames, fix: kernelSize2D},
	"AtrousConvolution2D":    {class: "Conv2D", renames: conv2DRenames, fix: kernelSize2D},
	"Conv3D":                 {renames: conv2DRenames, fix: kernelSize3D},
	"Convolution3D":          {class: "Conv3D", renames: conv2DRenames, fix: kernelSize3D},
	"Conv2DTranspose":        {renames: conv2DRenames, drop: []string{"output_shape"}, fix: kernelSize2D},
	"Deconvolution2D":        {class: "Conv2DTranspose", renames: conv2DRenames, drop: []string{"output_shape"}, fix: kernelSize2D},
	"Deconv2D":               {class: "Conv2DTranspose", renames: conv2DRenames, drop: []string{"output_shape"}, fix: kernelSize2D},
	"Convolution2DTranspose": {class: "Conv2DTranspose", renames: conv2DRenames, drop: []string{"output_shape"}, fix: kernelSize2D},
	"Conv3DTranspose":        {renames: conv2DRenames},
	"Deconvolution3D":        {class: "Conv3DTranspose", renames: conv2DRenames},
	"Deconv3D":               {class: "Conv3DTranspose", renames: conv2DRenames},
	"Convolution3DTranspose": {class: "Conv3DTranspose", renames: conv2DRenames},
	"SeparableConv1D":        {renames: separableRenames},
	"SeparableConvolution1D": {class: "SeparableConv1D", renames: separableRenames},
	"SeparableConv2D":        {renames: separableRenames, fix: separableInit},
	"SeparableConvolution2D": {class: "SeparableConv2D", renames: separableRenames, fix: separableInit},
	"LSTM":                   {renames: recurrentRenames, drop: []string{"input_dim", "input_length"}, fix: recurrentFix},
	"GRU":                    {renames: recurrentRenames, drop: []string{"input_dim", "input_length"}, fix: recurrentFix},
	"SimpleRNN":              {renames: recurrentRenames, drop: []string{"input_dim", "input_length"}, fix: recurrentFix},
	"ConvLSTM2D":             {renames: convLSTMRenames, fix: convLSTMFix},
	"Embedding":              {renames: [][2]string{{"init", "embeddings_initializer"}, {"W_regularizer", "embeddings_regularizer"}, {"W_constraint", "embeddings_constraint"}}, drop: []string{"dropout"}},
	"MaxPooling1D":           {renames: pool1DRenames},
	"AveragePooling1D":       {renames: pool1DRenames},
	"MaxPool1D":              {class: "MaxPooling1D", renames: pool1DRenames},
	"AvgPool1D":              {class: "AveragePooling1D", renames: pool1DRenames},
	"MaxPooling2D":           {renames: pool2DRenames},
	"AveragePooling2D":       {renames: pool2DRenames},
	"MaxPool2D":              {class: "MaxPooling2D", renames: pool2DRenames},
	"AvgPool2D":              {class: "AveragePooling2D", renames: pool2DRenames},
	"MaxPooling3D":           {renames: pool2DRenames},
	"AveragePooling3D":       {renames: pool2DRenames},
	"MaxPool3D":              {class: "MaxPooling3D", renames: pool2DRenames},
	"AvgPool3D":              {class: "AveragePooling3D", renames: pool2DRenames},
	"GlobalMaxPooling1D":     {renames: orderRenames},
	"GlobalAveragePooling1D": {renames: orderRenames},
	"GlobalMaxPooling2D":     {renames: orderRenames},
	"GlobalAveragePooling2D": {renames: orderRenames},
	"GlobalMaxPooling3D":     {renames: orderRenames},
	"GlobalAveragePooling3D": {renames: orderRenames},
	"GlobalMaxPool1D":        {class: "GlobalMaxPooling1D", renames: orderRenames},
	"GlobalAvgPool1D":        {class: "GlobalAveragePooling1D", renames: orderRenames},
	"GlobalMaxPool2D":        {class: "GlobalMaxPooling2D", renames: orderRenames},
	"GlobalAvgPool2D":        {class: "GlobalAveragePooling2D", renames: orderRenames},
	"GlobalMaxPool3D":        {class: "GlobalMaxPooling3D", renames: orderRenames},
	"GlobalAvgPool3D":        {class: "GlobalAveragePooling3D", renames: orderRenames},
	"UpSampling1D":           {renames: [][2]string{{"length", "size"}}},
	"UpSampling2D":           {renames: orderRenames},
	"UpSampling3D":           {renames: orderRenames},
	"ZeroPadding2D":          {renames: orderRenames, fix: zeroPadding2D},
	"ZeroPadding3D":          {renames: orderRenames},
	"Cropping2D":             {renames: orderRenames},
	"Cropping3D":             {renames: orderRenames},
	"Dropout":                {renames: dropRenames},
	"GaussianDropout":        {renames: dropRenames},
	"SpatialDropout1D":       {renames: dropRenames},
	"SpatialDropout2D":       {renames: dropNDRenames},
	"SpatialDropout3D":       {renames: dropNDRenames},
	"GaussianNoise":          {renames: [][2]string{{"sigma", "stddev"}}},
	"PReLU":                  {renames: [][2]string{{"init", "alpha_initializer"}}},
	"LeakyReLU":              {renames: [][2]string{{"alpha", "negative_slope"}}},
	"BatchNormalization":     {renames: [][2]string{{"beta_init", "beta_initializer"}, {"gamma_init", "gamma_initializer"}}, fix: batchNormMode},
	"InputLayer":             {renames: [][2]string{{"input_dtype", "dtype"}}},
}

// applyLegacy rewrites a Keras 1 or Keras 2 layer config in place and
// returns the Keras 3 class name.
func applyLegacy(class string, cfg Config, path string) (string, error) {
	if class == "Merge" {
		return mergeClass(cfg, path)
	}
	rule, ok := legacyRules[class]
	newClass := class
	if ok {
		if rule.class != "" {
			newClass = rule.class
		}
		for _, r := range rule.renames {
			renameKey(cfg, r[0], r[1])
		}
		for _, k := range rule.drop {
			delete(cfg, k)
		}
		if rule.fix != nil {
			if err := rule.fix(cfg, path); err != nil {
				return "", err
			}
		}
	}
	if newClass != "InputLayer" {
		// Keras 1 input_dtype was the dtype of the input placeholder built
		// for a first layer, not the layer's own dtype.
		delete(cfg, "input_dtype")
	}
	if err := dataFormatValue(cfg, path); err != nil {
		return "", err
	}
	if list, ok := cfg["axis"].([]any); ok && len(list) == 1 {
		cfg["axis"] = list[0]
	}
	return newClass, nil
}

// renameKey moves cfg[from] to cfg[to] unless to is already set.
func renameKey(cfg Config, from, to string) {
	v, ok := cfg[from]
	if !ok {
		return
	}
	delete(cfg, from)
	if _, exists := cfg[to]; !exists {
		cfg[to] = v
	}
}

func dataFormatValue(cfg Config, path string) error {
	v, ok := cfg["data_format"]
	if !ok || v == nil {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return formatErr(joinPath(path, "data_format"), "want a string, got %s", describe(v))
	}
	switch s {
	case "th":
		cfg["data_format"] = "channels_first"
	case "tf":
		cfg["data_format"] = "channels_last"
	case "default":
		delete(cfg, "data_format")
	}
	return nil
}

// kernelSize2D builds Keras 2 kernel_size from Keras 1 nb_row, nb_col.
func kernelSize2D(cfg Config, path string) error {
	return kernelSizeFrom(cfg, path, "nb_row", "nb_col")
}

func kernelSize3D(cfg Config, path string) error {
	return kernelSizeFrom(cfg, path, "kernel_dim1", "kernel_dim2", "kernel_dim3")
}

func kernelSizeFrom(cfg Config, path string, keys ...string) error {
	present := 0
	for _, k := range keys {
		if cfg.Has(k) {
			present++
		}
	}
	if present == 0 {
		return nil
	}
	if present != len(keys) {
		return formatErr(path, "Keras 1 kernel size needs all of %v", keys)
	}
	size := make([]any, len(keys))
	for i, k := range keys {
		n, err := cfg.Int(k, 0)
		if err != nil {
			return formatErr(joinPath(path, k), "%v", err)
		}
		size[i] = jsonInt(n)
		delete(cfg, k)
	}
	if !cfg.Has("kernel_size") {
		cfg["kernel_size"] = size
	}
	return nil
}

func separableInit(cfg Config, path string) error {
	if v, ok := cfg["init"]; ok {
		delete(cfg, "init")
		if !cfg.Has("depthwise_initializer") {
			cfg["depthwise_initializer"] = v
		}
		if !cfg.Has("pointwise_initializer") {
			cfg["pointwise_initializer"] = deepCopy(v)
		}
	}
	return kernelSize2D(cfg, path)
}

func recurrentFix(cfg Config, path string) error {
	if s, ok := cfg["implementation"].(string); ok {
		// consume_less values, per Keras 2's legacy_recurrent_support.
		switch s {
		case "cpu":
			cfg["implementation"] = jsonInt(0)
		case "mem":
			cfg["implementation"] = jsonInt(1)
		case "gpu":
			cfg["implementation"] = jsonInt(2)
		default:
			return formatErr(joinPath(path, "consume_less"), "unknown value %q", s)
		}
	}
	if v, ok := cfg["forget_bias_init"]; ok {
		delete(cfg, "forget_bias_init")
		if s, _ := v.(string); s == "one" && !cfg.Has("unit_forget_bias") {
			cfg["unit_forget_bias"] = true
		}
	}
	return nil
}

func convLSTMFix(cfg Config, path string) error {
	if err := recurrentFix(cfg, path); err != nil {
		return err
	}
	return kernelSize2D(cfg, path)
}

func zeroPadding2D(cfg Config, path string) error {
	switch p := cfg["padding"].(type) {
	case map[string]any:
		side := func(k string) any {
			if v, ok := p[k]; ok && v != nil {
				return v
			}
			return jsonInt(0)
		}
		cfg["padding"] = []any{
			[]any{side("top_pad"), side("bottom_pad")},
			[]any{side("left_pad"), side("right_pad")},
		}
	case []any:
		// Keras 1 accepted (top, bottom, left, right).
		if len(p) == 4 {
			cfg["padding"] = []any{[]any{p[0], p[1]}, []any{p[2], p[3]}}
		}
	}
	return nil
}

func batchNormMode(cfg Config, path string) error {
	v, ok := cfg["mode"]
	if !ok {
		return nil
	}
	delete(cfg, "mode")
	if v == nil {
		return nil
	}
	mode, err := toInt(v)
	if err != nil {
		return formatErr(joinPath(path, "mode"), "%v", err)
	}
	if mode != 0 {
		return &UnsupportedError{Feature: fmt.Sprintf("Keras 1 BatchNormalization mode=%d at %s (Keras 2 dropped modes 1 and 2)", mode, path)}
	}
	return nil
}

// mergeModes maps Keras 1 Merge modes to Keras 2 merge layers.
var mergeModes = map[string]string{
	"sum":    "Add",
	"mul":    "Multiply",
	"concat": "Concatenate",
	"ave":    "Average",
	"max":    "Maximum",
	"dot":    "Dot",
}

// mergeKeys are the Merge arguments that have no meaning after the
// rewrite to a Keras 2 merge layer.
var mergeKeys = []string{"mode", "mode_type", "concat_axis", "dot_axes", "output_shape",
	"output_shape_type", "output_mask", "output_mask_type", "arguments", "layers"}

func mergeClass(cfg Config, path string) (string, error) {
	if l, ok := cfg["layers"].([]any); ok && len(l) > 0 {
		return "", &UnsupportedError{Feature: fmt.Sprintf("Keras 1 Merge of Sequential branches at %s", path)}
	}
	mode, _ := cfg["mode"].(string)
	modeType, _ := cfg["mode_type"].(string)
	class, ok := mergeModes[mode]
	if !ok || (modeType != "" && modeType != "raw") {
		return "Merge", nil
	}
	switch class {
	case "Concatenate":
		axis := cfg["concat_axis"]
		if axis == nil {
			axis = jsonInt(-1)
		}
		cfg["axis"] = axis
	case "Dot":
		axes := cfg["dot_axes"]
		if axes == nil {
			axes = jsonInt(-1)
		}
		cfg["axes"] = axes
	}
	for _, k := range mergeKeys {
		delete(cfg, k)
	}
	return class, nil
}

// recurrentClasses are the layers whose Keras 2 nodes carry initial
// states (and constants) as extra positional inputs, where Keras 3 passes
// them as the initial_state (and constants) keyword arguments.
var recurrentClasses = map[string]bool{
	"RNN": true, "SimpleRNN": true, "LSTM": true, "GRU": true,
	"ConvLSTM1D": true, "ConvLSTM2D": true, "ConvLSTM3D": true,
	"CuDNNLSTM": true, "CuDNNGRU": true, "Bidirectional": true,
}

// legacyInputShape derives the batch shape of a Sequential model's
// synthesized input from a Keras 1 first layer that has no
// batch_input_shape: input_dim (and input_length) as Keras 1 and Keras 2's
// legacy converters read them. It is called on the raw config before the
// rewrite.
func legacyInputShape(class string, cfg Config) []any {
	if v, ok := cfg["input_shape"].([]any); ok {
		return append([]any{nil}, v...)
	}
	dim, hasDim := cfg["input_dim"]
	length := cfg["input_length"]
	switch class {
	case "Embedding":
		if length != nil {
			if l, ok := length.([]any); ok {
				return append([]any{nil}, l...)
			}
			return []any{nil, length}
		}
		return nil
	case "Dense", "Highway", "MaxoutDense":
		if hasDim && dim != nil {
			return []any{nil, dim}
		}
	case "LSTM", "GRU", "SimpleRNN", "Convolution1D", "Conv1D", "AtrousConvolution1D":
		if hasDim && dim != nil {
			return []any{nil, length, dim}
		}
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
