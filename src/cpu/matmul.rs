//! CPU twins of `shaders/matmul.wgsl`. Matrices are row-major; the products go through the
//! `matrixmultiply` GEMM with strides, so a transposed operand costs nothing. The GEMM runs
//! single-threaded; a large product is cut into blocks of out, one per core (rayon's pool).

use super::activation::{self, ActCode};
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

/// Which product: out = a·b, aᵀ·b or a·bᵀ (`matmul`, `matmul_at`, `matmul_bt` and their
/// kernel variants).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    Plain,
    At,
    Bt,
}

/// What a product does to each block of out as soon as the thread that computed the block is
/// done with it, while the block is in that core's cache: an activation's forward (y = f(out))
/// or backward (dx = f'(saved)·out), the separate twins' own loops (`activation::forward_block`,
/// `backward_block`) on the same elements, so bit for bit their result. The CPU executor fuses
/// a product with the activation op after it this way (`exec::cpu_fuse`).
pub enum Epilogue<'a> {
    None,
    Forward {
        act: ActCode,
        slope: f32,
        y: &'a mut [f32],
    },
    Backward {
        act: ActCode,
        slope: f32,
        saved: &'a [f32],
        dx: &'a mut [f32],
    },
}

/// out = a·b (`form`), plus bias[n] when `p.flags` has `HAS_BIAS`, then `epi`, block by block.
pub fn product(
    form: Form,
    p: &MatmulParams,
    a: &[f32],
    b: &[f32],
    bias: &[f32],
    out: &mut [f32],
    epi: Epilogue,
) {
    let (m, n, k) = (p.m as isize, p.n as isize, p.k as isize);
    let len = (p.m * p.n) as usize;
    let (act, slope, saved, dest) = match epi {
        Epilogue::None => (None, 0.0, std::ptr::null(), std::ptr::null_mut()),
        Epilogue::Forward { act, slope, y } => {
            assert!(y.len() >= len);
            (Some((act, false)), slope, std::ptr::null(), y.as_mut_ptr())
        }
        Epilogue::Backward {
            act,
            slope,
            saved,
            dx,
        } => {
            assert!(saved.len() >= len && dx.len() >= len);
            (Some((act, true)), slope, saved.as_ptr(), dx.as_mut_ptr())
        }
    };
    let with_bias = p.flags & HAS_BIAS != 0;
    if with_bias {
        assert!(bias.len() >= p.n as usize);
    }
    let finish = Finish {
        n: p.n as usize,
        bias: if with_bias {
            bias.as_ptr()
        } else {
            std::ptr::null()
        },
        act,
        slope,
        saved,
        dest,
    };
    let plain = ((k, 1), (n, 1), (n, 1), (m, n));
    let (sa, sb, so, dims) = match form {
        Form::Plain => plain,
        Form::At => ((1, m), (n, 1), (n, 1), (m, n)),
        // The GEMM packs its right operand walking across rows when that operand is
        // transposed, so the smaller of a and b goes there: for n >= m the product is computed
        // as outᵀ = b · aᵀ (39 → 95 GFLOP/s for the seed's forward products at batch 32); for a
        // one-wide output (D's logit) as a · bᵀ.
        Form::Bt if n >= m => {
            let (sa, sb) = ((1, k), (k, 1));
            return gemm_into(p, b, sb, a, sa, out, (1, n), (n, m), &finish);
        }
        Form::Bt => ((k, 1), (1, k), (n, 1), (m, n)),
    };
    gemm_into(p, a, sa, b, sb, out, so, dims, &finish);
}

fn gemm(p: &MatmulParams, a: &[f32], sa: Strides, b: &[f32], sb: Strides, out: &mut [f32]) {
    let (m, n) = (p.m as isize, p.n as isize);
    let none = Finish::none(p.n as usize);
    gemm_into(p, a, sa, b, sb, out, (n, 1), (m, n), &none);
}

