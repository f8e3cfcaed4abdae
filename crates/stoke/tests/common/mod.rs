//! Running the `stoke` binary as a user does, shared by the CLI test files.
// Each test file uses the helpers it needs; the others would warn as unused.
#![allow(dead_code)]

pub mod postgres;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `stoke --data DATA ARGS...` with no database URL from the environment.
pub fn stoke(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stoke"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("STOKE_DATABASE_URL")
        .output()
        .expect("run stoke")
}

/// The same, with `input` on standard input.
pub fn stoke_stdin(data: &Path, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stoke"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("STOKE_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run stoke");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The output of a command that must succeed, or a failure showing what it printed.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stoke failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// A fixed-offset zone where it is about noon now, so that quiet hours let messages through
/// whenever a test runs (quiet hours themselves are tested on the dispatcher's own clock).
pub fn noon_zone() -> String {
    let hour = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .hour();
    let offset = 12 - i32::from(hour);
    // IANA's Etc zones have the sign reversed: Etc/GMT-3 is three hours ahead of UTC.
    if offset >= 0 {
        format!("Etc/GMT-{offset}")
    } else {
        format!("Etc/GMT+{}", -offset)
    }
}

/// The simulator's log (`STOKE_SIMULATOR_LOG`): each idempotency key with how often it was
/// accepted, every line checked for the documented fields.
pub fn simulator_sends(log: &Path) -> std::collections::BTreeMap<String, usize> {
    let mut keys = std::collections::BTreeMap::new();
    let text = std::fs::read_to_string(log).unwrap_or_default();
    // A line still being written (no newline yet) is read on the next look.
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    for line in complete.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        for field in ["account", "to", "idempotency_key", "text", "at"] {
            assert!(v.get(field).is_some(), "{field} missing in {line}");
        }
        *keys
            .entry(v["idempotency_key"].as_str().expect("key").to_owned())
            .or_insert(0) += 1;
    }
    keys
}

/// Checks one finished broadcast's report (`broadcast show --json`) against the simulator's
/// log: every recipient counted once and none left queued, at most one in doubt, and what the
/// provider accepted is what the outbox says left, give or take the one in doubt. Returns how
/// many are in doubt.
pub fn check_broadcast(
    id: &str,
    report: &serde_json::Value,
    recipients: u64,
    sends: &std::collections::BTreeMap<String, usize>,
) -> u64 {
    let count = |k: &str| report["counts"][k].as_u64().expect("count");
    let total: u64 = [
        "queued",
        "sent",
        "delivered",
        "read",
        "failed",
        "skipped",
        "unknown",
        "cancelled",
    ]
    .iter()
    .map(|k| count(k))
    .sum();
    assert_eq!(total, recipients, "every recipient counted once: {report}");
    assert_eq!(count("queued"), 0, "{report}");
    let unknown = count("unknown");
    assert!(
        unknown <= 1,
        "at most one message per account in doubt: {report}"
    );
    let twice: Vec<_> = sends.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    // Failed ones are the simulator's invalid numbers: accepted, then reported undeliverable.
    let reached = count("sent") + count("delivered") + count("read") + count("failed");
    let in_log = sends
        .keys()
        .filter(|k| k.starts_with(&format!("broadcast-{id}-")))
        .count() as u64;
    assert!(
        reached <= in_log && in_log <= reached + unknown,
        "log {in_log} vs outbox {report}"
    );
    unknown
}
