//! A PostgreSQL server for the tests that need one (`STOKE_TEST_POSTGRES_URL`, default
//! postgres://postgres@127.0.0.1:5432/postgres): databases created and dropped per test.

use std::path::Path;
use std::process::{Command, Output};

const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn server() -> String {
    std::env::var("STOKE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER.to_owned())
}

pub fn admin(sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&server(), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {}: {e}", server()));
        let driver = tokio::spawn(connection);
        client.batch_execute(sql).await.expect(sql);
        drop(client);
        let _ = driver.await;
    });
}

pub struct Database(pub String);

impl Drop for Database {
    fn drop(&mut self) {
        admin(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.0
        ));
    }
}

pub fn on(database: &str, data: &Path, args: &[&str]) -> Output {
    let base = server();
    let url = match base.rsplit_once('/') {
        Some((host, _)) => format!("{host}/{database}"),
        None => base,
    };
    Command::new(env!("CARGO_BIN_EXE_stoke"))
        .arg("--data")
        .arg(data)
        .arg("--database")
        .arg(url)
        .args(args)
        .output()
        .expect("run stoke")
}

/// The URL of a database on the test server.
pub fn url_of(database: &str) -> String {
    let base = server();
    match base.rsplit_once('/') {
        Some((host, _)) => format!("{host}/{database}"),
        None => base,
    }
}

/// Creates a database of a fresh name, dropped with the returned guard; `None` when the run
/// leaves PostgreSQL out (`STOKE_TEST_POSTGRES=skip`).
pub fn fresh_database(prefix: &str) -> Option<Database> {
    if std::env::var("STOKE_TEST_POSTGRES").as_deref() == Ok("skip") {
        eprintln!("SKIPPED: this test needs PostgreSQL (STOKE_TEST_POSTGRES=skip)");
        return None;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!("{prefix}_{}_{nanos:08x}", std::process::id());
    admin(&format!("CREATE DATABASE \"{name}\""));
    Some(Database(name))
}
