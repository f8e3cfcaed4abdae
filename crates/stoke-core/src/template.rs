//! Message templates (SPEC 5.2): text, image, video, document and voice messages with variables
//! (`{{first_name}}`, `{{order_id}}`), fallbacks for variables a contact has no value for, and
//! per-language variants chosen by the contact's language.
//!
//! Bodies are Jinja templates rendered by `minijinja`: variables, the `default` filter
//! (`{{ first_name | default("friend") }}`) and conditions come from a real engine, with strict
//! undefined variables (a variable with no value and no fallback is an error naming it, never an
//! empty hole in "Hi , your order") and bounded work per render (fuel), since templates are
//! written by users.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use minijinja::{Environment, UndefinedBehavior, Value};

use crate::contact::{Contact, CustomValue};
use crate::value::Language;

/// What a message carries besides its text (SPEC 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Text,
    Image,
    Video,
    /// A PDF or another file.
    Document,
    /// A voice note or audio file.
    Audio,
}

impl MediaKind {
    pub const ALL: [MediaKind; 5] = [
        MediaKind::Text,
        MediaKind::Image,
        MediaKind::Video,
        MediaKind::Document,
        MediaKind::Audio,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Text => "text",
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Document => "document",
            MediaKind::Audio => "audio",
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MediaKind {
    type Err = TemplateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(MediaKind::Text),
            "image" => Ok(MediaKind::Image),
            "video" => Ok(MediaKind::Video),
            "document" | "pdf" => Ok(MediaKind::Document),
            "audio" | "voice" => Ok(MediaKind::Audio),
            other => Err(TemplateError::new(
                "kind",
                format!("{other:?} is not a media kind (text, image, video, document, audio)"),
            )),
        }
    }
}

/// A template problem, naming the part at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct TemplateError {
    pub field: String,
    pub message: String,
}

impl TemplateError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// One language's version of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// `None`: the variant for contacts whose language has none of its own.
    pub language: Option<Language>,
    pub kind: MediaKind,
    /// The text, or the media's caption.
    pub body: String,
    /// Where the image, video, document or audio is; required for every kind but text.
    pub media_url: Option<String>,
    /// The Meta-approved WhatsApp template this variant goes out as where only an approved
    /// template may go (outside WhatsApp's 24-hour customer service window).
    pub whatsapp: Option<ApprovedTemplate>,
}

/// The mapping of a variant to a template approved by Meta for the WhatsApp Cloud API: Meta
/// only lets approved templates open a conversation, and their bodies hold numbered
/// placeholders (`{{1}}`, `{{2}}`) instead of Stoke's named variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedTemplate {
    /// The template's name in WhatsApp Manager (`order_update`).
    pub name: String,
    /// Meta's language code of the approved translation (`ar`, `en_US`, `ru`).
    pub language: String,
    /// The Stoke variables that fill `{{1}}`, `{{2}}`, ... of the body, in order.
    pub parameters: Vec<String>,
}

/// An approved template filled for one contact: what the Cloud API's template body carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedMessage {
    pub name: String,
    pub language: String,
    /// The body parameters' texts, in order.
    pub parameters: Vec<String>,
}

impl ApprovedTemplate {
    /// Checks the mapping as Meta names things: a template name of lower-case letters, digits
    /// and `_`; a language code like `en` or `en_US`; parameters that are variable names.
    fn check(&self, field: &str) -> Result<(), TemplateError> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 512
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !name_ok {
            return Err(TemplateError::new(
                format!("{field}.name"),
                format!(
                    "{:?} is not a WhatsApp template name (lower-case letters, digits and _)",
                    self.name
                ),
            ));
        }
        let mut parts = self.language.split('_');
        let primary = parts.next().unwrap_or_default();
        let region = parts.next();
        let language_ok = (2..=3).contains(&primary.len())
            && primary.chars().all(|c| c.is_ascii_lowercase())
            && region.is_none_or(|r| {
                (2..=4).contains(&r.len()) && r.chars().all(|c| c.is_ascii_alphanumeric())
            })
            && parts.next().is_none();
        if !language_ok {
            return Err(TemplateError::new(
                format!("{field}.language"),
                format!(
                    "{:?} is not a WhatsApp language code like ar, en_US or ru",
                    self.language
                ),
            ));
        }
        for (i, p) in self.parameters.iter().enumerate() {
            if p.is_empty() || !p.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(TemplateError::new(
                    format!("{field}.parameters[{}]", i + 1),
                    format!("{p:?} is not a variable name (letters, digits and _)"),
                ));
            }
        }
        Ok(())
    }
}

/// A validated template: every body compiles, media kinds have a media URL, at most one variant
/// per language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    name: String,
    variants: Vec<Variant>,
    fallbacks: BTreeMap<String, String>,
}

