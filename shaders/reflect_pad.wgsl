// Reflection padding of x laid out (planes, H, W) row-major (planes = N·C of NCHW) by `pad` on
// every side, mirroring about the edge pixel without repeating it: y is (planes, H + 2 pad,
// W + 2 pad), y[oy, ox] = x[m(oy - pad, H), m(ox - pad, W)], m(i, n) = -i for i < 0,
// 2(n - 1) - i for i >= n, else i. pad < H and pad < W.
//   reflect_pad_forward   x(1) -> y(2)     torch: F.pad(x, (p, p, p, p), mode="reflect")
//                                          (nn.ReflectionPad2d(p))
//   reflect_pad_backward  dy(1) -> dx(2)   the gradient folded back onto the mirrored pixels
// Both are gathers, one invocation per output element (64 to a workgroup, the grid split over y
// past 65,535 groups). A pixel of x appears at up to three rows and three columns of y (the
// mirror above, itself, the mirror below); the backward sums those (row, column) pairs in
// increasing order. No atomics. Assumes lengths match the params (checked on the host by
// ops::reflect_pad).

struct Params { planes: u32, h: u32, w: u32, pad: u32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn linear_index(gid: vec3<u32>, g: vec3<u32>) -> u32 {
    return gid.x + gid.y * g.x * 64u;
}

fn mirror(i: i32, n: i32) -> u32 {
    if i < 0 { return u32(-i); }
    if i >= n { return u32(2 * (n - 1) - i); }
    return u32(i);
}

@compute @workgroup_size(64)
fn reflect_pad_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = linear_index(gid, g);
    let oh = p.h + 2u * p.pad;
    let ow = p.w + 2u * p.pad;
    if i >= p.planes * oh * ow { return; }
    let ox = i % ow;
    let oy = (i / ow) % oh;
    let plane = i / (ow * oh);
    let y = mirror(i32(oy) - i32(p.pad), i32(p.h));
    let x = mirror(i32(ox) - i32(p.pad), i32(p.w));
    dst[i] = src[(plane * p.h + y) * p.w + x];
}

// The rows (or columns) of y that pixel row v of a side of n reads from, in increasing order;
// -1 marks an absent one.
fn sources(v: u32, n: u32) -> vec3<i32> {
    let pad = i32(p.pad);
    let vi = i32(v);
    let ni = i32(n);
    var s = vec3<i32>(-1, vi + pad, -1);
    if vi >= 1 && vi <= pad { s.x = pad - vi; }
    if vi <= ni - 2 && vi >= ni - 1 - pad { s.z = pad + 2 * (ni - 1) - vi; }
    return s;
}

@compute @workgroup_size(64)
fn reflect_pad_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = linear_index(gid, g);
    if i >= p.planes * p.h * p.w { return; }
    let x = i % p.w;
    let y = (i / p.w) % p.h;
    let plane = i / (p.w * p.h);
    let ow = p.w + 2u * p.pad;
    let oh = p.h + 2u * p.pad;
    let rows = sources(y, p.h);
    let cols = sources(x, p.w);
    var acc = 0.0;
    for (var a = 0u; a < 3u; a++) {
        if rows[a] < 0 { continue; }
        let row = (plane * oh + u32(rows[a])) * ow;
        for (var b = 0u; b < 3u; b++) {
            if cols[b] < 0 { continue; }
            acc += src[row + u32(cols[b])];
        }
    }
    dst[i] = acc;
}
