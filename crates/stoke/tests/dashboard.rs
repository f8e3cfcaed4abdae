//! The dashboard end to end, in headless Chromium driven over WebDriver: `stoke demo` as a user
//! starts it, an agent logs in, works the first item of the queue, replies, sees the tag a
//! customer's message sets with its reason, switches to Arabic and sees the page mirrored, and
//! cannot open another agent's customer. Every page is photographed in every language into
//! `target/tmp/dashboard-screenshots/` for a person to look at.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/test` installs them). Without
//! `chromedriver` the test fails and says so: a browser test that passes without a browser
//! would prove nothing.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// A child process killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What `stoke demo` printed: where it listens, its logins and its API token.
struct Demo {
    base: String,
    admin: (String, String),
    agent: (String, String),
    token: String,
    _process: Running,
    _data: tempfile::TempDir,
}

fn start_demo() -> Demo {
    let data = tempfile::tempdir().expect("data dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_stoke"))
        .arg("--data")
        .arg(data.path())
        .args(["demo", "--contacts", "400", "--listen", "127.0.0.1:0"])
        .env_remove("STOKE_DATABASE_URL")
        // Simulated customers answer within seconds rather than minutes.
        .env("STOKE_SIMULATOR_SPEED", "20")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run stoke demo");
    let stdout = child.stdout.take().expect("stdout");
    let process = Running(child);
    let (mut base, mut admin, mut agent, mut token) = (None, None, None, None);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("demo output");
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Dashboard:", url, ..] => base = Some(url.trim_end_matches('/').to_owned()),
            ["admin", email, "password:", password] => {
                admin = Some((email.to_string(), password.to_string()))
            }
            ["agent", email, "password:", password] => {
                agent = Some((email.to_string(), password.to_string()))
            }
            ["API", "token", "(admin,", "shown", "once):", t] => token = Some(t.to_string()),
            ["Press", "Ctrl-C", ..] => break,
            _ => {}
        }
    }
    Demo {
        base: base.expect("the demo printed its address"),
        admin: admin.expect("the demo printed an admin login"),
        agent: agent.expect("the demo printed an agent login"),
        token: token.expect("the demo printed its API token"),
        _process: process,
        _data: data,
    }
}

/// chromedriver on a free port, and a headless Chromium session through it.
async fn browser() -> (Client, Running) {
    let driver = std::env::var("STOKE_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(&driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {driver} ({e}): the dashboard's browser tests need Chromium and \
                 chromedriver (apt-get install chromium chromium-driver; scripts/test does it)"
            )
        });
    let driver_process = Running(child);
    let mut options = json!({
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1280,900",
            "--lang=en-US",
        ]
    });
    if std::path::Path::new("/usr/bin/chromium").exists() {
        options["binary"] = json!("/usr/bin/chromium");
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    let started = Instant::now();
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => return (client, driver_process),
            Err(e) if started.elapsed() < Duration::from_secs(20) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("chromedriver did not start a browser session: {e}"),
        }
    }
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

async fn snap(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    assert!(png.len() > 1000, "{name}: an empty screenshot");
    std::fs::write(screenshots().join(format!("{name}.png")), png).expect("write screenshot");
}

async fn script(client: &Client, js: &str) -> serde_json::Value {
    client.execute(js, vec![]).await.expect("script")
}

async fn log_in(client: &Client, base: &str, (email, password): &(String, String)) {
    client.goto(&format!("{base}/today")).await.expect("open");
    assert!(
        client
            .current_url()
            .await
            .expect("url")
            .path()
            .starts_with("/login"),
        "a stranger is sent to the login"
    );
    client
        .find(Locator::Css("#email"))
        .await
        .expect("e-mail box")
        .send_keys(email)
        .await
        .expect("type");
    client
        .find(Locator::Css("#password"))
        .await
        .expect("password box")
        .send_keys(password)
        .await
        .expect("type");
    client
        .find(Locator::Css("#login"))
        .await
        .expect("button")
        .click()
        .await
        .expect("log in");
    client
        .wait()
        .for_element(Locator::Css("#queue-count"))
        .await
        .expect("today's page after logging in");
}

