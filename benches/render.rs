//! One full dashboard frame at 200×50 and 80×24 into ratatui's `TestBackend`,
//! with 10 minutes of 1 s history on the Orin AGX fixture (target ≤ 1 ms).
//! Run: `cargo bench --bench render`.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use jetstress::probes::{Prober, Root};
use jetstress::ui::App;
use jetstress::ui::KeyMap;
use jetstress::ui::{ColorMode, Theme};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn app_with_history() -> App {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/orin-agx-r36");
    let mut p = Prober::new(Root::new(root), Vec::new());
    let mut app = App::new(
        Theme::load_all(None, ColorMode::TrueColor).unwrap(),
        0,
        KeyMap::defaults(),
        1.0,
    );
    for i in 0..600 {
        let mut s = p.sample();
        s.elapsed_s = f64::from(i);
        // Make the lines move so the chart has real shape to draw.
        for (k, z) in s.thermal.iter_mut().enumerate() {
            if let Some(t) = z.temp_c.as_mut() {
                *t += (f64::from(i) / 60.0 + k as f64).sin() * 3.0 + f64::from(i) / 100.0;
            }
        }
        app.on_snapshot(Arc::new(s));
    }
    app
}

fn bench_render(c: &mut Criterion) {
    let app = app_with_history();
    for (w, h) in [(200u16, 50u16), (80, 24)] {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        c.bench_function(&format!("frame/{w}x{h}"), |b| {
            b.iter(|| {
                term.draw(|f| jetstress::ui::draw(f, black_box(&app)))
                    .unwrap();
            });
        });
    }
}

criterion_group!(benches, bench_render);
criterion_main!(benches);
