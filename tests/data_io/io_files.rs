//! Output files: PNG grids, loss plots, npy arrays and atomic writes.

use std::path::Path;

use wgpu_gan::io::{self, npy, plot, png, IoError};

use super::assert_one_line_naming;

#[test]
fn png_grid_round_trips_gray() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grid.png");
    let plane = 28 * 28;
    let mut images = vec![-1.0f32; plane]; // black
    images.extend(vec![1.0f32; plane]); // white
    images.extend(vec![0.5f32; plane]); // (0.5 + 1) * 127.5 = 191.25
    images[2 * plane] = 7.0; // clamped to white
    images[2 * plane + 1] = f32::NAN; // documented as black
    png::save_grid(&path, &images, 3, 1, 28, 28, 2).unwrap();

    let layout = png::GridLayout::new(3, 28, 28, 2);
    assert_eq!((layout.cols, layout.rows, layout.scale), (2, 2, 2));
    assert_eq!((layout.width_px(), layout.height_px()), (118, 118));
    let img = image::open(&path).unwrap();
    assert_eq!(img.color(), image::ColorType::L8);
    let img = img.to_luma8();
    assert_eq!(img.dimensions(), (118, 118));
    let at = |tile: usize, x: usize, y: usize| {
        let (x0, y0) = layout.tile_origin(tile);
        img.get_pixel((x0 + x) as u32, (y0 + y) as u32)[0]
    };
    assert_eq!(img.get_pixel(0, 0)[0], png::PAD_VALUE);
    assert_eq!(at(0, 0, 0), 0);
    assert_eq!(at(0, 55, 55), 0);
    assert_eq!(at(1, 30, 30), 255);
    assert_eq!(at(2, 20, 20), 191);
    assert_eq!((at(2, 0, 0), at(2, 1, 1)), (255, 255)); // 2x nearest upscale of pixel (0, 0)
    assert_eq!((at(2, 2, 0), at(2, 3, 1)), (0, 0)); // pixel (0, 1) is NaN
    assert_eq!(at(3, 10, 10), png::PAD_VALUE); // the empty fourth cell
    assert_eq!(dir.path().read_dir().unwrap().count(), 1);
}

#[test]
fn png_grid_round_trips_rgb() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rgb.png");
    // One 4x4 image: red plane -1, green plane 1, blue plane 0.
    let mut images = vec![-1.0f32; 16];
    images.extend(vec![1.0f32; 16]);
    images.extend(vec![0.0f32; 16]);
    png::save_grid(&path, &images, 1, 3, 4, 4, 8).unwrap();
    let layout = png::GridLayout::new(1, 4, 4, 8);
    assert_eq!((layout.cols, layout.scale, layout.tile_width), (1, 16, 64));
    let img = image::open(&path).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (68, 68));
    assert_eq!(img.get_pixel(2, 2).0, [0, 255, 128]);
    assert_eq!(img.get_pixel(65, 65).0, [0, 255, 128]);
    assert_eq!(img.get_pixel(1, 1).0, [png::PAD_VALUE; 3]);
}

#[test]
fn png_grid_rejects_bad_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.png");
    let err = png::save_grid(&path, &[0.0; 10], 2, 1, 28, 28, 4).unwrap_err();
    assert!(matches!(err, IoError::Shape { .. }), "{err:?}");
    assert_one_line_naming(&err, "bad.png");
    let err = png::save_grid(&path, &[0.0; 8], 1, 2, 2, 2, 4).unwrap_err();
    assert!(matches!(err, IoError::Shape { .. }), "{err:?}");
    let err = png::save_grid(&path, &[], 0, 1, 28, 28, 4).unwrap_err();
    assert!(matches!(err, IoError::Shape { .. }), "{err:?}");
    assert!(!path.exists());
}

fn assert_plot(path: &Path) {
    let img = image::open(path).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (plot::PLOT_WIDTH, plot::PLOT_HEIGHT));
    let dark = img
        .pixels()
        .filter(|p| p.0.iter().all(|&c| c < 100))
        .count();
    assert!(dark > 500, "only {dark} dark pixels: axes and text missing");
}