/// Chooses a language in the header's picker (it applies itself) and waits for the page.
async fn choose_language(client: &Client, code: &str) {
    let select = client
        .find(Locator::Css("#language"))
        .await
        .expect("language picker");
    select.select_by_value(code).await.expect("choose");
    let started = Instant::now();
    while script(client, "return document.documentElement.lang").await != json!(code) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no {code} page"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The admin API, for what a test needs to know or do behind the browser's back.
async fn api(
    demo: &Demo,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", demo.base))
        .bearer_auth(&demo.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("api");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_works_the_queue_replies_and_reads_in_arabic() {
    let demo = start_demo();
    let (client, _driver) = browser().await;
    let base = demo.base.clone();

    // Log in as the demo's agent: the day's queue, most valuable first.
    log_in(&client, &base, &demo.agent).await;
    let first = client
        .find(Locator::Css("#queue li.item a.open"))
        .await
        .expect("a first queue item");
    let href = first.attr("href").await.expect("attr").expect("href");
    let contact: i64 = href
        .trim_start_matches("/inbox/")
        .parse()
        .expect("a contact id");
    snap(&client, "en-today").await;

    // Work it: open the conversation and reply through the account.
    first.click().await.expect("open the conversation");
    client
        .wait()
        .for_element(Locator::Css("#reply"))
        .await
        .expect("the reply box");
    snap(&client, "en-conversation").await;
    client
        .find(Locator::Css("#reply"))
        .await
        .expect("reply box")
        .send_keys("Hello! The new collection is in: shall I send you the prices?")
        .await
        .expect("type");
    client
        .find(Locator::Css("#send"))
        .await
        .expect("send")
        .click()
        .await
        .expect("send");
    let queued = client
        .wait()
        .for_element(Locator::Css("#queued"))
        .await
        .expect("the reply is queued");
    assert!(queued.text().await.expect("text").contains("queued"));

    // The customer answers (as a provider's webhook would deliver it): the card shows the tag
    // their words set, with the rule and the message.
    let said = "How much is the price? I want to order today";
    let now = jiff::Timestamp::now().to_string();
    api(
        &demo,
        reqwest::Method::POST,
        "/api/v1/messages",
        Some(json!([{
            "id": format!("e2e-{contact}"),
            "contact": contact.to_string(),
            "direction": "in",
            "channel": "whatsapp",
            "account": "wa-sales-1",
            "text": said,
            "at": now,
        }])),
    )
    .await;
    client
        .goto(&format!("{base}/contacts/{contact}"))
        .await
        .expect("card");
    let tag = client
        .find(Locator::Css(r#"tr[data-tag="intent:high"]"#))
        .await
        .expect("the intent tag on the card");
    let why = tag.text().await.expect("text");
    assert!(why.contains("intent.high"), "the rule: {why}");
    assert!(why.contains(said), "the message that set it: {why}");
    snap(&client, "en-contact").await;

    // Another agent's customer cannot be opened.
    let users = api(&demo, reqwest::Method::GET, "/api/v1/users", None).await;
    let other = users
        .as_array()
        .expect("users")
        .iter()
        .filter(|u| u["role"] == "agent" && u["email"] != json!(demo.agent.0))
        .find_map(|u| u["email"].as_str().map(str::to_owned))
        .expect("another agent");
    let theirs = api(
        &demo,
        reqwest::Method::GET,
        &format!("/api/v1/contacts?owner={other}&limit=1"),
        None,
    )
    .await;
    let theirs = theirs["items"][0]["id"].as_i64().expect("their contact");
    let name = theirs_name(&demo, theirs).await;
    for path in [format!("/contacts/{theirs}"), format!("/inbox/{theirs}")] {
        client.goto(&format!("{base}{path}")).await.expect("open");
        client
            .find(Locator::Css("#problem"))
            .await
            .expect("a refusal");
        let page = client.source().await.expect("source");
        assert!(!page.contains(&name), "{path} shows {name}");
    }

    // The inbox and the search box.
    client.goto(&format!("{base}/inbox")).await.expect("inbox");
    client
        .find(Locator::Css("#conversations li"))
        .await
        .expect("conversations");
    snap(&client, "en-inbox").await;

    // Arabic: the whole layout mirrors (the brand moves to the right edge).
    client.goto(&format!("{base}/today")).await.expect("today");
    choose_language(&client, "ar").await;
    assert_eq!(
        script(&client, "return document.documentElement.dir").await,
        json!("rtl")
    );
    let mirrored = script(
        &client,
        "const r = document.querySelector('.brand').getBoundingClientRect(); \
         return r.left > window.innerWidth / 2;",
    )
    .await;
    assert_eq!(
        mirrored,
        json!(true),
        "the brand sits on the right in Arabic"
    );
    let heading = client
        .find(Locator::Css("h1"))
        .await
        .expect("heading")
        .text()
        .await
        .expect("text");
    assert_eq!(heading, "اليوم");
    let pages = [
        ("today", "/today".to_owned()),
        ("inbox", "/inbox".to_owned()),
        ("conversation", format!("/inbox/{contact}")),
        ("contact", format!("/contacts/{contact}")),
    ];
    for lang in ["ar", "ru"] {
        if lang != "ar" {
            choose_language(&client, lang).await;
        }
        for (page, path) in &pages {
            client.goto(&format!("{base}{path}")).await.expect("page");
            snap(&client, &format!("{lang}-{page}")).await;
        }
    }
    assert_eq!(
        script(&client, "return document.documentElement.dir").await,
        json!("ltr")
    );
    client.close().await.expect("close the browser");
}

async fn theirs_name(demo: &Demo, id: i64) -> String {
    let contact = api(
        demo,
        reqwest::Method::GET,
        &format!("/api/v1/contacts/{id}"),
        None,
    )
    .await;
    contact["name"].as_str().expect("name").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_reads_segments_as_they_type_and_watches_a_broadcast() {
    let demo = start_demo();
    let (client, _driver) = browser().await;
    let base = demo.base.clone();
    log_in(&client, &base, &demo.admin).await;
    for lang in ["en", "ar", "ru"] {
        choose_language(&client, lang).await;
        for (page, path) in [
            ("segments", "/segments"),
            ("broadcasts", "/broadcasts"),
            ("broadcast", "/broadcasts/1"),
        ] {
            client.goto(&format!("{base}{path}")).await.expect("page");
            snap(&client, &format!("{lang}-{page}")).await;
        }
    }
    choose_language(&client, "en").await;

    // The segment box counts as the admin types, without a reload.
    client
        .goto(&format!("{base}/segments"))
        .await
        .expect("page");
    client
        .find(Locator::Css("#segment-expr"))
        .await
        .expect("box")
        .send_keys("intent:high and not opted_out")
        .await
        .expect("type");
    let count = client
        .wait()
        .for_element(Locator::Css("#segment-count"))
        .await
        .expect("a live count")
        .text()
        .await
        .expect("text");
    assert!(count.contains(" of 400 contacts"), "{count}");

    // The demo's broadcast: its progress block refreshes itself while it runs.
    client
        .goto(&format!("{base}/broadcasts/1"))
        .await
        .expect("page");
    let status = client
        .find(Locator::Css("#broadcast-status"))
        .await
        .expect("status")
        .attr("data-status")
        .await
        .expect("attribute")
        .unwrap_or_default();
    assert!(
        ["running", "completed"].contains(&status.as_str()),
        "{status}"
    );
    client.close().await.expect("close the browser");
}
