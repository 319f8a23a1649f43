//! One full snapshot read on the Orin AGX fixture tree (target ≤ 50 µs median).
//! Run: `cargo bench --bench probe`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use jetstress::probes::{Prober, Root};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn bench_probe(c: &mut Criterion) {
    for board in ["orin-agx-r36", "xavier-nx-r32"] {
        let mut prober = Prober::new(Root::new(fixture(board)), Vec::new());
        c.bench_function(&format!("snapshot/{board}"), |b| {
            b.iter(|| black_box(prober.sample()));
        });
    }
    let mut host = Prober::new(Root::new("/"), Vec::new());
    c.bench_function("snapshot/this-machine", |b| {
        b.iter(|| black_box(host.sample()));
    });
    let mut orin = Prober::new(Root::new(fixture("orin-agx-r36")), Vec::new());
    let snap = orin.sample();
    c.bench_function("snapshot/to-json", |b| {
        b.iter(|| black_box(serde_json::to_vec(&snap).unwrap()));
    });
}

criterion_group!(benches, bench_probe);
criterion_main!(benches);
