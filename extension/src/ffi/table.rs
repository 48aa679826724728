//! Table functions whose rows come from SQL run on the private instance:
//! bind validates the arguments and prepares the query (its columns become
//! the function's columns), init executes it, and each call hands out the
//! next result chunk without copying (vectors are shared).

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::ptr;
use std::sync::Mutex;

use libduckdb_sys as sys;
use mallard_core::report::Query;

use super::database::{Prepared, Resources, Stream, private};
use super::value::Value;
use super::{Connection, LogicalType, c_string, guard};

/// A table function's arguments, by position and by name.
#[derive(Debug, Default)]
pub struct Args {
    pub positional: Vec<Value>,
    pub named: BTreeMap<String, Value>,
}

/// Builds the query for the given arguments. It may run small queries on the
/// private connection (e.g. to list the lake's files).
pub type BindFn = fn(&Args, &Connection) -> Result<Query, String>;

/// A SQL-backed table function about to be registered.
pub struct TableFunction {
    pub name: &'static str,
    pub positional: Vec<LogicalType>,
    pub named: Vec<(&'static str, LogicalType)>,
    pub bind: BindFn,
}

struct Definition {
    name: &'static str,
    named: Vec<&'static str>,
    bind: BindFn,
}

struct BindData {
    prepared: Mutex<Prepared>,
    // Declared after `prepared`, so dropped after it: the statement needs it.
    _connection: Connection,
}

struct InitData {
    stream: Mutex<Stream>,
}

impl TableFunction {
    pub fn register(self, con: &Connection) -> Result<(), String> {
        let definition = Box::into_raw(Box::new(Definition {
            name: self.name,
            named: self.named.iter().map(|(n, _)| *n).collect(),
            bind: self.bind,
        }));
        // SAFETY: the function handle is created, configured and destroyed
        // here; DuckDB takes `definition` through the destroy hook.
        unsafe {
            let mut f = sys::duckdb_create_table_function();
            sys::duckdb_table_function_set_name(f, c_string(self.name).as_ptr());
            for p in &self.positional {
                sys::duckdb_table_function_add_parameter(f, p.raw);
            }
            for (name, ty) in &self.named {
                sys::duckdb_table_function_add_named_parameter(f, c_string(name).as_ptr(), ty.raw);
            }
            sys::duckdb_table_function_set_extra_info(f, definition as *mut c_void, Some(drop_boxed::<Definition>));
            sys::duckdb_table_function_set_bind(f, Some(bind));
            sys::duckdb_table_function_set_init(f, Some(init));
            sys::duckdb_table_function_set_function(f, Some(function));
            let state = sys::duckdb_register_table_function(con.raw, f);
            sys::duckdb_destroy_table_function(&mut f);
            if state != sys::DuckDBSuccess {
                return Err(format!("mallard: could not register {}", self.name));
            }
        }
        Ok(())
    }
}

unsafe extern "C" fn drop_boxed<T>(data: *mut c_void) {
    // SAFETY: `data` is a Box<T> leaked by us, dropped once by DuckDB.
    drop(unsafe { Box::from_raw(data as *mut T) });
}

/// Reads a host setting through the bind's client context.
///
/// # Safety
/// `context` must be a valid client context.
unsafe fn setting(context: sys::duckdb_client_context, name: &str) -> Value {
    // SAFETY: the returned value is read and destroyed here.
    unsafe {
        let mut raw = sys::duckdb_client_context_get_config_option(context, c_string(name).as_ptr(), ptr::null_mut());
        let value = Value::from_raw(raw);
        if !raw.is_null() {
            sys::duckdb_destroy_value(&mut raw);
        }
        value
    }
}

/// Refuses to run when the host forbids file access, and sizes the private
/// instance from the host's threads and memory limit (and points it at the
/// host's extension directory).
///
/// # Safety
/// `info` must be the current bind info.
unsafe fn host_resources(info: sys::duckdb_bind_info) -> Result<Resources, String> {
    // SAFETY: the context is fetched, read and destroyed here.
    unsafe {
        let mut context = ptr::null_mut();
        sys::duckdb_table_function_get_client_context(info, &mut context);
        if context.is_null() {
            return Ok(Resources { threads: None, memory_limit: None, extension_directory: None });
        }
        let external = setting(context, "enable_external_access");
        let threads = setting(context, "threads");
        let memory = setting(context, "memory_limit");
        let extension_directory = setting(context, "extension_directory");
        sys::duckdb_destroy_client_context(&mut context);
        if external == Value::Bool(false) {
            return Err("mallard functions read the lake's files, which this database forbids \
                        (enable_external_access = false)"
                .into());
        }
        let threads = match threads {
            Value::Int(t) => Some(t),
            Value::Varchar(s) => s.parse().ok(),
            _ => None,
        };
        let memory_limit = match memory {
            Value::Varchar(s) => half_of(&s),
            _ => None,
        };
        // A shared lake needs DuckDB's ducklake/httpfs/postgres extensions:
        // the private instance finds them where the host does.
        let extension_directory = match extension_directory {
            Value::Varchar(s) if !s.is_empty() => Some(s),
            _ => None,
        };
        Ok(Resources { threads, memory_limit, extension_directory })
    }
}

/// Half of a DuckDB memory size like `18.8 GiB` (the private instance works
/// while the host waits for it, so together they stay within the limit).
fn half_of(size: &str) -> Option<String> {
    let (number, unit) = size.trim().split_once(' ')?;
    let n: f64 = number.parse().ok()?;
    Some(format!("{:.1} {unit}", n / 2.0))
}

/// # Safety
/// `info` is the current bind info; `definition` is ours.
unsafe fn read_args(info: sys::duckdb_bind_info, definition: &Definition) -> Args {
    // SAFETY: values are read and destroyed here.
    unsafe {
        let mut args = Args::default();
        let n = sys::duckdb_bind_get_parameter_count(info);
        for i in 0..n {
            let mut raw = sys::duckdb_bind_get_parameter(info, i);
            args.positional.push(Value::from_raw(raw));
            if !raw.is_null() {
                sys::duckdb_destroy_value(&mut raw);
            }
        }
        for name in &definition.named {
            let mut raw = sys::duckdb_bind_get_named_parameter(info, c_string(name).as_ptr());
            if !raw.is_null() {
                args.named.insert(name.to_string(), Value::from_raw(raw));
                sys::duckdb_destroy_value(&mut raw);
            }
        }
        args
    }
}

unsafe extern "C" fn bind(info: sys::duckdb_bind_info) {
    // SAFETY: DuckDB passes a valid bind info carrying our extra info.
    unsafe {
        let definition = &*(sys::duckdb_bind_get_extra_info(info) as *const Definition);
        let result = guard(definition.name, || {
            let resources = host_resources(info)?;
            let connection = private(&resources)?.connect()?;
            let args = read_args(info, definition);
            let query = (definition.bind)(&args, &connection).map_err(|e| format!("{}: {e}", definition.name))?;
            let prepared = connection.prepare(&query).map_err(|e| format!("{}: {e}", definition.name))?;
            for (name, ty) in &prepared.columns {
                sys::duckdb_bind_add_result_column(info, c_string(name).as_ptr(), ty.raw);
            }
            Ok(BindData { prepared: Mutex::new(prepared), _connection: connection })
        });
        match result {
            Ok(data) => sys::duckdb_bind_set_bind_data(
                info,
                Box::into_raw(Box::new(data)) as *mut c_void,
                Some(drop_boxed::<BindData>),
            ),
            Err(e) => sys::duckdb_bind_set_error(info, c_string(&e).as_ptr()),
        }
    }
}

unsafe extern "C" fn init(info: sys::duckdb_init_info) {
    // SAFETY: DuckDB passes the bind data we set.
    unsafe {
        let data = &*(sys::duckdb_init_get_bind_data(info) as *const BindData);
        let result = guard("init", || {
            let prepared = data.prepared.lock().unwrap_or_else(|e| e.into_inner());
            Ok(InitData { stream: Mutex::new(prepared.execute()?) })
        });
        match result {
            Ok(state) => sys::duckdb_init_set_init_data(
                info,
                Box::into_raw(Box::new(state)) as *mut c_void,
                Some(drop_boxed::<InitData>),
            ),
            Err(e) => sys::duckdb_init_set_error(info, c_string(&e).as_ptr()),
        }
    }
}

unsafe extern "C" fn function(info: sys::duckdb_function_info, output: sys::duckdb_data_chunk) {
    // SAFETY: DuckDB passes the init data we set and an output chunk with
    // the columns declared at bind.
    unsafe {
        let state = &*(sys::duckdb_function_get_init_data(info) as *const InitData);
        let result = guard("scan", || {
            let mut stream = state.stream.lock().unwrap_or_else(|e| e.into_inner());
            stream.next_into(output)
        });
        if let Err(e) = result {
            sys::duckdb_data_chunk_set_size(output, 0);
            sys::duckdb_function_set_error(info, c_string(&e).as_ptr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::half_of;

    #[test]
    fn halves_memory_sizes() {
        assert_eq!(half_of("18.8 GiB").as_deref(), Some("9.4 GiB"));
        assert_eq!(half_of("512.0 MiB").as_deref(), Some("256.0 MiB"));
        assert_eq!(half_of("lots"), None);
    }
}
