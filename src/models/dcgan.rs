//! DCGAN generators and discriminators: transposed convolutions up, strided convolutions down,
//! batch norm in between (Radford et al.; pytorch/examples `dcgan`).

use crate::nn::{ConvSpec, Layer, Net, TensorKind};
use crate::ops::Activation;

/// Kernel 4, stride 2, padding 1: doubles (transposed) or halves (conv) the side.
fn k4s2(c_in: usize, c_out: usize, side: usize) -> ConvSpec {
    ConvSpec {
        c_in,
        c_out,
        h: side,
        w: side,
        kernel: 4,
        stride: 2,
        pad: 1,
    }
}

/// Kernel 4, stride 1, no padding: 1x1 <-> 4x4 (the ends of the 64x64 architecture).
fn k4s1p0(c_in: usize, c_out: usize, side: usize) -> ConvSpec {
    ConvSpec {
        stride: 1,
        pad: 0,
        ..k4s2(c_in, c_out, side)
    }
}

/// The MNIST DCGAN (and, shrunk, the golden one). With s = image_size / 4:
/// G: `fc` Dense latent -> g_width·s·s (no bias), `bn0` BatchNorm1d, g_act; `up1`
/// ConvTranspose2d g_width -> g_width/2 (k4 s2 p1, no bias) to 2s, `bn1` BatchNorm2d, g_act;
/// `up2` ConvTranspose2d -> channels (with bias) to 4s, tanh.
/// D: `down1` Conv2d channels -> d_width (k4 s2 p1, with bias), LeakyReLU; `down2` Conv2d
/// -> 2·d_width (no bias), `bn2` BatchNorm2d, LeakyReLU; flatten; `fc` Dense -> 1 logit.
#[derive(Clone, Debug, PartialEq)]
pub struct DcganConfig {
    pub latent: usize,
    pub channels: usize,
    /// Side of the square images; a multiple of 4.
    pub image_size: usize,
    pub g_width: usize,
    pub d_width: usize,
    /// G's hidden activation: ReLU in the recipe, LeakyReLU(0.2) in the golden file.
    pub g_act: Activation,
    /// D's LeakyReLU slope.
    pub slope: f32,
    pub bn_eps: f32,
    pub bn_momentum: f32,
}

impl DcganConfig {
    /// 28x28 grayscale, ReLU in G, LeakyReLU(0.2) in D, PyTorch batch-norm defaults.
    pub fn mnist(latent: usize, g_width: usize, d_width: usize) -> Self {
        Self {
            latent,
            channels: 1,
            image_size: 28,
            g_width,
            d_width,
            g_act: Activation::Relu,
            slope: 0.2,
            bn_eps: 1e-5,
            bn_momentum: 0.1,
        }
    }

    /// Why these sizes cannot build the model, if they cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.image_size < 4 || !self.image_size.is_multiple_of(4) {
            return Err(format!(
                "image size {} must be a positive multiple of 4",
                self.image_size
            ));
        }
        if self.g_width < 2 || self.d_width == 0 || self.latent == 0 || self.channels == 0 {
            return Err(format!(
                "--g-width must be at least 2 and --d-width at least 1 (got {} and {})",
                self.g_width, self.d_width
            ));
        }
        Ok(())
    }

    pub fn generator(&self) -> Vec<Layer> {
        let s = self.image_size / 4;
        let (w, half) = (self.g_width, self.g_width / 2);
        let (eps, mom) = (self.bn_eps, self.bn_momentum);
        vec![
            Layer::dense("fc", self.latent, w * s * s, false),
            Layer::batch_norm("bn0", w * s * s, eps, mom),
            Layer::Act(self.g_act),
            Layer::conv_transpose2d("up1", k4s2(w, half, s), false),
            Layer::batch_norm2d("bn1", half, 4 * s * s, eps, mom),
            Layer::Act(self.g_act),
            Layer::conv_transpose2d("up2", k4s2(half, self.channels, 2 * s), true),
            Layer::Act(Activation::Tanh),
        ]
    }

    pub fn discriminator(&self) -> Vec<Layer> {
        let n = self.image_size;
        let (w, s) = (self.d_width, n / 4);
        let lrelu = Layer::Act(Activation::LeakyRelu(self.slope));
        vec![
            Layer::conv2d("down1", k4s2(self.channels, w, n), true),
            lrelu.clone(),
            Layer::conv2d("down2", k4s2(w, 2 * w, n / 2), false),
            Layer::batch_norm2d("bn2", 2 * w, s * s, self.bn_eps, self.bn_momentum),
            lrelu,
            Layer::linear("fc", 2 * w * s * s, 1),
        ]
    }
}

