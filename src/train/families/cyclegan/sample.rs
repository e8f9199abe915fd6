//! CycleGAN's sample program: the held-out images of both domains through both generators,
//! assembled into the rows of the sample grid.

use super::program::CycleSpec;
use crate::ops;
use crate::program::View;
use crate::train::schedule::planner::{NetId, Planner};

/// The sample program on `sample.a` and `sample.b` (held-out images the host writes):
/// its output is [A, G_AB(A), G_BA(G_AB(A)), B, G_BA(B), G_AB(G_BA(B))], `sample_count`
/// images each, the rows of the sample grid.
pub(super) fn sample_program(
    p: &mut Planner,
    spec: &CycleSpec,
) -> ops::Result<(View, Vec<(String, View)>)> {
    let (n, len) = (spec.sample_count, spec.image_len());
    let inputs: Vec<(String, View)> = ["sample.a", "sample.b"]
        .into_iter()
        .map(|name| (name.to_string(), p.prog.tensor(name, n * len)))
        .collect();
    p.prog.set_phase("sample");
    let (ab, ba) = (p.id("g_ab")?, p.id("g_ba")?);
    let run = |p: &mut Planner, net: NetId, x: View, tag: &str| -> ops::Result<View> {
        let acts = p.acts(net, n, tag);
        p.forward(net, acts, x, false)
    };
    let (sa, sb) = (inputs[0].1, inputs[1].1);
    let fake_b = run(p, ab, sa, "sample fake_b")?;
    let rec_a = run(p, ba, fake_b, "sample rec_a")?;
    let fake_a = run(p, ba, sb, "sample fake_a")?;
    let rec_b = run(p, ab, fake_a, "sample rec_b")?;
    let mut out = sa;
    for (k, part) in [fake_b, rec_a, sb, fake_a, rec_b].into_iter().enumerate() {
        let joined = p
            .prog
            .tensor(&format!("sample.rows{}", k + 2), out.len + part.len);
        ops::columns::concat_columns(&mut p.prog, out, part, 1, joined, "sample grid rows")?;
        out = joined;
    }
    Ok((out, inputs))
}
