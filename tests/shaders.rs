//! Static checks of the shader set: every embedded shader (a file, plus any shared part appended
//! to it) parses and validates with naga (so a broken shader fails `cargo test` with the path and
//! line of the file at fault), every file is embedded, every registered kernel exists, and every
//! kernel has a GPU-versus-CPU test.

use std::path::Path;
use wgpu_gan::kernels::{shader, Kernel, Shader, SHADERS};

fn shader_files() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("shaders/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wgsl"))
        .collect();
    files.sort();
    files
}

/// naga's module of `s`; an error names the file and line it is in (a part's own, when it is in
/// a part), then naga's report on the assembled source.
fn validate(s: &Shader) -> Result<naga::Module, String> {
    let path = s.path();
    let located = |line: Option<u32>, report: String| {
        let (stem, line) = s.locate(line.unwrap_or(1) as usize);
        format!("shaders/{stem}.wgsl:{line}: {report}")
    };
    let module = naga::front::wgsl::parse_str(s.source).map_err(|e| {
        let line = e.location(s.source).map(|l| l.line_number);
        located(line, e.emit_to_string_with_path(s.source, &path))
    })?;
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .map_err(|e| {
        let line = e.location(s.source).map(|l| l.line_number);
        located(line, e.emit_to_string_with_path(s.source, &path))
    })?;
    Ok(module)
}

#[test]
fn every_shader_parses_and_validates_with_naga() {
    assert!(!SHADERS.is_empty());
    let errors: Vec<String> = SHADERS.iter().filter_map(|s| validate(s).err()).collect();
    assert!(errors.is_empty(), "invalid shaders:\n{}", errors.join("\n"));
}

const BROKEN: &str = "fn f() {\n  let x: f32 = 1u;\n}\n";
const PART: &str = "fn g() {}\n\nfn h() {\n  let y: f32 = 1u;\n}\n";

#[test]
fn a_broken_shader_is_reported_with_its_path_and_line() {
    let broken = Shader {
        name: "broken",
        source: BROKEN,
        files: &[("broken", BROKEN)],
    };
    let err = validate(&broken).unwrap_err();
    assert!(err.starts_with("shaders/broken.wgsl:2: "), "{err}");
    // In a part: the part's path and its own line.
    let assembled = Shader {
        name: "whole",
        source: concat!(
            "fn f() {}\n",
            "fn g() {}\n\nfn h() {\n  let y: f32 = 1u;\n}\n"
        ),
        files: &[("whole", "fn f() {}\n"), ("part", PART)],
    };
    let err = validate(&assembled).unwrap_err();
    assert!(err.starts_with("shaders/part.wgsl:4: "), "{err}");
}

#[test]
fn every_shader_file_is_embedded() {
    let files = shader_files();
    assert!(!files.is_empty());
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).expect("read shader");
        // A shader starts with its own file; a shared part is appended to at least two.
        let own = shader(&stem).is_some_and(|s| s.files[0] == (stem.as_str(), text.as_str()));
        let uses = SHADERS
            .iter()
            .filter(|s| s.files[1..].iter().any(|&(p, t)| p == stem && t == text))
            .count();
        assert!(
            own || uses >= 2,
            "shaders/{stem}.wgsl is not in kernels::SHADERS (or only one shader appends it)"
        );
        // Line numbers of later parts count on every file ending its last line.
        assert!(
            text.ends_with('\n'),
            "shaders/{stem}.wgsl: no newline at the end"
        );
    }
}

#[test]
fn every_kernel_entry_point_exists_with_its_bindings() {
    for &k in Kernel::ALL {
        let module = validate(shader(k.shader()).expect("embedded")).expect("valid");
        let ep = module
            .entry_points
            .iter()
            .find(|e| e.name == k.entry())
            .unwrap_or_else(|| {
                panic!("{k:?}: no entry point {} in {}.wgsl", k.entry(), k.shader())
            });
        assert_eq!(ep.stage, naga::ShaderStage::Compute);
        for (number, _) in k.bindings() {
            let declared = module.global_variables.iter().any(|(_, g)| {
                g.binding
                    .as_ref()
                    .is_some_and(|b| b.group == 0 && b.binding == *number)
            });
            assert!(
                declared,
                "{k:?}: binding {number} not declared in {}.wgsl",
                k.shader()
            );
        }
    }
}

#[test]
fn every_kernel_has_a_gpu_versus_cpu_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let all: String = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    let missing: Vec<&str> = Kernel::ALL
        .iter()
        .map(|k| k.entry())
        .filter(|e| !all.contains(&format!("fn {e}_gpu_matches_cpu()")))
        .collect();
    assert!(
        missing.is_empty(),
        "kernels without a <entry>_gpu_matches_cpu test: {missing:?}"
    );
}
