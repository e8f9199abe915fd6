// Nearest-neighbour upsampling by 2 over planes of NCHW row-major f32 (torch:
// F.interpolate(x, scale_factor=2, mode="nearest")): x (planes = N·C, H, W), y (planes, 2H, 2W).
//   upsample_nearest_forward   x(1) -> y(2)    y[p, 2h + i, 2w + j] = x[p, h, w]
//   upsample_nearest_backward  dy(1) -> dx(2)  dx[p, h, w] = the sum of dy's 2x2 block, in the
//                                              order (0, 0), (0, 1), (1, 0), (1, 1)
// One invocation per output element, 64 to a workgroup, the grid split over y past 65,535
// groups. Assumes lengths match the params (checked by ops::upsample).

struct Params { planes: u32, h: u32, w: u32, pad: u32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(64)
fn upsample_nearest_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = gid.x + gid.y * g.x * 64u;
    let w2 = 2u * p.w;
    if i >= p.planes * 4u * p.h * p.w { return; }
    let ox = i % w2;
    let oy = (i / w2) % (2u * p.h);
    let plane = i / (w2 * 2u * p.h);
    dst[i] = src[(plane * p.h + oy / 2u) * p.w + ox / 2u];
}

@compute @workgroup_size(64)
fn upsample_nearest_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = gid.x + gid.y * g.x * 64u;
    if i >= p.planes * p.h * p.w { return; }
    let x = i % p.w;
    let y = (i / p.w) % p.h;
    let plane = i / (p.w * p.h);
    let w2 = 2u * p.w;
    let top = (plane * 2u * p.h + 2u * y) * w2 + 2u * x;
    dst[i] = src[top] + src[top + 1u] + src[top + w2] + src[top + w2 + 1u];
}
