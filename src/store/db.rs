//! The two databases behind one small interface. Every statement is written
//! once, in the SQL both SQLite and PostgreSQL speak: `$1` placeholders,
//! `ON CONFLICT`, `RETURNING`, integers as 64-bit. The few places where they
//! differ ask [`Backend`]. Rows come back as [`Value`]s, so the entity files
//! never see a driver type.
//!
//! SQLite is one connection behind a mutex (the daemon is its one writer;
//! CLI commands open their own). PostgreSQL is a small pool of
//! `tokio-postgres` connections whose I/O runs on a private runtime thread;
//! a store call waits for its answer with a plain `block_on`, so the store
//! stays synchronous and the same code runs on both (a query future of
//! tokio-postgres may be polled anywhere; only its connection task needs
//! tokio).

use super::{Result, StoreError};
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio_postgres::types::{IsNull, ToSql, Type};

/// A value going into or coming out of a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// What may be bound to a placeholder.
pub trait Param {
    fn value(&self) -> Value;
}

macro_rules! int_param {
    ($($t:ty),*) => {$(
        impl Param for $t {
            fn value(&self) -> Value {
                Value::Int(*self as i64)
            }
        }
    )*};
}
int_param!(i64, i32, u32, u64, usize);

impl Param for bool {
    fn value(&self) -> Value {
        Value::Int(*self as i64)
    }
}
impl Param for f64 {
    fn value(&self) -> Value {
        Value::Real(*self)
    }
}
impl Param for str {
    fn value(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl Param for String {
    fn value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl<T: Param + ?Sized> Param for &T {
    fn value(&self) -> Value {
        (**self).value()
    }
}
impl<T: Param> Param for Option<T> {
    fn value(&self) -> Value {
        self.as_ref().map_or(Value::Null, Param::value)
    }
}
impl Param for Value {
    fn value(&self) -> Value {
        self.clone()
    }
}

/// One row of a result.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

/// What a column may be read as.
pub trait FromValue: Sized {
    fn from_value(v: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Int(i) => Some(*i),
            Value::Real(f) => Some(*f as i64),
            _ => None,
        }
    }
}
impl FromValue for u32 {
    fn from_value(v: &Value) -> Option<Self> {
        i64::from_value(v).map(|i| i as u32)
    }
}
impl FromValue for u64 {
    fn from_value(v: &Value) -> Option<Self> {
        i64::from_value(v).map(|i| i as u64)
    }
}
impl FromValue for usize {
    fn from_value(v: &Value) -> Option<Self> {
        i64::from_value(v).map(|i| i as usize)
    }
}
impl FromValue for bool {
    fn from_value(v: &Value) -> Option<Self> {
        i64::from_value(v).map(|i| i != 0)
    }
}
impl FromValue for f64 {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Real(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}
impl FromValue for String {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl Row {
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T> {
        let v = self.0.get(i).unwrap_or(&Value::Null);
        T::from_value(v).ok_or_else(|| StoreError::Type(format!("column {i} holds {v:?}, not a {}", std::any::type_name::<T>())))
    }
    pub fn str(&self, i: usize) -> &str {
        match self.0.get(i) {
            Some(Value::Text(s)) => s,
            _ => "",
        }
    }
}

/// Which database a statement runs on, for the few places SQL differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `column IN (<this>)` for a JSON array of strings bound at `$n`.
    pub fn json_strings(self, n: usize) -> String {
        match self {
            Backend::Sqlite => format!("SELECT value FROM json_each(${n})"),
            Backend::Postgres => format!("SELECT json_array_elements_text(${n}::json)"),
        }
    }
}

/// A connection or transaction statements run on.
pub trait Conn {
    fn backend(&self) -> Backend;
    /// Runs a statement; returns how many rows it changed.
    fn exec(&mut self, sql: &str, p: &[&dyn Param]) -> Result<u64>;
    /// Runs a query, handing each row to `f` as it comes.
    fn each(&mut self, sql: &str, p: &[&dyn Param], f: &mut dyn FnMut(&Row) -> Result<()>) -> Result<()>;
    /// Several statements without parameters (migrations).
    fn batch(&mut self, sql: &str) -> Result<()>;

    fn rows(&mut self, sql: &str, p: &[&dyn Param]) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        self.each(sql, p, &mut |r| {
            out.push(r.clone());
            Ok(())
        })?;
        Ok(out)
    }
    fn row(&mut self, sql: &str, p: &[&dyn Param]) -> Result<Option<Row>> {
        let mut out = None;
        self.each(sql, p, &mut |r| {
            if out.is_none() {
                out = Some(r.clone());
            }
            Ok(())
        })?;
        Ok(out)
    }
    /// The first column of the first row (a query that always returns one,
    /// such as `COUNT(*)`).
    fn one<T: FromValue>(&mut self, sql: &str, p: &[&dyn Param]) -> Result<T>
    where
        Self: Sized,
    {
        match self.row(sql, p)? {
            Some(r) => r.get(0),
            None => Err(StoreError::Type(format!("no row from: {sql}"))),
        }
    }
}

/// `one` for a `&mut dyn Conn`.
pub fn one<T: FromValue>(c: &mut dyn Conn, sql: &str, p: &[&dyn Param]) -> Result<T> {
    match c.row(sql, p)? {
        Some(r) => r.get(0),
        None => Err(StoreError::Type(format!("no row from: {sql}"))),
    }
}

/// The first column of every row.
pub fn column<T: FromValue>(c: &mut dyn Conn, sql: &str, p: &[&dyn Param]) -> Result<Vec<T>> {
    c.rows(sql, p)?.iter().map(|r| r.get(0)).collect()
}

// ---------------------------------------------------------------- SQLite

/// SQLite numbers its parameters `?N`; `$N` would be a *named* parameter
/// numbered by first appearance, which is not the same thing.
fn sqlite_sql(sql: &str) -> std::borrow::Cow<'_, str> {
    if !sql.contains('$') {
        return sql.into();
    }
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out.into()
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

fn sqlite_value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) | ValueRef::Blob(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
    }
}

