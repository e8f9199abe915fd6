//! CPU twins of `shaders/random.wgsl`: the same Philox4x32-10 streams, bit for bit, so the
//! CPU path draws the same noise and batches as the GPU.

use super::{par, params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in random.wgsl. For `gather_batch`, `a` holds image_len as u32 bits.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct RandomParams {
    pub n: u32,
    pub seed_lo: u32,
    pub seed_hi: u32,
    pub stream: u32,
    pub slot: u32,
    pub a: f32,
    pub b: f32,
    pub count: u32,
}

fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let prod = a as u64 * b as u64;
    ((prod >> 32) as u32, prod as u32)
}

pub fn philox(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;
    for _ in 0..10 {
        let (hi0, lo0) = mulhilo(0xD251_1F53, c[0]);
        let (hi1, lo1) = mulhilo(0xCD9E_8D57, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
        k = [
            k[0].wrapping_add(0x9E37_79B9),
            k[1].wrapping_add(0xBB67_AE85),
        ];
    }
    c
}

fn draw(p: &RandomParams, counters: &[u32], i: u32, lane: u32) -> [u32; 4] {
    let ctr = [i, counters[p.slot as usize], p.stream, lane];
    philox(ctr, [p.seed_lo, p.seed_hi])
}

fn unit(bits: u32) -> f32 {
    (bits >> 8) as f32 * 5.960_464_5e-8
}

/// `out[i] = f(i)` for the first n elements, in blocks on every core (each element is its own
/// counter's draw, so the split cannot change a value).
fn fill(p: &RandomParams, out: &mut [f32], f: impl Fn(u32) -> f32 + Sync + Send) {
    par::blocks(&mut out[..p.n as usize], |s, out| {
        for (i, o) in (s as u32..).zip(out.iter_mut()) {
            *o = f(i);
        }
    });
}

pub fn normal_fill(p: &RandomParams, counters: &[u32], out: &mut [f32]) {
    fill(p, out, |i| {
        let r = draw(p, counters, i, 0);
        let u1 = ((r[0] >> 8) + 1) as f32 * 5.960_464_5e-8;
        let u2 = unit(r[1]);
        p.a + p.b * (-2.0 * u1.ln()).sqrt() * (6.283_185_5 * u2).cos()
    });
}

pub fn uniform_fill(p: &RandomParams, counters: &[u32], out: &mut [f32]) {
    fill(p, out, |i| {
        p.a + (p.b - p.a) * unit(draw(p, counters, i, 0)[0])
    });
}

pub fn uniform_labels(p: &RandomParams, counters: &[u32], out: &mut [f32]) {
    fill(p, out, |i| (draw(p, counters, i, 2)[0] % p.count) as f32);
}

fn byte_at(words: &[u32], k: u32) -> u32 {
    (words[(k / 4) as usize] >> (8 * (k & 3))) & 0xff
}

pub fn gather_batch(
    p: &RandomParams,
    counters: &[u32],
    dataset: &[u32],
    labels: &[u32],
    x: &mut [f32],
    y: &mut [f32],
) {
    let image_len = p.a.to_bits();
    let rows = p.n / image_len.max(1);
    let sample = |row: u32| draw(p, counters, row, 1)[0] % p.count;
    let x = &mut x[..(rows * image_len) as usize];
    par::chunks(x, image_len as usize, p.n as usize, |first, image| {
        let s = sample(first as u32 / image_len);
        for (col, v) in (0..).zip(image.iter_mut()) {
            *v = (byte_at(dataset, s * image_len + col) as f32 - 127.5) / 127.5;
        }
    });
    for (row, label) in (0..rows).zip(y.iter_mut()) {
        *label = byte_at(labels, sample(row)) as f32;
    }
}

pub fn normal_fill_op(w: &[u32], io: &mut CpuIo) {
    normal_fill(&params(w), io.u32(0), io.f32_mut(1));
}

pub fn uniform_fill_op(w: &[u32], io: &mut CpuIo) {
    uniform_fill(&params(w), io.u32(0), io.f32_mut(1));
}

pub fn uniform_labels_op(w: &[u32], io: &mut CpuIo) {
    uniform_labels(&params(w), io.u32(0), io.f32_mut(1));
}

pub fn gather_batch_op(w: &[u32], io: &mut CpuIo) {
    let (x, y) = (io.f32_mut(3), io.f32_mut(4));
    gather_batch(&params(w), io.u32(0), io.u32(1), io.u32(2), x, y);
}

/// Packs bytes little-endian into u32 words, the layout `gather_batch` reads.
pub fn pack_bytes(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks(4)
        .map(|c| c.iter().rev().fold(0u32, |acc, &b| (acc << 8) | b as u32))
        .collect()
}
