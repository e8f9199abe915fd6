// Hinge losses on a batch of n scores (DVD-GAN, BigGAN), rows of `stride` values with the score
// at column `offset` (loss.wgsl's Params and conventions):
//   hinge_loss  scores(1) -> grad(2), metrics(3)
//     target_value 1: D on reals   mean(relu(1 - s))   grad -1/n where s < 1, else 0
//     target_value 0: D on fakes   mean(relu(1 + s))   grad +1/n where s > -1, else 0
//     flags & GENERATOR: G         -mean(s)            grad -1/n
// (relu's gradient at 0 is 0, as PyTorch's.) grad is d(scale · loss)/d s; metrics[slot ..
// slot+3] accumulate (loss, accuracy, count), accuracy counting scores on the target's side of 0
// (G: s > 0). Strategy as loss.wgsl: one invocation per row writes its gradient, invocation 0
// sums the batch in index order.

struct Params {
    n: u32, slot: u32, flags: u32, target_value: f32,
    scale: f32, classes: u32, stride: u32, offset: u32,
}

const GENERATOR: u32 = 2u;

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> pred: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> metrics: array<f32>;

fn at(i: u32) -> u32 {
    return i * p.stride + p.offset;
}

// (loss term, d term / d s) of one score.
fn hinge(s: f32) -> vec2<f32> {
    if (p.flags & GENERATOR) != 0u {
        return vec2<f32>(-s, -1.0);
    }
    if p.target_value > 0.5 {
        return select(vec2<f32>(0.0, 0.0), vec2<f32>(1.0 - s, -1.0), 1.0 - s > 0.0);
    }
    return select(vec2<f32>(0.0, 0.0), vec2<f32>(1.0 + s, 1.0), 1.0 + s > 0.0);
}

@compute @workgroup_size(64)
fn hinge_loss(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= p.n { return; }
    grad[at(i)] = hinge(pred[at(i)]).y / f32(p.n) * p.scale;
    if i == 0u {
        let real = p.target_value > 0.5 || (p.flags & GENERATOR) != 0u;
        var loss = 0.0;
        var correct = 0.0;
        for (var j = 0u; j < p.n; j++) {
            let s = pred[at(j)];
            loss += hinge(s).x;
            correct += select(0.0, 1.0, (s > 0.0) == real);
        }
        let count = f32(p.n);
        metrics[p.slot] += loss / count;
        metrics[p.slot + 1u] += correct / count;
        metrics[p.slot + 2u] += 1.0;
    }
}
