//! CPU twins of `shaders/matmul.wgsl`. Matrices are row-major; the products go through the
//! `matrixmultiply` GEMM with strides, so a transposed operand costs nothing.

use super::{par, params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in matmul.wgsl. `out` is (m, n); the contraction length is k.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct MatmulParams {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub flags: u32,
}

/// `matmul_bt` adds `bias[n]` to every row.
pub const HAS_BIAS: u32 = 1;
/// The product is added to `out` instead of replacing it (gradient accumulation).
pub const ACCUMULATE: u32 = 2;

/// Element strides (row, column) of an operand as the GEMM sees it.
type Strides = (isize, isize);

fn gemm(p: &MatmulParams, a: &[f32], sa: Strides, b: &[f32], sb: Strides, out: &mut [f32]) {
    let (m, n) = (p.m as isize, p.n as isize);
    gemm_into(p, a, sa, b, sb, out, (n, 1), (m, n));
}

/// out = a·b with `out` at strides `so`; (rows, columns) of the product as the GEMM sees it.
#[allow(clippy::too_many_arguments)]
fn gemm_into(
    p: &MatmulParams,
    a: &[f32],
    sa: Strides,
    b: &[f32],
    sb: Strides,
    out: &mut [f32],
    so: Strides,
    (rows, cols): (isize, isize),
) {
    let (m, n, k) = (rows as usize, cols as usize, p.k as usize);
    assert!(a.len() >= m * k && b.len() >= k * n && out.len() >= m * n);
    let beta = if p.flags & ACCUMULATE != 0 { 1.0 } else { 0.0 };
    if k == 0 {
        out[..m * n].iter_mut().for_each(|o| *o *= beta);
        return;
    }
    // SAFETY: the asserts above keep every strided access inside the slices.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            sa.0,
            sa.1,
            b.as_ptr(),
            sb.0,
            sb.1,
            beta,
            out.as_mut_ptr(),
            so.0,
            so.1,
        );
    }
}

/// out (m,n) = a (m,k) · b (k,n) (+ bias[n])
pub fn matmul(p: &MatmulParams, a: &[f32], b: &[f32], bias: &[f32], out: &mut [f32]) {
    gemm(p, a, (p.k as isize, 1), b, (p.n as isize, 1), out);
    add_bias(p, bias, out);
}

/// out (m,n) = aᵀ · b (+ bias[n]), with a (k,m) and b (k,n): a weight gradient dyᵀ·x.
pub fn matmul_at(p: &MatmulParams, a: &[f32], b: &[f32], bias: &[f32], out: &mut [f32]) {
    gemm(p, a, (1, p.m as isize), b, (p.n as isize, 1), out);
    add_bias(p, bias, out);
}

/// out (m,n) = a (m,k) · bᵀ (+ bias[n]), with b (n,k): PyTorch's `linear` with weight b.
/// The GEMM packs its right operand walking across rows when that operand is transposed, so
/// the smaller of a and b goes there: for n >= m the product is computed as outᵀ = b · aᵀ
/// (39 → 95 GFLOP/s for the seed's forward products at batch 32); for a one-wide output
/// (D's logit) as a · bᵀ.
pub fn matmul_bt(p: &MatmulParams, a: &[f32], b: &[f32], bias: &[f32], out: &mut [f32]) {
    let (m, n, k) = (p.m as isize, p.n as isize, p.k as isize);
    if n >= m {
        gemm_into(p, b, (k, 1), a, (1, k), out, (1, n), (n, m));
    } else {
        gemm(p, a, (k, 1), b, (1, k), out);
    }
    add_bias(p, bias, out);
}

/// The shader adds the bias in the same store as the product; here it is a second pass.
fn add_bias(p: &MatmulParams, bias: &[f32], out: &mut [f32]) {
    if p.flags & HAS_BIAS != 0 {
        let n = p.n as usize;
        for row in out[..p.m as usize * n].chunks_exact_mut(n) {
            row.iter_mut().zip(bias).for_each(|(o, b)| *o += b);
        }
    }
}

/// db[j] = Σ_i dy[i, j] over the m rows of dy (m, n); summed in row order like the shader, a
/// block of columns per thread.
pub fn bias_grad(p: &MatmulParams, dy: &[f32], db: &mut [f32]) {
    let (m, n) = (p.m as usize, p.n as usize);
    let accumulate = p.flags & ACCUMULATE != 0;
    par::chunks(&mut db[..n], par::per_thread(n), m * n, |first, db| {
        let mut sums = vec![0.0f32; db.len()];
        for row in dy[..m * n].chunks_exact(n.max(1)) {
            for (s, &v) in sums.iter_mut().zip(&row[first..]) {
                *s += v;
            }
        }
        for (d, s) in db.iter_mut().zip(sums) {
            *d = if accumulate { *d + s } else { s };
        }
    });
}

pub fn matmul_op(w: &[u32], io: &mut CpuIo) {
    matmul(&params(w), io.f32(0), io.f32(1), io.f32(3), io.f32_mut(2));
}

pub fn matmul_at_op(w: &[u32], io: &mut CpuIo) {
    matmul_at(&params(w), io.f32(0), io.f32(1), io.f32(3), io.f32_mut(2));
}

pub fn matmul_bt_op(w: &[u32], io: &mut CpuIo) {
    matmul_bt(&params(w), io.f32(0), io.f32(1), io.f32(3), io.f32_mut(2));
}

pub fn bias_grad_op(w: &[u32], io: &mut CpuIo) {
    bias_grad(&params(w), io.f32(0), io.f32_mut(1));
}