/// out = a·b with `out` at strides `so`; (rows, columns) of the product as the GEMM sees it;
/// then `finish` on every block, on the thread that computed it.
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
    finish: &Finish,
) {
    let (m, n, k) = (rows as usize, cols as usize, p.k as usize);
    assert!(a.len() >= m * k && b.len() >= k * n && out.len() >= m * n);
    let beta = if p.flags & ACCUMULATE != 0 { 1.0 } else { 0.0 };
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
    // SAFETY (every call below): the assert above keeps every strided access of the whole
    // product in bounds, `product` checked the finish's operands against out's length, and the
    // pieces cover disjoint blocks of out (and so of y or dx).
    if k == 0 {
        out[..m * n].iter_mut().for_each(|o| *o *= beta);
        unsafe { finish.block(&g, 0..m, 0..n) };
        return;
    }
    // A bias or activation applied to each block reads and writes out's elements again: count
    // it as EPILOGUE_MACS multiply-adds an element, so that a short-k product with one (DCGAN's
    // D-head input gradient, k = 1, and its LeakyReLU backward over 401,408 values) is cut
    // for every core instead of running on one.
    let epilogue = finish.act.is_some() || !finish.bias.is_null();
    let pieces = pieces(m, n, if epilogue { k.max(EPILOGUE_MACS) } else { k });
    if pieces == 1 {
        unsafe {
            g.block(0..m, 0..n);
            finish.block(&g, 0..m, 0..n);
        }
        return;
    }
    // Cut the longer side of out, so that the operand packed once per piece is the short one.
    let (along_rows, len) = if m >= n { (true, m) } else { (false, n) };
    let step = len.div_ceil(pieces).div_ceil(SPLIT_ALIGN) * SPLIT_ALIGN;
    (0..len.div_ceil(step)).into_par_iter().for_each(|i| {
        let part = i * step..((i + 1) * step).min(len);
        let (r, c) = if along_rows {
            (part, 0..n)
        } else {
            (0..m, part)
        };
        unsafe {
            g.block(r.clone(), c.clone());
            finish.block(&g, r, c);
        }
    });
}

/// What each block of out gets after its product: the bias, then an activation (`Epilogue`),
/// as raw pointers so that pieces on different threads can write disjoint blocks of y or dx.
struct Finish {
    /// Columns of out (row-major, m x n).
    n: usize,
    /// bias[n], or null.
    bias: *const f32,
    /// The activation and whether it is the backward.
    act: Option<(ActCode, bool)>,
    slope: f32,
    /// The backward's saved operand (out's layout), or null.
    saved: *const f32,
    /// y or dx (out's layout), or null.
    dest: *mut f32,
}

// SAFETY: as `Gemm`: the pointers are read, or written in disjoint blocks, while the slices
// they come from are borrowed by `product`.
unsafe impl Send for Finish {}
unsafe impl Sync for Finish {}

impl Finish {
    fn none(n: usize) -> Self {
        Self {
            n,
            bias: std::ptr::null(),
            act: None,
            slope: 0.0,
            saved: std::ptr::null(),
            dest: std::ptr::null_mut(),
        }
    }

    /// The block (rows, cols) of the GEMM's view of out, in out's rows: each a segment
    /// [row·n + c0, row·n + c1) of out.
    ///
    /// # Safety
    /// The block must lie inside the product, and no other thread may touch its elements.
    unsafe fn block(&self, g: &Gemm, rows: std::ops::Range<usize>, cols: std::ops::Range<usize>) {
        if self.bias.is_null() && self.act.is_none() {
            return;
        }
        // out is row-major: strides (n, 1) as the GEMM sees it, or (1, n) when it computes outᵀ.
        let (out_rows, out_cols) = if g.so.1 == 1 {
            (rows, cols)
        } else {
            (cols, rows)
        };
        let width = out_cols.len();
        for r in out_rows {
            let at = r * self.n + out_cols.start;
            let o = std::slice::from_raw_parts_mut(g.out.add(at), width);
            if !self.bias.is_null() {
                let bias = std::slice::from_raw_parts(self.bias.add(out_cols.start), width);
                o.iter_mut().zip(bias).for_each(|(o, b)| *o += b);
            }
            match self.act {
                None => {}
                Some((act, false)) => {
                    let y = std::slice::from_raw_parts_mut(self.dest.add(at), width);
                    activation::forward_block(act, self.slope, o, y);
                }
                Some((act, true)) => {
                    let saved = std::slice::from_raw_parts(self.saved.add(at), width);
                    let dx = std::slice::from_raw_parts_mut(self.dest.add(at), width);
                    activation::backward_block(act, self.slope, saved, o, dx);
                }
            }
        }
    }
}