/// The pytorch/examples DCGAN for 64x64 images: G is five transposed convolutions from a 1x1
/// latent (ngf·8, ·4, ·2, ·1 channels, then the image), D five convolutions down to a 1x1 logit
/// (ndf, ·2, ·4, ·8, then 1); batch norm after every hidden layer but D's first; no biases.
#[derive(Clone, Debug, PartialEq)]
pub struct Dcgan64Config {
    pub latent: usize,
    pub channels: usize,
    pub ngf: usize,
    pub ndf: usize,
    pub slope: f32,
    pub bn_eps: f32,
    pub bn_momentum: f32,
}

/// Side of the images `Dcgan64Config` works on.
pub const DCGAN64_SIZE: usize = 64;

impl Dcgan64Config {
    pub fn new(latent: usize, channels: usize, ngf: usize, ndf: usize) -> Self {
        Self {
            latent,
            channels,
            ngf,
            ndf,
            slope: 0.2,
            bn_eps: 1e-5,
            bn_momentum: 0.1,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.ngf == 0 || self.ndf == 0 {
            return Err(format!(
                "--ngf and --ndf must be at least 1 (got {} and {})",
                self.ngf, self.ndf
            ));
        }
        if self.channels != 1 && self.channels != 3 {
            return Err(format!("--channels must be 1 or 3 (got {})", self.channels));
        }
        Ok(())
    }

    pub fn generator(&self) -> Vec<Layer> {
        let f = self.ngf;
        let widths = [self.latent, 8 * f, 4 * f, 2 * f, f];
        let mut layers = vec![Layer::conv_transpose2d(
            "up1",
            k4s1p0(widths[0], widths[1], 1),
            false,
        )];
        let mut side = 4;
        for i in 1..widths.len() {
            let c = widths[i];
            let bn = format!("bn{i}");
            layers.push(Layer::batch_norm2d(
                &bn,
                c,
                side * side,
                self.bn_eps,
                self.bn_momentum,
            ));
            layers.push(Layer::Act(Activation::Relu));
            let next = widths.get(i + 1).copied().unwrap_or(self.channels);
            let up = format!("up{}", i + 1);
            layers.push(Layer::conv_transpose2d(&up, k4s2(c, next, side), false));
            side *= 2;
        }
        layers.push(Layer::Act(Activation::Tanh));
        layers
    }

    pub fn discriminator(&self) -> Vec<Layer> {
        let f = self.ndf;
        let widths = [self.channels, f, 2 * f, 4 * f, 8 * f];
        let lrelu = Layer::Act(Activation::LeakyRelu(self.slope));
        let mut layers = Vec::new();
        let mut side = DCGAN64_SIZE;
        for i in 1..widths.len() {
            let down = format!("down{i}");
            layers.push(Layer::conv2d(
                &down,
                k4s2(widths[i - 1], widths[i], side),
                false,
            ));
            side /= 2;
            if i > 1 {
                let bn = format!("bn{i}");
                let (eps, mom) = (self.bn_eps, self.bn_momentum);
                layers.push(Layer::batch_norm2d(&bn, widths[i], side * side, eps, mom));
            }
            layers.push(lrelu.clone());
        }
        layers.push(Layer::conv2d("down5", k4s1p0(8 * f, 1, side), false));
        layers
    }
}

/// Initial parameter and state arenas for a DCGAN (pytorch/examples `weights_init`): conv and
/// dense weights from N(0, 0.02), batch-norm gamma from N(1, 0.02), biases and beta 0, running
/// mean 0, running var 1. Deterministic in `seed` (Philox, as the GPU noise).
pub fn dcgan_init(net: &Net, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut params = vec![0.0f32; net.params.len];
    let mut state = vec![0.0f32; net.state.len];
    for (ti, t) in net.tensors.iter().enumerate() {
        let range = t.offset..t.offset + t.len;
        let normal = |mean: f32| {
            super::normal(seed, 0x0DC6_0000 + ti as u32, t.len)
                .into_iter()
                .map(move |z| mean + 0.02 * z)
        };
        match (t.kind, t.name.rsplit('.').next()) {
            (TensorKind::Param, Some("weight")) if t.shape.len() >= 2 => params[range]
                .iter_mut()
                .zip(normal(0.0))
                .for_each(|(p, v)| *p = v),
            (TensorKind::Param, Some("weight")) => params[range]
                .iter_mut()
                .zip(normal(1.0))
                .for_each(|(p, v)| *p = v),
            (TensorKind::Running, Some("running_var")) => state[range].fill(1.0),
            _ => {}
        }
    }
    (params, state)
}
