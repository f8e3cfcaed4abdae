//! The search columns. `contacts.search` and `messages.search` hold the words searches match,
//! derived from the rest of the row by the functions below on every write, on both backends.
//! They are columns like any other, so a copy carries them as text and the target holds exactly
//! what it would have written itself; each backend indexes them its own way (SQLite FTS5,
//! PostgreSQL GIN), and both must compute them alike for that to hold.
//!
//! Words are normalised as the classifier normalises them (`stoke_core::text::normalise`: hamza
//! and alef variants, diacritics, case and ё do not matter). An Arabic word that carries the
//! article (ال, and its forms with و ب ف ك ل before it) is also kept without it, so that a search
//! for احمد finds الأحمد and بالتقسيط is found by تقسيط.

/// The longest word the search columns keep, in characters. Longer words (links, hashes, base64)
/// are cut there, in stored text and in queries alike, so such a word is still found by its
/// first characters; and no word comes near PostgreSQL's limit on a lexeme (2 KiB).
pub const SEARCH_WORD_CHARS: usize = 64;

/// The most of a message's words its search column keeps, in bytes: the words of an e-mail
/// longer than this (quoted threads, signatures) past that point are not searchable. Keeps a
/// row's PostgreSQL tsvector far below its 1 MiB limit.
pub const SEARCH_TEXT_BYTES: usize = 16 * 1024;

/// A word cut to `SEARCH_WORD_CHARS` characters.
fn clip(word: &str) -> &str {
    if word.len() <= SEARCH_WORD_CHARS {
        return word;
    }
    match word.char_indices().nth(SEARCH_WORD_CHARS) {
        Some((end, _)) => &word[..end],
        None => word,
    }
}

/// An Arabic word without its article and a clitic before it (`الاحمد` → `احمد`, `بالتقسيط` →
/// `تقسيط`, `للبيع` → `بيع`), when at least two letters are left; `None` for any other word.
fn without_article(word: &str) -> Option<&str> {
    ["وال", "بال", "فال", "كال", "ال", "لل"]
        .iter()
        .find_map(|prefix| word.strip_prefix(prefix))
        .filter(|rest| rest.chars().nth(1).is_some())
}

/// A word as stored: itself, then without its article when it has one.
fn with_bare_form(word: &str) -> impl Iterator<Item = &str> {
    std::iter::once(word).chain(without_article(word))
}

/// `stoke_core::text::normalise`, without its Unicode work for ASCII text, which it only
/// lower-cases (NFKC leaves ASCII as it is, and none of the letters it maps is ASCII): the
/// search words of `stoke gen`'s 201,850 messages took 245 ms instead of 290 ms.
fn normalised(text: &str) -> String {
    if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        stoke_core::text::normalise(text)
    }
}

