//! Segment expressions: who a broadcast, a report or the segment box means.
//!
//! `intent:high and interest:discount and active_within:7d and not opted_out`
//!
//! ```text
//! expr      = term ("or" term)*
//! term      = factor ("and" factor)*
//! factor    = "not" factor | "(" expr ")" | predicate
//! predicate = FAMILY ":" VALUE        a tag the contact holds (intent:high, tag:vip)
//!           | "active_within:" DURATION   replied within (7d, 12h)
//!           | "opted_out"
//!           | "all"                    every contact
//! ```
//!
//! Words are case-insensitive; `&&`, `||` and `!` work too. Values of the engine's closed
//! families (intent, activity, temperature, stage, interest) are checked, so a typo is an error
//! rather than an empty audience; `tag:` names a static tag (the people's and imports').
//!
//! Evaluation runs on a [`SegmentIndex`]: one compressed bitmap (`roaring`) per tag value, and
//! the contacts' last replies bucketed by hour, so a compound segment over a million contacts is
//! a handful of bitmap operations, not a scan.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use jiff::{SignedDuration, Timestamp};
use roaring::RoaringBitmap;

use crate::playbook::{INTERESTS, parse_duration};
use crate::tag::TagFamily;

/// A parsed segment expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Tag {
        family: TagFamily,
        value: String,
    },
    /// Replied within this long of the moment the segment is evaluated at.
    ActiveWithin(SignedDuration),
    OptedOut,
    /// Every contact.
    All,
    Not(Box<Segment>),
    And(Vec<Segment>),
    Or(Vec<Segment>),
}

/// A problem in an expression, with the character position it was found at (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for SegmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.position, self.message)
    }
}

impl std::error::Error for SegmentError {}

