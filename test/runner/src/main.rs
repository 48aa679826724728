//! `mallard-sqltest`: runs `test/sql/*.test` (sqllogictest format) against the
//! built `mallard.duckdb_extension` loaded into a real DuckDB.
//!
//! The DuckDB host is Python DuckDB driven through `driver.py` (one process per
//! test file), so the same files run on every host version we support:
//! `mallard-sqltest --python <venv>/bin/python test/sql/*.test`. Test files
//! load the extension with `LOAD '${MALLARD_EXT}'` under
//! `control substitution on`.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use sqllogictest::{DBOutput, DefaultColumnType, Record, Runner};

const DRIVER: &str = include_str!("../driver.py");

#[derive(Debug)]
struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// One Python DuckDB process.
struct Driver {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Driver {
    fn spawn(python: &str) -> Result<(Self, String), Error> {
        let mut child = Command::new(python)
            .args(["-u", "-c", DRIVER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| Error(format!("cannot start {python}: {e}")))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut driver = Driver { child, stdin, stdout };
        let hello = driver.read()?;
        let version = hello["version"].as_str().unwrap_or("?").to_string();
        Ok((driver, version))
    }

    fn read(&mut self) -> Result<serde_json::Value, Error> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => Err(Error("the DuckDB host process died (crash?)".into())),
            Ok(_) => serde_json::from_str(&line).map_err(|e| Error(format!("bad driver answer: {e}"))),
            Err(e) => Err(Error(format!("cannot read from the driver: {e}"))),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl sqllogictest::DB for Driver {
    type Error = Error;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, Error> {
        let request = serde_json::json!({ "sql": sql }).to_string();
        writeln!(self.stdin, "{request}").map_err(|e| Error(format!("the DuckDB host is gone: {e}")))?;
        let answer = self.read()?;
        if let Some(message) = answer["error"].as_str() {
            return Err(Error(message.to_string()));
        }
        let Some(rows) = answer["rows"].as_array() else {
            return Ok(DBOutput::StatementComplete(0));
        };
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|row| row.as_array().map(|cells| cells.iter().map(render).collect()).unwrap_or_default())
            .collect();
        let width = rows.first().map_or(0, Vec::len);
        Ok(DBOutput::Rows { types: vec![DefaultColumnType::Any; width], rows })
    }

    fn engine_name(&self) -> &str {
        "duckdb"
    }
}

/// sqllogictest conventions: NULL is `NULL`, the empty string `(empty)`.
fn render(cell: &serde_json::Value) -> String {
    match cell {
        serde_json::Value::Null => "NULL".into(),
        serde_json::Value::String(s) if s.is_empty() => "(empty)".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

struct Totals {
    passed: usize,
    failed: usize,
}

fn run_file(python: &str, path: &PathBuf, totals: &mut Totals) -> Result<(), Error> {
    let records =
        sqllogictest::parse_file::<DefaultColumnType>(path).map_err(|e| Error(format!("{}: {e}", path.display())))?;
    let python = python.to_string();
    let mut runner = Runner::new(move || {
        let python = python.clone();
        async move { Driver::spawn(&python).map(|(d, _)| d) }
    });
    for record in records {
        let counted = matches!(record, Record::Statement { .. } | Record::Query { .. });
        match runner.run(record) {
            Ok(_) if counted => totals.passed += 1,
            Ok(_) => {}
            Err(e) => {
                totals.failed += 1;
                eprintln!("FAIL {}", e.display(false));
            }
        }
    }
    Ok(())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut python = "python3".to_string();
    let mut files = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--python" => python = args.next().expect("--python needs a path"),
            "-h" | "--help" => {
                println!("usage: mallard-sqltest [--python <python with duckdb>] <file.test>...");
                println!("Set MALLARD_EXT to the .duckdb_extension file the tests LOAD.");
                return;
            }
            _ => files.push(PathBuf::from(arg)),
        }
    }
    if std::env::var_os("MALLARD_EXT").is_none() {
        eprintln!("mallard-sqltest: set MALLARD_EXT to the built extension file");
        std::process::exit(2);
    }
    let version = match Driver::spawn(&python) {
        Ok((_, version)) => version,
        Err(e) => {
            eprintln!("mallard-sqltest: {e}");
            std::process::exit(2);
        }
    };
    let mut totals = Totals { passed: 0, failed: 0 };
    for file in &files {
        if let Err(e) = run_file(&python, file, &mut totals) {
            totals.failed += 1;
            eprintln!("FAIL {e}");
        }
    }
    println!("DuckDB {version}: {} files, {} passed, {} failed", files.len(), totals.passed, totals.failed);
    if totals.failed > 0 {
        std::process::exit(1);
    }
}
