//! `stoke import whatsapp-chat` as a user runs it: exports on disk (a .txt, a .zip, a
//! folder), a real data directory, the binary.

mod common;
use common::{stoke, text};

use std::io::Write;
use std::path::Path;

use jiff::{SignedDuration, Timestamp, tz::TimeZone};

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// An Android export, in Dubai time, whose last messages were written minutes ago: the
/// customer (saved by number, so named by it) asks for a price.
fn recent_chat() -> String {
    let dubai = TimeZone::get("Asia/Dubai").expect("zone");
    let ago = |minutes: i64| {
        (Timestamp::now() - SignedDuration::from_mins(minutes))
            .to_zoned_datetime(dubai.clone())
            .strftime("%d/%m/%Y, %H:%M")
            .to_string()
    };
    let customer = "\u{202a}+971 50 123 4567\u{202c}";
    format!(
        "31/12/2023, 10:00 - Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them. Tap to learn more.\n\
         31/12/2023, 10:00 - Sara (Stoke): Welcome to Stoke Home! Our new collection is here.\n\
         {} - {customer}: Hi, how much is the grey sofa?\n\
         And can you deliver on Friday?\n\
         {} - Sara (Stoke): <Media omitted>\n\
         {} - {customer}: This message was deleted\n",
        ago(30),
        ago(20),
        ago(10),
    )
}

