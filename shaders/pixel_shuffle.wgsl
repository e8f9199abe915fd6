// Pixel shuffle by a factor r on NCHW row-major f32: x (N, C·r·r, H, W) -> y (N, C, r·H, r·W),
// y[n, c, r·h + i, r·w + j] = x[n, c·r·r + r·i + j, h, w]   torch: F.pixel_shuffle(x, r)
//   pixel_shuffle_forward   x(1) -> y(2)
//   pixel_shuffle_backward  dy(1) -> dx(2)   the inverse permutation (F.pixel_unshuffle)
// Both are gathers, one invocation per output element (64 to a workgroup, the grid split over y
// past 65,535 groups): a permutation, so no sums and nothing to order. c is C (y's channels),
// h and w are x's side. Assumes lengths match the params (checked on the host by
// ops::pixel_shuffle).

struct Params { n: u32, c: u32, h: u32, w: u32, r: u32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn linear_index(gid: vec3<u32>, g: vec3<u32>) -> u32 {
    return gid.x + gid.y * g.x * 64u;
}

// The index in x of y's element at (b, c, oy, ox).
fn x_index(b: u32, c: u32, oy: u32, ox: u32) -> u32 {
    let ch = (c * p.r + oy % p.r) * p.r + ox % p.r;
    return ((b * p.c * p.r * p.r + ch) * p.h + oy / p.r) * p.w + ox / p.r;
}

@compute @workgroup_size(64)
fn pixel_shuffle_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = linear_index(gid, g);
    let ow = p.w * p.r;
    let oh = p.h * p.r;
    if i >= p.n * p.c * oh * ow { return; }
    let ox = i % ow;
    let oy = (i / ow) % oh;
    let c = (i / (ow * oh)) % p.c;
    let b = i / (ow * oh * p.c);
    dst[i] = src[x_index(b, c, oy, ox)];
}

// dx (N, C·r·r, H, W) from dy (N, C, r·H, r·W): x's element (b, ch, h, w) came from y's
// (b, ch / r², r·h + (ch / r) % r, r·w + ch % r).
@compute @workgroup_size(64)
fn pixel_shuffle_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = linear_index(gid, g);
    let cr = p.c * p.r * p.r;
    if i >= p.n * cr * p.h * p.w { return; }
    let w = i % p.w;
    let h = (i / p.w) % p.h;
    let ch = (i / (p.w * p.h)) % cr;
    let b = i / (p.w * p.h * cr);
    let oy = h * p.r + (ch / p.r) % p.r;
    let ox = w * p.r + ch % p.r;
    dst[i] = src[((b * p.c + ch / (p.r * p.r)) * p.h * p.r + oy) * p.w * p.r + ox];
}