/// Statements on a SQLite connection (or a transaction, which derefs to one).
pub struct SqliteConn<'a>(pub &'a rusqlite::Connection);

impl Conn for SqliteConn<'_> {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
    fn exec(&mut self, sql: &str, p: &[&dyn Param]) -> Result<u64> {
        let values: Vec<Value> = p.iter().map(|p| p.value()).collect();
        let mut stmt = self.0.prepare_cached(&sqlite_sql(sql))?;
        Ok(stmt.execute(rusqlite::params_from_iter(values.iter()))? as u64)
    }
    fn each(&mut self, sql: &str, p: &[&dyn Param], f: &mut dyn FnMut(&Row) -> Result<()>) -> Result<()> {
        let values: Vec<Value> = p.iter().map(|p| p.value()).collect();
        let mut stmt = self.0.prepare_cached(&sqlite_sql(sql))?;
        let n = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(values.iter()))?;
        let mut row = Row(Vec::with_capacity(n));
        while let Some(r) = rows.next()? {
            row.0.clear();
            for i in 0..n {
                row.0.push(sqlite_value(r.get_ref(i)?));
            }
            f(&row)?;
        }
        Ok(())
    }
    fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.0.execute_batch(sql)?)
    }
}

// ------------------------------------------------------------ PostgreSQL

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => (*i as i32).to_sql(ty, out),
                Type::INT2 => (*i as i16).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                _ => i.to_string().to_sql(ty, out),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                Type::INT8 => (*f as i64).to_sql(ty, out),
                _ => f.to_sql(ty, out),
            },
            Value::Text(s) => match *ty {
                // The binary form of json is its text; jsonb's is a version
                // byte, then the text.
                Type::JSON => {
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                Type::JSONB => {
                    out.extend_from_slice(&[1]);
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                _ => s.as_str().to_sql(ty, out),
            },
        }
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    tokio_postgres::types::to_sql_checked!();
}

fn pg_value(row: &tokio_postgres::Row, i: usize) -> Result<Value> {
    let ty = row.columns()[i].type_();
    let v = match *ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
        Type::INT4 => row.try_get::<_, Option<i32>>(i)?.map(|v| Value::Int(v.into())),
        Type::INT2 => row.try_get::<_, Option<i16>>(i)?.map(|v| Value::Int(v.into())),
        Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(|v| Value::Int(v.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Value::Real),
        Type::FLOAT4 => row.try_get::<_, Option<f32>>(i)?.map(|v| Value::Real(v.into())),
        Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR | Type::UNKNOWN => row.try_get::<_, Option<String>>(i)?.map(Value::Text),
        _ => return Err(StoreError::Type(format!("column {} has PostgreSQL type {ty}, which the store does not read (cast it)", row.columns()[i].name()))),
    };
    Ok(v.unwrap_or(Value::Null))
}

/// One pooled PostgreSQL connection and the statements it has prepared.
pub struct PgClient {
    client: tokio_postgres::Client,
    prepared: HashMap<String, tokio_postgres::Statement>,
    /// A statement timed out: the connection is not reused.
    broken: bool,
}

/// Statements on a PostgreSQL connection.
pub struct PgConn<'a> {
    client: &'a mut PgClient,
    runtime: &'a tokio::runtime::Handle,
    target: &'a str,
}

