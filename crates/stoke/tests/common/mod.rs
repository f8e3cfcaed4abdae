//! Running the `stoke` binary as a user does, shared by the CLI test files.
// Each test file uses the helpers it needs; the others would warn as unused.
#![allow(dead_code)]

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
