//! CPU twins of `shaders/matmul.wgsl`. Matrices are row-major; the products go through the
//! `matrixmultiply` GEMM with strides, so a transposed operand costs nothing. The GEMM runs
//! single-threaded; a large product is cut into blocks of out, one per core (rayon's pool).

use super::{par, params, CpuIo};
use bytemuck::{Pod, Zeroable};
use rayon::prelude::*;

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
    let g = Gemm {
        a: a.as_ptr(),
        sa,
        b: b.as_ptr(),
        sb,
        out: out.as_mut_ptr(),
        so,
        k,
        beta,
    };
    let pieces = pieces(m, n, k);
    if pieces == 1 {
        // SAFETY: the assert above keeps every strided access of the whole product in bounds.
        unsafe { g.block(0..m, 0..n) };
        return;
    }
    // Cut the longer side of out, so that the operand packed once per piece is the short one.
    let (along_rows, len) = if m >= n { (true, m) } else { (false, n) };
    let step = len.div_ceil(pieces).div_ceil(SPLIT_ALIGN) * SPLIT_ALIGN;
    (0..len.div_ceil(step)).into_par_iter().for_each(|i| {
        let part = i * step..((i + 1) * step).min(len);
        // SAFETY: the pieces cover disjoint blocks of out, each inside the asserted bounds.
        unsafe {
            if along_rows {
                g.block(part, 0..n)
            } else {
                g.block(0..m, part)
            }
        }
    });
}

/// Rows and columns of out are cut at multiples of this: `matrixmultiply` then computes every
/// micro-tile (8x8, or 16x16 with AVX-512) of a piece exactly as it does in the whole product,
/// with the same k blocks in the same order, so a piece's values are the whole product's bit
/// for bit whatever the cut (and whatever the thread count).
const SPLIT_ALIGN: usize = 64;

/// Multiply-adds below which a product runs on the calling thread.
const PARALLEL_MACS: usize = 1 << 20;

/// How many pieces the product is cut into: one per thread when each gets enough work.
fn pieces(m: usize, n: usize, k: usize) -> usize {
    let macs = m * n * k;
    let by_work = macs / (PARALLEL_MACS / 2);
    let by_shape = m.max(n).div_ceil(SPLIT_ALIGN);
    if macs < PARALLEL_MACS {
        1
    } else {
        par::threads().min(by_work).min(by_shape).max(1)
    }
}

/// One product's operands as raw strided pointers, so that pieces on different threads can
/// write disjoint blocks of the same out.
#[derive(Clone, Copy)]
struct Gemm {
    a: *const f32,
    sa: Strides,
    b: *const f32,
    sb: Strides,
    out: *mut f32,
    so: Strides,
    k: usize,
    beta: f32,
}

// SAFETY: the pointers are only read (a, b) or written in disjoint blocks (out), while the
// slices they come from are borrowed by `gemm_into`.
unsafe impl Send for Gemm {}
unsafe impl Sync for Gemm {}

impl Gemm {
    /// out[rows, cols] = a[rows, :] · b[:, cols] (+ out when accumulating), single-threaded.
    ///
    /// # Safety
    /// The block must lie inside the product the pointers were checked for.
    unsafe fn block(&self, rows: std::ops::Range<usize>, cols: std::ops::Range<usize>) {
        let (r0, c0) = (rows.start as isize, cols.start as isize);
        matrixmultiply::sgemm(
            rows.len(),
            self.k,
            cols.len(),
            1.0,
            self.a.offset(r0 * self.sa.0),
            self.sa.0,
            self.sa.1,
            self.b.offset(c0 * self.sb.1),
            self.sb.0,
            self.sb.1,
            self.beta,
            self.out.offset(r0 * self.so.0 + c0 * self.so.1),
            self.so.0,
            self.so.1,
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
/// [`matmul_at`] without bias or flags, reading b's rows `b_row` words apart: a column block of
/// a wider matrix (the input gradient of `exec::cpu_conv`, one sample at a time).
pub fn matmul_at_strided(p: &MatmulParams, a: &[f32], b: &[f32], b_row: usize, out: &mut [f32]) {
    gemm(p, a, (1, p.m as isize), b, (b_row as isize, 1), out);
}

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
