//! The one registry of ops (house rule 11): each row pairs a WGSL entry point with its CPU twin
//! and lists its storage bindings (1..n, after the op parameters at binding 0). Tests iterate over
//! `Kernel::ALL`, so no op is forgotten.

use crate::cpu::{self, CpuIo};
use Access::{Read as R, Write as W};

/// How a kernel touches one of its storage bindings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// A CPU twin adapter: decodes the uniform words and runs the twin on the bound slices.
pub type CpuFn = fn(&[u32], &mut CpuIo);

/// One embedded shader: its file under `shaders/` with any shared parts appended (WGSL has no
/// includes), and the files it was assembled from, to map a line of the source back to its file.
pub struct Shader {
    /// The stem of its own file, `shaders/<name>.wgsl`.
    pub name: &'static str,
    /// The source compiled: its file, then each part.
    pub source: &'static str,
    /// (stem, text) of each file in `source`, in order, its own first.
    pub files: &'static [(&'static str, &'static str)],
}

impl Shader {
    /// The file (stem) and line, both 1-based, of line `line` of `source`.
    pub fn locate(&self, line: usize) -> (&'static str, usize) {
        let mut first = 1;
        for &(stem, text) in self.files {
            let lines = text.lines().count();
            if line < first + lines {
                return (stem, line - first + 1);
            }
            first += lines;
        }
        (self.name, line)
    }

    /// `shaders/<name>.wgsl`, and the parts appended to it.
    pub fn path(&self) -> String {
        let parts: Vec<String> = self.files[1..]
            .iter()
            .map(|(stem, _)| format!(" + {stem}.wgsl"))
            .collect();
        format!("shaders/{}.wgsl{}", self.name, parts.concat())
    }
}

macro_rules! shader {
    ($name:literal $(, $part:literal)*) => {
        Shader {
            name: $name,
            source: concat!(
                include_str!(concat!("../shaders/", $name, ".wgsl"))
                $(, include_str!(concat!("../shaders/", $part, ".wgsl")))*
            ),
            files: &[
                ($name, include_str!(concat!("../shaders/", $name, ".wgsl")))
                $(, ($part, include_str!(concat!("../shaders/", $part, ".wgsl"))))*
            ],
        }
    };
}

/// Every shader, embedded so that the binary is self-contained. The parts (philox, conv_common, epilogue,
/// product4x4, wide, adam_rule, channel_sum) hold declarations two or more shaders use.
pub const SHADERS: &[Shader] = &[
    shader!("matmul", "product4x4"),
    shader!("matmul_subgroup", "wide", "epilogue"),
    shader!("matmul_tiled", "epilogue"),
    shader!("matmul_direct", "product4x4", "epilogue"),
    shader!("activation"),
    shader!("batch_norm", "channel_sum"),
    shader!("batch_norm_act", "channel_sum"),
    shader!("loss"),
    shader!("adam", "adam_rule"),
    shader!("adam_wide", "adam_rule", "wide"),
    shader!("random", "philox"),
    shader!("condition"),
    shader!("columns"),
    shader!("conv2d", "conv_common"),
    shader!("conv_transpose2d", "conv_common"),
    shader!("im2col"),
    shader!("augment", "philox"),
    shader!("elementwise"),
    shader!("prelu"),
    shader!("pixel_shuffle"),
    shader!("pool"),
    shader!("instance_norm"),
    shader!("reflect_pad"),
    shader!("image_pool", "philox"),
    shader!("conv3d"),
    shader!("upsample"),
    shader!("gru"),
    shader!("hinge"),
    shader!("frames", "philox"),
    shader!("spectral_norm"),
    shader!("moving_mnist", "philox"),
    shader!("permute"),
    shader!("stream"),
];

/// The embedded shader of file stem `name`.
pub fn shader(name: &str) -> Option<&'static Shader> {
    SHADERS.iter().find(|s| s.name == name)
}

pub fn shader_source(name: &str) -> Option<&'static str> {
    shader(name).map(|s| s.source)
}

macro_rules! kernels {
    ($($variant:ident => $file:literal, $entry:literal, [$($num:literal $acc:ident),*], $cpu:path;)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Kernel { $($variant),* }

        impl Kernel {
            pub const ALL: &'static [Kernel] = &[$(Kernel::$variant),*];

            /// Shader file stem under `shaders/`.
            pub fn shader(self) -> &'static str {
                match self { $(Kernel::$variant => $file),* }
            }

            /// WGSL entry point, also the CPU twin's name.
            pub fn entry(self) -> &'static str {
                match self { $(Kernel::$variant => $entry),* }
            }

            /// (binding number, access) of each storage binding, in the order the host binds
            /// them and the CPU twin receives them.
            pub fn bindings(self) -> &'static [(u32, Access)] {
                match self { $(Kernel::$variant => &[$(($num, $acc)),*]),* }
            }

            pub fn cpu(self) -> CpuFn {
                match self { $(Kernel::$variant => $cpu),* }
            }
        }
    };
}