/// `messages.search`: the words of a message's text, normalised as the classifier normalises
/// (`stoke_core::text::normalise`, so hamza and alef variants, diacritics, case and ё do not
/// matter) and split as it splits, separated by single spaces.
pub fn message_search_text(text: &str) -> String {
    let normalised = normalised(text);
    let mut out = String::with_capacity(normalised.len());
    for word in stoke_core::text::tokens(&normalised)
        .map(clip)
        .flat_map(with_bare_form)
    {
        if out.len() + word.len() + 1 > SEARCH_TEXT_BYTES {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// `contacts.search`: the words of the contact's name, company (legal name), e-mails and
/// WhatsApp id, normalised like a message's, and every suffix of each phone's digits, so that a
/// prefix search finds digits anywhere in a number (`4567` finds +966501234567). Each word once.
pub fn contact_search_text(contact: &stoke_core::Contact) -> String {
    fn text(value: &str, words: &mut Vec<String>) {
        let normalised = normalised(value);
        words.extend(
            stoke_core::text::tokens(&normalised)
                .map(clip)
                .flat_map(with_bare_form)
                .map(str::to_owned),
        );
    }
    let mut words: Vec<String> = Vec::new();
    text(&contact.name, &mut words);
    if let Some(company) = &contact.company.legal_name {
        text(company, &mut words);
    }
    for handle in contact.handles() {
        match handle {
            stoke_core::Handle::Phone(phone) => {
                let digits: String = phone
                    .as_str()
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect();
                words.extend((0..digits.len()).map(|start| digits[start..].to_owned()));
            }
            other => text(&other.key(), &mut words),
        }
    }
    let mut seen = std::collections::HashSet::new();
    words.retain(|w| seen.insert(w.clone()));
    words.join(" ")
}

/// The words of a message search, each to be found as the prefix of a word of
/// `messages.search`: normalised and split like the text, once each, and without a word that
/// is the prefix of another (`ab` is implied by `abc`). Empty when the query holds no word.
pub fn search_terms(query: &str) -> Vec<String> {
    let normalised = normalised(query);
    prune(stoke_core::text::tokens(&normalised).map(|w| bare(clip(w)).to_owned()))
}

/// A query word without its Arabic article: the stored text holds every word's bare form too,
/// so the bare form finds the word with and without the article.
fn bare(word: &str) -> &str {
    without_article(word).unwrap_or(word)
}

/// The words of a message search as a backend runs it: `Invalid` (field `q`) for a blank
/// query, `None` for one of punctuation only (no word any message could hold: an empty page),
/// else `search_terms`.
pub fn message_query(query: &str) -> crate::StoreResult<Option<Vec<String>>> {
    if query.trim().is_empty() {
        return Err(crate::StoreError::Invalid {
            field: "q",
            reason: "say what to search for".into(),
        });
    }
    let terms = search_terms(query);
    Ok((!terms.is_empty()).then_some(terms))
}

/// The words of a contact search, like `search_terms`, except that a phone number typed with a
/// `+` and separators (`+966 50 123-4567`) is one word of its digits, found in a number as a
/// whole rather than group by group anywhere in it.
pub fn contact_search_terms(query: &str) -> Vec<String> {
    let normalised = normalised(query);
    let chars: Vec<char> = normalised.chars().collect();
    let mut rest = String::with_capacity(normalised.len());
    let mut numbers = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '+' {
            let mut digits = String::new();
            let mut j = i + 1;
            // Digits, and separators that have a digit after them.
            while j < chars.len() {
                if chars[j].is_ascii_digit() {
                    digits.push(chars[j]);
                    j += 1;
                } else if matches!(chars[j], ' ' | '-' | '.' | '(' | ')') {
                    let next = chars[j..]
                        .iter()
                        .find(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'));
                    if next.is_some_and(char::is_ascii_digit) {
                        j += 1;
                    } else {
                        break;
                    }
                } else {
                    break;
                }
            }
            if !digits.is_empty() {
                numbers.push(clip(&digits).to_owned());
                rest.push(' ');
                i = j;
                continue;
            }
        }
        rest.push(chars[i]);
        i += 1;
    }
    let words = stoke_core::text::tokens(&rest).map(|w| bare(clip(w)).to_owned());
    prune(numbers.into_iter().chain(words))
}

/// Words once each, without those that are the prefix of another.
fn prune(words: impl Iterator<Item = String>) -> Vec<String> {
    let mut words: Vec<String> = words.collect();
    words.sort();
    words.dedup();
    // Sorted, a word's extensions follow it directly.
    let mut kept: Vec<String> = Vec::with_capacity(words.len());
    for (i, word) in words.iter().enumerate() {
        if !words
            .get(i + 1)
            .is_some_and(|next| next.starts_with(word.as_str()))
        {
            kept.push(word.clone());
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_search_text_is_normalised_words() {
        assert_eq!(
            message_search_text("أسعار الشّاي؟ Ёлка, OK!"),
            "اسعار الشاي شاي елка ok"
        );
        assert_eq!(message_search_text("  \"*' "), "");
        let long = "x".repeat(100);
        assert_eq!(message_search_text(&long), "x".repeat(SEARCH_WORD_CHARS));
        let many = "word ".repeat(10_000);
        assert!(message_search_text(&many).len() <= SEARCH_TEXT_BYTES);
    }

    #[test]
    fn ascii_is_normalised_as_the_classifier_does() {
        let ascii: String = (0u8..128).map(char::from).collect();
        assert_eq!(normalised(&ascii), stoke_core::text::normalise(&ascii));
        for text in [
            "Hello, World! 42",
            "ЁЛКА",
            "أسعار",
            "Ｆｕｌｌ ｗｉｄｔｈ",
            "ﬁne",
        ] {
            assert_eq!(
                normalised(text),
                stoke_core::text::normalise(text),
                "{text}"
            );
        }
    }

    #[test]
    fn terms_are_pruned_words() {
        assert_eq!(search_terms("ab abc  ABC x"), ["abc", "x"]);
        assert!(search_terms("\" * ( '; ").is_empty());
        assert_eq!(search_terms("'; DROP"), ["drop"]);
        assert_eq!(search_terms("كم:*"), ["كم"]);
    }

    #[test]
    fn a_phone_typed_with_a_plus_is_one_word() {
        assert_eq!(contact_search_terms("+966 50 123-4567"), ["966501234567"]);
        assert_eq!(
            contact_search_terms("Amal +7 (916) 123 45 67 x"),
            ["79161234567", "amal", "x"]
        );
        assert_eq!(contact_search_terms("050 123"), ["050", "123"]);
        assert_eq!(contact_search_terms("+ ok"), ["ok"]);
        assert_eq!(contact_search_terms("+966 "), ["966"]);
    }

    #[test]
    fn contact_search_text_has_phone_suffixes() {
        let mut contact =
            stoke_core::Contact::new(stoke_core::ContactId::new(1), jiff::Timestamp::UNIX_EPOCH);
        contact.name = "Амал Ёлкина".into();
        contact.company.legal_name = Some("Cedar LLC".into());
        contact.phones = vec![stoke_core::Phone::parse("+966501234567", None).expect("phone")];
        contact.emails = vec![stoke_core::Email::parse("Amal.K@Example.com").expect("email")];
        let text = contact_search_text(&contact);
        assert!(
            text.starts_with("амал елкина cedar llc 966501234567 66501234567 "),
            "{text}"
        );
        assert!(text.ends_with(" 67 7 amal k example com"), "{text}");
    }

    #[test]
    fn arabic_words_are_found_with_and_without_the_article() {
        assert_eq!(
            message_search_text("بالتقسيط والأسعار"),
            "بالتقسيط تقسيط والاسعار اسعار"
        );
        assert_eq!(search_terms("الأحمد"), vec!["احمد"]);
        assert_eq!(search_terms("احمد"), vec!["احمد"]);
        // Too little left to be a word: kept whole.
        assert_eq!(message_search_text("الف"), "الف");
        assert_eq!(search_terms("الف"), vec!["الف"]);
    }
}
