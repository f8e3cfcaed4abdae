//! One e-mail as it leaves: the outbox's rendered text becomes the plain part as written, and
//! an HTML part is made from it (escaped by `html-escape`, paragraphs kept, every http(s) link
//! found by `linkify` rewritten into a signed click redirect, a 1x1 open pixel), with the
//! `List-Unsubscribe` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click` headers of
//! RFC 8058. Nothing here does IO: the message is built from its parts, so that tests read it.
//!
//! The subject comes from the text: a first line `Subject: ...` (in any template variant, with
//! its variables) is the subject and is taken out of the body; otherwise the first line is the
//! subject, shortened at a word.

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use sha2::{Digest, Sha256};
use stoke_core::template::MediaKind;
use stoke_store::outbox::Outbound;

use super::EmailSettings;
use super::tracking::{Link, Tracker};

/// The longest subject made from a first line, in characters (RFC 5322's 78-character lines,
/// less `Subject: `).
const SUBJECT_CHARS: usize = 68;

/// The parts of one e-mail, kept for the provider and the tests.
#[derive(Debug, Clone)]
pub struct Composed {
    pub message: lettre::Message,
    /// The `Message-ID` without angle brackets: the provider id receipts and tracking name.
    pub message_id: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a message cannot be built (the address or a header is not acceptable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ComposeError {
    pub field: &'static str,
    pub message: String,
}

/// The message's `Message-ID` (without brackets), derived from the outbox's idempotency key: a
/// retry of the same outbox message carries the same id, so a receiver that saw the first can
/// tell it is one message.
pub fn message_id(outbox_key: &str, from_address: &str) -> String {
    let digest = Sha256::digest(outbox_key.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let domain = from_address.rsplit('@').next().unwrap_or("stoke.invalid");
    format!("stoke.{hex}@{domain}")
}

/// The subject and the body: a first line `Subject: ...` is taken out as the subject;
/// otherwise the first non-empty line, shortened at a word, is the subject and the body is the
/// whole text.
pub fn split_subject(text: &str) -> (String, String) {
    let trimmed = text.trim_start_matches(['\n', '\r', ' ', '\t']);
    let (first, rest) = trimmed.split_once('\n').unwrap_or((trimmed, ""));
    if let Some(prefix) = first.get(..8)
        && prefix.eq_ignore_ascii_case("subject:")
    {
        let subject = first[8..].trim().to_owned();
        let body = rest.trim_start_matches(['\n', '\r']).to_owned();
        return (subject, body);
    }
    let first = first.trim();
    let subject = if first.chars().count() <= SUBJECT_CHARS {
        first.to_owned()
    } else {
        let cut: String = first.chars().take(SUBJECT_CHARS).collect();
        let at_word = match cut.rfind(char::is_whitespace) {
            Some(i) if i > SUBJECT_CHARS / 2 => cut[..i].trim_end().to_owned(),
            _ => cut,
        };
        format!("{at_word}…")
    };
    (subject, trimmed.to_owned())
}

/// Words of the footer in the message's language: (language, direction, unsubscribe).
fn footer_words(text: &str) -> (&'static str, &'static str, &'static str) {
    let languages = ["ar".to_owned(), "ru".to_owned(), "en".to_owned()];
    match stoke_core::text::detect_language(text, &languages, "en") {
        "ar" => ("ar", "rtl", "إلغاء الاشتراك"),
        "ru" => ("ru", "ltr", "Отписаться"),
        _ => ("en", "ltr", "Unsubscribe"),
    }
}

/// Escaped text with its http(s) links turned into anchors to `link(url)`.
fn linked(text: &str, link: &mut impl FnMut(&str) -> String) -> String {
    let mut finder = linkify::LinkFinder::new();
    finder.kinds(&[linkify::LinkKind::Url]);
    let mut out = String::with_capacity(text.len() + 64);
    for span in finder.spans(text) {
        let s = span.as_str();
        let is_web = span.kind().is_some() && {
            let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
            lower.starts_with("https://") || lower.starts_with("http://")
        };
        if is_web {
            out.push_str("<a href=\"");
            html_escape::encode_double_quoted_attribute_to_string(link(s), &mut out);
            out.push_str("\">");
            html_escape::encode_text_to_string(s, &mut out);
            out.push_str("</a>");
        } else {
            html_escape::encode_text_to_string(s, &mut out);
        }
    }
    out
}

/// The HTML part: paragraphs (blank lines) and line breaks of the text, links rewritten by
/// `link`, a footer with the unsubscribe link, and the open pixel last.
pub fn html_body(
    subject: &str,
    body: &str,
    mut link: impl FnMut(&str) -> String,
    unsubscribe_url: &str,
    pixel_url: &str,
) -> String {
    let (lang, dir, unsubscribe) = footer_words(body);
    let mut html = String::with_capacity(body.len() * 2 + 512);
    html.push_str("<!DOCTYPE html>\n<html lang=\"");
    html.push_str(lang);
    html.push_str("\" dir=\"");
    html.push_str(dir);
    html.push_str("\">\n<head><meta charset=\"utf-8\"><title>");
    html_escape::encode_text_to_string(subject, &mut html);
    html.push_str("</title></head>\n<body>\n");
    let normalised = body.replace("\r\n", "\n");
    let mut paragraph: Vec<&str> = Vec::new();
    let mut flush = |paragraph: &mut Vec<&str>, html: &mut String| {
        if paragraph.is_empty() {
            return;
        }
        html.push_str("<p>");
        for (i, line) in paragraph.iter().enumerate() {
            if i > 0 {
                html.push_str("<br>\n");
            }
            html.push_str(&linked(line, &mut link));
        }
        html.push_str("</p>\n");
        paragraph.clear();
    };
    for line in normalised.lines() {
        if line.trim().is_empty() {
            flush(&mut paragraph, &mut html);
        } else {
            paragraph.push(line);
        }
    }
    flush(&mut paragraph, &mut html);
    html.push_str("<p style=\"font-size:12px;color:#777777\"><a href=\"");
    html_escape::encode_double_quoted_attribute_to_string(unsubscribe_url, &mut html);
    html.push_str("\">");
    html.push_str(unsubscribe);
    html.push_str("</a></p>\n<img src=\"");
    html_escape::encode_double_quoted_attribute_to_string(pixel_url, &mut html);
    html.push_str("\" width=\"1\" height=\"1\" alt=\"\" style=\"border:0\">\n</body>\n</html>\n");
    html
}

/// The body's text with a media message's link, since an e-mail carries media by link here.
fn body_with_media(body: &str, message: &Outbound) -> String {
    match (&message.media_url, message.kind) {
        (Some(url), kind) if kind != MediaKind::Text => {
            if body.trim().is_empty() {
                url.clone()
            } else {
                format!("{}\n\n{url}", body.trim_end())
            }
        }
        _ => body.to_owned(),
    }
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

/// Builds the e-mail for an outbox message.
pub fn compose(
    settings: &EmailSettings,
    tracker: &Tracker,
    outbox_key: &str,
    message: &Outbound,
) -> Result<Composed, ComposeError> {
    let to: Mailbox = message.to.parse().map_err(|e| ComposeError {
        field: "to",
        message: format!("{:?} is not an e-mail address: {e}", message.to),
    })?;
    let from_address = settings.from_address.parse().map_err(|e| ComposeError {
        field: "from_address",
        message: format!("{e}"),
    })?;
    let from = Mailbox::new(settings.from_name.clone(), from_address);
    let message_id = message_id(outbox_key, &settings.from_address);
    let (subject, body) = split_subject(&message.text);
    let body = body_with_media(&body, message);
    let base = &settings.public_url;
    let url = |link: &Link| match link {
        Link::Open { .. } => format!("{base}/t/o/{}", tracker.sign(link)),
        Link::Click { .. } => format!("{base}/t/c/{}", tracker.sign(link)),
        Link::Unsubscribe { .. } => format!("{base}/u/{}", tracker.sign(link)),
    };
    let unsubscribe_url = url(&Link::Unsubscribe {
        message: message_id.clone(),
    });
    let pixel_url = url(&Link::Open {
        message: message_id.clone(),
    });
    let html = html_body(
        &subject,
        &body,
        |target| {
            url(&Link::Click {
                message: message_id.clone(),
                url: target.to_owned(),
            })
        },
        &unsubscribe_url,
        &pixel_url,
    );
    let list_unsubscribe = match &settings.unsubscribe_mailto {
        Some(mailto) => format!("<{unsubscribe_url}>, <mailto:{mailto}?subject=unsubscribe>"),
        None => format!("<{unsubscribe_url}>"),
    };
    let built = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(subject.clone())
        .message_id(Some(format!("<{message_id}>")))
        .raw_header(header("List-Unsubscribe", list_unsubscribe))
        .raw_header(header(
            "List-Unsubscribe-Post",
            "List-Unsubscribe=One-Click".into(),
        ))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(body.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html.clone()),
                ),
        )
        .map_err(|e| ComposeError {
            field: "message",
            message: e.to_string(),
        })?;
    Ok(Composed {
        message: built,
        message_id,
        subject,
        text: body,
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_come_from_a_subject_line_or_the_first_line() {
        let check = |text: &str, subject: &str, body: &str| {
            assert_eq!(
                split_subject(text),
                (subject.to_owned(), body.to_owned()),
                "{text:?}"
            );
        };
        check(
            "Subject: Your quote\n\nHello Ann,\nhere it is.",
            "Your quote",
            "Hello Ann,\nhere it is.",
        );
        check("subject:  Привет \nтекст", "Привет", "текст");
        check(
            "Hello Ann,\nhere it is.",
            "Hello Ann,",
            "Hello Ann,\nhere it is.",
        );
        let long = "word ".repeat(30);
        let (subject, _) = split_subject(&long);
        assert!(subject.ends_with('…') && subject.chars().count() <= SUBJECT_CHARS + 1);
    }

    #[test]
    fn the_html_part_escapes_and_links() {
        let html = html_body(
            "<Offer>",
            "Hi <b>Ann</b> & co,\nsee https://shop.example/discount?a=1&b=2.\n\nBye",
            |u| format!("https://t.example/c?u={u}"),
            "https://t.example/u/x",
            "https://t.example/o/x",
        );
        assert!(html.contains("<title>&lt;Offer&gt;</title>"), "{html}");
        assert!(
            html.contains("Hi &lt;b&gt;Ann&lt;/b&gt; &amp; co,<br>"),
            "{html}"
        );
        assert!(
            html.contains(
                "<a href=\"https://t.example/c?u=https://shop.example/discount?a=1&amp;b=2\">https://shop.example/discount?a=1&amp;b=2</a>."
            ),
            "{html}"
        );
        assert!(html.contains("<p>Bye</p>"), "{html}");
        assert!(html.contains("<img src=\"https://t.example/o/x\" width=\"1\" height=\"1\""));
        let arabic = html_body("s", "مرحبا بك", |u| u.to_owned(), "u", "o");
        assert!(arabic.contains("dir=\"rtl\"") && arabic.contains("إلغاء الاشتراك"));
    }

    #[test]
    fn message_ids_follow_the_outbox_key() {
        let a = message_id("broadcast-1-2", "sales@shop.example");
        assert_eq!(a, message_id("broadcast-1-2", "sales@shop.example"));
        assert_ne!(a, message_id("broadcast-1-3", "sales@shop.example"));
        assert!(
            a.starts_with("stoke.") && a.ends_with("@shop.example"),
            "{a}"
        );
    }
}
