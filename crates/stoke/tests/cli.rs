//! The `stoke` binary as a user runs it: real files, a real data directory, real processes.

mod common;
use common::{stoke, stoke_stdin, text};

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn contacts_in(data: &Path) -> u64 {
    let out = stoke(data, &["stats"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("contacts "))
        .and_then(|n| n.trim().parse().ok())
        .expect("a contacts line")
}

const GOOD_AND_BAD: &str = "\
Name,Mobile,E-mail,Country,Tags,Customer Since
Ahmed Al-Harbi,050 123 4567,ahmed@example.com,SA,vip,2021-03-01
Olga Petrova,12345,olga@mail.ru,RU,,2022-01-10
John Smith,+1 212 555 0123,john@,US,,
Mona Adel,+20 10 1234 5678,,EG,wholesale;retail,
";

#[test]
fn a_file_with_bad_rows_imports_nothing_and_names_every_bad_line() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("contacts.csv");
    std::fs::write(&file, GOOD_AND_BAD).expect("write");
    let data = dir.path().join("data");
    let out = stoke(&data, &["import", "contacts", file.to_str().expect("path")]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "bad rows must fail the import");
    assert!(stderr.contains("line 3: Mobile: \"12345\""), "{stderr}");
    assert!(
        stderr.contains("line 4: E-mail: \"john@\" is not a valid e-mail address"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert_eq!(contacts_in(&data), 0);
}

#[test]
fn skip_invalid_imports_the_good_rows_and_a_reimport_changes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("contacts.csv");
    std::fs::write(&file, GOOD_AND_BAD).expect("write");
    let data = dir.path().join("data");
    let path = file.to_str().expect("path");
    let out = stoke(&data, &["import", "contacts", path, "--skip-invalid"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("line 3: Mobile"));
    assert!(
        text(&out.stdout).contains("2 created"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(contacts_in(&data), 2);

    let before = stoke(&data, &["export", "contacts", "--format", "jsonl"]);
    let again = stoke(&data, &["import", "contacts", path, "--skip-invalid"]);
    assert!(
        text(&again.stdout).contains("0 created, 0 updated, 2 unchanged, 0 merged"),
        "{}",
        text(&again.stdout)
    );
    let after = stoke(&data, &["export", "contacts", "--format", "jsonl"]);
    assert_eq!(text(&before.stdout), text(&after.stdout));

    let csv = text(&stoke(&data, &["export", "contacts"]).stdout);
    assert!(
        csv.lines()
            .next()
            .expect("header")
            .ends_with(",tags,customer_since"),
        "{csv}"
    );
    assert!(
        csv.contains("+966501234567"),
        "local numbers are stored in E.164: {csv}"
    );
    assert!(
        csv.contains("retail;wholesale") || csv.contains("wholesale;retail"),
        "{csv}"
    );
}

#[test]
fn an_export_reimported_elsewhere_is_the_same_workspace() {
    let dir = tempfile::tempdir().expect("dir");
    let sample = dir.path().join("sample");
    let out = stoke(
        dir.path(),
        &[
            "gen",
            "--contacts",
            "300",
            "--seed",
            "3",
            "--out",
            sample.to_str().expect("p"),
            "--now",
            "2026-11-20T10:00:00Z",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first = dir.path().join("first");
    for (kind, file) in [
        ("contacts", "contacts.csv"),
        ("messages", "messages.jsonl"),
        ("events", "events.jsonl"),
    ] {
        let out = stoke(
            &first,
            &["import", kind, sample.join(file).to_str().expect("p")],
        );
        assert!(out.status.success(), "{kind}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).is_empty(),
            "generated data is clean: {}",
            text(&out.stderr)
        );
    }
    let contacts = dir.path().join("contacts.csv");
    let messages = dir.path().join("messages.jsonl");
    assert!(
        stoke(
            &first,
            &["export", "contacts", "--out", contacts.to_str().expect("p")]
        )
        .status
        .success()
    );
    assert!(
        stoke(
            &first,
            &[
                "export",
                "messages",
                "--format",
                "jsonl",
                "--out",
                messages.to_str().expect("p")
            ]
        )
        .status
        .success()
    );

    let second = dir.path().join("second");
    for (kind, file) in [("contacts", &contacts), ("messages", &messages)] {
        let out = stoke(&second, &["import", kind, file.to_str().expect("p")]);
        assert!(out.status.success(), "{kind}: {}", text(&out.stderr));
    }
    assert_eq!(contacts_in(&first), contacts_in(&second));
    let a = text(&stoke(&first, &["export", "messages", "--format", "jsonl"]).stdout);
    let b = text(&stoke(&second, &["export", "messages", "--format", "jsonl"]).stdout);
    assert_eq!(a.lines().count(), b.lines().count());
    assert_eq!(a, b, "messages survive the round trip byte for byte");
}

#[test]
fn messages_are_stored_once_and_bad_lines_named() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let file = dir.path().join("messages.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"id":"m1","contact":"+966501234567","direction":"in","channel":"whatsapp","account":"wa-1","text":"كم السعر؟","at":"2026-11-20T10:15:00Z"}"#, "\n",
            "\n",
            r#"{"contact":"olga@mail.ru","direction":"out","channel":"email","text":"Здравствуйте","at":"2026-11-20T10:16:00+03:00"}"#, "\n",
            r#"{"id":"m1","contact":"+966501234567","direction":"in","channel":"whatsapp","account":"wa-1","text":"كم السعر؟","at":"2026-11-20T10:15:00Z"}"#, "\n",
        ),
    )
    .expect("write");
    let path = file.to_str().expect("p");
    let out = stoke(&data, &["import", "messages", path]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("2 stored, 1 already there, 2 new contacts"),
        "{}",
        text(&out.stdout)
    );
    let again = stoke(&data, &["import", "messages", path]);
    assert!(
        text(&again.stdout).contains("0 stored, 3 already there"),
        "{}",
        text(&again.stdout)
    );

    std::fs::write(&file, "{\"contact\":\"+966501234567\",\"direction\":\"in\",\"channel\":\"whatsapp\",\"text\":\"x\",\"at\":\"soon\"}\nnot json\n").expect("write");
    let bad = stoke(&data, &["import", "messages", path]);
    assert!(!bad.status.success());
    let stderr = text(&bad.stderr);
    assert!(stderr.contains("line 1: at:"), "{stderr}");
    assert!(stderr.contains("line 2: json:"), "{stderr}");
}

#[test]
fn events_import_with_exact_money() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let file = dir.path().join("events.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"id":"e1","contact":"+96550012345","type":"order","at":"2026-11-20T10:15:00Z","order_id":"K-1","amount":"0.345","currency":"KWD","lines":[{"sku":"CAT","name":"Cat food","quantity":3,"unit_price":"0.115"}]}"#, "\n",
            r#"{"id":"e2","contact":"+96550012345","type":"order","at":"2026-11-20T10:15:00Z","order_id":"K-2","amount":"0.3451","currency":"KWD"}"#, "\n",
        ),
    )
    .expect("write");
    let out = stoke(&data, &["import", "events", file.to_str().expect("p")]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr)
            .contains("line 2: amount: \"0.3451\" has more decimals than KWD allows (3)"),
        "{}",
        text(&out.stderr)
    );
    let out = stoke(
        &data,
        &[
            "import",
            "events",
            file.to_str().expect("p"),
            "--skip-invalid",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("1 stored"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn gen_is_deterministic() {
    let dir = tempfile::tempdir().expect("dir");
    let run = |name: &str| {
        let out_dir = dir.path().join(name);
        let out = stoke(
            dir.path(),
            &[
                "gen",
                "--contacts",
                "200",
                "--seed",
                "9",
                "--out",
                out_dir.to_str().expect("p"),
                "--now",
                "2026-11-20T10:00:00Z",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        ["contacts.csv", "messages.jsonl", "events.jsonl"]
            .map(|f| std::fs::read(out_dir.join(f)).expect("read"))
    };
    assert_eq!(run("a"), run("b"));
}

#[test]
fn the_database_url_is_checked() {
    let dir = tempfile::tempdir().expect("dir");
    let out = stoke(dir.path(), &["--database", "mysql://x", "stats"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("expected a sqlite:// or postgres:// URL"),
        "{}",
        text(&out.stderr)
    );
    let db = dir.path().join("elsewhere.db");
    let url = format!("sqlite://{}", db.display());
    assert!(
        stoke(dir.path(), &["--database", &url, "stats"])
            .status
            .success()
    );
    assert!(db.exists());
}

/// `stoke demo` from an empty data directory: generates, imports, serves, prints a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_its_data() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stoke"))
        .arg("--data")
        .arg(dir.path())
        .args(["demo", "--listen", "127.0.0.1:0", "--contacts", "150"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn demo");
    let stdout = child.stdout.take().expect("stdout");
    // Read the demo's output on a thread that keeps draining it, so the demo never writes to a
    // closed pipe.
    let (found, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut address = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(a) = line.strip_prefix("Stoke is running at ") {
                address = Some(a.trim().to_owned());
            }
            if let Some(t) = line.strip_prefix("API token (admin, shown once): ") {
                let _ = found.send((address.clone().unwrap_or_default(), t.trim().to_owned()));
            }
        }
    });
    let (address, token) = tokio::task::spawn_blocking(move || {
        receive.recv_timeout(std::time::Duration::from_secs(120))
    })
    .await
    .expect("join")
    .expect("the demo printed its address and token");
    assert!(address.starts_with("http://"), "{address}");
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{address}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let contacts: serde_json::Value = client
        .get(format!("{address}/api/v1/contacts?limit=5"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("contacts")
        .json()
        .await
        .expect("json");
    assert_eq!(contacts["items"].as_array().map(Vec::len), Some(5));
    let stats: serde_json::Value = client
        .get(format!("{address}/api/v1/stats"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["contacts"], 150);
    assert!(stats["messages"].as_u64().is_some_and(|n| n > 150));
    // The five generated agents and the demo's admin for the dashboard.
    assert_eq!(stats["users"], 6, "{stats}");
    // The day's queue is served, most valuable first.
    let queue: serde_json::Value = client
        .get(format!("{address}/api/v1/queue"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("queue")
        .json()
        .await
        .expect("json");
    let items = queue.as_array().expect("an array");
    assert!(!items.is_empty(), "{queue}");
    assert!(
        items
            .windows(2)
            .all(|w| w[0]["priority"].as_u64() >= w[1]["priority"].as_u64()),
        "{queue}"
    );
    child.kill().expect("stop demo");
    let _ = child.wait();
}

#[test]
fn classify_reads_json_lines_and_explains_itself() {
    let dir = tempfile::tempdir().expect("dir");
    let input = concat!(
        r#"{"id": "1", "text": "بكم هذا؟"}"#,
        "\n",
        r#"{"id": "2", "text": "сколько весит?", "lang": "ru"}"#,
        "\n",
        r#"{"id": "3", "text": "no thanks, not interested 🙏"}"#,
        "\n",
        r#"{"id": "4", "text": "STOP"}"#,
        "\n",
        "not json\n",
    );
    let out = stoke_stdin(dir.path(), &["classify"], input);
    assert!(!out.status.success(), "a bad line fails the run");
    assert!(
        text(&out.stderr).contains("stdin: line 5"),
        "{}",
        text(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 4, "every good line is answered");
    assert_eq!(
        (
            lines[0]["id"].as_str(),
            lines[0]["lang"].as_str(),
            lines[0]["intent"].as_str()
        ),
        (Some("1"), Some("ar"), Some("high"))
    );
    assert_eq!(lines[0]["evidence"][0]["rule"], "intent.high");
    assert_eq!(
        (
            lines[1]["intent"].as_str(),
            lines[1]["interests"][0].as_str()
        ),
        (Some("medium"), Some("function"))
    );
    assert_eq!(lines[2]["intent"], "none");
    assert_eq!(
        (lines[3]["intent"].as_str(), lines[3]["opt_out"].as_bool()),
        (Some("none"), Some(true))
    );
    let one = stoke(dir.path(), &["classify", "--text", "any promo code?"]);
    let v: serde_json::Value = serde_json::from_str(text(&one.stdout).trim()).expect("json");
    assert_eq!(v["interests"][0], "discount");
}

#[test]
fn the_playbook_is_shown_checked_and_used() {
    let dir = tempfile::tempdir().expect("dir");
    let shown = stoke(dir.path(), &["playbook", "show"]);
    assert!(shown.status.success());
    let playbook = text(&shown.stdout);
    assert!(playbook.contains("[intent.high]") && playbook.contains("[lexicon.ar]"));
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        playbook
            .replace(
                "downgrade_after = \"3d\"",
                "downgrade_after = \"three days\"",
            )
            .replace("per_minute = 12", "per_minute = 12\nper_minut = 12"),
    )
    .expect("write");
    let checked = stoke(
        dir.path(),
        &["playbook", "check", file.to_str().expect("p")],
    );
    assert!(!checked.status.success());
    let errors = text(&checked.stderr);
    assert!(
        errors.contains(
            "intent.downgrade_after: expected a duration like \"12h\", found \"three days\""
        ),
        "{errors}"
    );
    assert!(
        errors.contains("pacing.per_minut: is not a playbook setting"),
        "{errors}"
    );
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        playbook.lines().skip(1).collect::<Vec<_>>().join("\n"),
    )
    .expect("write");
    assert!(
        stoke(
            dir.path(),
            &["playbook", "check", good.to_str().expect("p")]
        )
        .status
        .success()
    );
    // A workspace playbook is the one in force, and a broken one stops commands that need it.
    std::fs::write(dir.path().join("playbook.toml"), "version = 1\n").expect("write");
    let broken = stoke(dir.path(), &["classify", "--text", "hi"]);
    assert!(!broken.status.success());
    assert!(
        text(&broken.stderr).contains("playbook.toml is not valid"),
        "{}",
        text(&broken.stderr)
    );
}

#[test]
fn tags_explain_themselves_and_reclassify_agrees() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let file = dir.path().join("messages.jsonl");
    let recent = |minutes: i64| {
        (jiff::Timestamp::now() - jiff::SignedDuration::from_mins(minutes)).to_string()
    };
    std::fs::write(
        &file,
        format!(
            "{}\n{}\n",
            serde_json::json!({"id": "a1", "contact": "+966501234567", "direction": "out", "channel": "whatsapp", "text": "New collection is here", "at": recent(30)}),
            serde_json::json!({"id": "a2", "contact": "+966501234567", "direction": "in", "channel": "whatsapp", "text": "كم السعر؟", "at": recent(10)}),
        ),
    )
    .expect("write");
    assert!(
        stoke(&data, &["import", "messages", file.to_str().expect("p")])
            .status
            .success()
    );
    let shown = text(&stoke(&data, &["contact", "show", "+966501234567"]).stdout);
    assert!(
        shown.contains("intent:high (red) by rule intent.high"),
        "{shown}"
    );
    assert!(
        shown.contains("activity:high (green) by rule activity.high"),
        "{shown}"
    );
    assert!(
        shown.contains("[message 2]"),
        "the evidence names the message: {shown}"
    );
    let out = stoke(&data, &["reclassify"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("reclassified 1 contacts"),
        "{}",
        text(&out.stdout)
    );
    let again = text(&stoke(&data, &["contact", "show", "+966501234567"]).stdout);
    let tags = |s: &str| {
        s.lines()
            .skip_while(|l| *l != "tags:")
            .take_while(|l| *l != "history:")
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        tags(&again),
        tags(&shown),
        "reclassify gives the tags incremental processing gave"
    );
    assert!(!stoke(&data, &["contact", "show", "999"]).status.success());
}

#[test]
fn contacts_import_from_json_lines() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let file = dir.path().join("contacts.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"Full Name": "Olga Petrova", "phone": ["+79161234567", "8 916 765-43-21"], "country": "RU", "tags": ["vip", "wholesale"], "loyalty points": 120}"#, "\n",
            "\n",
            r#"{"name": "Ahmed", "e-mail": "ahmed@example.com", "address": {"city": "Riyadh"}}"#, "\n",
            r#"{"name": "Mona", "mobile": "+201012345678", "notes": "Mona | prefers voice | max 2 per week"}"#, "\n",
        ),
    )
    .expect("write");
    let path = file.to_str().expect("p");
    let out = stoke(&data, &["import", "contacts", path]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("line 3: address: nested objects are not supported"),
        "{}",
        text(&out.stderr)
    );
    let out = stoke(&data, &["import", "contacts", path, "--skip-invalid"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("2 created"),
        "{}",
        text(&out.stdout)
    );
    let exported = text(&stoke(&data, &["export", "contacts", "--format", "jsonl"]).stdout);
    assert!(
        exported.contains("+79167654321"),
        "both phones of a list are kept: {exported}"
    );
    assert!(
        exported.contains("\"loyalty_points\":\"120\""),
        "{exported}"
    );
    assert!(
        exported.contains("\"tags\":[\"vip\",\"wholesale\"]"),
        "{exported}"
    );
    let mona = text(&stoke(&data, &["contact", "show", "+201012345678"]).stdout);
    assert!(mona.contains("Mona"), "{mona}");
}

/// `serve` picks up a changed DATA/playbook.toml without a restart, and keeps the rules in
/// force when the new file is invalid.
#[test]
fn serve_reloads_a_changed_playbook() {
    let dir = tempfile::tempdir().expect("dir");
    let default = text(&stoke(dir.path(), &["playbook", "show"]).stdout);
    let mut child = Command::new(env!("CARGO_BIN_EXE_stoke"))
        .arg("--data")
        .arg(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("STOKE_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let stderr = child.stderr.take().expect("stderr");
    let (lines, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let wait_for = |needle: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match receive.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        false
    };
    assert!(wait_for("serving"), "the server started");
    let playbook = dir.path().join("playbook.toml");
    std::fs::write(
        &playbook,
        default.replace(
            "colour = \"green\"\nfirst_touch_within",
            "colour = \"teal\"\nfirst_touch_within",
        ),
    )
    .expect("write");
    let reloaded = wait_for("playbook reloaded");
    std::fs::write(&playbook, "version = 1\n").expect("write");
    let refused = wait_for("was not loaded");
    child.kill().expect("stop serve");
    let _ = child.wait();
    assert!(reloaded, "a valid change is loaded");
    assert!(refused, "an invalid change is reported and not loaded");
}
