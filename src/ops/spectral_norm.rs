//! Recording spectral normalisation (`shaders/spectral_norm.wgsl`) of a weight W viewed
//! (rows = out, cols = the rest), as torch.nn.utils.spectral_norm with one power iteration: the
//! iteration updates u (the net's state) and v at the start of each D step; the layer then uses
//! W / sigma, and its weight gradient passes back through sigma with u and v held constant.

use super::{check, Result};
use crate::cpu::spectral_norm::{SpectralNormParams, ACCUMULATE, EPS};
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

/// The tensors of one spectrally normalised weight: W (rows, cols), u (rows), v (cols) and
/// sigma (1).
#[derive(Clone, Copy, Debug)]
pub struct SpectralNormViews {
    pub w: View,
    pub u: View,
    pub v: View,
    pub sigma: View,
}

impl SpectralNormViews {
    fn check(&self, prog: &Program, (rows, cols): (usize, usize), label: &str) -> Result {
        check(prog, label, self.w, rows * cols)?;
        check(prog, label, self.u, rows)?;
        check(prog, label, self.v, cols)?;
        check(prog, label, self.sigma, 1)
    }
}

fn params((rows, cols): (usize, usize), flags: u32) -> SpectralNormParams {
    SpectralNormParams {
        rows: rows as u32,
        cols: cols as u32,
        flags,
        eps: EPS,
    }
}

/// v = normalize(Wᵀ u), u = normalize(W v), sigma = uᵀ W v: one workgroup.
pub fn spectral_norm_power(
    prog: &mut Program,
    shape: (usize, usize),
    sn: SpectralNormViews,
    label: &str,
) -> Result {
    sn.check(prog, shape, label)?;
    let b = vec![(sn.w, R), (sn.u, W), (sn.v, W), (sn.sigma, W)];
    let p = params(shape, 0);
    prog.push(Kernel::SpectralNormPower, &words(&p), b, [1, 1, 1], label);
    Ok(())
}

/// sigma = uᵀ W v from the stored u and v, no iteration: G's step through an updated D.
pub fn spectral_norm_sigma(
    prog: &mut Program,
    shape: (usize, usize),
    sn: SpectralNormViews,
    label: &str,
) -> Result {
    sn.check(prog, shape, label)?;
    let b = vec![(sn.w, R), (sn.u, R), (sn.v, R), (sn.sigma, W)];
    let p = params(shape, 0);
    prog.push(Kernel::SpectralNormSigma, &words(&p), b, [1, 1, 1], label);
    Ok(())
}

/// w_sn = W / sigma.
pub fn spectral_norm_scale(
    prog: &mut Program,
    shape: (usize, usize),
    sn: SpectralNormViews,
    w_sn: View,
    label: &str,
) -> Result {
    sn.check(prog, shape, label)?;
    check(prog, label, w_sn, sn.w.len)?;
    let b = vec![(sn.w, R), (sn.sigma, R), (w_sn, W)];
    let grid = grid_1d(w_sn.len, 64);
    prog.push(
        Kernel::SpectralNormScale,
        &words(&params(shape, 0)),
        b,
        grid,
        label,
    );
    Ok(())
}

/// dw (+)= the gradient wrt W of L(W / sigma) given g = dL / d(W / sigma), u and v constant:
/// g / sigma - (Σ g·W) / sigma² · u vᵀ. `accumulate` adds it to dw.
pub fn spectral_norm_backward(
    prog: &mut Program,
    shape: (usize, usize),
    sn: SpectralNormViews,
    (g, dw): (View, View),
    accumulate: bool,
    label: &str,
) -> Result {
    sn.check(prog, shape, label)?;
    check(prog, label, g, sn.w.len)?;
    check(prog, label, dw, sn.w.len)?;
    let flags = if accumulate { ACCUMULATE } else { 0 };
    let b = vec![
        (sn.w, R),
        (sn.u, R),
        (sn.v, R),
        (sn.sigma, R),
        (g, R),
        (dw, W),
    ];
    let p = params(shape, flags);
    prog.push(
        Kernel::SpectralNormBackward,
        &words(&p),
        b,
        [1, 1, 1],
        label,
    );
    Ok(())
}