fn stats(data: &Path) -> String {
    let out = stoke(data, &["stats"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn a_chat_becomes_a_classified_contact_and_a_reimport_adds_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let file = dir.path().join("WhatsApp Chat with +971 50 123 4567.txt");
    // Written once: the zip below must hold the very same lines, even if a minute turns between.
    let chat = recent_chat();
    std::fs::write(&file, &chat).expect("write");

    // No --me: the file name names the customer, so the other author is the business.
    let out = stoke(&data, &["import", "whatsapp-chat", path(&file)]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}{stdout}", text(&out.stderr));
    assert!(
        stdout.contains("3 messages (1 from +971 50 123 4567, 2 from Sara (Stoke) (you: the file name names the other author)), 2 system lines skipped"),
        "{stdout}"
    );
    assert!(
        stdout.contains("contact +971501234567 (from the file name)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("times read in the contact's zone, Asia/Dubai (from country AE)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("3 stored, 0 already there, 1 new contacts"),
        "{stdout}"
    );

    let messages = text(&stoke(&data, &["export", "messages", "--format", "jsonl"]).stdout);
    let rows: Vec<serde_json::Value> = messages
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let summary: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["direction"].as_str().unwrap_or(""),
                r["text"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("out", "Welcome to Stoke Home! Our new collection is here."),
            (
                "in",
                "Hi, how much is the grey sofa?\nAnd can you deliver on Friday?"
            ),
            ("out", "<Media omitted>"),
        ]
    );
    assert_eq!(
        rows[0]["at"], "2023-12-31T06:00:00Z",
        "10:00 in Dubai is 06:00 UTC"
    );

    let shown = text(&stoke(&data, &["contact", "show", "+971501234567"]).stdout);
    assert!(
        shown.contains("intent:high (red) by rule intent.high"),
        "{shown}"
    );
    assert!(
        shown.contains("activity:high (green) by rule activity.high"),
        "{shown}"
    );

    let before = stats(&data);
    let again = stoke(&data, &["import", "whatsapp-chat", path(&file)]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("0 stored, 3 already there, 0 new contacts"),
        "{}",
        text(&again.stdout)
    );
    // The same chat shared as a zip (iOS names its text _chat.txt) is the same messages.
    let zip = dir.path().join("WhatsApp Chat - +971 50 123 4567.zip");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&zip).expect("zip"));
    writer
        .start_file(
            "_chat.txt",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .expect("entry");
    writer.write_all(chat.as_bytes()).expect("write entry");
    writer
        .start_file(
            "IMG-20240101-WA0001.jpg",
            zip::write::SimpleFileOptions::default(),
        )
        .expect("media");
    writer.write_all(b"\xff\xd8\xff").expect("media bytes");
    writer.finish().expect("finish");
    let zipped = stoke(&data, &["import", "whatsapp-chat", path(&zip)]);
    assert!(zipped.status.success(), "{}", text(&zipped.stderr));
    assert!(
        text(&zipped.stdout).contains("_chat.txt: 3 messages")
            && text(&zipped.stdout).contains("0 stored, 3 already there"),
        "{}",
        text(&zipped.stdout)
    );
    assert_eq!(stats(&data), before, "re-imports change nothing");
}

#[test]
fn dry_run_json_prints_the_entries_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let file = dir.path().join("chat.txt");
    std::fs::write(
        &file,
        "[31.12.23, 21:05:33] Lena Schmidt: \u{200e}Messages and calls are end-to-end encrypted.\n\
         [31.12.23, 21:05:40] Lena Schmidt: Is the table\nstill for sale?\n\
         \u{200e}[01.01.24, 10:00:01] Max: \u{200e}<attached: 00000012-PHOTO-2024-01-01.jpg>\n\
         garbage [ 99\n",
    )
    .expect("write");
    let out = stoke(
        &data,
        &[
            "import",
            "whatsapp-chat",
            path(&file),
            "--dry-run",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        concat!(
            r#"{"at":"2023-12-31T21:05:33","author":null,"text":"Messages and calls are end-to-end encrypted.","kind":"system"}"#,
            "\n",
            r#"{"at":"2023-12-31T21:05:40","author":"Lena Schmidt","text":"Is the table\nstill for sale?","kind":"text"}"#,
            "\n",
            r#"{"at":"2024-01-01T10:00:01","author":"Max","text":"<attached: 00000012-PHOTO-2024-01-01.jpg>\ngarbage [ 99","kind":"media"}"#,
            "\n",
        )
    );
    assert!(!data.exists(), "a dry run creates no database");

    // Lines before the first message are reported with the file and line; minutes only when
    // the file has no seconds.
    std::fs::write(
        &file,
        "exported by a backup tool\n03/01/2024, 10:00 - Priya: hi\n",
    )
    .expect("write");
    let out = stoke(
        &data,
        &[
            "import",
            "whatsapp-chat",
            path(&file),
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(
        text(&out.stdout),
        "{\"at\":\"2024-01-03T10:00\",\"author\":\"Priya\",\"text\":\"hi\",\"kind\":\"text\"}\n"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("chat.txt: line 1: not part of a message"),
        "{stderr}"
    );
    assert!(!data.exists());
}

#[test]
fn who_is_who_is_told_or_asked_for() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let chats = dir.path().join("chats");
    std::fs::create_dir(&chats).expect("dir");
    let one = chats.join("WhatsApp Chat with Ahmed.txt");
    std::fs::write(
        &one,
        "31/12/2023, 21:05 - Sara: Hello Ahmed\n31/12/2023, 21:06 - Ahmed: How much is it?\n",
    )
    .expect("write");
    std::fs::write(
        chats.join("WhatsApp Chat with +44 7911 123456.txt"),
        "31/12/2023, 21:05 - Sara: Hello\n31/12/2023, 21:07 - +44 7911 123456: Price please\n",
    )
    .expect("write");

    // One chat, a customer known only by name: the contact's number is needed.
    let out = stoke(&data, &["import", "whatsapp-chat", path(&one), "--dry-run"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains(
            "\"Ahmed\" is not a phone number and the file name has none; pass --contact +PHONE"
        ),
        "{}",
        text(&out.stderr)
    );
    // Without a name in the file name nothing tells the two authors apart.
    let bare = dir.path().join("chat.txt");
    std::fs::copy(&one, &bare).expect("copy");
    let out = stoke(
        &data,
        &["import", "whatsapp-chat", path(&bare), "--dry-run"],
    );
    assert!(
        text(&out.stderr).contains("cannot tell which of Sara and Ahmed is you: pass --me NAME"),
        "{}",
        text(&out.stderr)
    );
    let out = stoke(
        &data,
        &[
            "import",
            "whatsapp-chat",
            path(&bare),
            "--me",
            "sara",
            "--contact",
            "+971501234567",
            "--timezone",
            "Europe/Moscow",
            "--dry-run",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("1 from Ahmed, 1 from Sara (you)")
            && text(&out.stdout).contains("times read in Europe/Moscow (--timezone)"),
        "{}",
        text(&out.stdout)
    );

    // A folder: Sara writes in every chat, so she is the business; the chat whose customer
    // has no number fails alone and the command says so.
    let out = stoke(&data, &["import", "whatsapp-chat", path(&chats)]);
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("1 from +44 7911 123456, 1 from Sara (you: writes in every chat)"),
        "{stdout}"
    );
    assert!(stdout.contains("2 stored"), "{stdout}");
    assert!(
        text(&out.stderr).contains("pass --contact"),
        "{}",
        text(&out.stderr)
    );
    // Told the number, the chat imports, and the contact takes the name the chat shows.
    let out = stoke(
        &data,
        &[
            "import",
            "whatsapp-chat",
            path(&one),
            "--contact",
            "+971501234567",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&stoke(&data, &["contact", "show", "+971501234567"]).stdout);
    assert!(shown.starts_with("contact 2: Ahmed\n"), "{shown}");

    // A group chat has no single customer.
    let group = dir.path().join("group.txt");
    std::fs::write(
        &group,
        "31/12/2023, 21:05 - Sara: Hello all\n31/12/2023, 21:06 - Ann: hi\n31/12/2023, 21:07 - Bob: yo\n",
    )
    .expect("write");
    let out = stoke(
        &data,
        &[
            "import",
            "whatsapp-chat",
            path(&group),
            "--me",
            "Sara",
            "--dry-run",
        ],
    );
    assert!(
        text(&out.stderr).contains("group chats have no single customer"),
        "{}",
        text(&out.stderr)
    );
}