/// A template rendered for one contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub language: Option<Language>,
    pub kind: MediaKind,
    pub text: String,
    pub media_url: Option<String>,
    /// The variant's approved WhatsApp template with its parameters filled, if it has one.
    pub whatsapp: Option<ApprovedMessage>,
}

/// The variables every template may use, besides the contact's custom fields by name.
pub const VARIABLES: [&str; 8] = [
    "first_name",
    "last_name",
    "name",
    "company",
    "city",
    "country",
    "order_id",
    "order_stage",
];

/// Work allowed per render: plenty for any message, a stop for a runaway loop.
const FUEL: u64 = 50_000;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env
}

impl Template {
    pub fn new(
        name: &str,
        variants: Vec<Variant>,
        fallbacks: BTreeMap<String, String>,
    ) -> Result<Self, TemplateError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(TemplateError::new("name", "must be 1 to 100 characters"));
        }
        if variants.is_empty() {
            return Err(TemplateError::new("variants", "a template needs a text"));
        }
        let env = environment();
        for (i, v) in variants.iter().enumerate() {
            let field = format!(
                "variants[{}]",
                v.language.as_ref().map_or("default", |l| l.as_str())
            );
            if variants[..i].iter().any(|o| o.language == v.language) {
                return Err(TemplateError::new(
                    field,
                    "a second variant for one language",
                ));
            }
            if v.body.trim().is_empty() && v.kind == MediaKind::Text {
                return Err(TemplateError::new(format!("{field}.body"), "is empty"));
            }
            match (&v.media_url, v.kind) {
                (None, kind) if kind != MediaKind::Text => {
                    return Err(TemplateError::new(
                        format!("{field}.media_url"),
                        format!("a {kind} message needs its media URL"),
                    ));
                }
                (Some(url), _) if !url.starts_with("https://") && !url.starts_with("http://") => {
                    return Err(TemplateError::new(
                        format!("{field}.media_url"),
                        format!("{url:?} is not an http(s) URL"),
                    ));
                }
                _ => {}
            }
            env.template_from_str(&v.body)
                .map_err(|e| TemplateError::new(format!("{field}.body"), describe(&e)))?;
            if let Some(approved) = &v.whatsapp {
                approved.check(&format!("{field}.whatsapp"))?;
            }
        }
        for key in fallbacks.keys() {
            if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(TemplateError::new(
                    format!("fallbacks.{key}"),
                    "a variable name is letters, digits and _",
                ));
            }
        }
        Ok(Self {
            name: name.to_owned(),
            variants,
            fallbacks,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn variants(&self) -> &[Variant] {
        &self.variants
    }

    pub fn fallbacks(&self) -> &BTreeMap<String, String> {
        &self.fallbacks
    }

    /// The variant for a language: its own, else the language-less one, else the
    /// workspace's default language's, else the first.
    pub fn variant_for(&self, language: Option<&Language>, default_language: &str) -> &Variant {
        let primary = |v: &Variant| v.language.as_ref().map(|l| l.primary().to_owned());
        language
            .and_then(|l| {
                self.variants
                    .iter()
                    .find(|v| v.language.as_ref() == Some(l))
                    .or_else(|| {
                        self.variants
                            .iter()
                            .find(|v| primary(v).as_deref() == Some(l.primary()))
                    })
            })
            .or_else(|| self.variants.iter().find(|v| v.language.is_none()))
            .or_else(|| {
                self.variants
                    .iter()
                    .find(|v| primary(v).as_deref() == Some(default_language))
            })
            .unwrap_or(&self.variants[0])
    }

    /// Renders the template for a contact in the contact's language.
    pub fn render(
        &self,
        contact: &Contact,
        default_language: &str,
    ) -> Result<Rendered, TemplateError> {
        let variant = self.variant_for(contact.likely_language().as_ref(), default_language);
        let mut vars: BTreeMap<String, Value> = self
            .fallbacks
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        for (k, v) in contact_variables(contact) {
            vars.insert(k, v);
        }
        let whatsapp = match &variant.whatsapp {
            Some(approved) => {
                let mut parameters = Vec::with_capacity(approved.parameters.len());
                for (i, name) in approved.parameters.iter().enumerate() {
                    // Meta refuses an empty parameter: a variable with no value is an error
                    // here too, naming the placeholder it fills.
                    let value = vars
                        .get(name)
                        .map(|v| v.to_string())
                        .filter(|v| !v.trim().is_empty())
                        .ok_or_else(|| {
                            TemplateError::new(
                                &self.name,
                                format!(
                                    "{name} (WhatsApp parameter {{{{{}}}}}) has no value for this contact and no fallback",
                                    i + 1
                                ),
                            )
                        })?;
                    parameters.push(value);
                }
                Some(ApprovedMessage {
                    name: approved.name.clone(),
                    language: approved.language.clone(),
                    parameters,
                })
            }
            None => None,
        };
        let text =
            render_with(&variant.body, vars).map_err(|m| TemplateError::new(&self.name, m))?;
        Ok(Rendered {
            language: variant.language.clone(),
            kind: variant.kind,
            text: text.trim().to_owned(),
            media_url: variant.media_url.clone(),
            whatsapp,
        })
    }
}

/// Renders a one-off text (a broadcast's `--text`) for a contact with the same variables.
pub fn render_text(body: &str, contact: &Contact) -> Result<String, TemplateError> {
    render_with(body, contact_variables(contact).collect())
        .map_err(|m| TemplateError::new("text", m))
}

/// Renders a body; an undefined variable's error names the variables with no value.
fn render_with(body: &str, vars: BTreeMap<String, Value>) -> Result<String, String> {
    let env = environment();
    let template = env.template_from_str(body).map_err(|e| describe(&e))?;
    match template.render(&vars) {
        Ok(text) => Ok(text.trim().to_owned()),
        Err(e) if e.kind() == minijinja::ErrorKind::UndefinedError => {
            let missing: Vec<String> = template
                .undeclared_variables(false)
                .into_iter()
                .filter(|v| !vars.contains_key(v))
                .collect();
            Err(format!(
                "{} has no value for this contact and no fallback",
                missing.join(", ")
            ))
        }
        Err(e) => Err(describe(&e)),
    }
}

/// Checks a one-off text compiles.
pub fn check_text(body: &str) -> Result<(), TemplateError> {
    if body.trim().is_empty() {
        return Err(TemplateError::new("text", "is empty"));
    }
    environment()
        .template_from_str(body)
        .map(|_| ())
        .map_err(|e| TemplateError::new("text", describe(&e)))
}

/// The variables a contact has a value for; missing ones stay undefined, so that a fallback or
/// the `default` filter fills them or the render fails naming them.
fn contact_variables(contact: &Contact) -> impl Iterator<Item = (String, Value)> + '_ {
    let name = contact.name.trim();
    let mut words = name.split_whitespace();
    let first = words.next().map(str::to_owned);
    let rest: Vec<&str> = words.collect();
    let last = (!rest.is_empty()).then(|| rest.join(" "));
    let fixed = [
        ("first_name", first),
        ("last_name", last),
        ("name", Some(name.to_owned())),
        ("company", contact.company.legal_name.clone()),
        ("city", contact.city.clone()),
        (
            "country",
            contact.country.as_ref().map(|c| c.as_str().to_owned()),
        ),
        ("order_id", contact.commerce.current_order.clone()),
        ("order_stage", contact.commerce.order_stage.clone()),
    ];
    let custom = contact.custom.iter().map(|(k, v)| {
        let value = match v {
            CustomValue::Text(t) | CustomValue::Choice(t) => Value::from(t.as_str()),
            CustomValue::Number(n) => Value::from(n.to_string()),
            CustomValue::Date(d) => Value::from(d.to_string()),
            CustomValue::YesNo(b) => Value::from(*b),
        };
        (k.clone(), value)
    });
    fixed
        .into_iter()
        .filter_map(|(k, v)| {
            v.filter(|s| !s.trim().is_empty())
                .map(|s| (k.to_owned(), Value::from(s)))
        })
        .chain(custom)
}

