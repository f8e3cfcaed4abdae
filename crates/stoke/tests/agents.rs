//! A workspace's agents as a user sets them up: `stoke admin create-user`, `stoke import users`,
//! contacts assigned to them by an `owner` column, the export that gives the owners back, and
//! `stoke gen --agents`. The binary runs against a temporary data directory.

mod common;
use common::{stoke, stoke_stdin, text};

use std::path::Path;
use std::process::Output;

/// Stdout and stderr together, for messages that may go to either.
fn said(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

fn ok(out: Output) -> Output {
    assert!(out.status.success(), "{}", said(&out));
    out
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A count from `stoke stats`.
fn count(data: &Path, what: &str) -> u64 {
    let out = ok(stoke(data, &["stats"]));
    text(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{what} ")))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {what} line"))
}

/// The stored password hash of a user, read from the database itself: no command prints it.
fn password_hash(data: &Path, email: &str) -> Option<String> {
    let conn =
        r2d2_sqlite::rusqlite::Connection::open(data.join("stoke.db")).expect("open database");
    conn.query_row(
        "SELECT password_hash FROM users WHERE email_key = ?1",
        [email.to_lowercase()],
        |r| r.get(0),
    )
    .expect("user row")
}

const PASSWORD: &str = "correct horse battery staple";

#[test]
fn create_user_stores_an_argon2id_hash_of_the_password_read_from_stdin() {
    use stoke_server::auth::Password;

    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let out = ok(stoke_stdin(
        &data,
        &[
            "admin",
            "create-user",
            "--email",
            "Layla@Shop.example",
            "--role",
            "manager",
            "--name",
            "Layla Haddad",
            "--team",
            "Gulf desk",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    ));
    let report = said(&out);
    assert!(report.contains("created manager"), "{report}");
    assert!(report.contains("the new team \"Gulf desk\""), "{report}");
    assert!(report.contains("password set"), "{report}");
    assert!(!report.contains(PASSWORD), "the password is never printed");

    let hash = password_hash(&data, "layla@shop.example").expect("a password hash");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
    let attempt = |p: &str| Password::attempt(p.to_owned()).expect("attempt");
    assert!(
        attempt(PASSWORD).verify(&hash),
        "the hash verifies the password"
    );
    assert!(!attempt("correct horse battery stapler").verify(&hash));

    // A second user of the same team joins it rather than creating another.
    let out = ok(stoke(
        &data,
        &[
            "admin",
            "create-user",
            "--email",
            "omar@shop.example",
            "--role",
            "agent",
            "--team",
            "Gulf desk",
        ],
    ));
    let report = said(&out);
    assert!(report.contains("in team \"Gulf desk\""), "{report}");
    assert!(report.contains("cannot log in yet"), "{report}");
    assert_eq!(password_hash(&data, "omar@shop.example"), None);
    assert_eq!(count(&data, "users"), 2);
}

#[test]
fn create_user_refuses_a_taken_email_and_a_weak_password() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let create = |email: &str, input: Option<&str>| {
        let mut args = vec!["admin", "create-user", "--email", email, "--role", "agent"];
        if input.is_some() {
            args.push("--password-stdin");
        }
        stoke_stdin(&data, &args, input.unwrap_or(""))
    };
    ok(create("ann@shop.example", None));

    let out = create("ANN@shop.example", Some(&format!("{PASSWORD}\n")));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("a user with this e-mail already exists"),
        "{}",
        said(&out)
    );

    for (input, expected) in [
        ("\n", "is empty"),
        ("", "is empty"),
        ("short\n", "at least 10"),
    ] {
        let out = create("bob@shop.example", Some(input));
        assert!(!out.status.success(), "{input:?} was accepted");
        assert!(text(&out.stderr).contains(expected), "{}", said(&out));
    }
    let out = create("not-an-email", None);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--email"), "{}", said(&out));
    assert_eq!(count(&data, "users"), 1, "nothing was created by a refusal");
}

const USERS: &str = "\
email,name,role,team
ann@shop.example,Ann Lee,agent,Gulf desk
bob@shop.example,Bob Stone,,Gulf desk
cid@shop.example,Cid Park,manager,Russian desk
dan@shop.example,Dan Roe,agent,
";