#[test]
fn plot_writes_png_for_normal_and_degenerate_series() {
    let dir = tempfile::tempdir().unwrap();
    let d_loss: Vec<(f64, f64)> = (0..100)
        .map(|s| (s as f64, 1.4 - 0.005 * s as f64))
        .collect();
    let mut g_loss: Vec<(f64, f64)> = (0..100)
        .map(|s| (s as f64, 0.7 + 0.01 * s as f64))
        .collect();
    g_loss[50].1 = f64::NAN;
    g_loss[60].1 = f64::INFINITY;
    g_loss[70].0 = f64::NEG_INFINITY;
    let cases: Vec<(&str, Vec<plot::Series>)> = vec![
        ("normal.png", vec![("d_loss", d_loss), ("g_loss", g_loss)]),
        ("empty.png", vec![("d_loss", vec![])]),
        ("none.png", vec![]),
        (
            "single.png",
            vec![("d_loss", vec![(5.0, 0.3)]), ("g_loss", vec![])],
        ),
        (
            "all-nan.png",
            vec![("d_loss", vec![(0.0, f64::NAN), (1.0, f64::NAN)])],
        ),
        (
            "huge.png",
            vec![("d_loss", vec![(0.0, -1e308), (1.0, 1e308)])],
        ),
        ("one-huge.png", vec![("d_loss", vec![(1e300, 1e300)])]),
        (
            "tiny-span.png",
            vec![("d_loss", vec![(0.0, 1.0), (1.0, 1.0 + 1e-15)])],
        ),
        (
            "tiny-values.png",
            vec![("d_loss", vec![(0.0, 1e-300), (1e-300, 3e-300)])],
        ),
        (
            "far-steps.png",
            vec![("d_loss", vec![(1e15, 0.5), (1e15 + 1.0, 0.6)])],
        ),
    ];
    for (name, series) in &cases {
        let path = dir.path().join(name);
        plot::plot_losses(&path, series, "GAN losses").unwrap();
        assert_plot(&path);
    }
    let err = plot::plot_losses(&dir.path().join("no-dir/x.png"), &[], "t").unwrap_err();
    assert!(matches!(err, IoError::Write { .. }), "{err:?}");
    assert_one_line_naming(&err, "x.png");
}

#[test]
fn npy_round_trips_in_numpy_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.npy");
    let data: Vec<f32> = (0..24).map(|i| i as f32 * 0.5 - 3.0).collect();
    npy::write_npy(&path, &data, &[2, 3, 4]).unwrap();

    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(header.contains("'descr': '<f4'"), "{header}");
    assert!(header.contains("'fortran_order': False"), "{header}");
    // npyz writes "(2, 3, 4, )", a tuple literal numpy's parser accepts.
    assert!(header.contains("'shape': (2, 3, 4"), "{header}");
    assert_eq!((10 + header_len) % 16, 0, "numpy aligns the data");
    assert_eq!(bytes.len(), 10 + header_len + 24 * 4);
    assert_eq!(&bytes[10 + header_len..][..4], &(-3.0f32).to_le_bytes());

    let (read, shape) = npy::read_npy(&path).unwrap();
    assert_eq!((read, shape), (data, vec![2, 3, 4]));

    // Byte for byte what numpy 1.24 writes for np.arange(6, dtype=np.float32).reshape(3, 2).
    let mut from_numpy = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }";
    from_numpy.extend(format!("{dict:<117}\n").bytes());
    (0..6).for_each(|i| from_numpy.extend((i as f32).to_le_bytes()));
    assert_eq!(from_numpy.len(), 152);
    let numpy_path = dir.path().join("numpy.npy");
    std::fs::write(&numpy_path, &from_numpy).unwrap();
    let (read, shape) = npy::read_npy(&numpy_path).unwrap();
    assert_eq!(
        (read, shape),
        (vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], vec![3, 2])
    );

    let err = npy::write_npy(&path, &[1.0; 5], &[2, 3]).unwrap_err();
    assert!(matches!(err, IoError::Shape { .. }), "{err:?}");
    assert_one_line_naming(&err, "z.npy");
    let err = npy::read_npy(&dir.path().join("missing.npy")).unwrap_err();
    assert!(matches!(err, IoError::Read { .. }), "{err:?}");
    std::fs::write(&path, b"not numpy").unwrap();
    let err = npy::read_npy(&path).unwrap_err();
    assert!(matches!(err, IoError::Decode { .. }), "{err:?}");
}

#[test]
fn atomic_write_replaces_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.bin");
    io::atomic_write(&path, b"old contents").unwrap();
    io::atomic_write(&path, b"new").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"new");
    let names: Vec<_> = dir
        .path()
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("state.bin")]);

    // A failed write leaves the old file alone and no temp file behind.
    let target_is_dir = dir.path().join("sub");
    std::fs::create_dir(&target_is_dir).unwrap();
    assert!(io::atomic_write(&target_is_dir, b"x").is_err());
    assert!(target_is_dir.is_dir());
    assert_eq!(dir.path().read_dir().unwrap().count(), 2);
    assert!(io::atomic_write(&dir.path().join("missing/f"), b"x").is_err());
}