/// Values the engine's closed families can take.
fn closed_values(family: TagFamily) -> Option<&'static [&'static str]> {
    match family {
        TagFamily::Intent => Some(&["high", "medium", "potential", "none"]),
        TagFamily::Activity => Some(&["high", "medium", "low", "dormant"]),
        TagFamily::Temperature => Some(&["hot", "warm", "cold"]),
        TagFamily::Stage => Some(&["attraction", "sale", "account"]),
        TagFamily::Interest => Some(&INTERESTS),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Open,
    Close,
    And,
    Or,
    Not,
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, SegmentError> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i + 1;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push((at, Token::Open));
                i += 1;
            }
            ')' => {
                out.push((at, Token::Close));
                i += 1;
            }
            '!' => {
                out.push((at, Token::Not));
                i += 1;
            }
            '&' | '|' => {
                if chars.get(i + 1) != Some(&c) {
                    return Err(SegmentError {
                        position: at,
                        message: format!("write {c}{c} (or \"and\"/\"or\")"),
                    });
                }
                out.push((at, if c == '&' { Token::And } else { Token::Or }));
                i += 2;
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '(' | ')' | '!' | '&' | '|')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let token = match word.to_lowercase().as_str() {
                    "and" => Token::And,
                    "or" => Token::Or,
                    "not" => Token::Not,
                    _ => Token::Word(word),
                };
                out.push((start + 1, token));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    next: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next).map(|(_, t)| t)
    }

    fn position(&self) -> usize {
        self.tokens.get(self.next).map_or(self.end, |(p, _)| *p)
    }

    fn fail<T>(&self, message: impl Into<String>) -> Result<T, SegmentError> {
        Err(SegmentError {
            position: self.position(),
            message: message.into(),
        })
    }

    fn expr(&mut self) -> Result<Segment, SegmentError> {
        let mut terms = vec![self.term()?];
        while self.peek() == Some(&Token::Or) {
            self.next += 1;
            terms.push(self.term()?);
        }
        Ok(if terms.len() == 1 {
            terms.swap_remove(0)
        } else {
            Segment::Or(terms)
        })
    }

    fn term(&mut self) -> Result<Segment, SegmentError> {
        let mut factors = vec![self.factor()?];
        while self.peek() == Some(&Token::And) {
            self.next += 1;
            factors.push(self.factor()?);
        }
        Ok(if factors.len() == 1 {
            factors.swap_remove(0)
        } else {
            Segment::And(factors)
        })
    }

    fn factor(&mut self) -> Result<Segment, SegmentError> {
        match self.peek().cloned() {
            Some(Token::Not) => {
                self.next += 1;
                Ok(Segment::Not(Box::new(self.factor()?)))
            }
            Some(Token::Open) => {
                self.next += 1;
                let inner = self.expr()?;
                if self.peek() != Some(&Token::Close) {
                    return self.fail("expected \")\"");
                }
                self.next += 1;
                Ok(inner)
            }
            Some(Token::Word(word)) => {
                let predicate = self.predicate(&word)?;
                self.next += 1;
                Ok(predicate)
            }
            Some(Token::Close) => self.fail("\")\" without its \"(\""),
            Some(Token::And | Token::Or) => {
                self.fail("expected a condition like intent:high before \"and\"/\"or\"")
            }
            None => {
                self.fail("the expression ends where a condition like intent:high was expected")
            }
        }
    }

    fn predicate(&self, word: &str) -> Result<Segment, SegmentError> {
        let lower = word.to_lowercase();
        if lower == "opted_out" {
            return Ok(Segment::OptedOut);
        }
        if lower == "all" {
            return Ok(Segment::All);
        }
        let Some((name, value)) = lower.split_once(':') else {
            return self.fail(format!(
                "{word:?} is not a condition: write family:value (intent:high, interest:discount, tag:vip), active_within:7d or opted_out"
            ));
        };
        if value.is_empty() {
            return self.fail(format!("{name}: needs a value"));
        }
        if name == "active_within" {
            return match parse_duration(value) {
                Some(d) if d > SignedDuration::ZERO => Ok(Segment::ActiveWithin(d)),
                _ => self.fail(format!(
                    "active_within:{value}: expected a duration like 7d or 12h"
                )),
            };
        }
        let family = if name == "tag" {
            TagFamily::Static
        } else {
            match name.parse::<TagFamily>() {
                Ok(f) if f != TagFamily::Static => f,
                _ => {
                    let families: Vec<&str> = TagFamily::ALL
                        .iter()
                        .filter(|f| **f != TagFamily::Static)
                        .map(|f| f.as_str())
                        .collect();
                    return self.fail(format!(
                        "{name:?} is not a tag family ({}, tag), active_within or opted_out",
                        families.join(", ")
                    ));
                }
            }
        };
        // Interests are written as the engine stores them; "new-product" reads as new_product.
        let value = if family == TagFamily::Interest {
            value.replace('-', "_")
        } else {
            value.to_owned()
        };
        if let Some(known) = closed_values(family)
            && !known.contains(&value.as_str())
        {
            return self.fail(format!(
                "{}:{value} never holds: {} is one of {}",
                family.as_str(),
                family.as_str(),
                known.join(", ")
            ));
        }
        Ok(Segment::Tag { family, value })
    }
}

