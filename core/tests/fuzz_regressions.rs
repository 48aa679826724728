//! Every committed fuzz input — the seed corpora (`fuzz/corpus/<target>/`)
//! and each crash `make fuzz` ever found (`fuzz/regressions/<target>/`) —
//! through the same target bodies the fuzzer runs, on stable Rust.

use std::path::Path;

#[test]
fn every_committed_fuzz_input_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut ran = 0;
    for (name, target) in mallard_core::fuzzing::TARGETS {
        for folder in ["corpus", "regressions"] {
            let dir = root.join(folder).join(name);
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                    continue;
                }
                target(&std::fs::read(&path).unwrap());
                ran += 1;
            }
        }
    }
    assert!(ran >= 6 * 3, "the seed corpora are committed ({ran} inputs)");
}
