//! `footer <cdylib> <out.duckdb_extension>`: copies the compiled library and
//! appends DuckDB's metadata footer, producing a loadable extension file.

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: footer <compiled cdylib> <output .duckdb_extension>");
        std::process::exit(2);
    }
    if let Err(e) = run(&args[1], &args[2]) {
        eprintln!("footer: {e}");
        std::process::exit(1);
    }
}

fn run(input: &str, output: &str) -> Result<(), String> {
    let library = std::fs::read(input).map_err(|e| format!("cannot read {input}: {e}"))?;
    let footer = mallard::footer::footer(mallard_core::VERSION, mallard::footer::platform())?;
    // Leave an identical file alone: its timestamp tells dependents (the
    // collector embeds it) whether anything changed.
    if let Ok(existing) = std::fs::read(output)
        && existing.len() == library.len() + footer.len()
        && existing[..library.len()] == library[..]
        && existing[library.len()..] == footer[..]
    {
        return Ok(());
    }
    // Write beside the target and rename, so a reader never sees half a file.
    let tmp = format!("{output}.tmp");
    let mut file = std::fs::File::create(&tmp).map_err(|e| format!("cannot create {tmp}: {e}"))?;
    file.write_all(&library)
        .and_then(|_| file.write_all(&footer))
        .and_then(|_| file.sync_all())
        .map_err(|e| format!("cannot write {tmp}: {e}"))?;
    std::fs::rename(&tmp, output).map_err(|e| format!("cannot rename {tmp} to {output}: {e}"))?;
    Ok(())
}
