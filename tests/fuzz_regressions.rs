//! What the fuzzers found, kept: every input in `tests/fixtures/fuzz_regressions/<target>/`
//! replays through the very code its fuzz target runs (`fuzz/src/lib.rs`, included by path), on
//! stable, in the default test run. Each must not panic, must finish quickly, and must give the
//! verdict written beside it in `<name>.expected`. The seed corpus replays too, so the targets'
//! invariants are exercised even where no fuzzer runs.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A saved slow input must now run well inside this, even in a debug build.
const SLOW: Duration = Duration::from_secs(2);

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable folder").path())
        .filter(|path| path.extension().is_none_or(|ext| ext != "expected"))
        .collect();
    paths.sort();
    paths
}

fn replay(target: &str, path: &Path) -> (String, Duration) {
    let data = fs::read(path).expect("a readable input");
    let started = Instant::now();
    let verdict = harness::run(target, &data);
    (verdict, started.elapsed())
}

#[test]
fn every_fuzz_finding_replays_with_its_expected_verdict() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz_regressions");
    let mut replayed = 0;
    for target in harness::TARGETS {
        for path in files(&root.join(target)) {
            let (verdict, took) = replay(target, &path);
            let expected_path = PathBuf::from(format!("{}.expected", path.display()));
            let expected = fs::read_to_string(&expected_path).unwrap_or_else(|_| {
                panic!(
                    "{} has no .expected; its verdict is:\n{verdict}",
                    path.display()
                )
            });
            assert_eq!(verdict, expected.trim_end(), "{}", path.display());
            assert!(took < SLOW, "{} took {took:?}", path.display());
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no saved finding was replayed");
}

#[test]
fn every_seed_passes_the_fuzz_targets_invariants() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    for target in harness::TARGETS {
        let seeds = files(&root.join(target));
        assert!(!seeds.is_empty(), "no seeds for {target}");
        for path in seeds {
            replay(target, &path);
        }
    }
}

#[test]
fn selector_bytes_past_the_end_read_as_zeros() {
    let mut bytes = harness::Bytes::new(&[7]);
    assert_eq!((bytes.byte(), bytes.byte()), (7, 0));
    assert!(bytes.take(3).is_empty());
}