#[test]
fn users_import_is_idempotent_and_names_bad_lines() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let file = dir.path().join("users.csv");
    std::fs::write(
        &file,
        format!("{USERS}not-an-email,X,agent,\neve@shop.example,Eve,boss,\nann@shop.example,Ann again,agent,\n"),
    )
    .expect("write");
    let out = stoke(&data, &["import", "users", path(&file)]);
    assert!(!out.status.success(), "bad rows fail the import");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("line 6: email:"), "{stderr}");
    assert!(
        stderr.contains("line 7: role: \"boss\" is not a role"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 8: email: ann@shop.example is already on line 2"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert_eq!(count(&data, "users"), 0);

    std::fs::write(&file, USERS).expect("write");
    let out = ok(stoke(&data, &["import", "users", path(&file)]));
    assert!(
        text(&out.stdout).contains("4 created, 0 already there (left as they are), 2 new teams"),
        "{}",
        said(&out)
    );
    // Again, with one user changed in the file: an existing e-mail is left as it is.
    std::fs::write(&file, USERS.replace("Bob Stone,,", "Robert Stone,admin,")).expect("write");
    let out = ok(stoke(&data, &["import", "users", path(&file)]));
    assert!(
        text(&out.stdout).contains("0 created, 4 already there (left as they are), 0 new teams"),
        "{}",
        said(&out)
    );
    assert_eq!(count(&data, "users"), 4);

    let bad_header = dir.path().join("no-header.csv");
    std::fs::write(&bad_header, "ann@shop.example,Ann,agent,Gulf\n").expect("write");
    let out = stoke(&data, &["import", "users", path(&bad_header)]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("line 1"), "{}", said(&out));
}

/// Imports `USERS` into a data directory.
fn with_users(dir: &Path, data: &Path) {
    let file = dir.join("users.csv");
    std::fs::write(&file, USERS).expect("write");
    ok(stoke(data, &["import", "users", path(&file)]));
}

#[test]
fn contacts_import_assigns_owners_and_refuses_unknown_ones() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    with_users(dir.path(), &data);
    let file = dir.path().join("contacts.csv");
    std::fs::write(
        &file,
        "\
name,phone,owner
Ahmed,+966501234567,ANN@shop.example
Olga,+79161234567,zed@shop.example
Mona,+201012345678,
John,+12125550123,bob@shop.example
",
    )
    .expect("write");
    let out = stoke(&data, &["import", "contacts", path(&file)]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("line 3: owner: no user with e-mail zed@shop.example; create it with `stoke admin create-user` or `stoke import users`"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert_eq!(count(&data, "contacts"), 0);

    let out = ok(stoke(
        &data,
        &["import", "contacts", path(&file), "--skip-invalid"],
    ));
    assert!(text(&out.stdout).contains("3 created"), "{}", said(&out));
    let csv = text(&ok(stoke(&data, &["export", "contacts"])).stdout);
    let owner_of = |phone: &str| -> String {
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let header = reader.headers().expect("header").clone();
        let (p, o) = (
            header.iter().position(|h| h == "phone").expect("phone"),
            header.iter().position(|h| h == "owner").expect("owner"),
        );
        reader
            .records()
            .map(|r| r.expect("record"))
            .find(|r| &r[p] == phone)
            .map(|r| r[o].to_owned())
            .expect("row")
    };
    assert_eq!(owner_of("+966501234567"), "ann@shop.example");
    assert_eq!(owner_of("+201012345678"), "");
    assert_eq!(owner_of("+12125550123"), "bob@shop.example");

    // JSON lines: an `owner` key reassigns; a row without one leaves the owner alone.
    let jsonl = dir.path().join("contacts.jsonl");
    std::fs::write(
        &jsonl,
        concat!(
            r#"{"phone": "+966501234567", "owner": "cid@shop.example"}"#,
            "\n",
            r#"{"phone": "+12125550123", "name": "John Smith"}"#,
            "\n",
            r#"{"phone": "+201012345678", "owner": "nobody"}"#,
            "\n",
        ),
    )
    .expect("write");
    let out = stoke(&data, &["import", "contacts", path(&jsonl)]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("line 3: owner: \"nobody\" is not a valid e-mail address"),
        "{}",
        said(&out)
    );
    ok(stoke(
        &data,
        &["import", "contacts", path(&jsonl), "--skip-invalid"],
    ));
    let exported = text(&ok(stoke(&data, &["export", "contacts", "--format", "jsonl"])).stdout);
    let owners: Vec<Option<String>> = exported
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            v.get("owner").and_then(|o| o.as_str()).map(str::to_owned)
        })
        .collect();
    assert_eq!(
        owners,
        vec![
            Some("cid@shop.example".to_owned()),
            None,
            Some("bob@shop.example".to_owned())
        ],
        "{exported}"
    );
}

