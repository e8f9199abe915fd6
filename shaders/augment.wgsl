// Data augmentation for the classifier. Row-major NCHW, square images.
//   random_shift  counters(1) x(2) -> out(3)
//     each image of x (N, C, S, S) moves by (dy, dx), each uniform in [-max_shift, max_shift]
//     and drawn per image from the Philox4x32-10 streams of random.wgsl (lane 3); pixels that
//     come from outside the image are -1 (black in [-1, 1]), as torchvision's
//     RandomAffine(translate=...) with whole-pixel shifts and fill -1.
// One invocation per output element; shapes are checked by ops::augment.

struct Params { n: u32, seed_lo: u32, seed_hi: u32, stream: u32, slot: u32, channels: u32, side: u32, max_shift: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> counters: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// The same Philox4x32-10 as random.wgsl (WGSL has no includes); cpu::random::philox is the
// one reference both are tested against.
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let a_lo = a & 0xffffu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xffffu;
    let b_hi = b >> 16u;
    let ll = a_lo * b_lo;
    let lh = a_lo * b_hi;
    let hl = a_hi * b_lo;
    let hh = a_hi * b_hi;
    let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
    let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b);
}

fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var r = 0u; r < 10u; r++) {
        let p0 = mulhilo(0xD2511F53u, c.x);
        let p1 = mulhilo(0xCD9E8D57u, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
        k += vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
    }
    return c;
}

@compute @workgroup_size(64)
fn random_shift(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = gid.x + gid.y * g.x * 64u;
    if i >= p.n { return; }
    let plane = p.side * p.side;
    let row = i / (p.channels * plane);
    let yy = i32((i % plane) / p.side);
    let xx = i32(i % p.side);
    let r = philox(vec4<u32>(row, counters[p.slot], p.stream, 3u), vec2<u32>(p.seed_lo, p.seed_hi));
    let span = 2u * p.max_shift + 1u;
    let m = i32(p.max_shift);
    let sy = yy - (i32(r.x % span) - m);
    let sx = xx - (i32(r.y % span) - m);
    let s = i32(p.side);
    if sy < 0 || sy >= s || sx < 0 || sx >= s {
        out[i] = -1.0;
    } else {
        out[i] = x[i - u32(yy * s + xx) + u32(sy * s + sx)];
    }
}