/// Rows and columns of out are cut at multiples of this. Each element of out is the same chain
/// wherever the cut falls: k in blocks of 256, each a multiply-add chain from zero, added to out
/// after the first, in `gemm`'s kernels and in `matrixmultiply` alike (whose edge tiles are
/// computed whole into a buffer and copied out as M + βC with β 0 or 1), so a piece's values are
/// the whole product's bit for bit (and so for every thread count: tests/cpu_threads.rs). Cuts
/// at 64 left DVD-GAN's weight gradients of 144 and 432 rows split 128/16 and 256/176 over two
/// threads; at 8 they split evenly (matmul_bt op by op 220-231 -> 198-203 ms an iteration).
const SPLIT_ALIGN: usize = 8;

/// What a product's epilogue costs an element of out, in multiply-adds (`gemm_into`).
const EPILOGUE_MACS: usize = 16;

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
        super::gemm::sgemm(
            (rows.len(), self.k, cols.len()),
            self.a.offset(r0 * self.sa.0),
            self.sa,
            self.b.offset(c0 * self.sb.1),
            self.sb,
            self.beta != 0.0,
            self.out.offset(r0 * self.so.0 + c0 * self.so.1),
            self.so,
        );
    }
}

/// out (m,n) = a (m,k) · b (k,n) (+ bias[n])
pub fn matmul(p: &MatmulParams, a: &[f32], b: &[f32], bias: &[f32], out: &mut [f32]) {
    product(Form::Plain, p, a, b, bias, out, Epilogue::None);
}

/// out (m,n) = aᵀ · b (+ bias[n]), with a (k,m) and b (k,n): a weight gradient dyᵀ·x.
pub fn matmul_at(p: &MatmulParams, a: &[f32], b: &[f32], bias: &[f32], out: &mut [f32]) {
    product(Form::At, p, a, b, bias, out, Epilogue::None);
}

/// out (m,n) = a (m,k) · bᵀ (+ bias[n]), with b (n,k): PyTorch's `linear` with weight b.
pub fn matmul_bt(p: &MatmulParams, a: &[f32], b: &[f32], bias: &[f32], out: &mut [f32]) {
    product(Form::Bt, p, a, b, bias, out, Epilogue::None);
}

/// [`matmul_at`] without bias or flags, reading b's rows `b_row` words apart: a column block of
/// a wider matrix (the input gradient of `exec::cpu_conv`, one sample at a time).
pub fn matmul_at_strided(p: &MatmulParams, a: &[f32], b: &[f32], b_row: usize, out: &mut [f32]) {
    gemm(p, a, (1, p.m as isize), b, (b_row as isize, 1), out);
}

/// [`matmul_bt`] without bias, reading a's rows `a_row` words apart (a column block of a wider
/// matrix: the weight gradient of `exec::cpu_conv`, a block of samples at a time), adding to
/// out when `accumulate`. The same GEMM calls as the whole product's, so where the blocks cut
/// k at multiples of the GEMM's k block (256) and each adds to the last, out is the whole
/// product's bit for bit.
pub fn matmul_bt_strided(
    p: &MatmulParams,
    a: &[f32],
    a_row: usize,
    b: &[f32],
    accumulate: bool,
    out: &mut [f32],
) {
    let (m, n, k) = (p.m as isize, p.n as isize, p.k as isize);
    let a_row = a_row as isize;
    assert!(m == 0 || a.len() as isize >= (m - 1) * a_row + k);
    let p = MatmulParams {
        flags: if accumulate { ACCUMULATE } else { 0 },
        ..*p
    };
    let none = Finish::none(p.n as usize);
    // As `product`'s Bt: the smaller operand packed across its rows.
    // (gemm_into's own check, a.len() >= m·k, holds too: a_row >= k.)
    assert!(a_row >= k);
    if n >= m {
        gemm_into(&p, b, (k, 1), a, (1, a_row), out, (1, n), (n, m), &none);
    } else {
        gemm_into(&p, a, (a_row, 1), b, (1, k), out, (n, 1), (m, n), &none);
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
