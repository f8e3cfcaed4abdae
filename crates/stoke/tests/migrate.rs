//! `stoke migrate` from a SQLite workspace to a fresh PostgreSQL database on the local server
//! (`STOKE_TEST_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/postgres): everything
//! arrives, the target then serves the same data, and a second copy into it is refused.

mod common;
use common::postgres::{Database, admin, on, server};
use common::{stoke, text};

const MESSAGES: &str = concat!(
    r#"{"id":"a1","contact":"+966501234567","direction":"in","channel":"whatsapp","account":"wa-1","text":"كم السعر؟","at":"2026-11-20T07:00:00Z"}"#,
    "\n",
    r#"{"id":"a2","contact":"+966501234567","direction":"out","channel":"whatsapp","account":"wa-1","text":"249 ريال","at":"2026-11-20T07:10:00Z"}"#,
    "\n",
    r#"{"id":"b1","contact":"olga@mail.ru","direction":"in","channel":"email","account":"mail","text":"Спасибо, а гарантия есть?","at":"2026-11-19T09:00:00Z"}"#,
    "\n",
);

#[test]
fn a_workspace_moves_to_postgres_whole() {
    if std::env::var("STOKE_TEST_POSTGRES").as_deref() == Ok("skip") {
        eprintln!("SKIPPED: stoke migrate needs PostgreSQL (STOKE_TEST_POSTGRES=skip)");
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let messages = dir.path().join("messages.jsonl");
    std::fs::write(&messages, MESSAGES).expect("write");
    let out = stoke(
        &data,
        &["import", "messages", messages.to_str().expect("path")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = stoke(
        &data,
        &[
            "admin",
            "create-user",
            "--email",
            "rep@example.com",
            "--role",
            "agent",
            "--team",
            "Riyadh",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let name = format!(
        "stoke_migrate_{}_{:08x}",
        std::process::id(),
        fastrand_u32()
    );
    admin(&format!("CREATE DATABASE \"{name}\""));
    let _db = Database(name.clone());
    let target = server()
        .rsplit_once('/')
        .map(|(host, _)| format!("{host}/{name}"))
        .expect("a server URL with a path");
    let source = format!("sqlite://{}", data.join("stoke.db").display());
    let out = stoke(&data, &["migrate", "--from", &source, "--to", &target]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("moved every table"), "{stdout}");
    assert!(!stdout.contains("MISMATCH"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("messages") && l.contains(" 3  ")),
        "{stdout}"
    );

    // The target serves what the source held: the same export, byte for byte.
    let from = stoke(&data, &["export", "contacts", "--format", "jsonl"]);
    let to = on(&name, &data, &["export", "contacts", "--format", "jsonl"]);
    assert!(to.status.success(), "{}", text(&to.stderr));
    assert_eq!(text(&from.stdout), text(&to.stdout));
    // New rows get new ids after the copied ones.
    let more = dir.path().join("more.jsonl");
    std::fs::write(
        &more,
        r#"{"id":"c1","contact":"+201001234567","direction":"in","channel":"whatsapp","account":"wa-1","text":"hello","at":"2026-11-20T08:00:00Z"}"#,
    )
    .expect("write");
    let out = on(
        &name,
        &data,
        &["import", "messages", more.to_str().expect("path")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("1 stored"),
        "{}",
        text(&out.stdout)
    );

    // A second copy into a database that holds a workspace is refused.
    let out = stoke(&data, &["migrate", "--from", &source, "--to", &target]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("already holds a workspace"),
        "{}",
        text(&out.stderr)
    );
    let out = stoke(&data, &["migrate", "--from", &target, "--to", &source]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("other directions are not built yet"));
}

fn fastrand_u32() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
}
