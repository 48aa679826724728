//! Embeds uap-core's `regexes.yaml` (the data behind `mallard_parse_ua`) into
//! the build, so no file is needed at run time and none is copied into our
//! repository: the file ships inside the `ua-parser` crate's package, which
//! cargo has unpacked under `$CARGO_HOME/registry/src` (or set
//! `MALLARD_UAP_REGEXES` to the file, e.g. for vendored builds). It is
//! converted to JSON so the runtime needs no YAML parser.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=MALLARD_UAP_REGEXES");
    let yaml_path = match std::env::var_os("MALLARD_UAP_REGEXES") {
        Some(p) => PathBuf::from(p),
        None => locate_from_ua_parser_package(),
    };
    println!("cargo:rerun-if-changed={}", yaml_path.display());
    let text =
        std::fs::read_to_string(&yaml_path).unwrap_or_else(|e| panic!("cannot read {}: {e}", yaml_path.display()));
    let value: serde_json::Value = serde_yaml::from_str(&text).expect("uap-core regexes.yaml is not valid YAML");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("uap_regexes.json");
    std::fs::write(&out, serde_json::to_vec(&value).unwrap()).unwrap();
}

fn locate_from_ua_parser_package() -> PathBuf {
    // The version we pin in Cargo.toml (`ua-parser = "=X.Y.Z"`).
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let manifest = std::fs::read_to_string(manifest_dir.join("Cargo.toml")).unwrap();
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("ua-parser = \"="))
        .and_then(|v| v.split('"').next())
        .expect("core/Cargo.toml pins ua-parser as `ua-parser = \"=X.Y.Z\"`");
    // Cargo unpacks every registry package under $CARGO_HOME/registry/src/<index>/.
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .expect("neither CARGO_HOME nor HOME is set");
    let registry = cargo_home.join("registry").join("src");
    let package = format!("ua-parser-{version}");
    std::fs::read_dir(&registry)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}; set MALLARD_UAP_REGEXES", registry.display()))
        .filter_map(Result::ok)
        .map(|index| index.path().join(&package).join("uap-core").join("regexes.yaml"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{package}/uap-core/regexes.yaml not found under {}; set MALLARD_UAP_REGEXES", registry.display())
        })
}