impl Segment {
    /// Parses an expression; errors name the character where the problem is.
    pub fn parse(text: &str) -> Result<Segment, SegmentError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            end: text.chars().count() + 1,
            tokens,
            next: 0,
        };
        if parser.tokens.is_empty() {
            return parser.fail("the expression is empty: write a condition like intent:high");
        }
        let segment = parser.expr()?;
        if parser.next < parser.tokens.len() {
            return parser.fail("expected \"and\", \"or\" or the end of the expression");
        }
        Ok(segment)
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Tag { family, value } if *family == TagFamily::Static => {
                write!(f, "tag:{value}")
            }
            Segment::Tag { family, value } => write!(f, "{}:{value}", family.as_str()),
            Segment::ActiveWithin(d) => {
                let s = d.as_secs();
                match (s % 86_400, s % 3600, s % 60) {
                    (0, _, _) => write!(f, "active_within:{}d", s / 86_400),
                    (_, 0, _) => write!(f, "active_within:{}h", s / 3600),
                    (_, _, 0) => write!(f, "active_within:{}m", s / 60),
                    _ => write!(f, "active_within:{s}s"),
                }
            }
            Segment::OptedOut => f.write_str("opted_out"),
            Segment::All => f.write_str("all"),
            Segment::Not(inner) => write!(f, "not ({inner})"),
            Segment::And(parts) | Segment::Or(parts) => {
                let joiner = if matches!(self, Segment::And(_)) {
                    " and "
                } else {
                    " or "
                };
                f.write_str("(")?;
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(joiner)?;
                    }
                    write!(f, "{p}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// The contacts' tags, last replies and opt-outs as bitmaps of contact ids.
#[derive(Debug, Default, Clone)]
pub struct SegmentIndex {
    all: RoaringBitmap,
    tags: HashMap<(TagFamily, String), RoaringBitmap>,
    opted_out: RoaringBitmap,
    /// Last replies by the hour they fall in: the hour's contacts, and their exact moments for
    /// the one hour a cutoff falls inside.
    replies: BTreeMap<i64, (RoaringBitmap, Vec<(i64, u32)>)>,
}

/// A contact id the index can hold: ids are allocated from 1 and stay far below 2^32.
fn key(id: i64) -> Option<u32> {
    u32::try_from(id).ok()
}

impl SegmentIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many contacts the index holds.
    pub fn len(&self) -> u64 {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// How many contacts hold each tag value, by family then value: the distribution a
    /// dashboard charts.
    pub fn counts(&self) -> Vec<(TagFamily, &str, u64)> {
        let mut out: Vec<(TagFamily, &str, u64)> = self
            .tags
            .iter()
            .map(|((family, value), bitmap)| (*family, value.as_str(), bitmap.len()))
            .collect();
        out.sort();
        out
    }

    /// How many contacts hold one tag value.
    pub fn count(&self, family: TagFamily, value: &str) -> u64 {
        self.tags
            .get(&(family, value.to_owned()))
            .map_or(0, RoaringBitmap::len)
    }

    /// Adds a contact: its tags `(family, value)`, when it last replied, whether it opted out.
    /// Returns false (and adds nothing) for an id the index cannot hold.
    pub fn add<'a>(
        &mut self,
        id: i64,
        tags: impl IntoIterator<Item = (TagFamily, &'a str)>,
        last_reply: Option<Timestamp>,
        opted_out: bool,
    ) -> bool {
        let Some(k) = key(id) else {
            return false;
        };
        self.all.insert(k);
        for (family, value) in tags {
            match self.tags.get_mut(&(family, value.to_owned())) {
                Some(bitmap) => {
                    bitmap.insert(k);
                }
                None => {
                    let mut bitmap = RoaringBitmap::new();
                    bitmap.insert(k);
                    self.tags.insert((family, value.to_owned()), bitmap);
                }
            }
        }
        if let Some(at) = last_reply {
            let secs = at.as_second();
            let bucket = self
                .replies
                .entry(secs.div_euclid(3600))
                .or_insert_with(|| (RoaringBitmap::new(), Vec::new()));
            bucket.0.insert(k);
            bucket.1.push((secs, k));
        }
        if opted_out {
            self.opted_out.insert(k);
        }
        true
    }

    /// Removes a contact everywhere (before adding it again with what changed).
    pub fn remove(&mut self, id: i64) {
        let Some(k) = key(id) else {
            return;
        };
        if !self.all.remove(k) {
            return;
        }
        self.opted_out.remove(k);
        for bitmap in self.tags.values_mut() {
            bitmap.remove(k);
        }
        for (bitmap, moments) in self.replies.values_mut() {
            if bitmap.remove(k) {
                moments.retain(|(_, id)| *id != k);
            }
        }
    }

    /// The contacts the segment holds at `now`.
    pub fn evaluate(&self, segment: &Segment, now: Timestamp) -> RoaringBitmap {
        match segment {
            Segment::Tag { family, value } => self
                .tags
                .get(&(*family, value.clone()))
                .cloned()
                .unwrap_or_default(),
            Segment::OptedOut => self.opted_out.clone(),
            Segment::All => self.all.clone(),
            Segment::ActiveWithin(d) => self.replied_since(now.as_second() - d.as_secs()),
            Segment::Not(inner) => &self.all - self.evaluate(inner, now),
            Segment::And(parts) => {
                // Narrowest first: intersections shrink fastest.
                let mut sets: Vec<RoaringBitmap> =
                    parts.iter().map(|p| self.evaluate(p, now)).collect();
                sets.sort_by_key(RoaringBitmap::len);
                let mut sets = sets.into_iter();
                let mut acc = sets.next().unwrap_or_default();
                for s in sets {
                    if acc.is_empty() {
                        break;
                    }
                    acc &= s;
                }
                acc
            }
            Segment::Or(parts) => {
                let mut acc = RoaringBitmap::new();
                for p in parts {
                    acc |= self.evaluate(p, now);
                }
                acc
            }
        }
    }

    /// Contacts whose last reply is at or after `cutoff` (Unix seconds).
    fn replied_since(&self, cutoff: i64) -> RoaringBitmap {
        let first_hour = cutoff.div_euclid(3600);
        let mut acc = RoaringBitmap::new();
        for (hour, (bitmap, moments)) in self.replies.range(first_hour..) {
            if *hour == first_hour {
                acc.extend(
                    moments
                        .iter()
                        .filter(|(secs, id)| *secs >= cutoff && bitmap.contains(*id))
                        .map(|(_, id)| *id),
                );
            } else {
                acc |= bitmap;
            }
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Segment {
        Segment::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn error(text: &str) -> String {
        match Segment::parse(text) {
            Ok(s) => panic!("{text} parsed as {s}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_issue_s_audience_parses_with_and_binding_tighter_than_or() {
        let s = parse("intent:high and interest:discount and active_within:7d and not opted_out");
        assert_eq!(
            s.to_string(),
            "(intent:high and interest:discount and active_within:7d and not (opted_out))"
        );
        assert_eq!(
            parse("Intent:HIGH || intent:medium && !tag:vip").to_string(),
            "(intent:high or (intent:medium and not (tag:vip)))"
        );
        assert_eq!(
            parse("(intent:high or intent:medium) and interest:new-product").to_string(),
            "((intent:high or intent:medium) and interest:new_product)"
        );
    }

    #[test]
    fn mistakes_are_named_with_their_position() {
        assert_eq!(
            error("intent:hihg"),
            "at character 1: intent:hihg never holds: intent is one of high, medium, potential, none"
        );
        assert!(error("colour:red").starts_with("at character 1: \"colour\" is not a tag family"));
        assert_eq!(
            error("intent:high and"),
            "at character 16: the expression ends where a condition like intent:high was expected"
        );
        assert_eq!(error("(intent:high"), "at character 13: expected \")\"");
        assert_eq!(
            error("intent:high intent:low"),
            "at character 13: expected \"and\", \"or\" or the end of the expression"
        );
        assert!(error("active_within:soon").contains("expected a duration like 7d"));
        assert!(error("").contains("empty"));
        assert!(error("a & b").contains("write &&"));
        assert!(error("vip").contains("is not a condition"));
    }

    #[test]
    fn evaluation_follows_the_expression() {
        let now: Timestamp = "2026-11-20T10:00:00Z".parse().expect("time");
        let ago = |h: i64| now - SignedDuration::from_hours(h);
        let mut index = SegmentIndex::new();
        let hot = [
            (TagFamily::Intent, "high"),
            (TagFamily::Interest, "discount"),
        ];
        index.add(1, hot, Some(ago(2)), false);
        index.add(2, hot, Some(ago(24 * 8)), false);
        index.add(3, hot, Some(ago(1)), true);
        index.add(4, [(TagFamily::Intent, "medium")], Some(ago(1)), false);
        index.add(5, [(TagFamily::Static, "vip")], None, false);
        let ids_in = |index: &SegmentIndex, text: &str| -> Vec<u32> {
            index.evaluate(&parse(text), now).iter().collect()
        };
        let ids = |text: &str| ids_in(&index, text);
        assert_eq!(
            ids("intent:high and interest:discount and active_within:7d and not opted_out"),
            [1]
        );
        assert_eq!(ids("intent:high or intent:medium"), [1, 2, 3, 4]);
        assert_eq!(ids("not intent:high"), [4, 5]);
        assert_eq!(ids("tag:vip"), [5]);
        assert_eq!(ids("active_within:2h"), [1, 3, 4]);
        // The cutoff inside an hour is exact.
        assert_eq!(ids("active_within:90m"), [3, 4]);
        index.remove(3);
        assert_eq!(ids_in(&index, "intent:high"), [1, 2]);
        assert_eq!(ids_in(&index, "opted_out"), Vec::<u32>::new());
        assert_eq!(ids_in(&index, "all").len() as u64, index.len());
        assert_eq!(ids_in(&index, "all and not all"), Vec::<u32>::new());
        assert_eq!(index.len(), 4);
    }
}
