//! SRGAN (Ledig et al.): the SRResNet generator and the strided-conv discriminator, as layer
//! lists (issue 14). G: `conv_in` k9, PReLU; residual blocks [conv k3, BN, PReLU, conv k3, BN,
//! plus the block's input]; `conv_mid` k3, BN, plus the long skip from `prelu_in`; per factor
//! of 2 an upsampling block [conv to 4C, pixel shuffle x2, PReLU]; `conv_out` k9; tanh.
//! D: `conv0` k3 s1, LReLU; then [conv k3 s2, BN, LReLU] and [conv k3 s1 to twice the width, BN,
//! LReLU] in turn until a stride-2 conv leaves a map of 2x2 or less; `head` k3 to a logit map.
//! Convs that feed a batch norm have no bias (the golden file's choice: theirs is inert).

use crate::nn::{ConvSpec, Layer};
use crate::ops::Activation;

#[derive(Clone, Debug, PartialEq)]
pub struct SrganConfig {
    pub channels: usize,
    /// Side of the square LR input.
    pub lr_size: usize,
    /// 2 or 4.
    pub scale: usize,
    /// G's width C.
    pub g_width: usize,
    pub res_blocks: usize,
    /// D's first width.
    pub d_width: usize,
    pub bn_eps: f32,
    pub bn_momentum: f32,
}

fn conv(c_in: usize, c_out: usize, side: usize, kernel: usize, stride: usize) -> ConvSpec {
    ConvSpec {
        c_in,
        c_out,
        h: side,
        w: side,
        kernel,
        stride,
        pad: kernel / 2,
    }
}

impl SrganConfig {
    /// The golden file's shrunk model: batch 2 of HR 1x8x8, LR 2x2, C = 4, one residual block.
    pub fn golden() -> Self {
        Self {
            channels: 1,
            lr_size: 2,
            scale: 4,
            g_width: 4,
            res_blocks: 1,
            d_width: 4,
            bn_eps: 1e-5,
            bn_momentum: 0.1,
        }
    }

    pub fn hr_size(&self) -> usize {
        self.lr_size * self.scale
    }

    fn bn(&self, name: &str, c: usize, side: usize) -> Layer {
        Layer::batch_norm2d(name, c, side * side, self.bn_eps, self.bn_momentum)
    }

    pub fn generator(&self) -> Vec<Layer> {
        let (c, s) = (self.g_width, self.lr_size);
        let mut layers = vec![
            Layer::conv2d("conv_in", conv(self.channels, c, s, 9, 1), true),
            Layer::prelu("prelu_in", c, s * s),
            Layer::Tap("long skip".into()),
        ];
        for b in 0..self.res_blocks {
            let name = |part: &str| format!("res{b}.{part}");
            let tap = name("in");
            layers.extend([
                Layer::Tap(tap.clone()),
                Layer::conv2d(&name("conv1"), conv(c, c, s, 3, 1), false),
                self.bn(&name("bn1"), c, s),
                Layer::prelu(&name("prelu"), c, s * s),
                Layer::conv2d(&name("conv2"), conv(c, c, s, 3, 1), false),
                self.bn(&name("bn2"), c, s),
                Layer::Add(tap),
            ]);
        }
        layers.extend([
            Layer::conv2d("conv_mid", conv(c, c, s, 3, 1), false),
            self.bn("bn_mid", c, s),
            Layer::Add("long skip".into()),
        ]);
        let mut side = s;
        for u in 0..self.scale.trailing_zeros() as usize {
            layers.extend([
                Layer::conv2d(&format!("up{u}.conv"), conv(c, 4 * c, side, 3, 1), true),
                Layer::pixel_shuffle(c, (side, side), 2),
                Layer::prelu(&format!("up{u}.prelu"), c, 4 * side * side),
            ]);
            side *= 2;
        }
        layers.push(Layer::conv2d(
            "conv_out",
            conv(c, self.channels, side, 9, 1),
            true,
        ));
        layers.push(Layer::Act(Activation::Tanh));
        layers
    }

    pub fn discriminator(&self) -> Vec<Layer> {
        let lrelu = || Layer::Act(Activation::LeakyRelu(0.2));
        let (mut w, mut side) = (self.d_width, self.hr_size());
        let mut layers = vec![
            Layer::conv2d("conv0", conv(self.channels, w, side, 3, 1), true),
            lrelu(),
        ];
        let mut k = 1;
        loop {
            layers.push(Layer::conv2d(
                &format!("conv{k}"),
                conv(w, w, side, 3, 2),
                false,
            ));
            side = side.div_ceil(2);
            layers.extend([self.bn(&format!("bn{k}"), w, side), lrelu()]);
            k += 1;
            if side <= 2 {
                break;
            }
            layers.push(Layer::conv2d(
                &format!("conv{k}"),
                conv(w, 2 * w, side, 3, 1),
                false,
            ));
            w *= 2;
            layers.extend([self.bn(&format!("bn{k}"), w, side), lrelu()]);
            k += 1;
        }
        layers.push(Layer::conv2d("head", conv(w, 1, side, 3, 1), true));
        layers
    }
}
