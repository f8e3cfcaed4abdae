//! Classification throughput and the cost of one engine step, on the default playbook.
//! Run with `cargo bench -p stoke-core --bench engine` (scripts/bench does). Prints figures;
//! never decides pass or fail.

use std::hint::black_box;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use stoke_core::engine::{ContactState, EngineEvent, Rules, evaluate, step};
use stoke_core::planner::next_action;
use stoke_core::playbook::Playbook;
use stoke_core::{Contact, ContactId, Country, MessageId, Phone};

/// Realistic customer messages: the evaluation corpus's texts, all three languages.
fn texts() -> Vec<String> {
    let mut out = Vec::new();
    for language in ["ar", "ru", "en"] {
        let path = format!(
            "{}/tests/corpus/{language}.jsonl",
            env!("CARGO_MANIFEST_DIR")
        );
        let Ok(body) = std::fs::read_to_string(&path) else {
            continue;
        };
        for line in body.lines() {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
                && let Some(t) = v["text"].as_str()
            {
                out.push(t.to_owned());
            }
        }
    }
    out
}

fn main() {
    let playbook = match Playbook::default_playbook() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("the default playbook is invalid: {e:?}");
            return;
        }
    };
    let started = Instant::now();
    let rules = match Rules::new(playbook) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    };
    println!(
        "compile playbook and lexicons: {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let texts = texts();
    if texts.is_empty() {
        eprintln!("no corpus texts found");
        return;
    }

    // Warm up, then classify for about two seconds on one core.
    for t in &texts {
        black_box(rules.analyzer.classify(t, None));
    }
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed().as_secs_f64() < 2.0 {
        for t in &texts {
            black_box(rules.analyzer.classify(black_box(t), None));
        }
        n += texts.len() as u64;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "classify: {:.0} messages/s on one core ({n} messages, mean {:.1} µs)",
        n as f64 / secs,
        secs * 1e6 / n as f64
    );

    // One engine step per inbound message: fold, evaluate at now, diff against the tags.
    let now: Timestamp = "2026-11-20T10:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let mut state = ContactState::default();
    let mut tags = Vec::new();
    let mut durations = Vec::with_capacity(20_000);
    let mut snapshots = Vec::new();
    for i in 0..20_000i64 {
        if i % 10 == 0 {
            snapshots.push(state.clone());
        }
        if i % 7 == 3 {
            let touch = EngineEvent::Outbound {
                message: MessageId::new(1_000_000 + i),
                at: now + SignedDuration::from_mins(i) - SignedDuration::from_secs(30),
            };
            stoke_core::engine::apply(&mut state, &touch, &rules.analyzer, &rules.playbook);
        }
        let at = now + SignedDuration::from_mins(i);
        let event = EngineEvent::Inbound {
            message: MessageId::new(i),
            text: texts[i as usize % texts.len()].clone(),
            at,
        };
        let t0 = Instant::now();
        let (next, changes, _) = step(&state, &tags, &event, at, &rules.analyzer, &rules.playbook);
        durations.push(t0.elapsed().as_nanos() as f64 / 1e3);
        state = next;
        black_box(changes);
        tags = evaluate(&state, at, &rules.playbook).0;
    }
    durations.sort_by(f64::total_cmp);
    let median = durations[durations.len() / 2];
    let p99 = durations[durations.len() * 99 / 100];
    println!(
        "engine step (classify + fold + evaluate + diff): median {median:.1} µs, p99 {p99:.1} µs"
    );

    // The planner: one contact's next action at now (tiers, cadences, constraints), for a
    // contact whose country is known and one whose zone comes from the phone number.
    let mut known = Contact::new(ContactId::new(1), now);
    known.country = Country::parse("SA").ok();
    let mut from_phone = Contact::new(ContactId::new(2), now);
    from_phone
        .phones
        .extend(Phone::parse("+74951234567", None).ok());
    for (label, contact) in [("country known", &known), ("zone from phone", &from_phone)] {
        let mut durations = Vec::with_capacity(snapshots.len());
        for (i, s) in snapshots.iter().enumerate() {
            let at = now + SignedDuration::from_mins(i as i64 * 10 + 5);
            let t0 = Instant::now();
            black_box(next_action(contact, s, at, &rules.playbook));
            durations.push(t0.elapsed().as_nanos() as f64 / 1e3);
        }
        durations.sort_by(f64::total_cmp);
        println!(
            "planner next action ({label}): median {:.1} µs, p99 {:.1} µs",
            durations[durations.len() / 2],
            durations[durations.len() * 99 / 100]
        );
    }
}
