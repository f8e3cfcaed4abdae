//! Two `stoke serve` nodes on one PostgreSQL database during two broadcasts (SPEC 9): each
//! account is dispatched by one node at a time, one node is killed with SIGKILL mid-way, the
//! other takes its accounts over when their leases lapse, and the simulator's log (both nodes
//! append to it) shows no duplicate send and no lost recipient.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::postgres::{fresh_database, on, url_of};
use common::{check_broadcast, noon_zone, ok, simulator_sends};

fn node(database: &str, data: &Path, log: &Path, name: &str) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stoke"))
        .arg("--data")
        .arg(data)
        .arg("--database")
        .arg(url_of(database))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("STOKE_SIMULATOR_LOG", log)
        .env("STOKE_SIMULATOR_LATENCY_MS", "25")
        .env("STOKE_NODE", name)
        .env("STOKE_DISPATCH_LEASE_SECS", "4")
        .env("STOKE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let stderr = child.stderr.take().expect("stderr");
    let label = name.to_owned();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("WARN") || line.contains("ERROR") || line.contains("dispatching") {
                eprintln!("{label}: {line}");
            }
        }
    });
    child
}

#[test]
fn two_nodes_share_the_sending_and_survive_one_being_killed() {
    let Some(db) = fresh_database("stoke_two_nodes") else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let log = dir.path().join("simulator.jsonl");
    let n = 80;
    let zone = noon_zone();
    let mut csv = String::from("name,phone,language,timezone\n");
    for i in 0..n {
        csv.push_str(&format!(
            "Customer{i} Test,+96650{:07},{},{zone}\n",
            3_000_000 + i,
            ["ar", "ru", "en"][i % 3]
        ));
    }
    let file = dir.path().join("contacts.csv");
    std::fs::write(&file, csv).expect("write");
    ok(&on(
        &db.0,
        &data,
        &["import", "contacts", file.to_str().expect("path")],
    ));
    let mut broadcasts = Vec::new();
    for account in ["sim-a", "sim-b"] {
        ok(&on(
            &db.0,
            &data,
            &[
                "account",
                "add",
                "--channel",
                "simulator",
                "--name",
                account,
                "--per-minute",
                "300",
                "--per-hour",
                "100000",
                "--warmup",
                "off",
            ],
        ));
        let out = ok(&on(
            &db.0,
            &data,
            &[
                "broadcast",
                "create",
                "--name",
                account,
                "--audience",
                "all",
                "--account",
                account,
                "--text",
                &format!("News from {account} for {{{{ first_name }}}}"),
                "--start",
            ],
        ));
        broadcasts.push(out.lines().last().unwrap_or_default().trim().to_owned());
    }

    // node-1 starts alone and takes both accounts; node-2 joins while node-1's leases are live
    // and must wait; node-1 is killed mid-way and node-2 takes over when the leases lapse.
    let mut first = node(&db.0, &data, &log, "node-1");
    let wait_for = |sends: usize| {
        let started = Instant::now();
        while simulator_sends(&log).len() < sends {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "fewer than {sends} sends"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for(10);
    let mut second = node(&db.0, &data, &log, "node-2");
    wait_for(50);
    first.kill().expect("SIGKILL node-1");
    first.wait().expect("reap");

    let started = Instant::now();
    let reports: Vec<serde_json::Value> = loop {
        let reports: Vec<serde_json::Value> = broadcasts
            .iter()
            .map(|id| {
                let out = ok(&on(&db.0, &data, &["broadcast", "show", id, "--json"]));
                serde_json::from_str(out.lines().last().unwrap_or_default()).expect("json")
            })
            .collect();
        if reports.iter().all(|r| r["status"] == "completed") {
            break reports;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "never completed: {reports:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    second.kill().expect("stop node-2");
    second.wait().expect("reap");

    let sends = simulator_sends(&log);
    for (id, report) in broadcasts.iter().zip(&reports) {
        // Skipped ones are numbers the other broadcast found invalid, or contacts who answered
        // STOP meanwhile: the simulator's customers do both.
        check_broadcast(id, report, n as u64, &sends);
    }
}
