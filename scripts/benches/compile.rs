//! Building Docker's default filter: seclaunch from JSON to BPF, against libseccomp from
//! the already-resolved rules to exported BPF (runc's path, without its JSON decoding).

use criterion::{criterion_group, criterion_main, Criterion};
use profiles::DEFAULT_PROFILE;
use seclaunch_scripts::{default_resolved, fixed_options};
use seclaunch_tests::reference;

fn compile(c: &mut Criterion) {
    let options = fixed_options();
    let resolved = default_resolved();
    let mut group = c.benchmark_group("docker default");
    group.bench_function("seclaunch json to bpf", |b| {
        b.iter(|| profiles::build(DEFAULT_PROFILE.as_bytes(), "default", &options).unwrap())
    });
    group.bench_function("seclaunch rules to bpf", |b| {
        b.iter(|| profiles::compile::compile(&resolved, false).unwrap())
    });
    for level in [1, 2] {
        group.bench_function(format!("libseccomp rules to bpf (optimize {level})"), |b| {
            b.iter(|| reference::libseccomp_program_at(&resolved, level).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
