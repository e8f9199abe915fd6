//! DVD-GAN (Clark et al. 2019) as layer lists, for `--model dvdgan` (issue 16). G is five nets
//! that share one latent: `g` (z -> linear -> (C0, s0, s0)), the ConvGRU's three gate convs
//! `g_gru_r`, `g_gru_u` (sigmoid) and `g_gru_c` (tanh), each k3 on [x, h] or [x, r·h] and run
//! once per frame with shared weights, and `g_frames`: residual up blocks per frame [BN, ReLU,
//! nearest x2, conv k3, BN, ReLU, conv k3, plus nearest x2 and conv k1], then BN, ReLU, conv k3
//! to one channel, tanh. D_S (`d_s`): residual down blocks [ReLU (not in the first), conv k3,
//! ReLU, conv k3, average pool 2, plus conv k1 and average pool 2], ReLU, a sum over H and W, a
//! linear layer to one score per frame. D_T: `d_t` pools each frame 2x2 then runs 3-D blocks
//! (conv3d k3, average pool 2 over T, H, W); `d_t2` the 2-D blocks on frames with time folded
//! into the batch, ReLU, sum, linear. Every weight of the three D nets is spectrally normalised.
//! Names follow the golden file's modules with the net in front (`g_gru_c.conv_c.weight` is
//! its `g.gru.conv_c.weight`, `g_frames.up0.*` its `g.up0.*`, `d_t2.down1.*` its `d_t.down1.*`).

use crate::cpu::pool::PoolGeometry;
use crate::nn::{Conv3dSpec, ConvSpec, Layer, Net, TensorKind};
use crate::ops::Activation;

#[derive(Clone, Debug, PartialEq)]
pub struct DvdganConfig {
    pub latent: usize,
    pub frames: usize,
    /// Canvas side.
    pub size: usize,
    /// Side of G's first feature map (the ConvGRU's).
    pub base: usize,
    /// The ConvGRU's channels, then each up block's output channels.
    pub g_channels: Vec<usize>,
    /// D_S's blocks' output channels.
    pub ds_channels: Vec<usize>,
    /// D_T's 3-D blocks' output channels, then its 2-D blocks'.
    pub dt3_channels: Vec<usize>,
    pub dt2_channels: Vec<usize>,
    /// Frames of each clip D_S sees.
    pub ds_frames: usize,
    pub bn_eps: f32,
    pub bn_momentum: f32,
}

fn conv(c_in: usize, c_out: usize, side: usize, kernel: usize) -> ConvSpec {
    ConvSpec {
        c_in,
        c_out,
        h: side,
        w: side,
        kernel,
        stride: 1,
        pad: kernel / 2,
    }
}

fn conv3(c_in: usize, c_out: usize, (t, side): (usize, usize), kernel: usize) -> Conv3dSpec {
    Conv3dSpec {
        c_in,
        c_out,
        t,
        h: side,
        w: side,
        kernel,
        stride: 1,
        pad: kernel / 2,
    }
}

fn sn(layer: Layer) -> Layer {
    Layer::spectral_norm(layer)
}

/// A conv layer of a block: (name, c_in, c_out, kernel) -> Layer.
type MakeConv = Box<dyn Fn(&str, usize, usize, usize) -> Layer>;

const RELU: Layer = Layer::Act(Activation::Relu);

/// Halvings from `side` down to `to` (None when it does not get there by halving).
pub fn halvings(side: usize, to: usize) -> Option<usize> {
    let mut s = side;
    let mut n = 0;
    while s > to {
        if !s.is_multiple_of(2) {
            return None;
        }
        s /= 2;
        n += 1;
    }
    (s == to).then_some(n)
}

impl DvdganConfig {
    /// The recipe at canvas `size` (a power of two, 16 or more) and `frames` (a multiple of 4):
    /// G from 4x4 with 8·g_width channels, halving per up block; D_S down to 4x4 from d_width
    /// channels, doubling per block; D_T two 3-D blocks, then 2-D blocks down to 4x4 (one at
    /// least).
    pub fn recipe(size: usize, frames: usize, (g_width, d_width): (usize, usize)) -> Self {
        let ups = halvings(size, 4).unwrap_or(0);
        let g_channels = (0..=ups).map(|i| ((8 * g_width) >> i).max(1)).collect();
        let downs = ups;
        let ds_channels = (0..downs).map(|i| d_width << i).collect();
        let dt2 = halvings(size / 8, 4).unwrap_or(0).max(1);
        Self {
            latent: 120,
            frames,
            size,
            base: 4,
            g_channels,
            ds_channels,
            dt3_channels: vec![d_width, 2 * d_width],
            dt2_channels: (0..dt2).map(|i| (4 * d_width) << i).collect(),
            ds_frames: 4,
            bn_eps: 1e-5,
            bn_momentum: 0.1,
        }
    }