/// The longest a statement may take before the store calls the server
/// unreachable (a host that vanished answers nothing, not even an error)
/// and drops the connection.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Waits for `f` on this thread, at most [`STATEMENT_TIMEOUT`]; the timer
/// lives on the pool's runtime, which also drives the socket. A connection
/// that timed out is `broken`: its state is unknown, it is not reused.
fn block<T>(
    runtime: &tokio::runtime::Handle,
    target: &str,
    broken: &mut bool,
    f: impl std::future::Future<Output = std::result::Result<T, tokio_postgres::Error>>,
) -> Result<T> {
    let _context = runtime.enter();
    match futures_executor::block_on(tokio::time::timeout(STATEMENT_TIMEOUT, f)) {
        Ok(r) => Ok(r?),
        Err(_) => {
            *broken = true;
            Err(StoreError::Down { target: target.to_string(), why: format!("no answer within {} s", STATEMENT_TIMEOUT.as_secs()) })
        }
    }
}

impl PgConn<'_> {
    fn statement(&mut self, sql: &str) -> Result<tokio_postgres::Statement> {
        if let Some(s) = self.client.prepared.get(sql) {
            return Ok(s.clone());
        }
        let c = &mut *self.client;
        let s = block(self.runtime, self.target, &mut c.broken, c.client.prepare(sql))?;
        c.prepared.insert(sql.to_string(), s.clone());
        Ok(s)
    }
}

impl Conn for PgConn<'_> {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }
    fn exec(&mut self, sql: &str, p: &[&dyn Param]) -> Result<u64> {
        let stmt = self.statement(sql)?;
        let values: Vec<Value> = p.iter().map(|p| p.value()).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let c = &mut *self.client;
        block(self.runtime, self.target, &mut c.broken, c.client.execute(&stmt, &refs))
    }
    fn each(&mut self, sql: &str, p: &[&dyn Param], f: &mut dyn FnMut(&Row) -> Result<()>) -> Result<()> {
        let stmt = self.statement(sql)?;
        let values: Vec<Value> = p.iter().map(|p| p.value()).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let c = &mut *self.client;
        let rows = block(self.runtime, self.target, &mut c.broken, c.client.query(&stmt, &refs))?;
        let mut row = Row(Vec::new());
        for r in &rows {
            row.0.clear();
            for i in 0..r.len() {
                row.0.push(pg_value(r, i)?);
            }
            f(&row)?;
        }
        Ok(())
    }
    fn batch(&mut self, sql: &str) -> Result<()> {
        let c = &mut *self.client;
        block(self.runtime, self.target, &mut c.broken, c.client.batch_execute(sql))
    }
}

/// Connections to one PostgreSQL database, made on demand and reused.
pub struct PgPool {
    config: tokio_postgres::Config,
    /// Where, for messages: the URL without its password.
    pub target: String,
    idle: Mutex<Vec<PgClient>>,
    /// None when the URL says sslmode=disable.
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    /// Drives the connections' sockets. Always Some until dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for PgPool {
    fn drop(&mut self) {
        // Dropping a runtime waits for its threads, which tokio forbids
        // inside another runtime (the daemon, async tests): let it go.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// How many connections a pool keeps idle (more are made while busy).
const POOL_IDLE: usize = 4;

impl PgPool {
    pub fn new(url: &str) -> Result<PgPool> {
        let open = |e: String| StoreError::Open { path: redact(url), source: e.into() };
        let parsed = super::pgtls::PgUrl::parse(url).map_err(open)?;
        let tls = parsed.connector().map_err(open)?;
        let mut config = parsed.config;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        // A host that vanished (not one that refuses) is noticed in a
        // minute, not the kernel's two hours.
        config.keepalives(true).keepalives_idle(Duration::from_secs(30));
        if config.get_application_name().is_none() {
            config.application_name("escucha");
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("escucha-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Open { path: redact(url), source: Box::new(e) })?;
        Ok(PgPool { config, target: redact(url), idle: Mutex::new(Vec::new()), tls, runtime: Some(runtime) })
    }

    fn connect(&self) -> Result<PgClient> {
        let config = self.config.clone();
        let tls = self.tls.clone();
        let handle = self.rt().spawn(async move {
            fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
            where
                S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
                T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
            {
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(error = %e, "postgres connection ended");
                    }
                });
            }
            let client = match tls {
                Some(tls) => {
                    let (client, connection) = config.connect(tls).await?;
                    drive(connection);
                    client
                }
                None => {
                    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
                    drive(connection);
                    client
                }
            };
            Ok::<_, tokio_postgres::Error>(client)
        });
        let joined = {
            let _context = self.rt().enter();
            // The connect timeout bounds this.
            futures_executor::block_on(handle)
        };
        match joined {
            Ok(Ok(client)) => Ok(PgClient { client, prepared: HashMap::new(), broken: false }),
            Ok(Err(e)) => Err(StoreError::Postgres { target: self.target.clone(), source: e }),
            Err(e) => Err(StoreError::Down { target: self.target.clone(), why: e.to_string() }),
        }
    }

    fn rt(&self) -> &tokio::runtime::Runtime {
        self.runtime.as_ref().expect("the runtime lives as long as the pool")
    }

    fn take(&self) -> Result<PgClient> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match idle {
            Some(c) if !c.client.is_closed() && !c.broken => Ok(c),
            _ => self.connect(),
        }
    }

