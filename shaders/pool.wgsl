// Average pooling with kernel = stride (kt, kh, kw) and no padding over x laid out
// (planes, T, H, W) row-major: planes = N·C; T = 1, kt = 1 for NCHW images.
// y is (planes, T/kt, H/kh, W/kw) (floor: trailing rows that fill no window are dropped).
//   avg_pool_forward   x(1) -> y(2)    torch: F.avg_pool2d(x, (kh, kw)) on (N, C, H, W),
//                                      F.avg_pool3d(x, (kt, kh, kw)) on (N, C, T, H, W)
//   avg_pool_backward  dy(1) -> dx(2)  dx = dy of its window / (kt·kh·kw), 0 where dropped
// Both are gathers, one invocation per output element (64 to a workgroup, the grid split over y
// past 65,535 groups); the forward sums its window in (t, h, w) order. Assumes lengths match
// the params (checked on the host by ops::pool).

struct Params { planes: u32, t: u32, h: u32, w: u32, kt: u32, kh: u32, kw: u32, pad: u32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn linear_index(gid: vec3<u32>, g: vec3<u32>) -> u32 {
    return gid.x + gid.y * g.x * 64u;
}

@compute @workgroup_size(64)
fn avg_pool_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = linear_index(gid, g);
    let ot = p.t / p.kt;
    let oh = p.h / p.kh;
    let ow = p.w / p.kw;
    if i >= p.planes * ot * oh * ow { return; }
    let ox = i % ow;
    let oy = (i / ow) % oh;
    let oz = (i / (ow * oh)) % ot;
    let plane = i / (ow * oh * ot);
    var acc = 0.0;
    for (var dt = 0u; dt < p.kt; dt++) {
        for (var dh = 0u; dh < p.kh; dh++) {
            let row = ((plane * p.t + oz * p.kt + dt) * p.h + oy * p.kh + dh) * p.w + ox * p.kw;
            for (var dw = 0u; dw < p.kw; dw++) {
                acc += src[row + dw];
            }
        }
    }
    dst[i] = acc / f32(p.kt * p.kh * p.kw);
}

@compute @workgroup_size(64)
fn avg_pool_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = linear_index(gid, g);
    if i >= p.planes * p.t * p.h * p.w { return; }
    let x = i % p.w;
    let y = (i / p.w) % p.h;
    let z = (i / (p.w * p.h)) % p.t;
    let plane = i / (p.w * p.h * p.t);
    let ot = p.t / p.kt;
    let oh = p.h / p.kh;
    let ow = p.w / p.kw;
    let oz = z / p.kt;
    let oy = y / p.kh;
    let ox = x / p.kw;
    if oz >= ot || oy >= oh || ox >= ow {
        dst[i] = 0.0;
        return;
    }
    dst[i] = src[((plane * ot + oz) * oh + oy) * ow + ox] / f32(p.kt * p.kh * p.kw);
}