#[test]
fn owners_survive_an_export_and_a_reimport_elsewhere() {
    let dir = tempfile::tempdir().expect("dir");
    let first = dir.path().join("first");
    with_users(dir.path(), &first);
    let file = dir.path().join("contacts.csv");
    std::fs::write(
        &file,
        "\
name,phone,email,owner
Ahmed,+966501234567,ahmed@example.com,ann@shop.example
Olga,+79161234567,,cid@shop.example
Mona,+201012345678,,
",
    )
    .expect("write");
    ok(stoke(&first, &["import", "contacts", path(&file)]));
    let exported = dir.path().join("export.csv");
    ok(stoke(
        &first,
        &["export", "contacts", "--out", path(&exported)],
    ));

    let second = dir.path().join("second");
    let out = stoke(&second, &["import", "contacts", path(&exported)]);
    assert!(
        !out.status.success(),
        "owners must exist before their contacts"
    );
    assert!(
        text(&out.stderr).contains("owner: no user"),
        "{}",
        said(&out)
    );
    with_users(dir.path(), &second);
    ok(stoke(&second, &["import", "contacts", path(&exported)]));
    let again = ok(stoke(&second, &["import", "contacts", path(&exported)]));
    assert!(
        text(&again.stdout).contains("0 created, 0 updated, 3 unchanged"),
        "{}",
        said(&again)
    );
    let a = text(&ok(stoke(&first, &["export", "contacts"])).stdout);
    let b = text(&ok(stoke(&second, &["export", "contacts"])).stdout);
    assert_eq!(a, b, "the same owners, the same contacts");
    assert!(a.contains("ann@shop.example") && a.contains("cid@shop.example"));
}

#[test]
fn gen_agents_writes_agents_and_owners_that_import_cleanly() {
    let dir = tempfile::tempdir().expect("dir");
    let generate = |name: &str, agents: &str| {
        let out_dir = dir.path().join(name);
        ok(stoke(
            dir.path(),
            &[
                "gen",
                "--contacts",
                "400",
                "--seed",
                "11",
                "--now",
                "2026-11-20T10:00:00Z",
                "--agents",
                agents,
                "--out",
                path(&out_dir),
            ],
        ));
        out_dir
    };
    let plain = generate("plain", "0");
    assert!(!plain.join("agents.csv").exists());
    let sample = generate("sample", "20");
    let agents = std::fs::read_to_string(sample.join("agents.csv")).expect("agents.csv");
    assert_eq!(agents.lines().next(), Some("email,name,role,team"));
    assert_eq!(agents.lines().count(), 21);
    let contacts = std::fs::read_to_string(sample.join("contacts.csv")).expect("contacts.csv");
    assert!(
        contacts.lines().next().expect("header").ends_with(",owner"),
        "{contacts}"
    );

    let data = dir.path().join("data");
    let out = ok(stoke(
        &data,
        &["import", "users", path(&sample.join("agents.csv"))],
    ));
    assert!(
        text(&out.stdout).contains("20 created, 0 already there (left as they are), 2 new teams"),
        "{}",
        said(&out)
    );
    let out = ok(stoke(
        &data,
        &["import", "contacts", path(&sample.join("contacts.csv"))],
    ));
    assert!(
        text(&out.stderr).is_empty(),
        "generated owners all exist: {}",
        said(&out)
    );
    assert_eq!(count(&data, "contacts"), 400);

    let exported = text(&ok(stoke(&data, &["export", "contacts"])).stdout);
    let mut reader = csv::Reader::from_reader(exported.as_bytes());
    let owner = reader
        .headers()
        .expect("header")
        .iter()
        .position(|h| h == "owner")
        .expect("owner column");
    let mut books: std::collections::BTreeMap<String, u32> = Default::default();
    for record in reader.records() {
        *books
            .entry(record.expect("record")[owner].to_owned())
            .or_default() += 1;
    }
    let unassigned = books.remove("").unwrap_or(0);
    assert!(
        (5..=40).contains(&unassigned),
        "about 5% unassigned: {unassigned}"
    );
    assert!(books.len() >= 15, "most agents have contacts: {books:?}");
    assert!(books.keys().all(|e| agents.contains(e.as_str())));
}

