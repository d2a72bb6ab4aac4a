#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Compiling generated stacks of N containers built by a loop.
//! Target (docs/performance.md): 10,000 containers in ≤ 100 ms, linear in N.

use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use stackc::driver::{Options, compile};

/// The allocator the `stackc` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A stack whose containers come from one loop, as a user would write it.
fn stack_source(n: usize) -> String {
    format!(
        r#"stack "bench"
param replicas: int = {n}
let common = {{ team = "bench", tier = "backend" }}
network "backend" {{}}
volume "data" {{}}
for i in range(replicas) {{
  container "api-${{i}}" {{
    image    = "busybox:1.36"
    command  = ["httpd", "-f", "-p", "8080"]
    env      = common + {{ INDEX = "${{i}}", PEER = "api-${{(i + 1) % replicas}}" }}
    ports    = [{{ host = 10000 + i, container = 8080 }}]
    mounts   = [{{ volume = volume.data, target = "/data", read_only = true }}]
    networks = [network.backend]
    restart  = "unless-stopped"
    health   = {{ cmd = ["wget", "-qO-", "http://localhost:8080/"], interval = 10s, retries = 3 }}
    memory   = 64MiB
  }}
}}
"#
    )
}

fn write_stack(n: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stackc-bench-{n}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("main.stack"), stack_source(n)).expect("write stack");
    dir
}

fn compile_containers(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    group.sample_size(20);
    for n in [1_000usize, 10_000] {
        let dir = write_stack(n);
        let options = Options {
            path: dir.clone(),
            ..Options::default()
        };
        // Fail loudly rather than benchmark an error path.
        let first = compile(&options);
        assert_eq!(
            first.result.as_ref().map(|d| d.resources.len()).ok(),
            Some(n + 2)
        );
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("containers", n), &options, |b, options| {
            // The binary exits without freeing the deployment; so does the measurement.
            b.iter_with_large_drop(|| compile(options))
        });
        let _ = std::fs::remove_dir_all(dir);
    }
    group.finish();
}

criterion_group!(benches, compile_containers);
criterion_main!(benches);