    /// The golden file's shrunk model: T 4, 8x8, latent 8, GRU 4 channels at 2x2, up blocks to
    /// 4 and 2 channels; D_S 4, 8; D_T one 3-D block of 4, one 2-D block of 8; K 2.
    pub fn golden() -> Self {
        Self {
            latent: 8,
            frames: 4,
            size: 8,
            base: 2,
            g_channels: vec![4, 4, 2],
            ds_channels: vec![4, 8],
            dt3_channels: vec![4],
            dt2_channels: vec![8],
            ds_frames: 2,
            bn_eps: 1e-5,
            bn_momentum: 0.1,
        }
    }

    /// Values of one ConvGRU state (C0, s0, s0).
    pub fn state_len(&self) -> usize {
        self.g_channels[0] * self.base * self.base
    }

    pub fn fc(&self) -> Vec<Layer> {
        vec![Layer::linear("fc", self.latent, self.state_len())]
    }

    /// A ConvGRU gate: conv k3 on [x, h] (2·C0 channels) to C0, then `act`.
    pub fn gate(&self, name: &str, act: Activation) -> Vec<Layer> {
        let c = self.g_channels[0];
        vec![
            Layer::conv2d(name, conv(2 * c, c, self.base, 3), true),
            Layer::Act(act),
        ]
    }

    /// The per-frame decoder: up blocks, then BN, ReLU, conv k3 to one channel, tanh.
    pub fn frames_net(&self) -> Vec<Layer> {
        let (eps, mom) = (self.bn_eps, self.bn_momentum);
        let mut layers = Vec::new();
        let mut side = self.base;
        for (i, w) in self.g_channels.windows(2).enumerate() {
            let (c_in, c_out, up) = (w[0], w[1], 2 * side);
            let n = |s: &str| format!("up{i}.{s}");
            let upsample = Layer::Upsample {
                channels: c_in,
                h: side,
                w: side,
            };
            layers.extend([
                Layer::Tap(n("in")),
                Layer::batch_norm2d(&n("bn1"), c_in, side * side, eps, mom),
                RELU,
                upsample.clone(),
                Layer::conv2d(&n("conv1"), conv(c_in, c_out, up, 3), false),
                Layer::batch_norm2d(&n("bn2"), c_out, up * up, eps, mom),
                RELU,
                Layer::conv2d(&n("conv2"), conv(c_out, c_out, up, 3), false),
                Layer::Tap(n("h")),
                Layer::From(n("in")),
                upsample,
                Layer::conv2d(&n("skip"), conv(c_in, c_out, up, 1), false),
                Layer::Add(n("h")),
            ]);
            side = up;
        }
        let c = *self.g_channels.last().unwrap_or(&1);
        let hw = side * side;
        layers.extend([
            Layer::batch_norm2d("bn_out", c, hw, eps, mom),
            RELU,
            Layer::conv2d("conv_out", conv(c, 1, side, 3), true),
            Layer::Act(Activation::Tanh),
        ]);
        layers
    }

    /// A residual down block of `name` at `side` (2-D, or 3-D over `t` frames when Some).
    fn down(
        &self,
        name: &str,
        (c_in, c_out): (usize, usize),
        side: usize,
        t: Option<usize>,
    ) -> Vec<Layer> {
        let n = |s: &str| format!("{name}.{s}");
        let (layer, pool): (MakeConv, Layer) = match t {
            None => (
                Box::new(move |s, a, b, k| Layer::conv2d(s, conv(a, b, side, k), true)),
                Layer::avg_pool2d(c_out, (side, side), 2),
            ),
            Some(t) => (
                Box::new(move |s, a, b, k| Layer::conv3d(s, conv3(a, b, (t, side), k), true)),
                Layer::AvgPool(PoolGeometry::pool3d(1, c_out, (t, side, side), 2)),
            ),
        };
        let mut v = vec![Layer::Tap(n("in"))];
        if !name.ends_with("down0") {
            v.push(RELU);
        }
        v.extend([
            sn(layer(&n("conv1"), c_in, c_out, 3)),
            RELU,
            sn(layer(&n("conv2"), c_out, c_out, 3)),
            pool.clone(),
            Layer::Tap(n("h")),
            Layer::From(n("in")),
            sn(layer(&n("skip"), c_in, c_out, 1)),
            pool,
            Layer::Add(n("h")),
        ]);
        v
    }

