//! One SQL code path over SQLite and PostgreSQL.
//!
//! The store writes its statements once, in the SQL both databases understand (`?1`-style
//! numbered parameters, `ON CONFLICT` upserts, `RETURNING`, `CAST(… AS DOUBLE PRECISION)`), and
//! runs them through a [`Connection`] that is either an embedded SQLite file or a PostgreSQL
//! client. What differs is kept here and small: PostgreSQL spells parameters `$1`, so statements
//! are rewritten once and cached prepared; values cross as the few types the schema uses
//! ([`Value`]); and rows come back owned, typed by what the column holds, not by which driver
//! read it. The schema itself differs (types, collation), so each dialect has its own list of
//! versioned migrations in the store.
//!
//! A PostgreSQL connection that breaks (the server restarted, the network blipped) is opened
//! again on the next statement, so a collector survives a database failover without a restart;
//! the statement that met the broken connection fails, and callers report it as they would any
//! database error.

use std::borrow::Cow;
use std::collections::HashMap;

/// Which database a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Why a statement failed. The driver's error is part of the message, not a `source`, so a
/// chain printed with `{:#}` says it once.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    Sqlite(rusqlite::Error),
    #[error("{}", postgres_message(.0))]
    Postgres(postgres::Error),
    #[error("column {column}: expected {expected}, found {found}")]
    Type {
        column: usize,
        expected: &'static str,
        found: &'static str,
    },
    #[error("column {column} has a type this collector does not read ({type_name})")]
    UnsupportedType { column: usize, type_name: String },
    #[error("the statement returned no row")]
    NoRow,
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError::Sqlite(e)
    }
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        DbError::Postgres(e)
    }
}

/// PostgreSQL's own message, with its detail, instead of the driver's "db error".
fn postgres_message(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({}): {detail}", db.message(), db.code().code()),
            None => format!("{} ({})", db.message(), db.code().code()),
        },
        // The driver's kind ("error connecting to server") with its causes, all on one line.
        None => {
            let mut message = error.to_string();
            let mut cause = std::error::Error::source(error);
            while let Some(inner) = cause {
                message.push_str(&format!(": {inner}"));
                cause = inner.source();
            }
            message
        }
    }
}

impl DbError {
    /// Whether running the transaction again may succeed: PostgreSQL chose it as a deadlock
    /// victim or could not serialize it, or the connection was lost (the next attempt opens
    /// a new one). A transaction whose connection broke during COMMIT may have committed, so
    /// only idempotent work may be retried on this answer.
    pub fn is_retryable(&self) -> bool {
        match self {
            DbError::Postgres(e) => {
                e.is_closed()
                    || e.code().is_some_and(|code| {
                        *code == postgres::error::SqlState::T_R_DEADLOCK_DETECTED
                            || *code == postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
                    })
            }
            _ => false,
        }
    }
}

/// A value sent to or read from the database.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Real(f64),
    Bool(bool),
    Text(Cow<'a, str>),
    Blob(Cow<'a, [u8]>),
}

impl Value<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Int(_) => "an integer",
            Value::Real(_) => "a real",
            Value::Bool(_) => "a boolean",
            Value::Text(_) => "text",
            Value::Blob(_) => "a blob",
        }
    }
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(Cow::Borrowed(v))
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Text(Cow::Borrowed(v))
    }
}

impl From<String> for Value<'_> {
    fn from(v: String) -> Self {
        Value::Text(Cow::Owned(v))
    }
}

impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(v: &'a [u8]) -> Self {
        Value::Blob(Cow::Borrowed(v))
    }
}

impl From<Option<i64>> for Value<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::Null, Value::Int)
    }
}

impl<'a> From<Option<&'a [u8]>> for Value<'a> {
    fn from(v: Option<&'a [u8]>) -> Self {
        v.map_or(Value::Null, Value::from)
    }
}

impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Value::Null, Value::from)
    }
}

impl<'a> From<&'a Option<String>> for Value<'a> {
    fn from(v: &'a Option<String>) -> Self {
        v.as_deref().map_or(Value::Null, Value::from)
    }
}