    fn give_back(&self, c: PgClient) {
        if c.client.is_closed() || c.broken {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < POOL_IDLE {
            idle.push(c);
        }
    }

    /// Runs `f` on a pooled connection, in a transaction when `tx`.
    pub fn run<T>(&self, tx: bool, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        let mut client = self.take()?;
        let result = (|| {
            let mut conn = PgConn { client: &mut client, runtime: self.rt().handle(), target: &self.target };
            if tx {
                conn.batch("BEGIN")?;
                match f(&mut conn) {
                    Ok(v) => {
                        conn.batch("COMMIT")?;
                        Ok(v)
                    }
                    Err(e) => {
                        let _ = conn.batch("ROLLBACK");
                        Err(e)
                    }
                }
            } else {
                f(&mut conn)
            }
        })();
        let result = result.map_err(|e| match e {
            StoreError::PostgresQuery(source) => StoreError::Postgres { target: self.target.clone(), source },
            e => e,
        });
        self.give_back(client);
        result
    }
}

/// A PostgreSQL URL as it may be logged: without its password.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "a PostgreSQL URL that does not parse".to_string(),
    }
}

// ------------------------------------------------------------------ Db

/// The database a store runs on.
pub enum Db {
    Sqlite { conn: Mutex<rusqlite::Connection> },
    Postgres(Arc<PgPool>),
}

/// How a SQLite write transaction starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Deferred: the write lock is taken at the first write.
    Later,
    /// IMMEDIATE: a row is read and then written, so the write lock is
    /// taken first (a deferred transaction could not upgrade if another
    /// process wrote between).
    Now,
}

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn sqlite(&self) -> Option<MutexGuard<'_, rusqlite::Connection>> {
        match self {
            // A panic while holding the lock leaves SQLite consistent (every
            // write is a transaction), so a poisoned lock is safe to reuse.
            Db::Sqlite { conn } => Some(conn.lock().unwrap_or_else(|e| e.into_inner())),
            Db::Postgres(_) => None,
        }
    }

    /// Statements outside a transaction (each its own).
    pub fn read<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        match self {
            Db::Sqlite { .. } => {
                let conn = self.sqlite().expect("sqlite");
                f(&mut SqliteConn(&conn))
            }
            Db::Postgres(pool) => pool.run(false, f),
        }
    }

    /// Statements in one transaction: committed when `f` succeeds, rolled
    /// back when it fails.
    pub fn write<T>(&self, lock: Lock, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        match self {
            Db::Sqlite { .. } => {
                let mut conn = self.sqlite().expect("sqlite");
                let behavior = match lock {
                    Lock::Later => rusqlite::TransactionBehavior::Deferred,
                    Lock::Now => rusqlite::TransactionBehavior::Immediate,
                };
                let tx = conn.transaction_with_behavior(behavior)?;
                let v = f(&mut SqliteConn(&tx))?;
                tx.commit()?;
                Ok(v)
            }
            Db::Postgres(pool) => pool.run(true, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_placeholders_become_sqlite_numbered_ones() {
        assert_eq!(sqlite_sql("SELECT $1, $12 WHERE a = $2"), "SELECT ?1, ?12 WHERE a = ?2");
        assert_eq!(sqlite_sql("SELECT 1"), "SELECT 1");
    }

    #[test]
    fn urls_are_logged_without_their_password() {
        assert_eq!(redact("postgres://esc:s3cret@db.example:5432/escucha"), "postgres://esc:***@db.example:5432/escucha");
        assert_eq!(redact("postgres://esc@db/escucha"), "postgres://esc@db/escucha");
        assert!(!redact("postgres://a:b c@").contains("b c"));
    }

    #[test]
    fn values_read_back_as_what_they_were() {
        let r = Row(vec![Value::Int(3), Value::Null, Value::Text("x".into()), Value::Real(0.5)]);
        assert_eq!(r.get::<i64>(0).unwrap(), 3);
        assert_eq!(r.get::<Option<i64>>(1).unwrap(), None);
        assert!(r.get::<i64>(1).is_err());
        assert_eq!(r.get::<String>(2).unwrap(), "x");
        assert_eq!(r.get::<f64>(3).unwrap(), 0.5);
        assert!(r.get::<bool>(0).unwrap());
    }
}