kernels! {
    Matmul => "matmul", "matmul", [1 R, 2 R, 3 W, 4 R], cpu::matmul::matmul_op;
    MatmulAt => "matmul", "matmul_at", [1 R, 2 R, 3 W, 4 R], cpu::matmul::matmul_at_op;
    MatmulBt => "matmul", "matmul_bt", [1 R, 2 R, 3 W, 4 R], cpu::matmul::matmul_bt_op;
    MatmulVec4 => "matmul", "matmul_vec4", [1 R, 2 R, 3 W, 4 R], cpu::matmul::matmul_op;
    MatmulAtVec4 => "matmul", "matmul_at_vec4", [1 R, 2 R, 3 W, 4 R], cpu::matmul::matmul_at_op;
    MatmulBtVec4 => "matmul", "matmul_bt_vec4", [1 R, 2 R, 3 W, 4 R], cpu::matmul::matmul_bt_op;
    // Adapter-specific (SUBGROUP): never recorded by ops, swapped in by gpu::variants.
    MatmulSubgroup => "matmul_subgroup", "matmul_subgroup", [1 R, 2 R, 3 W, 4 R, 5 W, 6 R], cpu::matmul_fused::matmul_subgroup_op;
    MatmulAtSubgroup => "matmul_subgroup", "matmul_at_subgroup", [1 R, 2 R, 3 W, 4 R, 5 W, 6 R], cpu::matmul_fused::matmul_at_subgroup_op;
    MatmulBtSubgroup => "matmul_subgroup", "matmul_bt_subgroup", [1 R, 2 R, 3 W, 4 R, 5 W, 6 R], cpu::matmul_fused::matmul_bt_subgroup_op;
    BiasGrad => "matmul", "bias_grad", [1 R, 3 W], cpu::matmul::bias_grad_op;
    // GPU-shaped products with fused epilogues (y, saved): chosen at plan time (gpu::plan).
    MatmulTiled => "matmul_tiled", "matmul_tiled", [1 R, 2 R, 3 W, 4 R, 5 W, 6 R], cpu::matmul_fused::matmul_tiled_op;
    MatmulAtTiled => "matmul_tiled", "matmul_at_tiled", [1 R, 2 R, 3 W, 4 R, 5 W, 6 R], cpu::matmul_fused::matmul_at_tiled_op;
    MatmulBtTiled => "matmul_tiled", "matmul_bt_tiled", [1 R, 2 R, 3 W, 4 R, 5 W, 6 R], cpu::matmul_fused::matmul_bt_tiled_op;
    MatmulSkinny => "matmul_tiled", "matmul_skinny", [1 R, 2 R, 3 W, 4 R, 5 W, 6 R], cpu::matmul_fused::matmul_skinny_op;
    MatmulBtSkinny => "matmul_tiled", "matmul_bt_skinny", [1 R, 2 R, 3 W, 4 R, 5 W, 6 R], cpu::matmul_fused::matmul_bt_skinny_op;
    MatmulBtSkinnyBn => "matmul_tiled", "matmul_bt_skinny_bn", [1 R, 2 R, 3 W, 4 R, 5 W, 6 R, 7 W, 8 W, 9 W], cpu::matmul_fused::matmul_bt_skinny_bn_op;
    MatmulAtSmallK => "matmul_tiled", "matmul_at_small_k", [1 R, 2 R, 3 W, 4 R, 5 W, 6 R], cpu::matmul_fused::matmul_at_small_k_op;
    MatmulDirect => "matmul_direct", "matmul_direct", [1 R, 2 R, 3 W, 4 R, 5 W, 6 R], cpu::matmul_fused::matmul_direct_op;
    MatmulAtDirect => "matmul_direct", "matmul_at_direct", [1 R, 2 R, 3 W, 4 R, 5 W, 6 R], cpu::matmul_fused::matmul_at_direct_op;
    MatmulBtDirect => "matmul_direct", "matmul_bt_direct", [1 R, 2 R, 3 W, 4 R, 5 W, 6 R], cpu::matmul_fused::matmul_bt_direct_op;

    LeakyReluForward => "activation", "leaky_relu_forward", [1 R, 2 W], cpu::activation::leaky_relu_forward_op;
    LeakyReluBackward => "activation", "leaky_relu_backward", [1 R, 2 R, 3 W], cpu::activation::leaky_relu_backward_op;
    ReluForward => "activation", "relu_forward", [1 R, 2 W], cpu::activation::relu_forward_op;
    ReluBackward => "activation", "relu_backward", [1 R, 2 R, 3 W], cpu::activation::relu_backward_op;
    TanhForward => "activation", "tanh_forward", [1 R, 2 W], cpu::activation::tanh_forward_op;
    TanhBackward => "activation", "tanh_backward", [1 R, 2 R, 3 W], cpu::activation::tanh_backward_op;
    SigmoidForward => "activation", "sigmoid_forward", [1 R, 2 W], cpu::activation::sigmoid_forward_op;
    SigmoidBackward => "activation", "sigmoid_backward", [1 R, 2 R, 3 W], cpu::activation::sigmoid_backward_op;

    BatchNormForwardTrain => "batch_norm", "batch_norm_forward_train", [1 R, 2 R, 3 W, 4 W, 5 W], cpu::batch_norm::batch_norm_forward_train_op;
    BatchNormForwardEval => "batch_norm", "batch_norm_forward_eval", [1 R, 2 R, 3 R, 4 W], cpu::batch_norm::batch_norm_forward_eval_op;
    BatchNormBackward => "batch_norm", "batch_norm_backward", [1 R, 2 R, 3 R, 4 R, 5 W, 6 W], cpu::batch_norm::batch_norm_backward_op;
    // Adapter-specific (CPU adapters, short channels): swapped in by gpu::variants.
    BatchNormForwardTrainSerial => "batch_norm", "batch_norm_forward_train_serial", [1 R, 2 R, 3 W, 4 W, 5 W], cpu::batch_norm::batch_norm_forward_train_serial_op;
    BatchNormBackwardSerial => "batch_norm", "batch_norm_backward_serial", [1 R, 2 R, 3 R, 4 R, 5 W, 6 W], cpu::batch_norm::batch_norm_backward_serial_op;
    // batch_norm_backward with the next activation derivative fused in (gpu::plan).
    BatchNormBackwardAct => "batch_norm_act", "batch_norm_backward_act", [1 R, 2 R, 3 R, 4 R, 5 W, 6 W, 7 W, 8 R], cpu::batch_norm_act::batch_norm_backward_act_op;
    BatchNormBackwardActSerial => "batch_norm_act", "batch_norm_backward_act_serial", [1 R, 2 R, 3 R, 4 R, 5 W, 6 W, 7 W, 8 R], cpu::batch_norm_act::batch_norm_backward_act_serial_op;

    BceWithLogits => "loss", "bce_with_logits", [1 R, 2 W, 3 W], cpu::loss::bce_with_logits_op;
    MseLoss => "loss", "mse_loss", [1 R, 2 W, 3 W, 4 R], cpu::loss::mse_loss_op;
    SoftmaxCrossEntropy => "loss", "softmax_cross_entropy", [1 R, 2 W, 3 W, 4 R], cpu::loss::softmax_cross_entropy_op;
    L1Loss => "loss", "l1_loss", [1 R, 2 W, 3 W, 4 R], cpu::loss::l1_loss_op;
    WassersteinLoss => "loss", "wasserstein_loss", [1 R, 2 W, 3 W], cpu::loss::wasserstein_loss_op;
    GradientPenalty => "loss", "gradient_penalty", [1 R, 2 W, 3 W], cpu::loss::gradient_penalty_op;

    AdamStep => "adam", "adam_step", [1 R, 2 R, 3 W, 4 W, 5 W, 7 W, 8 R], cpu::adam::adam_step_op;
    // Adapter-specific (SHADER_INT64): swapped in by gpu::variants.
    AdamStepWide => "adam_wide", "adam_step_wide", [1 R, 2 R, 3 W, 4 W, 5 W, 7 W, 8 R], cpu::adam::adam_step_op;
    CounterIncrement => "adam", "counter_increment", [6 W], cpu::adam::counter_increment_op;
    EmaUpdate => "adam", "ema_update", [1 R, 2 R, 4 W], cpu::adam::ema_update_op;

    NormalFill => "random", "normal_fill", [1 R, 2 W], cpu::random::normal_fill_op;
    UniformFill => "random", "uniform_fill", [1 R, 2 W], cpu::random::uniform_fill_op;
    GatherBatch => "random", "gather_batch", [1 R, 3 R, 4 R, 2 W, 5 W], cpu::random::gather_batch_op;
    UniformLabels => "random", "uniform_labels", [1 R, 2 W], cpu::random::uniform_labels_op;
    // A streamed dataset's batch, from rows the host staged (train::stream).
    GatherStreamed => "stream", "gather_streamed", [1 R, 2 R, 3 R, 4 W, 5 W], cpu::stream::gather_streamed_op;

    ConcatOneHotForward => "condition", "concat_one_hot_forward", [1 R, 2 R, 3 W], cpu::condition::concat_one_hot_forward_op;
    ConcatOneHotBackward => "condition", "concat_one_hot_backward", [1 R, 3 W], cpu::condition::concat_one_hot_backward_op;
    ConcatColumns => "columns", "concat_columns", [1 R, 2 R, 3 W], cpu::columns::concat_columns_op;
    FillColumns => "columns", "fill_columns", [3 W], cpu::columns::fill_columns_op;
    SliceColumns => "columns", "slice_columns", [1 R, 3 W], cpu::columns::slice_columns_op;
    Interpolate => "columns", "interpolate", [1 R, 2 R, 3 W, 4 R], cpu::columns::interpolate_op;

    Conv2dForward => "conv2d", "conv2d_forward", [1 R, 2 R, 3 R, 4 W], cpu::conv2d::conv2d_forward_op;
    Conv2dInputGrad => "conv2d", "conv2d_input_grad", [1 R, 2 R, 4 W], cpu::conv2d::conv2d_input_grad_op;
    Conv2dWeightGrad => "conv2d", "conv2d_weight_grad", [1 R, 2 R, 4 W], cpu::conv2d::conv2d_weight_grad_op;
    Conv2dBiasGrad => "conv2d", "conv2d_bias_grad", [1 R, 4 W], cpu::conv2d::conv2d_bias_grad_op;
    ConvTranspose2dForward => "conv_transpose2d", "conv_transpose2d_forward", [1 R, 2 R, 3 R, 4 W], cpu::conv_transpose2d::conv_transpose2d_forward_op;
    ConvTranspose2dInputGrad => "conv_transpose2d", "conv_transpose2d_input_grad", [1 R, 2 R, 4 W], cpu::conv_transpose2d::conv_transpose2d_input_grad_op;
    ConvTranspose2dWeightGrad => "conv_transpose2d", "conv_transpose2d_weight_grad", [1 R, 2 R, 4 W], cpu::conv_transpose2d::conv_transpose2d_weight_grad_op;
    // The reshapes that lower both convs to the matmul kernels (ops::conv).
    Im2col => "im2col", "im2col", [1 R, 3 W], cpu::im2col::im2col_op;
    Col2im => "im2col", "col2im", [1 R, 2 R, 3 W], cpu::im2col::col2im_op;
    NchwToCnhw => "im2col", "nchw_to_cnhw", [1 R, 3 W], cpu::im2col::nchw_to_cnhw_op;
    CnhwToNchw => "im2col", "cnhw_to_nchw", [1 R, 2 R, 3 W], cpu::im2col::cnhw_to_nchw_op;
    // Residual adds and summed gradients (ops::axpby).
    Axpby => "elementwise", "axpby", [1 R, 2 R, 3 W], cpu::elementwise::axpby_op;
    // Data augmentation for the classifier (ops::augment).
    RandomShift => "augment", "random_shift", [1 R, 2 R, 3 W], cpu::augment::random_shift_op;
    // Image-to-image nets: SRGAN (PReLU, pixel shuffle, average pooling), CycleGAN (instance
    // norm, reflection padding, the pool of past fakes).
    PreluForward => "prelu", "prelu_forward", [1 R, 2 R, 3 W], cpu::prelu::prelu_forward_op;
    PreluBackward => "prelu", "prelu_backward", [1 R, 2 R, 3 R, 4 W], cpu::prelu::prelu_backward_op;
    PreluSlopeGrad => "prelu", "prelu_slope_grad", [1 R, 3 R, 5 W], cpu::prelu::prelu_slope_grad_op;
    PixelShuffleForward => "pixel_shuffle", "pixel_shuffle_forward", [1 R, 2 W], cpu::pixel_shuffle::pixel_shuffle_forward_op;
    PixelShuffleBackward => "pixel_shuffle", "pixel_shuffle_backward", [1 R, 2 W], cpu::pixel_shuffle::pixel_shuffle_backward_op;
    AvgPoolForward => "pool", "avg_pool_forward", [1 R, 2 W], cpu::pool::avg_pool_forward_op;
    AvgPoolBackward => "pool", "avg_pool_backward", [1 R, 2 W], cpu::pool::avg_pool_backward_op;
    InstanceNormForward => "instance_norm", "instance_norm_forward", [1 R, 2 W], cpu::instance_norm::instance_norm_forward_op;
    InstanceNormBackward => "instance_norm", "instance_norm_backward", [1 R, 2 R, 3 W], cpu::instance_norm::instance_norm_backward_op;
    // Adapter-specific (CPU adapters, short planes): swapped in by gpu::variants.
    InstanceNormForwardSerial => "instance_norm", "instance_norm_forward_serial", [1 R, 2 W], cpu::instance_norm::instance_norm_forward_serial_op;
    InstanceNormBackwardSerial => "instance_norm", "instance_norm_backward_serial", [1 R, 2 R, 3 W], cpu::instance_norm::instance_norm_backward_serial_op;
    ReflectPadForward => "reflect_pad", "reflect_pad_forward", [1 R, 2 W], cpu::reflect_pad::reflect_pad_forward_op;
    ReflectPadBackward => "reflect_pad", "reflect_pad_backward", [1 R, 2 W], cpu::reflect_pad::reflect_pad_backward_op;
    ImagePoolQuery => "image_pool", "image_pool_query", [1 R, 2 R, 3 W, 4 W, 5 W], cpu::image_pool::image_pool_query_op;
    // conv3d lowered to the matmul kernels (ops::conv3d).
    Im2col3d => "conv3d", "im2col3d", [1 R, 3 W], cpu::conv3d::im2col3d_op;
    Col2im3d => "conv3d", "col2im3d", [1 R, 2 R, 3 W], cpu::conv3d::col2im3d_op;
    // DVD-GAN's ops (issue 16).
    UpsampleNearestForward => "upsample", "upsample_nearest_forward", [1 R, 2 W], cpu::upsample::upsample_nearest_forward_op;
    UpsampleNearestBackward => "upsample", "upsample_nearest_backward", [1 R, 2 W], cpu::upsample::upsample_nearest_backward_op;
    GruResetForward => "gru", "gru_reset_forward", [1 R, 2 R, 3 W], cpu::gru::gru_reset_forward_op;
    GruResetBackward => "gru", "gru_reset_backward", [1 R, 2 R, 9 R, 4 W, 5 W], cpu::gru::gru_reset_backward_op;
    GruUpdateForward => "gru", "gru_update_forward", [1 R, 2 R, 8 R, 4 W], cpu::gru::gru_update_forward_op;
    GruUpdateBackward => "gru", "gru_update_backward", [1 R, 2 R, 8 R, 9 R, 5 W, 6 W, 7 W], cpu::gru::gru_update_backward_op;
    HingeLoss => "hinge", "hinge_loss", [1 R, 2 W, 3 W], cpu::hinge::hinge_loss_op;
    GatherFrames => "frames", "gather_frames", [1 R, 2 R, 3 W], cpu::frames::gather_frames_op;
    GatherFramesBackward => "frames", "gather_frames_backward", [1 R, 2 R, 3 W], cpu::frames::gather_frames_backward_op;
    RandomFrames => "frames", "random_frames", [4 R, 3 W], cpu::frames::random_frames_op;
    SpectralNormPower => "spectral_norm", "spectral_norm_power", [1 R, 2 W, 3 W, 4 W], cpu::spectral_norm::spectral_norm_power_op;
    SpectralNormSigma => "spectral_norm", "spectral_norm_sigma", [1 R, 7 R, 8 R, 4 W], cpu::spectral_norm::spectral_norm_sigma_op;
    SpectralNormScale => "spectral_norm", "spectral_norm_scale", [1 R, 5 R, 6 W], cpu::spectral_norm::spectral_norm_scale_op;
    SpectralNormBackward => "spectral_norm", "spectral_norm_backward", [1 R, 7 R, 8 R, 5 R, 9 R, 6 W], cpu::spectral_norm::spectral_norm_backward_op;
    MovingMnist => "moving_mnist", "moving_mnist", [1 R, 3 R, 4 R, 2 W, 5 W], cpu::moving_mnist::moving_mnist_op;
    SwapAxes => "permute", "swap_axes", [1 R, 2 W], cpu::permute::swap_axes_op;
}
