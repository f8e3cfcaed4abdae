//! The classifier on the default playbook: table-driven per language (the seeds' own example
//! phrases and realistic variants), and measured on the independent corpus in `corpus/`.

use std::sync::OnceLock;

use stoke_core::playbook::Playbook;
use stoke_core::text::{Analyzer, Classification, IntentTier, Sentiment};

fn analyzer() -> &'static Analyzer {
    static ANALYZER: OnceLock<Analyzer> = OnceLock::new();
    ANALYZER.get_or_init(|| {
        let playbook = Playbook::default_playbook().unwrap_or_else(|e| panic!("{e:?}"));
        Analyzer::new(&playbook).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn classify(text: &str) -> Classification {
    analyzer().classify(text, None)
}

/// (message, expected intent, interests that must be found)
type Case = (&'static str, IntentTier, &'static [&'static str]);

fn check(cases: &[Case]) {
    let mut failures = Vec::new();
    for (text, intent, interests) in cases {
        let c = classify(text);
        let missing: Vec<&&str> = interests
            .iter()
            .filter(|i| !c.interests.contains(i))
            .collect();
        if c.intent != *intent || !missing.is_empty() {
            failures.push(format!(
                "{text:?}: got {:?} {:?}, expected {intent:?} {interests:?} ({:?})",
                c.intent, c.interests, c.evidence
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

use IntentTier::{High, Medium, None as Nothing, Potential};

#[test]
fn arabic() {
    check(&[
        ("هل المنتج متوفر؟", High, &[]),
        ("بكم هذا؟", High, &[]),
        ("هل هو متوفر الآن؟", High, &[]),
        ("بكام ده", High, &[]),
        ("كم سعرة", High, &[]),
        ("ابي اطلب ٢ حبة", High, &[]),
        ("شكرًا", Potential, &[]),
        ("حسنًا", Potential, &[]),
        ("تمام 👍", Potential, &[]),
        // A negation is no greeting opening a question.
        ("ما في مشكله", Potential, &[]),
        ("لا أحتاج حاليًا", Nothing, &[]),
        ("لا أحتاج حاليًا، سأتواصل عند الحاجة", Nothing, &[]),
        ("كم وزنه؟", Medium, &["function"]),
        ("ما هي فترة الضمان", Medium, &["function"]),
        ("هل يوجد عرض؟", High, &["discount"]),
        ("متى سيكون هناك خصم؟", High, &["discount"]),
        ("هل ستصدرون منتجات جديدة؟", Medium, &["new_product"]),
        ("لقد استخدمت منتجاتكم", Potential, &["loyal"]),
        ("إيقاف", Nothing, &[]),
    ]);
    assert!(classify("إيقاف").opt_out);
    assert_eq!(classify("بكم هذا؟").language, "ar");
}

#[test]
fn russian() {
    check(&[
        ("сколько это стоит?", High, &[]),
        ("есть ли в наличии?", High, &[]),
        ("скока стоит", High, &[]),
        ("почём", High, &[]),
        ("хочу заказать две штуки", High, &[]),
        ("сколько весит", Medium, &["function"]),
        ("какая гарантия?", Medium, &["function"]),
        ("спасибо", Potential, &[]),
        ("хорошо", Potential, &[]),
        ("пока не нужно", Nothing, &[]),
        ("нет спасибо, не интересно", Nothing, &[]),
        ("когда будет распродажа?", High, &["discount"]),
        ("стоп", Nothing, &[]),
    ]);
    assert!(classify("стоп").opt_out);
    assert_eq!(
        classify("ужасно, верните деньги").sentiment,
        Sentiment::Negative
    );
}

#[test]
fn english() {
    check(&[
        ("how much is it?", High, &[]),
        ("pirce?", High, &[]),
        ("is it in stock", High, &[]),
        ("thanks, how much?", High, &[]),
        ("how much does it weigh", Medium, &["function"]),
        ("what's the warranty?", Medium, &["function"]),
        ("thanks", Potential, &[]),
        ("👍", Potential, &[]),
        ("🙏🙏", Potential, &[]),
        ("no thanks, not interested", Nothing, &[]),
        (
            "not needed now, I'll contact you when I need it",
            Nothing,
            &[],
        ),
        ("any promo code?", High, &["discount"]),
        ("I recommended you to my friends", Potential, &["loyal"]),
        ("STOP", Nothing, &[]),
    ]);
    assert!(classify("STOP").opt_out);
    assert!(!classify("do you have a non-stop flight to Dubai on friday? how much").opt_out);
    assert_eq!(
        classify("this is terrible, I want a refund").sentiment,
        Sentiment::Negative
    );
    assert_eq!(classify("👍").evidence[0].rule, "intent.potential.emoji");
}

#[test]
fn mixed_language_and_evidence() {
    let c = classify("كم price?");
    assert_eq!(c.intent, High);
    assert!(
        c.evidence.iter().any(|e| e.rule == "intent.high"),
        "{:?}",
        c.evidence
    );
    let c = classify("Привет! iPhone 15 сколько стоит?");
    assert_eq!((c.language.as_str(), c.intent), ("ru", High));
}

/// Complaints and remedies (refund, return, exchange, cancel the order, broken, wrong item) are
/// no purchase intent and negative, whatever purchase word they mention, unless a new purchase
/// or a product question is asked beside them; cancelling an order is not an opt-out.
#[test]
fn complaints_are_not_purchase_intent() {
    check(&[
        ("Not what I ordered. Refund.", Nothing, &[]),
        ("not what i orderd!! refund pls 😡", Nothing, &[]),
        (
            "I'd like a refund for order 5521, the lid came cracked",
            Nothing,
            &[],
        ),
        ("pls cancel my order, i placed it by mistake", Nothing, &[]),
        ("the mixer arrived brokn, i want to return it", Nothing, &[]),
        (
            "you sent the wrong size 🙄 want to send it back",
            Nothing,
            &[],
        ),
        ("its a knock off. give me my money back", Nothing, &[]),
        (
            "been buying from you for years but this one stopped working. refund",
            Nothing,
            &[],
        ),
        (
            "the lamp came broken, do you have another one in stock?",
            High,
            &[],
        ),
        (
            "my kettle stopped working after 2 weeks, is it still under warranty?",
            Medium,
            &["function"],
        ),
        (
            "does the warranty cover water damage",
            Medium,
            &["function"],
        ),
        ("رجعوا فلوسي، المنتج وصل مكسور 😡", Nothing, &[]),
        ("ابي استرجاع الطلب، جاني غلط", Nothing, &[]),
        ("عايز الغي الاوردر", Nothing, &[]),
        ("الجهاز خربان من اول يوم ابي ارجعه", Nothing, &[]),
        ("الشنطه وصلت مخدوشه، عندكم وحده ثانيه متوفره؟", High, &[]),
        ("пришёл бракованный, верните деньги", Nothing, &[]),
        ("хочу отменить заказ", Nothing, &[]),
        ("прислали не тот размер!! оформите возврат", Nothing, &[]),
        (
            "чайник сломался через неделю, это гарантийный случай?",
            Medium,
            &["function"],
        ),
        (
            "привезли не тот цвет. когда привезёте правильный?",
            High,
            &[],
        ),
    ]);
    for text in [
        "Not what I ordered. Refund.",
        "رجعوا فلوسي",
        "верните деньги, товар с браком",
    ] {
        let c = classify(text);
        assert_eq!(c.sentiment, Sentiment::Negative, "{text}");
        assert!(!c.opt_out, "{text}");
    }
    assert!(!classify("cancel my order").opt_out);
    assert!(!classify("الغي الطلب").opt_out);
    assert!(!classify("отмените заказ").opt_out);
}

/// The rule classes around the tiers: words the stemmer folds (почём/почему), one-word refusals
/// that are words of their own, question words after a subject, free delivery, repeat orders,
/// how-to questions and owners of the brand's products.
#[test]
fn rule_classes_in_three_languages() {
    check(&[
        ("почем кроссовки", High, &[]),
        ("почему так долго отвечаете?", Medium, &[]),
        ("отмените мой заказ, передумала", Nothing, &[]),
        ("ok i changed my mind, its overpriced anyway", Nothing, &[]),
        ("this is the one i liked 😍", Potential, &[]),
        ("سجلت في نادي ثاني، مشكورين", Nothing, &[]),
        ("bro does it support fast charging", Medium, &["function"]),
        ("free delivery to Ajman?", High, &[]),
        ("التوصيل مجاني ولا في رسوم؟", High, &[]),
        (
            "ordering again 🙌 same as last time, 3 bags",
            High,
            &["loyal"],
        ),
        ("повторите заказ как в прошлый раз", High, &["loyal"]),
        ("كرر الطلب نفس المره اللي فاتت", High, &["loyal"]),
        (
            "how do i descale the coffee machine",
            Medium,
            &["education"],
        ),
        ("whats the best way to store linen?", Medium, &["education"]),
        ("подскажите как часто наносить крем", Medium, &["education"]),
        ("ايش افضل طريقه انظف فيها الجلد؟", Medium, &["education"]),
        ("when is the new version out?", Medium, &["new_product"]),
        (
            "my whole family uses your shampoo ❤️",
            Potential,
            &["loyal"],
        ),
        ("стойкость у крема какая?", Medium, &["function"]),
        ("reserve the grey one for me pls", High, &[]),
        ("الكنب يتحمل وزن كم؟", Medium, &["function"]),
        ("the backpack weight how much", Medium, &["function"]),
    ]);
    // A new-product question is not researching specs.
    assert!(
        !classify("when is the new version out?")
            .interests
            .contains(&"function")
    );
}

/// Reads one corpus file: (line number, text, intent, interests).
fn corpus(language: &str) -> Vec<(usize, String, String, Vec<String>)> {
    corpus_file(&format!("{language}.jsonl"))
}

/// Reads a corpus file under `tests/corpus/`.
fn corpus_file(name: &str) -> Vec<(usize, String, String, Vec<String>)> {
    let path = format!("{}/tests/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{path}:{}: {e}", i + 1));
            let interests = v["interests"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            (
                i + 1,
                v["text"].as_str().unwrap_or_default().to_owned(),
                v["intent"].as_str().unwrap_or_default().to_owned(),
                interests,
            )
        })
        .collect()
}

/// Intent accuracy and interest accuracy (the exact set) over a slice of the corpus.
fn score(rows: &[(usize, String, String, Vec<String>)]) -> (f64, f64, Vec<String>) {
    let (mut intent_ok, mut interests_ok) = (0, 0);
    let mut misses = Vec::new();
    for (line, text, intent, interests) in rows {
        let c = classify(text);
        let got: Vec<String> = c.interests.iter().map(|s| (*s).to_owned()).collect();
        let mut want = interests.clone();
        want.sort();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        if c.intent.as_str() == intent {
            intent_ok += 1;
        } else {
            misses.push(format!(
                "{line}: {text:?} intent {} expected {intent}",
                c.intent.as_str()
            ));
        }
        if got_sorted == want {
            interests_ok += 1;
        } else {
            misses.push(format!(
                "{line}: {text:?} interests {got:?} expected {interests:?}"
            ));
        }
    }
    let n = rows.len().max(1) as f64;
    (
        f64::from(intent_ok) / n,
        f64::from(interests_ok) / n,
        misses,
    )
}

/// The development half (lines 1-120) of each language's corpus: the lexicons may be tuned on it.
#[test]
fn development_corpus_accuracy() {
    let mut report = Vec::new();
    let mut failed = false;
    for language in ["ar", "ru", "en"] {
        let rows: Vec<_> = corpus(language)
            .into_iter()
            .filter(|r| r.0 <= 120)
            .collect();
        let (intent, interests, misses) = score(&rows);
        let misses: Vec<String> = misses;
        report.push(format!(
            "{language}: intent {:.1}%, interests {:.1}% over {} messages\n  {}",
            intent * 100.0,
            interests * 100.0,
            rows.len(),
            misses.join("\n  ")
        ));
        failed |= intent < 0.95 || interests < 0.9;
        if std::env::var_os("STOKE_SHOW_MISSES").is_some() {
            println!("{}", misses.join("\n"));
        }
    }
    println!(
        "{}",
        report
            .iter()
            .map(|r| r.lines().next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(!failed, "{}", report.join("\n"));
}

/// The second half (lines 121-240): held out until 2026-11-24, measured at intent 85.8-90.0% and
/// interests 83.3-88.3%; its misses were then read to widen the lexicons by category (dialect
/// refusals, already found elsewhere, orders not arrived, typo collisions), so it is a tuning
/// set now and `fresh2` is the unseen one. Guarded against regressions at its first bar.
/// `cargo test -p stoke-core --test classify held_out -- --nocapture` prints the figures.
#[test]
fn held_out_corpus_accuracy() {
    let mut failed = Vec::new();
    for language in ["ar", "ru", "en"] {
        let rows: Vec<_> = corpus(language).into_iter().filter(|r| r.0 > 120).collect();
        let (intent, interests, _) = score(&rows);
        let line = format!(
            "{language}: held-out intent {:.1}%, interests {:.1}% over {} messages",
            intent * 100.0,
            interests * 100.0,
            rows.len()
        );
        println!("{line}");
        if intent < 0.82 || interests < 0.78 {
            failed.push(line);
        }
    }
    assert!(
        failed.is_empty(),
        "held-out accuracy regressed:\n{}",
        failed.join("\n")
    );
}

/// Scores a fresh corpus folder (150 messages a language at least) and fails when a language's
/// intent or interest accuracy falls under its bar; prints the figures either way.
fn guard_fresh_corpus(folder: &str, min_intent: f64, min_interests: f64) {
    let mut failed = Vec::new();
    for language in ["ar", "ru", "en"] {
        let rows = corpus_file(&format!("{folder}/{language}.jsonl"));
        assert!(rows.len() >= 150, "{language}: corpus/{folder} is missing");
        let (intent, interests, _) = score(&rows);
        let line = format!(
            "{language}: {folder} intent {:.1}%, interests {:.1}% over {} messages",
            intent * 100.0,
            interests * 100.0,
            rows.len()
        );
        println!("{line}");
        if intent < min_intent || interests < min_interests {
            failed.push(line);
        }
    }
    assert!(
        failed.is_empty(),
        "corpus/{folder} accuracy regressed:\n{}",
        failed.join("\n")
    );
}

/// The fresh corpus (`corpus/fresh/`, 150 messages a language, other sectors and dialects),
/// written from the label definitions by someone who never saw the lexicons, and measured
/// blind once: intent en 93.3%, ar 87.3%, ru 91.3%; interests en 92.7%, ar 87.3%, ru 94.0%.
/// On 2026-11-24 its misses were read to widen the lexicons by category (Maghrebi and
/// Levantine forms, refusals, availability), so it is a tuning set now; `fresh2` is the
/// unseen one. The bars still sit below its first figures, to catch a regression.
#[test]
fn fresh_corpus_accuracy() {
    guard_fresh_corpus("fresh", 0.85, 0.84);
}

/// The second fresh corpus (`corpus/fresh2/`, 150 messages a language, sectors neither earlier
/// corpus covers), written blind from the label definitions and measured blind: intent en
/// 92.0%, ar 86.7%, ru 85.3%; interests en 86.0%, ar 82.7%, ru 84.7%. On 2026-11-24, once
/// `fresh3` existed, its misses were read to widen the lexicons by category (statements that
/// negate, wrong numbers, stopping a delivery, words whose stems or typos collide with other
/// words), so it is a tuning set now. The bars sit below its first figures, to catch a
/// regression.
#[test]
fn second_fresh_corpus_accuracy() {
    guard_fresh_corpus("fresh2", 0.88, 0.83);
}

/// The third fresh corpus (`corpus/fresh3/`, 150 messages a language: groceries, car parts, baby
/// products, jewellery, clinics, restaurants, pharmacies, appliances, hotels and more), written
/// blind from the label definitions by someone who saw neither the lexicons nor the other
/// corpora. Measured blind before and after the `fresh2` tuning: intent ar 88.0% -> 88.0%, en
/// 86.0% -> 86.7%, ru 84.0% -> 86.0%; interests ar 78.7% -> 80.0%, en 83.3% -> 84.0%, ru 84.7%
/// -> 85.3%. Then, once `fresh4` existed, its misses were read to tune (availability questions,
/// bookings, mailing lists, cancelled bookings), so it is a tuning set now. The bars sit below
/// its blind figures, to catch a regression.
#[test]
fn third_fresh_corpus_accuracy() {
    guard_fresh_corpus("fresh3", 0.86, 0.8);
}

/// A statement that negates, with nothing polite, warm or loyal in it, turns something down
/// (none, with the negating word as evidence); a polite or loyal one stays potential.
#[test]
fn negated_statements_turn_something_down() {
    check(&[
        ("we dont eat red meat", Nothing, &[]),
        ("у меня больше нет собаки", Nothing, &[]),
        ("ماكو حاجه هسه", Nothing, &[]),
        ("not for us, thank you", Nothing, &[]),
        ("we don't need it, thank you", Nothing, &[]),
        ("thank you, I'll think about it", Potential, &[]),
        ("من زمان وانا زبونه عندكم وما ندمت", Potential, &["loyal"]),
    ]);
    let c = classify("we dont have a car anymore");
    assert_eq!(c.intent, Nothing);
    assert!(
        c.evidence
            .iter()
            .any(|e| e.rule == "intent.none.negated_statement" && e.matched == "dont"),
        "{:?}",
        c.evidence
    );
}

/// Someone opting out names what they want no more of: not an interest. An offer word inside a
/// spec phrase is the phrase's ("كم عرض" asks the width).
#[test]
fn opt_outs_carry_no_interests_and_spec_phrases_keep_their_words() {
    let c = classify("stop sending me offers");
    assert!(c.opt_out);
    assert!(c.interests.is_empty(), "{:?}", c.interests);
    assert!(c.evidence.iter().all(|e| !e.rule.starts_with("interest.")));
    let c = classify("كم عرض الكنبه؟");
    assert_eq!(c.intent, Medium);
    assert!(!c.interests.contains(&"discount"), "{:?}", c.evidence);
    let c = classify("في عرض على الكنب؟");
    assert!(c.interests.contains(&"discount"), "{:?}", c.evidence);
    // Asking about an offer is asking about buying, whatever spec it names.
    let c = classify("any offer on the 65 inch tv?");
    assert_eq!(c.intent, High, "{:?}", c.evidence);
}

/// A question whether something is there to buy, with nothing more specific in it, is high
/// intent; asking for a guide or a spec with the same words is not.
#[test]
fn availability_questions_are_high_unless_they_ask_something_more_specific() {
    check(&[
        ("шашлык сегодня есть?", High, &[]),
        ("а чехол для самсунга у вас есть?", High, &[]),
        ("есть инструкция по сборке?", Medium, &["education"]),
        ("عندكم شاحن سامسونج؟", High, &[]),
        ("عندكم فيديو يشرح التركيب؟", Medium, &["education"]),
        ("do you have the blue hoodie?", High, &[]),
    ]);
    let c = classify("шашлык сегодня есть?");
    assert!(
        c.evidence
            .iter()
            .any(|e| e.rule == "intent.high.availability_question" && e.matched == "есть"),
        "{:?}",
        c.evidence
    );
}

/// The fourth fresh corpus (`corpus/fresh4/`, 150 messages a language, each language's situations
/// written on their own: perfume, cleaning, tailoring, car rental, real estate, tutoring, event
/// halls, bakeries, pets, repairs, renovation, solar, travel and umrah, insurance, cosmetics),
/// written blind by someone who saw neither the lexicons nor the other corpora. Measured blind
/// four times on 2026-11-24: with the lexicons of the session's start (`9b166a0`), after the
/// `fresh2` tuning (`81f5a8e`), after the `fresh3` tuning, and after the service-question rule
/// (tuned on the other corpora): intent ar 85.3% / 87.3% / 90.0% / 90.0%, en 88.0% / 89.3% /
/// 90.7% / 90.7%, ru 83.3% / 86.7% / 87.3% / 87.3%; interests ar 79.3% / 79.3% / 80.7% / 80.7%,
/// en 78.7% / 78.7% / 78.7% / 79.3%, ru 74.0% / 74.7% / 74.7% / 76.7%. On 2026-11-24, once
/// `fresh5` and `fresh6` existed, its misses were read to tune (real words taken for typos,
/// amount and how-to questions, earlier orders, bookings cancelled, bought elsewhere), so it is
/// a tuning set now. The bars sit below its blind figures, to catch a regression.
#[test]
fn fourth_fresh_corpus_accuracy() {
    guard_fresh_corpus("fresh4", 0.86, 0.74);
}

/// The fifth fresh corpus (`corpus/fresh5/`, 150 messages a language: plumbing, moving, abayas,
/// dates and honey, nurseries, car tinting, gaming, books, children's clothes, music lessons,
/// medical equipment, camping, salons, cleaning supplies, routers, mattresses, air tickets),
/// written on 2026-11-24 by three helpers, one a language, from the label definitions alone.
/// Measured blind at `225fa0f` (the session's start) and after the tuning on `fresh4` and
/// `fresh6`: intent ar 90.0% -> 92.7%, en 89.3% -> 91.3%, ru 87.3% -> 92.0%;
/// interests ar 78.0% -> 82.7%, en 83.3% -> 86.7%, ru 78.7% -> 83.3%. The bars sit a few
/// messages below the last figures, to catch a regression. Then, once `fresh7` existed, its
/// misses were read to tune, so it is a tuning set now.
#[test]
fn fifth_fresh_corpus_accuracy() {
    guard_fresh_corpus("fresh5", 0.89, 0.8);
}

/// The sixth fresh corpus (`corpus/fresh6/`, 150 messages a language: spas, driving schools,
/// laundries, appliance repair, cameras and locks, catering, gift boxes, carpets, lighting,
/// scooters, supplements, barbers, pest control, furniture rental, tyres, language courses, pool
/// maintenance, wedding dresses), written with `fresh5` under the same rules. Measured blind at
/// `225fa0f`: intent ar 80.7%, en 86.7%, ru 90.7%; interests ar 66.7%, en 83.3%, ru 77.3%. Then
/// its misses were read to tune, with `fresh4`'s, so it is a tuning set. The bars sit below its
/// figures after that tuning, to catch a regression.
#[test]
fn sixth_fresh_corpus_accuracy() {
    guard_fresh_corpus("fresh6", 0.88, 0.78);
}

/// The seventh fresh corpus (`corpus/fresh7/`, 150 messages a language: electronics, tools,
/// paint, daycare, riding, fishing, bridal make-up, kitchenware, sneakers, couriers, car
/// dealers, motorbike rental, yoga, threading, aquariums, web hosting, soap and candles,
/// second-hand phones), written on 2026-11-24 like `fresh5`. Measured blind at `225fa0f`, at
/// `d6b0af9` (after the `fresh4` and `fresh6` tuning) and at `7c570cc` (after the `fresh5`
/// tuning): intent ar 87.3% / 88.7% / 89.3%, en 84.0% / 85.3% / 86.7%, ru 92.0% / 92.7% /
/// 92.7%; interests ar 78.7% / 83.3% / 83.3%, en 75.3% / 80.0% / 80.0%, ru 86.0% / 88.0% /
/// 88.7%. Then its misses were read to tune, so it is a tuning set; the bars sit below its
/// blind figures.
#[test]
fn seventh_fresh_corpus_accuracy() {
    guard_fresh_corpus("fresh7", 0.86, 0.78);
}

/// The eighth fresh corpus (`corpus/fresh8/`, 150 messages a language: bakeries and cakes,
/// phone accessories, internet and TV, interior design, blinds, car batteries, sunglasses,
/// tutors, swimming and football, grooming and vets, laptops and printers, office supplies,
/// tickets, chalets, tailoring, kids' parties), written like `fresh5`. Measured blind at
/// `225fa0f`, at `7c570cc` and at `4ff3af0` (after the `fresh7` tuning): intent ar 83.3% /
/// 85.3% / 86.7%, en 84.7% / 88.7% / 89.3%, ru 90.7% / 92.0% / 92.0%; interests ar 73.3% /
/// 78.7% / 80.0%, en 76.7% / 80.0% / 80.0%, ru 81.3% / 82.7% / 82.7%. Then its misses were read
/// to tune, so it is a tuning set; the bars sit below its blind figures.
#[test]
fn eighth_fresh_corpus_accuracy() {
    guard_fresh_corpus("fresh8", 0.85, 0.77);
}

/// The ninth fresh corpus (`corpus/fresh9/`, 150 messages a language: grocery apps, butchers,
/// spices and coffee, cleaning subscriptions, air conditioning, solar heaters, upholstery,
/// tiles, car detailing, visas, dentists, physiotherapy, gyms, make-up, hair extensions,
/// jewellery repair, wedding photography, toys), written like `fresh5`. Measured blind at
/// `225fa0f` and at `b5b070e` (after the `fresh8` tuning): intent ar 87.3% -> 87.3%, en 91.3%
/// -> 95.3%, ru 84.0% -> 86.0%; interests ar 81.3% -> 82.0%, en 78.7% -> 82.0%, ru 78.7% ->
/// 84.0%; 7 Arabic opt-outs wrong at `b5b070e`. Then its misses were read to tune (among them
/// "don't send" that names a technician or an order, not the messages), so it is a tuning set;
/// the bars sit below its blind figures.
#[test]
fn ninth_fresh_corpus_accuracy() {
    guard_fresh_corpus("fresh9", 0.85, 0.78);
}

/// The tenth fresh corpus (`corpus/fresh10/`, 150 messages a language: wedding halls, baby
/// gear, glasses and lenses, home gyms, laptop repair, e-bikes, pet food subscriptions,
/// perfume sets, tailoring, cars with drivers, home nursing, moving abroad, IELTS, SIM plans,
/// landscaping, sewing supplies, balloons, rug cleaning), written like `fresh5`. Measured blind
/// at `225fa0f` (the session's start) and at `90e1888` (after the tuning on `fresh4` to
/// `fresh9`): intent ar 84.0% -> 86.7%, en 89.3% -> 92.7%, ru 82.0% -> 88.7%; interests ar
/// 77.3% -> 85.3%, en 85.3% -> 88.7%, ru 76.0% -> 84.7%; 8 opt-out errors. Then, once `fresh11`
/// existed, its misses were read to tune, so it is a tuning set; the bars sit below its blind
/// figures.
#[test]
fn tenth_fresh_corpus_accuracy() {
    guard_fresh_corpus("fresh10", 0.84, 0.82);
}

/// The eleventh fresh corpus (`corpus/fresh11/`, 150 messages a language: desserts, water
/// filters, cold-chain trucks, art classes, nail products, sofa cleaning, children's shoes,
/// watch repair, kitchen appliances, lash studios, bicycle repair, gaming cafes, garden
/// furniture, security guards, translation, university tutoring, halal meat boxes, Islamic
/// gifts; opt-outs written every way the writers could think of), written like `fresh5`.
/// Measured blind at `225fa0f` (the session's start) and at `e7b91d5` (after the tuning on
/// `fresh4` to `fresh10`): intent ar 87.3% -> 90.7%, en 85.3% -> 88.7%, ru 89.3% -> 92.0%;
/// interests ar 76.7% -> 81.3%, en 73.3% -> 77.3%, ru 82.7% -> 90.0%; opt-out errors ar 0, en 4,
/// ru 2. Then, once `fresh12` existed, its misses were read to tune, so it is a tuning set; the
/// bars sit below its blind figures.
#[test]
fn eleventh_fresh_corpus_accuracy() {
    guard_fresh_corpus("fresh11", 0.86, 0.74);
}

/// The twelfth fresh corpus (`corpus/fresh12/`, 150 messages a language: phone repair, used
/// cars, car insurance, pharmacies, baby supplies, school uniforms and stationery, home
/// bakeries, frozen food, invitations, flowers, furniture assembly, plumbing, pest control,
/// laundry, instalments, perfume oils, sports clubs), written like `fresh11`. Measured blind at
/// `225fa0f` and at `3d67d9c` (after the tuning on `fresh4` to `fresh11`): intent ar 85.3% ->
/// 86.7%, en 86.7% -> 91.3%, ru 89.3% -> 94.0%; interests ar 77.3% -> 83.3%, en 72.0% -> 76.0%,
/// ru 86.0% -> 88.7%; opt-out errors ar 4, en 2, ru 6. Then, once `fresh13` existed, its misses
/// were read to tune, so it is a tuning set; the bars sit below its blind figures.
#[test]
fn twelfth_fresh_corpus_accuracy() {
    guard_fresh_corpus("fresh12", 0.85, 0.73);
}

/// The thirteenth fresh corpus (`corpus/fresh13/`, 150 messages a language: tyres, jewellery,
/// coffee, dental clinics, barbers, toys, bedding, hijabs, dates and honey, aquariums, solar,
/// air conditioners, printing, camping, phone accessories, grocery, driving schools,
/// instruments, photo studios, renovation), written from a brief carrying only the label
/// definitions. Measured blind at `225fa0f`, at `bb261d1` (after the tuning on `fresh4` to
/// `fresh11`) and at `59a147e` (after the `fresh12` tuning and the reviews of the Arabic and
/// opt-out lists): intent ar 84.7% / 88.0% / 90.7%, en 90.0% / 93.3% / 93.3%, ru 93.3% / 94.0%
/// / 94.0%; interests ar 76.0% / 78.7% / 81.3%, en 80.7% / 84.0% / 84.0%, ru 81.3% / 84.7% /
/// 84.7%; opt-out errors at `59a147e` ar 3, en 3, ru 1. Then, once `fresh14` existed, its
/// misses were read to tune, so it is a tuning set; the bars sit below its blind figures.
#[test]
fn thirteenth_fresh_corpus_accuracy() {
    guard_fresh_corpus("fresh13", 0.86, 0.76);
}

/// The fourteenth fresh corpus (`corpus/fresh14/`, 150 messages a language: dresses, scooters,
/// pools, kitchens, car wash, henna, rentals, language schools, ink, generators, Eid livestock,
/// catering, kids' clothes, luggage, mattresses, hearing aids, cameras, plants, maid agencies,
/// Umrah, consoles, shoes, skin clinics), written like `fresh13`. Measured blind at `225fa0f`,
/// `bb261d1`, `b9c0831` (after the `fresh12` tuning), `59a147e` (after the reviews of the Arabic
/// and opt-out lists) and `7ef3b13` (after the `fresh13` tuning and the English review): intent
/// ar 89.3% / 90.7% / 90.7% / 92.0% / 92.0%, en 88.0% / 91.3% / 91.3% / 92.0% / 93.3%, ru 86.7%
/// / 88.0% / 88.0% / 88.0% / 88.0%; interests ar 79.3% / 86.0% / 86.7% / 87.3% / 88.0%, en
/// 79.3% / 84.0% / 84.0% / 84.0% / 85.3%, ru 76.7% / 81.3% / 81.3% / 81.3% / 81.3%; opt-out
/// errors at `b9c0831` ar 3, en 4, ru 3, at `7ef3b13` 3, 1, 3. Then, once `fresh15` existed, its
/// misses were read to tune, so it is a tuning set; the bars sit below its blind figures.
#[test]
fn fourteenth_fresh_corpus_accuracy() {
    guard_fresh_corpus("fresh14", 0.86, 0.78);
}

/// The fifteenth fresh corpus (`corpus/fresh15/`, 150 messages a language: furniture, perfume,
/// laptops, car rental, photography, gyms, cakes, abayas, pest control, plumbers, tutoring,
/// glasses, baby products, pets, water purifiers, internet, travel, cosmetics, carpets, phone
/// repair, frozen meat, florists), written like `fresh13`. Measured blind at `225fa0f`, `bb261d1`, `a190758` (after this
/// session's reviews of the lists and the `fresh12` to `fresh14` tuning) and `0ef6aad` (after
/// the Russian review): intent ar 87.3% / 90.7% / 92.7% / 92.7%, en 84.7% / 91.3% / 96.0% /
/// 96.0%, ru 88.0% / 94.0% / 94.0% / 93.3%; interests ar 78.7% / 82.7% / 84.0% / 84.0%, en
/// 82.7% / 85.3% / 89.3% / 89.3%, ru 78.0% / 84.7% / 84.7% / 84.7%; opt-out errors at `0ef6aad`
/// ar 2, en 1, ru 2. Then, once `fresh16` existed, its misses were read to tune, so it is a
/// tuning set; the bars sit below its blind figures.
#[test]
fn fifteenth_fresh_corpus_accuracy() {
    guard_fresh_corpus("fresh15", 0.89, 0.80);
}

/// The sixteenth fresh corpus (`corpus/fresh16/`, 150 messages a language: phones, appliances,
/// toys, supplements, bags and shoes, flats, car servicing, salons, events, language courses,
/// upholstery, cleaning, clinics, bicycles, jewellery, bakeries, signage, moving, insurance,
/// fishing gear), written like `fresh13`. **Nobody has read its lines**: score it, never read
/// its misses. Measured blind at `225fa0f`, `bb261d1` and `0ef6aad` (this session's end):
/// intent ar 87.3% / 88.7% / 92.7%, en 88.7% / 92.0% / 94.0%, ru 87.3% / 91.3% / 94.0%;
/// interests ar 77.3% / 80.7% / 84.7%, en 79.3% / 85.3% / 88.0%, ru 82.0% / 87.3% / 88.7%;
/// opt-out errors at `bb261d1` ar 4, en 4, ru 1, at `0ef6aad` 2, 2, 0. The bars sit a few
/// messages below, to catch a regression.
#[test]
fn sixteenth_fresh_corpus_accuracy() {
    guard_fresh_corpus("fresh16", 0.90, 0.81);
}

/// A question about a place, a service or terms is medium without the function interest that a
/// plain product question gets; a product question keeps it.
#[test]
fn service_questions_carry_no_function_interest() {
    for text in [
        "is breakfast included?",
        "а парковка у дома своя?",
        "الشقه مفروشه؟",
    ] {
        let c = classify(text);
        assert_eq!(c.intent, Medium, "{text}: {:?}", c.evidence);
        assert!(
            !c.interests.contains(&"function"),
            "{text}: {:?}",
            c.evidence
        );
    }
    let c = classify("is it waterproof?");
    assert!(c.interests.contains(&"function"), "{:?}", c.evidence);
}

/// A request anywhere in the message asks like a question mark: a formal e-mail that asks for
/// the specifications and thanks in advance is medium, not a polite reply. A question word inside
/// a polite phrase asks nothing.
#[test]
fn a_request_asks_and_a_polite_phrase_does_not() {
    check(&[
        (
            "Уважаемые господа, просим предоставить технические характеристики инвертора. С уважением",
            Medium,
            &["function"],
        ),
        (
            "thanks in advance, kindly share the warranty terms",
            Medium,
            &[],
        ),
        (
            "Спасибо что напомнили про ТО кондиционера, учту",
            Potential,
            &[],
        ),
    ]);
}

/// A question that opens with a stock word asks whether the thing is there to buy, even when it
/// names a size or a spec; a spec question without one stays medium.
#[test]
fn a_question_opening_with_a_stock_word_is_high() {
    check(&[
        ("شلونكم، عندكم حفاضات بامبرز مقاس ٥؟", High, &[]),
        ("do u have the 3 seater in the olive velvet?", High, &[]),
        ("у вас есть зарядка type-c на 65 ватт?", High, &[]),
        ("is the olive velvet ok with cats?", Medium, &["function"]),
    ]);
}

/// A want word followed by a number orders that many; in another clause or followed by a unit
/// of time it does not.
#[test]
fn a_want_word_with_a_number_is_an_order() {
    check(&[
        ("حبيبي ابي ٥ شنط ظهر للعيال", High, &[]),
        ("нужно 6 бутылей воды на завтра", High, &[]),
        ("want 2 of those truffle boxes", High, &[]),
        ("need 2 days to think", Potential, &[]),
        ("ابي ٣ ايام افكر", Potential, &[]),
    ]);
    let c = classify("need 100 helium balloons tomorrow morning");
    assert!(
        c.evidence
            .iter()
            .any(|e| e.rule == "intent.high.quantity_order" && e.matched == "need 100"),
        "{:?}",
        c.evidence
    );
    // The number belongs to the next clause: "how much data do we need, 2 people".
    let c = classify("how much data do we actually need, 2 ppl working from home");
    assert!(
        c.evidence
            .iter()
            .all(|e| e.rule != "intent.high.quantity_order"),
        "{:?}",
        c.evidence
    );
}

/// A question for an amount with no unit after it asks the price; with a unit it asks that
/// amount, and a spec word keeps it medium.
#[test]
fn amount_questions_without_a_unit_ask_the_price() {
    check(&[
        ("сколько будет за всё, мойка и полировка?", High, &[]),
        ("полировка фар сколько примерно?", High, &[]),
        ("сколько дней держится запах?", Medium, &[]),
        ("сколько весит коляска?", Medium, &["function"]),
        ("كم حق الثريا الذهبيه؟", High, &[]),
        ("نبي بوفيه عشا ل80 شخص، كم يطلع علينا للراس؟", High, &[]),
        ("كم ساعه يشتغل الفلتر باليوم؟", Medium, &[]),
        // A bare price word followed by a spec asks the spec, followed by "حق" the price.
        ("شكد وزنه؟", Medium, &["function"]),
        ("قديش بتقعد البطارية؟", Medium, &["function"]),
        ("الغسالة دي بتاخد كام كيلو؟", Medium, &[]),
        ("قديش حق تركيب سخان شمسي ٣٠٠ لتر", High, &[]),
        ("ده كام؟", High, &[]),
        ("إزاي أسقي الصبار؟ كل قد ايه؟", Medium, &["education"]),
        ("hi how much dry cleaning for a suit?", High, &[]),
        (
            "how much water should i give the plant weekly?",
            Medium,
            &[],
        ),
    ]);
    let c = classify("كم حق الثريا الذهبيه؟");
    assert!(
        c.evidence
            .iter()
            .any(|e| e.rule == "intent.high.price_question" && e.matched == "كم"),
        "{:?}",
        c.evidence
    );
}

/// A product question that asks how to do something is about learning: education, not the
/// function interest a plain product question is given.
#[test]
fn how_to_questions_are_education() {
    check(&[
        ("как приучить щенка к пелёнке?", Medium, &["education"]),
        ("وشلون اعالجه؟ الماي صار اخضر", Medium, &["education"]),
        (
            "how do i get the smell out of the carpet?",
            Medium,
            &["education"],
        ),
    ]);
    for text in ["как приучить щенка к пелёнке?", "وشلون اعالجه؟"]
    {
        let c = classify(text);
        assert!(
            !c.interests.contains(&"function"),
            "{text}: {:?}",
            c.evidence
        );
        assert!(
            c.evidence
                .iter()
                .any(|e| e.rule == "interest.education.how_to_question"),
            "{text}: {:?}",
            c.evidence
        );
    }
    // "как" as a conjunction asks nothing about how to do a thing.
    for text in [
        "как придут синие, а размер 42 у них большемерит?",
        "как обычно, а он стирается нормально?",
    ] {
        let c = classify(text);
        assert!(
            !c.interests.contains(&"education"),
            "{text}: {:?}",
            c.evidence
        );
    }
}

/// A phrase of the `not_interests` list shadows the interest words inside it: the new year,
/// the customer's own new flat, a quotation, what a job will come to.
#[test]
fn phrases_that_only_look_like_interests_are_not_interests() {
    for text in [
        "happy new year to you too!!",
        "how much to deep clean my new flat?",
        "с новым годом! спасибо",
        "арендовать диван на месяц скок выйдет?",
        "احتاج عرض سعر لتأمين سيارة كامري",
        "سنة جديدة سعيدة للجميع 🎉",
    ] {
        let c = classify(text);
        assert!(
            !c.interests.contains(&"new_product") && !c.interests.contains(&"discount"),
            "{text}: {:?}",
            c.evidence
        );
    }
    // The same words still count on their own.
    assert!(
        classify("any new models this month?")
            .interests
            .contains(&"new_product")
    );
    assert!(
        classify("في عرض على الكنب؟")
            .interests
            .contains(&"discount")
    );
}

/// A lone opening "stop" that goes on to ask about buying is not an opt-out; one that does not
/// still is.
#[test]
fn a_stop_that_goes_on_to_ask_the_price_is_not_an_opt_out() {
    let c = classify("стоп, а доставка сколько стоит? в сообщении не увидела");
    assert!(!c.opt_out, "{:?}", c.evidence);
    assert_eq!(c.intent, High);
    let c = classify("STOP. I said stop three times");
    assert!(c.opt_out, "{:?}", c.evidence);
    let c = classify("STOP. why do you keep texting me?");
    assert!(c.opt_out, "{:?}", c.evidence);
    // A closing clause of its own counts too; inside a clause it is a word ("bus stop").
    let c = classify("это развод какой-то, по 5 смс в день! STOP");
    assert!(c.opt_out, "{:?}", c.evidence);
    let c = classify("is the bus stop near the hotel, and how far is the beach?");
    assert!(!c.opt_out, "{:?}", c.evidence);
}

/// Opt-outs in formal and legal wording, and one-word forms that share a stem with another
/// entry ("отпишите" and "отпишитесь", "امسحوني" and "امسحني"), are found; words that only look
/// like one (parking, a switch, a phone's mode, the newsletter's promo code) are not.
#[test]
fn formal_opt_outs_are_found_and_look_alikes_are_not() {
    for text in [
        "I no longer wish to receive your emails",
        "I withdraw my consent to marketing messages",
        "لا ارغب في تلقي رسائلكم",
        "отпишите",
        "امسحوني",
        "удалите меня из рассылки",
    ] {
        let c = classify(text);
        assert!(c.opt_out, "{text}: {:?}", c.evidence);
    }
    for text in [
        "وين اوقف السياره؟",
        "كيف ايقاف الجهاز؟",
        "does it have do not disturb mode?",
        "промокод из рассылки не работает",
        "the promo code from your newsletter doesn't work",
    ] {
        let c = classify(text);
        assert!(!c.opt_out, "{text}: {:?}", c.evidence);
    }
}

/// An opt-out inside a longer refusal or complaint is that one's: a change of mind about an
/// order, one price turned down, a gym membership cancelled. Unsubscribing somebody who asked
/// for none of it would lose a customer.
#[test]
fn an_opt_out_inside_a_longer_refusal_is_the_refusal() {
    for text in [
        "стоп, я передумала, массаж пока не нужен",
        "خلاص لا ترسل لي السعر، اشتريت من محل جنبنا",
        "ابي الغي اشتراكي في النادي، ما عاد اروح",
        "отпишите меня от секции по боксу, сын больше не хочет ходить",
    ] {
        let c = classify(text);
        assert!(!c.opt_out, "{text}: {:?}", c.evidence);
        assert_eq!(c.intent, Nothing, "{text}: {:?}", c.evidence);
    }
    // "Don't send" that names what not to send is about that, not the messages; on its own it
    // stops them (`opt_out_alone`).
    for text in [
        "لا ترسلوا",
        "لا ترسلوا، شكرا",
        "не присылайте",
        "don't send",
        "отключите мне эти уведомления, больше не присылайте",
    ] {
        assert!(
            classify(text).opt_out,
            "{text}: {:?}",
            classify(text).evidence
        );
    }
    for text in [
        "لا ترسلوا الفني بكرة، المكيف رجع اشتغل لحاله",
        "не отправляйте абайю, я передумала",
        "не присылайте курьера завтра",
        "больше не присылайте курьера за бельём, теперь сами стираем",
        "dont send the paint tomorrow, I'll collect it",
    ] {
        assert!(
            !classify(text).opt_out,
            "{text}: {:?}",
            classify(text).evidence
        );
    }
    for text in [
        "Please unsubscribe this address from all marketing e-mails.",
        "я не давала согласие на рассылку, прекратите",
        "رجاءً لا تدزولي رسائل بعد",
        "لا ترسلوا لي رسايل بعد اليوم",
        "прошу не присылать рекламу на этот номер",
    ] {
        assert!(
            classify(text).opt_out,
            "{text}: {:?}",
            classify(text).evidence
        );
    }
}

/// A letter typed again and again for emphasis is the word: "شكرااااا", "спасибоооо", "thanksss".
#[test]
fn letters_repeated_for_emphasis_read_as_the_word() {
    check(&[
        ("شكرااااا", Potential, &[]),
        ("спасибоооо!!", Potential, &[]),
        ("thanksss", Potential, &[]),
    ]);
}
