//! CycleGAN (Zhu et al.): the ResNet generator and the PatchGAN discriminator as layer lists
//! (issue 15). G: reflect-pad 3, `c0` k7, IN, ReLU; `downs` convs k3 s2 p1 doubling the width,
//! each IN, ReLU; residual blocks [reflect-pad 1, conv k3, IN, ReLU, reflect-pad 1, conv k3, IN,
//! plus the block's input]; as many transposed convs k3 s2 p1 output_padding 1 halving it, each
//! IN, ReLU; reflect-pad 3, `c_out` k7; tanh. D: `c0` k4 s2 p1, LReLU(0.2); `strided - 1` more
//! k4 s2 p1 convs doubling the width, IN, LReLU; one k4 s1 p1 doubling it, IN, LReLU; `c<last>`
//! k4 s1 p1 to one logit per patch. `biased`: every conv has a bias (the paper's model), else
//! only those not followed by an instance norm (the golden file's choice: the others are inert).

use crate::nn::{ConvSpec, Layer};
use crate::ops::Activation;

#[derive(Clone, Debug, PartialEq)]
pub struct CycleganConfig {
    pub channels: usize,
    /// Side of the square images.
    pub size: usize,
    pub ngf: usize,
    pub downs: usize,
    pub res_blocks: usize,
    pub ndf: usize,
    /// D's stride-2 convs, `c0` included.
    pub strided: usize,
    pub biased: bool,
}

fn conv(
    c_in: usize,
    c_out: usize,
    side: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
) -> ConvSpec {
    ConvSpec {
        c_in,
        c_out,
        h: side,
        w: side,
        kernel,
        stride,
        pad,
    }
}

impl CycleganConfig {
    /// The golden file's shrunk model: 1x8x8, ngf 2, one down and up, one block, ndf 2.
    pub fn golden() -> Self {
        Self {
            channels: 1,
            size: 8,
            ngf: 2,
            downs: 1,
            res_blocks: 1,
            ndf: 2,
            strided: 1,
            biased: false,
        }
    }

    /// conv, instance norm, ReLU.
    fn block(&self, name: &str, spec: ConvSpec, side: usize, out: &mut Vec<Layer>) {
        out.extend([
            Layer::conv2d(name, spec, self.biased),
            Layer::instance_norm(spec.c_out, side * side),
            Layer::Act(Activation::Relu),
        ]);
    }

    pub fn generator(&self) -> Vec<Layer> {
        let (mut c, mut side) = (self.ngf, self.size);
        let mut layers = vec![Layer::reflect_pad(self.channels, (side, side), 3)];
        self.block(
            "c0",
            conv(self.channels, c, side + 6, 7, 1, 0),
            side,
            &mut layers,
        );
        for d in 0..self.downs {
            let spec = conv(c, 2 * c, side, 3, 2, 1);
            (c, side) = (2 * c, side.div_ceil(2));
            self.block(&format!("down{d}"), spec, side, &mut layers);
        }
        for b in 0..self.res_blocks {
            let tap = format!("res{b}.in");
            layers.push(Layer::Tap(tap.clone()));
            layers.push(Layer::reflect_pad(c, (side, side), 1));
            self.block(
                &format!("res{b}.conv1"),
                conv(c, c, side + 2, 3, 1, 0),
                side,
                &mut layers,
            );
            layers.push(Layer::reflect_pad(c, (side, side), 1));
            let spec = conv(c, c, side + 2, 3, 1, 0);
            layers.push(Layer::conv2d(&format!("res{b}.conv2"), spec, self.biased));
            layers.push(Layer::instance_norm(c, side * side));
            layers.push(Layer::Add(tap));
        }
        for u in 0..self.downs {
            let spec = conv(c, c / 2, side, 3, 2, 1);
            layers.push(Layer::conv_transpose2d_padded(
                &format!("up{u}"),
                spec,
                1,
                self.biased,
            ));
            (c, side) = (c / 2, 2 * side);
            layers.push(Layer::instance_norm(c, side * side));
            layers.push(Layer::Act(Activation::Relu));
        }
        layers.push(Layer::reflect_pad(c, (side, side), 3));
        let spec = conv(c, self.channels, side + 6, 7, 1, 0);
        layers.push(Layer::conv2d("c_out", spec, true));
        layers.push(Layer::Act(Activation::Tanh));
        layers
    }

    pub fn discriminator(&self) -> Vec<Layer> {
        let lrelu = || Layer::Act(Activation::LeakyRelu(0.2));
        let (mut c, mut side) = (self.ndf, self.size);
        let mut layers = vec![
            Layer::conv2d("c0", conv(self.channels, c, side, 4, 2, 1), true),
            lrelu(),
        ];
        side /= 2;
        let mut k = 1;
        for stride in std::iter::repeat_n(2, self.strided - 1).chain([1]) {
            let spec = conv(c, 2 * c, side, 4, stride, 1);
            layers.push(Layer::conv2d(&format!("c{k}"), spec, self.biased));
            side = (side + 2 - 4) / stride + 1;
            c *= 2;
            layers.extend([Layer::instance_norm(c, side * side), lrelu()]);
            k += 1;
        }
        layers.push(Layer::conv2d(
            &format!("c{k}"),
            conv(c, 1, side, 4, 1, 1),
            true,
        ));
        layers
    }
}
