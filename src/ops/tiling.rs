//! Workgroup counts for the matmul kernels; kept beside nothing else so the tiling can change
//! with the shader without touching the op builders.

use crate::kernels::Kernel;

/// Each matmul workgroup is 8x8 invocations of 4x4 outputs: a 32x32 tile of out (m, n).
pub fn matmul_grid(_kernel: Kernel, m: usize, n: usize) -> [u32; 3] {
    [n.div_ceil(32) as u32, m.div_ceil(32) as u32, 1]
}