#[test]
fn tokens_act_for_a_user_and_never_carry_more_than_their_rights() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
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
    let out = stoke(
        &data,
        &[
            "admin",
            "create-token",
            "--name",
            "rep phone",
            "--user",
            "rep@example.com",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("created agent token"), "{stdout}");
    assert!(
        stdout.lines().last().is_some_and(|t| t.starts_with("stk_")),
        "{stdout}"
    );

    let out = stoke(
        &data,
        &["admin", "create-token", "--name", "x", "--role", "agent"],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--user: an agent token sees its user's contacts only"),
        "{}",
        text(&out.stderr)
    );
    let out = stoke(
        &data,
        &[
            "admin",
            "create-token",
            "--name",
            "x",
            "--role",
            "admin",
            "--user",
            "rep@example.com",
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("cannot carry more rights than its user"),
        "{}",
        text(&out.stderr)
    );
    let out = stoke(
        &data,
        &[
            "admin",
            "create-token",
            "--name",
            "x",
            "--user",
            "nobody@example.com",
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--user: no user"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn tokens_are_listed_and_revoked_and_the_playbook_set_for_the_workspace() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let out = ok(stoke(&data, &["admin", "create-token", "--name", "crm"]));
    let secret = text(&out.stdout).lines().last().expect("token").to_owned();
    let listed = text(&ok(stoke(&data, &["admin", "tokens"])).stdout);
    assert!(listed.contains("\tcrm\tadmin\t-\t"), "{listed}");
    assert!(!listed.contains(&secret), "never a secret");
    let id = listed.split('\t').next().expect("id").to_owned();
    let out = ok(stoke(&data, &["admin", "revoke-token", &id]));
    assert!(
        said(&out).contains("revoked admin token \"crm\""),
        "{}",
        said(&out)
    );
    assert!(text(&ok(stoke(&data, &["admin", "tokens"])).stdout).is_empty());
    let out = stoke(&data, &["admin", "revoke-token", &id]);
    assert!(!out.status.success(), "a second revocation finds nothing");

    // The workspace's playbook, kept in the database, wins over the default; a bad one is refused.
    let shown = text(&ok(stoke(&data, &["playbook", "show"])).stdout);
    assert!(shown.starts_with("# The playbook in force: the built-in default"));
    let default = shown.split_once('\n').expect("body").1;
    let file = dir.path().join("mine.toml");
    std::fs::write(&file, format!("# the Gulf desk's\n{default}")).expect("write");
    ok(stoke(&data, &["playbook", "set", path(&file)]));
    let shown = text(&ok(stoke(&data, &["playbook", "show"])).stdout);
    assert!(
        shown.contains("workspace") && shown.contains("# the Gulf desk's"),
        "{shown}"
    );
    std::fs::write(&file, "[activity]\nhigh_within = \"soon\"\n").expect("write");
    let out = stoke(&data, &["playbook", "set", path(&file)]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("mine.toml"),
        "{}",
        text(&out.stderr)
    );
    ok(stoke(&data, &["playbook", "unset"]));
    let shown = text(&ok(stoke(&data, &["playbook", "show"])).stdout);
    assert!(shown.starts_with("# The playbook in force: the built-in default"));
}
