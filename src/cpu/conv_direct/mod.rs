//! Convolution products straight from x (issue 19), without im2col's matrix cols (K, NP): the
//! forward y_t = w · cols and the weight gradient dw (+)= y_t · colsᵀ, where cols is 9 to 27
//! times x. Written and read back through memory, cols made DVD-GAN's thin convolutions (16 to
//! 32 output channels) run at 40-110 GFLOP/s on two cores.
//!
//! x is copied once with its zero padding, so that cols[r, np] = x_pad[tap(r) + pixel(np)] for a
//! tap offset per row r = (ci, kt, ky, kx) and a pixel offset per column np = (b, ot, oy, ox);
//! the blocks of cols the GEMM's register blocks read are packed from x_pad (a few vector copies
//! per output row, `pack`). Each element is the chain `gemm` and `matrixmultiply` compute: k in
//! blocks of 256 (`gemm::KC`), each a multiply-add chain from zero, added to the output after
//! the first (or from the start when accumulating), so the results are the recorded im2col +
//! matmul's bit for bit (tests/cpu_conv.rs). Without AVX-512 the entry points return false and
//! the caller runs im2col and the product.

#[cfg(target_arch = "x86_64")]
mod forward;
#[cfg(target_arch = "x86_64")]
mod pack;
#[cfg(target_arch = "x86_64")]
mod weight_grad;

/// A convolution's shape as the direct products see it: 2-D convolutions have one frame
/// (t = kt = 1, no temporal padding).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Taps {
    pub n: usize,
    pub c_in: usize,
    pub c_out: usize,
    /// Input frames, rows, columns.
    pub thw: [usize; 3],
    /// Output frames, rows, columns.
    pub out: [usize; 3],
    /// Kernel frames, rows, columns.
    pub k: [usize; 3],
    pub stride: usize,
    /// Padding of frames, rows, columns.
    pub pad: [usize; 3],
}

impl Taps {
    pub(crate) fn rows(&self) -> usize {
        self.c_in * self.k.iter().product::<usize>()
    }

    pub(crate) fn pixels(&self) -> usize {
        self.out.iter().product()
    }

    /// The padded input's frames, rows, columns.
    pub(crate) fn padded(&self) -> [usize; 3] {
        std::array::from_fn(|d| self.thw[d] + 2 * self.pad[d])
    }
}

/// Columns of cols (NP) from which the weight gradient runs here. With fewer, dw's columns
/// copied in and out of the kernel's row-major layout cost more than cols does (one k block:
/// CycleGAN's residual convs at batch 1, 128 x 1152 of dw from 256 columns, 650 -> 960 µs;
/// DVD-GAN's ConvGRU gates 960 -> 1140 µs).
const WEIGHT_GRAD_MIN_COLUMNS: usize = 2048;

/// Whether [`forward`] runs for `g`: AVX-512, no empty dimension, and a geometry whose every
/// tap lies inside the padded x (as `conv_out` makes it) with offsets that fit in u32.
pub fn forward_direct(g: &Taps) -> bool {
    let fits = (0..3).all(|d| (g.out[d].max(1) - 1) * g.stride + g.k[d] <= g.padded()[d]);
    let words = g.n * g.c_in * g.padded().iter().product::<usize>();
    crate::cpu::gemm::avx512()
        && g.rows() > 0
        && g.c_out > 0
        && g.n * g.pixels() > 0
        && g.stride > 0
        && fits
        && words <= u32::MAX as usize
}

/// Whether [`weight_grad`] runs for `g`: as [`forward_direct`], and enough columns.
pub fn weight_grad_direct(g: &Taps) -> bool {
    forward_direct(g) && g.n * g.pixels() >= WEIGHT_GRAD_MIN_COLUMNS
}

/// dw (c_out, K) = y_t · colsᵀ (+ dw when `accumulate`), y_t (c_out, NP) row-major; false (and
/// nothing written) where [`weight_grad_direct`] is, for the caller's im2col and product.
pub fn weight_grad(g: &Taps, x: &[f32], y_t: &[f32], accumulate: bool, dw: &mut [f32]) -> bool {
    let (rows, np) = (g.rows(), g.n * g.pixels());
    assert!(x.len() >= g.n * g.c_in * g.thw.iter().product::<usize>());
    assert!(y_t.len() >= g.c_out * np && dw.len() >= g.c_out * rows);
    if !weight_grad_direct(g) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    weight_grad::weight_grad(g, x, y_t, accumulate, dw);
    true
}

/// y_t (c_out, NP) = w (c_out, K) · cols for the samples of x, straight from x: the forward
/// product of a conv step's block; false (and nothing written) where [`forward_direct`] is.
pub fn forward(g: &Taps, x: &[f32], w: &[f32], y_t: &mut [f32]) -> bool {
    let (rows, np) = (g.rows(), g.n * g.pixels());
    assert!(x.len() >= g.n * g.c_in * g.thw.iter().product::<usize>());
    assert!(w.len() >= g.c_out * rows && y_t.len() >= g.c_out * np);
    if !forward_direct(g) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    forward::forward(g, x, w, y_t);
    true
}