/// Statement parameters: `values![a, b, c]`.
#[macro_export]
macro_rules! values {
    ($($value:expr),* $(,)?) => {
        [$($crate::db::Value::from($value)),*]
    };
}

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Value::Bool(v) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*v))),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Blob(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

impl postgres::types::ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::Type;
        match self {
            Value::Null => Ok(postgres::types::IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::FLOAT8 => (*v as f64).to_sql(ty, out),
                _ => Err(format!("an integer cannot be sent as {ty}").into()),
            },
            Value::Real(v) => v.to_sql(ty, out),
            Value::Bool(v) => v.to_sql(ty, out),
            Value::Text(v) => v.as_ref().to_sql(ty, out),
            Value::Blob(v) => v.as_ref().to_sql(ty, out),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        // Checked per value in `to_sql`, where the value's own type is known.
        true
    }

    postgres::types::to_sql_checked!();
}

/// A row, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(Vec<Value<'static>>);

impl Row {
    /// Column `index` as `T`; a clear error when the column holds something else.
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, DbError> {
        let value = self.0.get(index).unwrap_or(&Value::Null);
        T::from_value(value).ok_or(DbError::Type {
            column: index,
            expected: T::EXPECTED,
            found: value.kind(),
        })
    }
}

/// A Rust type a column can be read as.
pub trait FromValue: Sized {
    const EXPECTED: &'static str;
    fn from_value(value: &Value<'static>) -> Option<Self>;
}

impl FromValue for i64 {
    const EXPECTED: &'static str = "an integer";
    fn from_value(value: &Value<'static>) -> Option<Self> {
        match value {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }
}

impl FromValue for f64 {
    const EXPECTED: &'static str = "a number";
    fn from_value(value: &Value<'static>) -> Option<Self> {
        match value {
            Value::Real(v) => Some(*v),
            Value::Int(v) => Some(*v as f64),
            _ => None,
        }
    }
}

impl FromValue for bool {
    const EXPECTED: &'static str = "a boolean";
    fn from_value(value: &Value<'static>) -> Option<Self> {
        match value {
            Value::Bool(v) => Some(*v),
            // SQLite has no boolean type: comparisons give 0 or 1.
            Value::Int(v) => Some(*v != 0),
            _ => None,
        }
    }
}

impl FromValue for String {
    const EXPECTED: &'static str = "text";
    fn from_value(value: &Value<'static>) -> Option<Self> {
        match value {
            Value::Text(v) => Some(v.to_string()),
            _ => None,
        }
    }
}

impl FromValue for Vec<u8> {
    const EXPECTED: &'static str = "bytes";
    fn from_value(value: &Value<'static>) -> Option<Self> {
        match value {
            Value::Blob(v) => Some(v.to_vec()),
            // SQLite keeps what it was given; old report bodies were stored as text.
            Value::Text(v) => Some(v.as_bytes().to_vec()),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn from_value(value: &Value<'static>) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// A database connection of either dialect.
pub struct Connection {
    backend: Backend,
}

enum Backend {
    Sqlite(rusqlite::Connection),
    Postgres(Box<PostgresConnection>),
}

struct PostgresConnection {
    config: postgres::Config,
    client: postgres::Client,
    /// Inside BEGIN … COMMIT a lost connection took the transaction with it, so its
    /// statements are not retried on a new one.
    in_transaction: bool,
    /// Prepared statements by the SQL the store wrote (with `?N` parameters).
    statements: HashMap<String, postgres::Statement>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("dialect", &self.dialect())
            .finish_non_exhaustive()
    }
}

impl Connection {
    pub fn sqlite(connection: rusqlite::Connection) -> Connection {
        Connection {
            backend: Backend::Sqlite(connection),
        }
    }

    /// Connects to PostgreSQL with `config` (a connect timeout is added when none is set, so
    /// an unreachable server is an error, not a hang).
    pub fn postgres(mut config: postgres::Config) -> Result<Connection, DbError> {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        config.keepalives(true);
        // A report is acknowledged once its commit is durable, whatever the server's default:
        // `synchronous_commit = off` there would acknowledge commits a crash can lose.
        let options = match config.get_options() {
            Some(given) => format!("{given} -c synchronous_commit=on"),
            None => "-c synchronous_commit=on".to_string(),
        };
        config.options(&options);
        let client = config.connect(postgres::NoTls)?;
        Ok(Connection {
            backend: Backend::Postgres(Box::new(PostgresConnection {
                config,
                client,
                in_transaction: false,
                statements: HashMap::new(),
            })),
        })
    }

    pub fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs one statement; returns how many rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[Value<'_>]) -> Result<u64, DbError> {
        match &mut self.backend {
            Backend::Sqlite(c) => {
                let mut statement = c.prepare_cached(sql)?;
                Ok(statement.execute(rusqlite::params_from_iter(params.iter()))? as u64)
            }
            Backend::Postgres(pg) => {
                let statement = pg.prepare(sql)?;
                let params = postgres_params(params);
                Ok(pg.client.execute(&statement, &params)?)
            }
        }
    }

    /// Runs a query; returns its rows.
    pub fn query(&mut self, sql: &str, params: &[Value<'_>]) -> Result<Vec<Row>, DbError> {
        match &mut self.backend {
            Backend::Sqlite(c) => {
                let mut statement = c.prepare_cached(sql)?;
                let columns = statement.column_count();
                let mut rows = statement.query(rusqlite::params_from_iter(params.iter()))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let mut values = Vec::with_capacity(columns);
                    for index in 0..columns {
                        values.push(sqlite_value(row.get_ref(index)?, index)?);
                    }
                    out.push(Row(values));
                }
                Ok(out)
            }
            Backend::Postgres(pg) => {
                let read_only = sql.trim_start().starts_with("SELECT");
                pg.retrying(read_only, |pg| {
                    let statement = pg.prepare(sql)?;
                    let params = postgres_params(params);
                    pg.client
                        .query(&statement, &params)?
                        .iter()
                        .map(postgres_row)
                        .collect()
                })
            }
        }
    }

    /// The first row of a query, if any.
    pub fn query_opt(&mut self, sql: &str, params: &[Value<'_>]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The first row of a query that always returns one.
    pub fn query_one(&mut self, sql: &str, params: &[Value<'_>]) -> Result<Row, DbError> {
        self.query_opt(sql, params)?.ok_or(DbError::NoRow)
    }

    /// Runs statements separated by `;`, without parameters (migrations).
    pub fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        match &mut self.backend {
            Backend::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Backend::Postgres(pg) => {
                pg.reconnect_if_closed()?;
                Ok(pg.client.batch_execute(sql)?)
            }
        }
    }

    /// Runs `work` in a transaction: committed when it returns `Ok`, rolled back otherwise.
    /// SQLite takes the write lock at once (`BEGIN IMMEDIATE`), so a transaction never fails
    /// half-way for want of it.
    pub fn transaction<T, E: From<DbError>>(
        &mut self,
        work: impl FnOnce(&mut Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        let begin = match self.dialect() {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        };
        if let Err(e) = self.batch(begin) {
            // BEGIN does nothing, so on a connection found dead it is simply sent again on a
            // new one: a transaction never fails for a database restart that came before it.
            if !self.is_lost() {
                return Err(e.into());
            }
            self.batch(begin)?;
        }
        self.set_in_transaction(true);
        let result = work(self);
        self.set_in_transaction(false);
        match result {
            Ok(value) => {
                self.batch("COMMIT")?;
                Ok(value)
            }
            Err(e) => {
                // The transaction's own error is the one to report; a failed rollback (the
                // connection is gone) leaves nothing committed either.
                let _ = self.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Whether this is a PostgreSQL connection known to be broken.
    fn is_lost(&self) -> bool {
        matches!(&self.backend, Backend::Postgres(pg) if pg.client.is_closed())
    }

    fn set_in_transaction(&mut self, inside: bool) {
        if let Backend::Postgres(pg) = &mut self.backend {
            pg.in_transaction = inside;
        }
    }
}

fn postgres_params<'a>(params: &'a [Value<'_>]) -> Vec<&'a (dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|v| v as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

impl PostgresConnection {
    /// Runs `statement`, and when it is a read outside a transaction, once more on a new
    /// connection if the old one turns out to be lost (the server restarted or failed over):
    /// a read has no effect to repeat. The sync client notices a dead socket only when it
    /// next uses it, so without this the first read after every database restart would fail.
    /// A write that meets a lost connection fails: whether it took effect is unknown.
    fn retrying<T>(
        &mut self,
        read_only: bool,
        mut statement: impl FnMut(&mut Self) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        match statement(self) {
            Err(e) if read_only && !self.in_transaction && self.client.is_closed() => {
                tracing::warn!("PostgreSQL connection lost ({e}); reconnecting");
                statement(self)
            }
            other => other,
        }
    }

    fn reconnect_if_closed(&mut self) -> Result<(), DbError> {
        if self.client.is_closed() {
            self.statements.clear();
            self.client = self.config.connect(postgres::NoTls)?;
        }
        Ok(())
    }

    fn prepare(&mut self, sql: &str) -> Result<postgres::Statement, DbError> {
        self.reconnect_if_closed()?;
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(&dollar_parameters(sql))?;
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

/// `?1` → `$1`, outside string literals and quoted identifiers.
pub fn dollar_parameters(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    out.push(c);
                }
                '?' if chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
                _ => out.push(c),
            },
        }
    }
    out
}

fn sqlite_value(
    value: rusqlite::types::ValueRef<'_>,
    index: usize,
) -> Result<Value<'static>, DbError> {
    use rusqlite::types::ValueRef;
    Ok(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(v) => Value::Int(v),
        ValueRef::Real(v) => Value::Real(v),
        ValueRef::Text(v) => match std::str::from_utf8(v) {
            Ok(text) => Value::Text(Cow::Owned(text.to_string())),
            Err(_) => {
                return Err(DbError::Type {
                    column: index,
                    expected: "UTF-8 text",
                    found: "bytes that are not UTF-8",
                });
            }
        },
        ValueRef::Blob(v) => Value::Blob(Cow::Owned(v.to_vec())),
    })
}

fn postgres_row(row: &postgres::Row) -> Result<Row, DbError> {
    use postgres::types::Type;
    let mut values = Vec::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = match *ty {
            Type::INT8 => row.try_get::<_, Option<i64>>(index)?.map(Value::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(index)?
                .map(|v| Value::Int(v.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(index)?
                .map(|v| Value::Int(v.into())),
            Type::FLOAT8 => row.try_get::<_, Option<f64>>(index)?.map(Value::Real),
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(index)?
                .map(|v| Value::Real(v.into())),
            Type::BOOL => row.try_get::<_, Option<bool>>(index)?.map(Value::Bool),
            Type::BYTEA => row
                .try_get::<_, Option<Vec<u8>>>(index)?
                .map(|v| Value::Blob(Cow::Owned(v))),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => row
                .try_get::<_, Option<String>>(index)?
                .map(|v| Value::Text(Cow::Owned(v))),
            _ => {
                return Err(DbError::UnsupportedType {
                    column: index,
                    type_name: ty.name().to_string(),
                });
            }
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_renumbered_outside_quotes_only() {
        assert_eq!(
            dollar_parameters("SELECT '?1', \"a?2\" FROM t WHERE a = ?1 AND b = ?12"),
            "SELECT '?1', \"a?2\" FROM t WHERE a = $1 AND b = $12"
        );
        // A lone question mark is not a parameter.
        assert_eq!(dollar_parameters("SELECT ? "), "SELECT ? ");
    }

    #[test]
    fn values_cross_sqlite_and_come_back_typed() {
        let mut c = Connection::sqlite(rusqlite::Connection::open_in_memory().expect("open"));
        c.batch("CREATE TABLE t (i INTEGER, s TEXT, b BLOB, n INTEGER)")
            .expect("create");
        let blob = [1u8, 2, 3];
        let none: Option<i64> = None;
        assert_eq!(
            c.execute(
                "INSERT INTO t VALUES (?1, ?2, ?3, ?4)",
                &values![7i64, "x", &blob[..], none]
            )
            .expect("insert"),
            1
        );
        let row = c
            .query_one("SELECT i, s, b, n, i = 7 FROM t", &[])
            .expect("row");
        assert_eq!(row.get::<i64>(0).expect("i"), 7);
        assert_eq!(row.get::<String>(1).expect("s"), "x");
        assert_eq!(row.get::<Vec<u8>>(2).expect("b"), blob);
        assert_eq!(row.get::<Option<i64>>(3).expect("n"), None);
        assert!(row.get::<bool>(4).expect("comparison"));
        let wrong = row.get::<i64>(1).expect_err("text is not an integer");
        assert_eq!(
            wrong.to_string(),
            "column 1: expected an integer, found text"
        );
    }

    #[test]
    fn a_failed_transaction_leaves_nothing() {
        let mut c = Connection::sqlite(rusqlite::Connection::open_in_memory().expect("open"));
        c.batch("CREATE TABLE t (i INTEGER)").expect("create");
        let result: Result<(), DbError> = c.transaction(|tx| {
            tx.execute("INSERT INTO t VALUES (1)", &[])?;
            Err(DbError::NoRow)
        });
        assert!(result.is_err());
        let count: i64 = c
            .query_one("SELECT COUNT(*) FROM t", &[])
            .and_then(|r| r.get(0))
            .expect("count");
        assert_eq!(count, 0);
    }
}
