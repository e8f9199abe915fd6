//! Which matmul kernel runs a product, and its workgroup counts; kept beside nothing else so the
//! tiling can change with `shaders/matmul.wgsl` without touching the op builders.
//!
//! The choice is made from the shape alone, when the program is built: the `_vec4` kernels read
//! and write whole vec4s (about 3x the general kernels on lavapipe), so they need every row they
//! split into vec4s to have a length divisible by 4; views start 256-byte aligned already.
//! The choice is portable: a CPU adapter with subgroups swaps in faster twins when it plans the
//! program (`gpu::variants`), for products whose out rows are also a multiple of 8 long, with
//! their own tiles (`matmul_tile`).

use super::Transpose;
use crate::kernels::Kernel;

/// The kernel for out (m,n) = op(a) · op(b) with contraction length k.
pub fn matmul_kernel(t: Transpose, (m, n, k): (usize, usize, usize)) -> Kernel {
    // Every vec4 kernel writes out (m,n) rows as vec4s; then each reads a and b along their rows.
    // An empty operand would bind fewer bytes than one vec4.
    let rows_fit = m * n * k > 0
        && n % 4 == 0
        && match t {
            // a (m,k) and b (k,n)
            Transpose::None => k % 4 == 0,
            // a (k,m) and b (k,n)
            Transpose::A => m % 4 == 0,
            // a (m,k) and b (n,k)
            Transpose::B => k % 4 == 0,
        };
    match (t, rows_fit) {
        (Transpose::None, true) => Kernel::MatmulVec4,
        (Transpose::None, false) => Kernel::Matmul,
        (Transpose::A, true) => Kernel::MatmulAtVec4,
        (Transpose::A, false) => Kernel::MatmulAt,
        (Transpose::B, true) => Kernel::MatmulBtVec4,
        (Transpose::B, false) => Kernel::MatmulBt,
    }
}

/// Rows x columns of out covered by one workgroup of a matmul kernel.
pub fn matmul_tile(kernel: Kernel) -> (usize, usize) {
    match kernel {
        // 8 invocations (one llvmpipe SIMD step) of 16x16 outputs each, 2 down and 4 across:
        // small enough that a 32-row batch still gives both CPU threads work.
        Kernel::MatmulVec4 | Kernel::MatmulAtVec4 | Kernel::MatmulBtVec4 => (32, 64),
        // Their adapter-specific twins (`gpu::variants`): 8 invocations of 32x8 outputs, or of
        // 64x8 for the weight gradients' short products.
        Kernel::MatmulSubgroup | Kernel::MatmulBtSubgroup => (32, 64),
        Kernel::MatmulAtSubgroup => (64, 64),
        // shaders/matmul_tiled.wgsl: 256 invocations of 4x4 outputs; skinny splits K two ways
        // over 128 tiles of 4x4 (64 rows, 32 columns).
        Kernel::MatmulTiled
        | Kernel::MatmulAtTiled
        | Kernel::MatmulBtTiled
        | Kernel::MatmulAtSmallK => (64, 64),
        Kernel::MatmulSkinny | Kernel::MatmulBtSkinny | Kernel::MatmulBtSkinnyBn => (64, 32),
        // matmul.wgsl's general kernels and matmul_tiled.wgsl's direct ones: 8x8 invocations of
        // 4x4 outputs.
        // 8x8 invocations of 4x4 outputs.
        _ => (32, 32),
    }
}

pub fn matmul_grid(kernel: Kernel, m: usize, n: usize) -> [u32; 3] {
    let (rows, cols) = matmul_tile(kernel);
    [n.div_ceil(cols) as u32, m.div_ceil(rows) as u32, 1]
}
