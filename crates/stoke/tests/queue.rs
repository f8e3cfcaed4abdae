//! `stoke queue` as a rep runs it: a real data directory, real imports, the JSON the dashboard
//! and integrators read.

mod common;
use common::{stoke, text};

const MESSAGES: &str = concat!(
    // A Saudi customer asks the price at 10:00 Riyadh: a quote is due by 11:00.
    r#"{"id":"a1","contact":"+966501234567","direction":"in","channel":"whatsapp","account":"wa-1","text":"كم السعر؟","at":"2026-11-23T07:00:00Z"}"#,
    "\n",
    // A Russian customer thanked us late yesterday and nobody answered: due at 08:00 Moscow.
    r#"{"id":"b1","contact":"+74951234567","direction":"out","channel":"whatsapp","account":"wa-1","text":"Новинки недели","at":"2026-11-16T08:00:00Z"}"#,
    "\n",
    r#"{"id":"b2","contact":"+74951234567","direction":"in","channel":"whatsapp","account":"wa-1","text":"спасибо","at":"2026-11-22T09:00:00Z"}"#,
    "\n",
    // An Egyptian customer opted out: never in a queue.
    r#"{"id":"c1","contact":"+201001234567","direction":"in","channel":"whatsapp","account":"wa-1","text":"STOP","at":"2026-11-22T09:00:00Z"}"#,
    "\n",
    // Refused: broadcast only.
    r#"{"id":"d1","contact":"+971501234567","direction":"in","channel":"whatsapp","account":"wa-1","text":"no thanks, not interested","at":"2026-11-22T09:00:00Z"}"#,
    "\n",
);

#[test]
fn the_queue_lists_what_is_due_most_valuable_first_as_json() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let file = dir.path().join("messages.jsonl");
    std::fs::write(&file, MESSAGES).expect("write");
    let out = stoke(&data, &["import", "messages", file.to_str().expect("path")]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = stoke(&data, &["queue", "--now", "2026-11-23T07:30:00Z", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let queue: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let items = queue.as_array().expect("an array");
    assert_eq!(items.len(), 2, "{queue:#}");
    let first = &items[0];
    assert_eq!(first["contact"]["phone"], "+966501234567");
    assert!(first["contact"]["id"].is_i64());
    assert!(first["contact"]["name"].is_string());
    assert_eq!(first["action"], "quote");
    assert_eq!(first["due"], "2026-11-23T08:00:00Z");
    assert_eq!(first["overdue"], false);
    assert!(
        first["reason"]
            .as_str()
            .expect("reason")
            .contains("intent high"),
        "{first}"
    );
    let second = &items[1];
    assert_eq!(second["contact"]["phone"], "+74951234567");
    assert_eq!(second["action"], "follow-up");
    assert_eq!(second["due"], "2026-11-23T05:00:00Z");
    assert_eq!(second["overdue"], true);
    assert!(first["priority"].as_u64() > second["priority"].as_u64());

    // Later the quote is overdue.
    let out = stoke(&data, &["queue", "--now", "2026-11-23T09:00:00Z", "--json"]);
    let queue: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(queue[0]["overdue"], true, "{queue:#}");

    // The table a rep reads.
    let out = stoke(&data, &["queue", "--now", "2026-11-23T09:00:00Z"]);
    let table = text(&out.stdout);
    assert!(table.contains("overdue"), "{table}");
    assert!(table.contains("! quote"), "{table}");
}

#[test]
fn an_unknown_agent_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let out = stoke(&data, &["queue", "--agent", "nobody@example.com"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--agent: no user with e-mail \"nobody@example.com\""),
        "{stderr}"
    );
    let out = stoke(&data, &["queue", "--now", "yesterday"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--now"), "{}", text(&out.stderr));
}

#[test]
fn a_segment_counts_its_contacts_and_names_its_mistakes() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let file = dir.path().join("messages.jsonl");
    std::fs::write(&file, MESSAGES).expect("write");
    let out = stoke(&data, &["import", "messages", file.to_str().expect("path")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let segment = |expr: &str| {
        stoke(
            &data,
            &["segment", expr, "--now", "2026-11-23T07:30:00Z", "--ids"],
        )
    };
    let out = segment("intent:high and active_within:7d and not opted_out");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[1].starts_with("1 of 4 contacts match"), "{stdout}");
    let out = segment("opted_out or intent:none");
    assert!(
        text(&out.stdout).contains("2 of 4 contacts match"),
        "{}",
        text(&out.stdout)
    );
    let out = segment("intent:hot");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("at character 1: intent:hot never holds"),
        "{}",
        text(&out.stderr)
    );
}
