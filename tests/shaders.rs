//! Static checks of the shader set: every embedded shader (a file, plus any shared part appended
//! to it) parses and validates with naga (so a broken shader fails `cargo test` with its path
//! and line), every file is embedded, every registered kernel exists, and every kernel has a
//! GPU-versus-CPU test.

use std::path::Path;
use wgpu_gan::kernels::{shader_source, Kernel, SHADERS};

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

fn validate(path: &str, src: &str) -> Result<naga::Module, String> {
    let module =
        naga::front::wgsl::parse_str(src).map_err(|e| e.emit_to_string_with_path(src, path))?;
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .map_err(|e| e.emit_to_string_with_path(src, path))?;
    Ok(module)
}

#[test]
fn every_shader_parses_and_validates_with_naga() {
    assert!(!SHADERS.is_empty());
    let mut errors = Vec::new();
    for (name, src) in SHADERS {
        if let Err(e) = validate(&format!("shaders/{name}.wgsl"), src) {
            errors.push(e);
        }
    }
    assert!(errors.is_empty(), "invalid shaders:\n{}", errors.join("\n"));
}

#[test]
fn a_broken_shader_is_reported_with_its_path_and_line() {
    let err = validate("shaders/broken.wgsl", "fn f() {\n  let x: f32 = 1u;\n}\n").unwrap_err();
    assert!(err.contains("shaders/broken.wgsl:2"), "{err}");
}

#[test]
fn every_shader_file_is_embedded() {
    let files = shader_files();
    assert!(!files.is_empty());
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).expect("read shader");
        // A shader starts with its own file; a shared part is appended to at least two.
        let starts = SHADERS
            .iter()
            .any(|(s, src)| *s == stem && src.starts_with(&text));
        let shared = SHADERS
            .iter()
            .filter(|(s, src)| *s != stem && src[1..].contains(&text))
            .count()
            >= 2;
        assert!(
            starts || shared,
            "shaders/{stem}.wgsl is not in kernels::SHADERS"
        );
    }
}

#[test]
fn every_kernel_entry_point_exists_with_its_bindings() {
    for &k in Kernel::ALL {
        let src = shader_source(k.shader()).expect("embedded");
        let module = validate(k.shader(), src).expect("valid");
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
