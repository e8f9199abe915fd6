//! The library's modules form no cycle: the CPU twins are leaf code, below the program and the
//! executors, and eval knows nothing of train (train uses eval's monitor). Read from the
//! sources: every `crate::<module>` a top-level module names is an edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module -> the top-level modules it names.
fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.clone()];
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let rel = p.strip_prefix(&src).unwrap().to_string_lossy().to_string();
        let top = rel
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_string();
        // The binary's own modules and the crate root sit above everything.
        if ["main", "lib", "train_args", "eval_args"].contains(&top.as_str()) {
            continue;
        }
        // Code only: a comment may name a module it does not use.
        let text: String = std::fs::read_to_string(&p)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for (i, _) in text.match_indices("crate::") {
            let name: String = text[i + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != top {
                edges.entry(top.clone()).or_default().insert(name);
            }
        }
    }
    edges
}

/// A cycle through `start`, as the path back to it, if any.
fn cycle_from(edges: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in edges.get(&node).into_iter().flatten() {
            if next == start {
                return Some([path.clone(), vec![next.clone()]].concat());
            }
            if seen.insert(next.clone()) {
                stack.push((next.clone(), [path.clone(), vec![next.clone()]].concat()));
            }
        }
    }
    None
}

#[test]
fn the_module_graph_has_no_cycle() {
    let edges = edges();
    assert!(edges.len() > 8, "read too few modules: {edges:?}");
    for m in edges.keys() {
        if let Some(c) = cycle_from(&edges, m) {
            panic!("module cycle: {}", c.join(" -> "));
        }
    }
}

#[test]
fn twins_and_eval_stay_below_what_uses_them() {
    let edges = edges();
    let uses = |m: &str| edges.get(m).cloned().unwrap_or_default();
    for banned in ["program", "exec", "kernels", "gpu", "train"] {
        assert!(!uses("cpu").contains(banned), "cpu/ uses crate::{banned}");
    }
    assert!(!uses("eval").contains("train"), "eval/ uses crate::train");
    assert!(
        uses("train").contains("eval"),
        "the check reads the sources: {edges:?}"
    );
}
