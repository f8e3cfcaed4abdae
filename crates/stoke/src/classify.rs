//! `stoke classify` and `stoke playbook`: the text classifier and the playbook, from the shell.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use stoke_core::playbook::{DEFAULT_TOML, Playbook};
use stoke_core::text::{Analyzer, Classification};

/// The playbook in force for a data directory: `playbook.toml` there, else the default.
pub fn effective_playbook(data: &Path) -> anyhow::Result<(Playbook, String, String)> {
    let path = data.join("playbook.toml");
    let (text, source) = if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        (text, path.display().to_string())
    } else {
        (DEFAULT_TOML.to_owned(), "the built-in default".to_owned())
    };
    let playbook = Playbook::parse(&text).map_err(|errors| {
        let listed: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
        anyhow::anyhow!("the playbook {source} is not valid:\n{}", listed.join("\n"))
    })?;
    Ok((playbook, text, source))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassifyLine {
    id: Option<serde_json::Value>,
    text: String,
    lang: Option<String>,
}

#[derive(Debug, Serialize)]
struct EvidenceOut<'a> {
    rule: &'a str,
    matched: &'a str,
}

#[derive(Debug, Serialize)]
struct ClassifyOut<'a> {
    id: serde_json::Value,
    lang: &'a str,
    intent: &'a str,
    interests: &'a [&'static str],
    sentiment: &'a str,
    opt_out: bool,
    evidence: Vec<EvidenceOut<'a>>,
}

fn write_result(
    out: &mut impl Write,
    id: serde_json::Value,
    c: &Classification,
) -> anyhow::Result<()> {
    let line = ClassifyOut {
        id,
        lang: &c.language,
        intent: c.intent.as_str(),
        interests: &c.interests,
        sentiment: c.sentiment.as_str(),
        opt_out: c.opt_out,
        evidence: c
            .evidence
            .iter()
            .map(|e| EvidenceOut {
                rule: e.rule,
                matched: &e.matched,
            })
            .collect(),
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Classifies `--text`, or every JSON line of stdin.
pub fn run(data: &Path, text: Option<String>, lang: Option<String>) -> anyhow::Result<ExitCode> {
    let (playbook, _, _) = effective_playbook(data)?;
    let analyzer = Analyzer::new(&playbook).map_err(|e| anyhow::anyhow!("{e}"))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if let Some(text) = text {
        let c = analyzer.classify(&text, lang.as_deref());
        write_result(&mut out, serde_json::Value::Null, &c)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut failed = false;
    for (i, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.context("while reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<ClassifyLine>(&line) {
            Ok(input) => {
                let c = analyzer.classify(&input.text, input.lang.as_deref().or(lang.as_deref()));
                write_result(&mut out, input.id.unwrap_or(serde_json::Value::Null), &c)?;
            }
            Err(err) => {
                failed = true;
                eprintln!("stdin: line {}: {err}", i + 1);
            }
        }
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `stoke playbook check FILE`.
pub fn check(file: &Path) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    match Playbook::parse(&text) {
        Ok(playbook) => match Analyzer::new(&playbook) {
            Ok(_) => {
                println!("{}: the playbook is valid", file.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                Ok(ExitCode::FAILURE)
            }
        },
        Err(errors) => {
            for e in &errors {
                eprintln!("{}: {e}", file.display());
            }
            eprintln!("{}: {} problems", file.display(), errors.len());
            Ok(ExitCode::FAILURE)
        }
    }
}