/// minijinja's error in a person's words: the kind, the detail and the line.
fn describe(e: &minijinja::Error) -> String {
    use minijinja::ErrorKind;
    let what = match e.kind() {
        ErrorKind::UndefinedError => {
            "a variable has no value for this contact and no fallback".to_owned()
        }
        ErrorKind::SyntaxError => "template syntax error".to_owned(),
        ErrorKind::OutOfFuel => "the template does too much work".to_owned(),
        other => other.to_string(),
    };
    match (e.detail(), e.line()) {
        (Some(d), Some(l)) => format!("{what}: {d} (line {l})"),
        (Some(d), None) => format!("{what}: {d}"),
        (None, Some(l)) => format!("{what} (line {l})"),
        (None, None) => what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::ContactId;

    fn contact(name: &str, lang: Option<&str>) -> Contact {
        let mut c = Contact::new(ContactId::new(7), jiff::Timestamp::UNIX_EPOCH);
        c.name = name.into();
        c.language = lang.map(|l| Language::parse(l).expect("language"));
        c
    }

    fn variant(lang: Option<&str>, body: &str) -> Variant {
        Variant {
            language: lang.map(|l| Language::parse(l).expect("language")),
            kind: MediaKind::Text,
            body: body.into(),
            media_url: None,
            whatsapp: None,
        }
    }

    #[test]
    fn an_approved_whatsapp_template_is_filled_in_order_and_checked() {
        let mut v = variant(Some("ar"), "مرحبا {{ first_name }}، طلبك {{ order_id }}");
        v.whatsapp = Some(ApprovedTemplate {
            name: "order_update".into(),
            language: "ar".into(),
            parameters: vec!["first_name".into(), "order_id".into(), "city".into()],
        });
        let t = Template::new(
            "order",
            vec![v.clone()],
            BTreeMap::from([("city".to_owned(), "Riyadh".to_owned())]),
        )
        .expect("valid");
        let mut c = contact("Amal Haddad", Some("ar"));
        c.commerce.current_order = Some("1042".into());
        let r = t.render(&c, "en").expect("render");
        assert_eq!(
            r.whatsapp,
            Some(ApprovedMessage {
                name: "order_update".into(),
                language: "ar".into(),
                parameters: vec!["Amal".into(), "1042".into(), "Riyadh".into()],
            })
        );
        c.commerce.current_order = None;
        let e = t.render(&c, "en").expect_err("no order");
        assert!(e.message.contains("order_id"), "{e}");
        for (name, language, parameter, field) in [
            ("Order Update", "ar", "x", "variants[ar].whatsapp.name"),
            (
                "order_update",
                "english",
                "x",
                "variants[ar].whatsapp.language",
            ),
            (
                "order_update",
                "en_US",
                "{{1}}",
                "variants[ar].whatsapp.parameters[1]",
            ),
        ] {
            let mut bad = v.clone();
            bad.whatsapp = Some(ApprovedTemplate {
                name: name.into(),
                language: language.into(),
                parameters: vec![parameter.into()],
            });
            let e = Template::new("x", vec![bad], BTreeMap::new()).expect_err(field);
            assert_eq!(e.field, field);
        }
    }

    #[test]
    fn variables_fallbacks_and_languages() {
        let t = Template::new(
            "welcome",
            vec![
                variant(
                    None,
                    "Hi {{ first_name }}, order {{ order_id | default(\"-\") }}",
                ),
                variant(Some("ar"), "مرحبا {{first_name}}"),
                variant(Some("ru"), "Здравствуйте, {{ first_name }}!"),
            ],
            BTreeMap::from([("first_name".to_owned(), "friend".to_owned())]),
        )
        .expect("valid");
        let r = t
            .render(&contact("Amal Haddad", Some("ar")), "en")
            .expect("render");
        assert_eq!(r.text, "مرحبا Amal");
        let r = t.render(&contact("", Some("ru-RU")), "en").expect("render");
        assert_eq!(r.text, "Здравствуйте, friend!");
        // No language recorded: a Saudi number gets the Arabic variant.
        let mut saudi = contact("Omar", None);
        saudi.phones = vec![crate::value::Phone::parse("+966501234567", None).expect("phone")];
        assert_eq!(t.render(&saudi, "en").expect("render").text, "مرحبا Omar");
        let mut c = contact("John Smith", Some("en"));
        c.commerce.current_order = Some("A-17".into());
        assert_eq!(
            t.render(&c, "en").expect("render").text,
            "Hi John, order A-17"
        );
    }

    #[test]
    fn a_variable_with_no_value_and_no_fallback_is_an_error_naming_it() {
        let t = Template::new(
            "x",
            vec![variant(None, "Hi {{ first_name }}")],
            BTreeMap::new(),
        )
        .expect("valid");
        let e = t.render(&contact("", None), "en").expect_err("no name");
        assert!(e.message.contains("first_name"), "{e}");
        assert!(render_text("Hi {{ city }}", &contact("A", None)).is_err());
    }

    #[test]
    fn bad_templates_are_refused_with_the_field() {
        let e = Template::new(
            "x",
            vec![variant(None, "Hi {{ first_name")],
            BTreeMap::new(),
        )
        .expect_err("syntax");
        assert_eq!(e.field, "variants[default].body");
        let image = Variant {
            kind: MediaKind::Image,
            ..variant(Some("en"), "caption")
        };
        let e = Template::new("x", vec![image], BTreeMap::new()).expect_err("no media");
        assert_eq!(e.field, "variants[en].media_url");
        let e = Template::new(
            "x",
            vec![variant(None, "a"), variant(None, "b")],
            BTreeMap::new(),
        )
        .expect_err("twice");
        assert!(e.message.contains("second"));
        let e = Template::new(
            "x",
            vec![variant(
                None,
                "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            )],
            BTreeMap::new(),
        )
        .expect("compiles")
        .render(&contact("A", None), "en")
        .expect_err("runaway");
        assert!(e.message.contains("too much work"), "{e}");
    }
}