    /// ReLU, the sum over the (side, side) map (its mean, doubled exactly), linear to 1.
    fn head(c: usize, side: usize) -> Vec<Layer> {
        let mut v = vec![RELU];
        if side > 1 {
            v.push(Layer::avg_pool2d(c, (side, side), side));
            for k in 0..(side * side).trailing_zeros() {
                v.extend([Layer::Tap(format!("sum{k}")), Layer::Add(format!("sum{k}"))]);
            }
        }
        v.push(sn(Layer::linear("fc", c, 1)));
        v
    }

    /// D_S on single frames (1, S, S).
    pub fn spatial(&self) -> Vec<Layer> {
        let (mut layers, mut c, mut side) = (Vec::new(), 1, self.size);
        for (i, &w) in self.ds_channels.iter().enumerate() {
            layers.extend(self.down(&format!("down{i}"), (c, w), side, None));
            (c, side) = (w, side / 2);
        }
        layers.extend(Self::head(c, side));
        layers
    }

    /// D_T's first part on a clip (1, T, S, S): each frame pooled 2x2, then the 3-D blocks.
    pub fn temporal_3d(&self) -> Vec<Layer> {
        let (t, s) = (self.frames, self.size);
        let pool = PoolGeometry {
            planes: 1,
            t,
            h: s,
            w: s,
            kt: 1,
            kh: 2,
            kw: 2,
        };
        let mut layers = vec![Layer::AvgPool(pool)];
        let (mut c, mut t, mut side) = (1, t, s / 2);
        for (i, &w) in self.dt3_channels.iter().enumerate() {
            layers.extend(self.down(&format!("down{i}"), (c, w), side, Some(t)));
            (c, t, side) = (w, t / 2, side / 2);
        }
        layers
    }

    /// (channels, frames, side) of D_T's 3-D part's output.
    pub fn temporal_fold(&self) -> (usize, usize, usize) {
        let n = self.dt3_channels.len();
        let c = *self.dt3_channels.last().unwrap_or(&1);
        (c, self.frames >> n, (self.size / 2) >> n)
    }

    /// D_T's 2-D blocks on its folded frames, then the head.
    pub fn temporal_2d(&self) -> Vec<Layer> {
        let (mut c, _, mut side) = self.temporal_fold();
        let first = self.dt3_channels.len();
        let mut layers = Vec::new();
        for (i, &w) in self.dt2_channels.iter().enumerate() {
            layers.extend(self.down(&format!("down{}", first + i), (c, w), side, None));
            (c, side) = (w, side / 2);
        }
        layers.extend(Self::head(c, side));
        layers
    }
}

/// Weights N(0, 1/fan_in) (PyTorch's default scale), biases 0, batch-norm gamma 1 and running
/// variance 1; every spectral-norm u and v a normalised N(0, 1) draw (torch's).
pub fn dvdgan_init(net: &Net, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut params = vec![0.0f32; net.params.len];
    let mut state = vec![0.0f32; net.state.len];
    for (ti, t) in net.tensors.iter().enumerate() {
        let range = t.offset..t.offset + t.len;
        let draw = super::normal(seed, 0x0D7D_0000 + ti as u32, t.len);
        match (t.kind, t.name.rsplit('.').next()) {
            (TensorKind::Param, Some("weight")) if t.shape.len() >= 2 => {
                let std = (1.0 / (t.len / t.shape[0]) as f32).sqrt();
                for (p, z) in params[range].iter_mut().zip(draw) {
                    *p = std * z;
                }
            }
            (TensorKind::Param, Some("weight")) => params[range].fill(1.0),
            (TensorKind::Running, Some("running_var")) => state[range].fill(1.0),
            (TensorKind::Running, Some("sn_u" | "sn_v")) => {
                let norm = draw.iter().map(|z| z * z).sum::<f32>().sqrt().max(1e-12);
                for (s, z) in state[range].iter_mut().zip(draw) {
                    *s = z / norm;
                }
            }
            _ => {}
        }
    }
    (params, state)
}
