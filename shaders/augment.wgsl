// Data augmentation for the classifier. Row-major NCHW, square images.
//   random_shift  counters(1) x(2) -> out(3)
//     each image of x (N, C, S, S) moves by (dy, dx), each uniform in [-max_shift, max_shift]
//     and drawn per image from the Philox4x32-10 streams of random.wgsl (lane 3); pixels that
//     come from outside the image are -1 (black in [-1, 1]), as torchvision's
//     RandomAffine(translate=...) with whole-pixel shifts and fill -1.
// One invocation per output element; shapes are checked by ops::augment.

struct Params { n: u32, seed_lo: u32, seed_hi: u32, stream: u32, slot: u32, channels: u32, side: u32, max_shift: u32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> counters: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// philox() is appended from philox.wgsl, as to random.wgsl.

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
