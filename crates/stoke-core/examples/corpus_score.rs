//! Scores the default playbook's classifier on labelled corpus files (the format of
//! `tests/corpus/README.md`): intent and interest accuracy per file, and with `--misses` every
//! line it got wrong with the evidence it used. For tuning lexicons on a tuning set; a blind set
//! is only ever scored, never read with `--misses`.
//!
//! With `--rules`, it also prints how often each evidence rule agreed with the labels over all
//! the files: an `intent.X` rule when the line's intent is X, an `interest.X` rule when X is
//! among its interests.
//!
//! `cargo run -p stoke-core --example corpus_score -- [--misses] [--rules] FILE.jsonl...`

use stoke_core::playbook::Playbook;
use stoke_core::text::Analyzer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let misses = args.iter().any(|a| a == "--misses");
    let rules = args.iter().any(|a| a == "--rules");
    args.retain(|a| a != "--misses" && a != "--rules");
    // Per evidence rule: (lines it agreed with the labels on, lines it fired on).
    let mut rule_counts: std::collections::BTreeMap<&'static str, (u32, u32)> =
        std::collections::BTreeMap::new();
    if args.is_empty() {
        return Err("usage: corpus_score [--misses] [--rules] FILE.jsonl...".into());
    }
    let playbook = Playbook::default_playbook().map_err(|e| format!("{e:?}"))?;
    let analyzer = Analyzer::new(&playbook).map_err(|e| e.to_string())?;
    for path in &args {
        let (mut intent_ok, mut interests_ok, mut opt_out_wrong, mut lines) = (0, 0, 0, 0);
        let mut wrong = Vec::new();
        for (i, line) in std::fs::read_to_string(path)?.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let row: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("{path}:{}: {e}", i + 1))?;
            let text = row["text"].as_str().unwrap_or_default();
            let want_intent = row["intent"].as_str().unwrap_or_default();
            let want_opt_out = row["opt_out"].as_bool().unwrap_or_default();
            let mut want: Vec<&str> = row["interests"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
                .unwrap_or_default();
            want.sort_unstable();
            let got = analyzer.classify(text, None);
            let mut interests = got.interests.clone();
            interests.sort_unstable();
            let evidence: Vec<String> = got
                .evidence
                .iter()
                .map(|e| format!("{}={}", e.rule, e.matched))
                .collect();
            lines += 1;
            let mut fired: Vec<&'static str> = got.evidence.iter().map(|e| e.rule).collect();
            fired.sort_unstable();
            fired.dedup();
            for rule in fired {
                let mut parts = rule.split('.');
                let agreed = match (parts.next(), parts.next()) {
                    (Some("intent"), Some(tier)) => tier == want_intent,
                    (Some("interest"), Some(interest)) => want.contains(&interest),
                    _ => continue,
                };
                let counts = rule_counts.entry(rule).or_default();
                counts.0 += u32::from(agreed);
                counts.1 += 1;
            }
            if got.intent.as_str() == want_intent {
                intent_ok += 1;
            } else {
                wrong.push(format!(
                    "  {}: intent {} want {want_intent}: {text}  {evidence:?}",
                    i + 1,
                    got.intent.as_str()
                ));
            }
            if got.opt_out != want_opt_out {
                opt_out_wrong += 1;
                wrong.push(format!(
                    "  {}: opt-out {} want {want_opt_out}: {text}  {evidence:?}",
                    i + 1,
                    got.opt_out
                ));
            }
            if interests == want {
                interests_ok += 1;
            } else {
                wrong.push(format!(
                    "  {}: interests {interests:?} want {want:?}: {text}  {evidence:?}",
                    i + 1
                ));
            }
        }
        let percent = |n: u32| 100.0 * f64::from(n) / f64::from(lines.max(1));
        println!(
            "{path}: intent {:.1}%, interests {:.1}% over {lines} messages, {opt_out_wrong} opt-out errors",
            percent(intent_ok),
            percent(interests_ok)
        );
        if misses {
            for w in wrong {
                println!("{w}");
            }
        }
    }
    if rules {
        for (rule, (agreed, fired)) in rule_counts {
            println!(
                "{rule}: agreed {agreed} of {fired} ({:.0}%)",
                100.0 * f64::from(agreed) / f64::from(fired)
            );
        }
    }
    Ok(())
}
