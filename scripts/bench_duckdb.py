#!/usr/bin/env python3
"""The baseline Stoke is measured against: what a data analyst would write instead, in DuckDB.

Why it exists: issue 10 asks for Stoke's figures side by side with the tool a team would reach for
without it. This script reads the files `stoke gen` writes (contacts.csv, messages.jsonl,
events.jsonl) directly with DuckDB, recomputes the tags of every contact with SQL, materialises
them as a table, and then evaluates the issue's audience against that table. It uses no Stoke
code: the rules are re-written from the default playbook (crates/stoke-core/playbook/default.toml)
and the lexicons are read from crates/stoke-core/playbook/lexicons.toml and turned into regular
expressions, as an analyst would.

What it computes, per contact (the rules of the default playbook that SQL expresses directly):
- activity by the last inbound message: high within 24 h of `now`, medium 3 d, low 7 d, else
  dormant;
- purchase intent, message by message in the classifier's order of rules: an opt-out is none; a
  high-intent phrase (or a high ending such as "..., how much?") is high unless a refusal stands
  beside it unasked; a refusal is none; a medium phrase is medium unless it is only thanked for; a
  discount word in a question is high; any other question is medium; anything else is potential.
  Over a contact's history, a buying signal upgrades at once, politeness never downgrades, a
  refusal or an opt-out resets to none (so: the best tier since the last refusal); high drops to
  medium after 3 d without a reply; a contact who ever opted out is none;
- interests (discount, new_product, function, education, loyal) from any inbound message,
  function also for a medium question that is not about learning, loyal only without a
  negative word in the same message;
- lifecycle groups: new (first seen within 30 d), active (3+ inbound messages in 30 d),
  dormant buyer (no order for 90 d), repeat buyer (2+ orders, otherwise), clicked not converted
  (a click within 7 d and no order since), cleanup (no reply or order for 180 d);
- opted out, and the last inbound moment.

What it does not do, because SQL over regular expressions cannot say it (or not simply): Snowball
stemming and typo tolerance (an entry matches as written, in whole words, after the same letter
normalisation: lower case, Arabic harakat and tatweel removed, alef variants, alef maqsura and
teh marbuta folded, Russian yo folded), script-based language detection (every language's lexicon
is matched, as Stoke does), temperature, stage, sentiment streaks, golden hours, replenishment and
the tag cap. Stoke computes those too, so the recompute comparison favours DuckDB.

Timing: `load` reads the three files into DuckDB tables; `tags` reads the lexicons and computes
the tags from those tables into the table `contact_tags`; the recompute is their sum (from the
files to the table).
The audience is then queried against `contact_tags` (the analogue of Stoke's segment index),
`--repeat` times, and the median reported.

Usage: bench_duckdb.py WORKSPACE --now 2026-11-20T10:00:00Z --lexicons PATH [--repeat 21]
    [--threads N] [--agreement STOKE_DB]
Prints human lines, then `figure<TAB>key<TAB>value` lines for scripts/bench, the last line a
one-line summary.
"""

import argparse
import datetime as dt
import re
import statistics
import sys
import time
import tomllib
import unicodedata

import duckdb

# The audience of issue 10, as Stoke's segment expression reads it.
AUDIENCE = "intent:high and interest:discount and active_within:7d and not opted_out"

INTERESTS = ["discount", "new_product", "function", "education", "loyal"]

# A one-word opt-out or refusal counts only as a short reply of its own (Stoke: SHORT_REPLY_TOKENS).
SHORT_REPLY_TOKENS = 3

# Country calling codes and national trunk prefixes, to write the local phone forms of
# contacts.csv ("050 123 4567", "8 (916) 123-45-67") in E.164 as messages and events name them.
COUNTRY_CODES = {
    "SA": ("966", "0"), "AE": ("971", "0"), "EG": ("20", "0"), "KW": ("965", ""),
    "QA": ("974", ""), "BH": ("973", ""), "OM": ("968", ""), "JO": ("962", "0"),
    "LB": ("961", "0"), "IQ": ("964", "0"), "MA": ("212", "0"), "RU": ("7", "8"),
    "KZ": ("7", "8"), "BY": ("375", "8"), "UA": ("380", "0"), "GB": ("44", "0"),
    "IE": ("353", "0"), "US": ("1", ""), "CA": ("1", ""), "DE": ("49", "0"),
    "FR": ("33", "0"), "AU": ("61", "0"), "IN": ("91", "0"), "TR": ("90", "0"),
}


def normalise(text):
    """The letter normalisation applied to lexicon entries; `sql_normalise` is the same in SQL."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub("[\u064b-\u065f\u0670\u0640]", "", text)
    text = re.sub("[\u0623\u0625\u0622\u0671]", "\u0627", text)
    return text.replace("\u0649", "\u064a").replace("\u0629", "\u0647").replace("\u0451", "\u0435")


def sql_normalise(column):
    return (
        "replace(replace(replace("
        "regexp_replace(regexp_replace(lower(" + column + "), "
        r"'[\x{064B}-\x{065F}\x{0670}\x{0640}]', '', 'g'), "
        r"'[\x{0623}\x{0625}\x{0622}\x{0671}]', '" + "\u0627" + "', 'g'), "
        "'\u0649', '\u064a'), '\u0629', '\u0647'), '\u0451', '\u0435')"
    )


def sql_words(column):
    """The message as its words: normalised, every run of non-letters and non-digits one space,
    one space at each end, so that an entry matches as whole words with a plain substring."""
    return (
        "' ' || trim(regexp_replace(" + sql_normalise(column) + r", '[^\pL\pN]+', ' ', 'g')) || ' '"
    )


def entry_tokens(entry):
    return [t for t in re.split(r"[\W_]+", normalise(entry)) if t]


def alternation(entries):
    """Entries as alternatives over the message's words (see `sql_words`): tokens joined by a space."""
    words = {" ".join(t) for t in (entry_tokens(e) for e in entries) if t}
    ordered = sorted(words, key=lambda w: (-len(w), w))
    return "|".join(" ".join(re.escape(t) for t in w.split(" ")) for w in ordered)


def contains_any(entries):
    alt = alternation(entries)
    return f" (?:{alt}) " if alt else None


def ends_with_any(entries):
    alt = alternation(entries)
    return f" (?:{alt}) $" if alt else None


def opens_with_any(entries):
    """One of these words as the first or second word of the message (a question opener)."""
    alt = alternation(entries)
    return f"^ (?:[^ ]+ )?(?:{alt}) " if alt else None


def lexicon_patterns(path):
    with open(path, "rb") as f:
        lexicons = tomllib.load(f)["lexicon"]

    def union(key, one_word=None):
        """A list of every language's table; only one-word entries, or only phrases, if asked."""
        out = []
        for table in lexicons.values():
            for entry in table.get(key, []):
                if one_word is None or one_word == (len(entry_tokens(entry)) == 1):
                    out.append(entry)
        return out

    patterns = {
        "opt_out_phrase": contains_any(union("opt_out", one_word=False)),
        "opt_out_word": contains_any(union("opt_out", one_word=True)),
        "high": contains_any(union("intent_high")),
        "high_ending": ends_with_any(union("intent_high_ending")),
        "refusal_phrase": contains_any(union("refusal", one_word=False)),
        "refusal_word": contains_any(union("refusal", one_word=True)),
        "medium": contains_any(union("intent_medium")),
        "polite": contains_any(union("polite")),
        "polite_phrase": contains_any(union("polite", one_word=False)),
        "opener": opens_with_any(union("question")),
        "negative": contains_any(union("negative")),
    }
    for name in INTERESTS:
        patterns["i_" + name] = contains_any(union("interest_" + name))
    return patterns


def quote(s):
    return "'" + s.replace("'", "''") + "'"


def matches(column, pattern):
    return "false" if pattern is None else f"regexp_matches({column}, {quote(pattern)})"


def ts(moment):
    return f"TIMESTAMP '{moment:%Y-%m-%d %H:%M:%S}'"


def load(con, workspace):
    """The three files into tables, as they are (the analogue of an import)."""
    con.execute(
        f"""CREATE OR REPLACE TABLE contacts_raw AS
        SELECT * FROM read_csv({quote(workspace + '/contacts.csv')}, header = true, all_varchar = true)"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE messages AS
        SELECT * FROM read_json({quote(workspace + '/messages.jsonl')}, format = 'newline_delimited',
            columns = {{'id': 'VARCHAR', 'contact': 'VARCHAR', 'direction': 'VARCHAR',
                        'channel': 'VARCHAR', 'account': 'VARCHAR', 'text': 'VARCHAR',
                        'at': 'TIMESTAMP'}})"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE events AS
        SELECT * FROM read_json({quote(workspace + '/events.jsonl')}, format = 'newline_delimited',
            columns = {{'id': 'VARCHAR', 'contact': 'VARCHAR', 'type': 'VARCHAR', 'at': 'TIMESTAMP'}})"""
    )


def recompute_tags(con, now, p):
    """Every tag of every contact from the loaded tables, materialised as `contact_tags`."""
    codes = ", ".join(
        f"({quote(c)}, {quote(code)}, {quote(trunk)})" for c, (code, trunk) in COUNTRY_CODES.items()
    )
    digits = "regexp_replace(r.phone, '[^0-9]', '', 'g')"
    con.execute(
        f"""CREATE OR REPLACE TABLE contacts AS
        SELECT row_number() OVER () AS contact_id, r.name, r.phone, r.email, r.country,
            CASE
                WHEN r.phone IS NULL OR {digits} = '' THEN NULL
                WHEN trim(r.phone) LIKE '+%' THEN '+' || {digits}
                WHEN {digits} LIKE '00%' THEN '+' || substr({digits}, 3)
                WHEN cc.code IS NOT NULL AND cc.trunk <> '' AND starts_with({digits}, cc.trunk)
                    THEN '+' || cc.code || substr({digits}, length(cc.trunk) + 1)
                WHEN cc.code IS NOT NULL THEN '+' || cc.code || {digits}
                ELSE '+' || {digits}
            END AS phone_e164,
            lower(trim(r.email)) AS email_key
        FROM contacts_raw r
        LEFT JOIN (VALUES {codes}) cc(country, code, trunk) ON cc.country = upper(r.country)"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE handles AS
        SELECT phone_e164 AS handle, contact_id FROM contacts WHERE phone_e164 IS NOT NULL
        UNION ALL
        SELECT email_key, contact_id FROM contacts WHERE email_key IS NOT NULL AND email_key <> ''"""
    )
    handle = "CASE WHEN trim(contact) LIKE '+%' THEN trim(contact) ELSE lower(trim(contact)) END"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE msg AS
        SELECT h.contact_id, m.direction = 'in' AS inbound, m."at", m.text
        FROM messages m JOIN handles h ON h.handle = {handle.replace('contact', 'm.contact')}"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE evt AS
        SELECT h.contact_id, e.type, e."at"
        FROM events e JOIN handles h ON h.handle = {handle.replace('contact', 'e.contact')}"""
    )

    # One row per inbound message: its signals, then its tier (the classifier's order of rules).
    interest_cols = ",\n".join(f"{matches('t', p['i_' + n])} AS m_{n}" for n in INTERESTS)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE classified AS
        WITH n AS (
            SELECT contact_id, "at", text AS raw, {sql_words('text')} AS t
            FROM msg WHERE inbound
        ), s AS (
            SELECT contact_id, "at",
                {matches('t', p['opt_out_phrase'])} AS oo_phrase,
                {matches('t', p['opt_out_word'])} AS oo_word,
                {matches('t', p['high'])} OR {matches('t', p['high_ending'])} AS high,
                {matches('t', p['refusal_phrase'])} AS rf_phrase,
                {matches('t', p['refusal_word'])} AS rf_word,
                {matches('t', p['medium'])} AS medium,
                {matches('t', p['polite'])} AS polite,
                {matches('t', p['polite_phrase'])} AS polite_phrase,
                {matches('t', p['negative'])} AS negative,
                contains(raw, '?') OR contains(raw, '\u061f') OR {matches('t', p['opener'])} AS asks,
                length(t) - length(replace(t, ' ', '')) - 1 <= {SHORT_REPLY_TOKENS} AS short,
                {interest_cols}
            FROM n
        ), f AS (
            SELECT *,
                oo_phrase OR (oo_word AND short) AS opt_out,
                rf_phrase OR (rf_word AND short AND NOT polite_phrase) AS refusal
            FROM s
        ), r AS (
            SELECT *,
                CASE
                    WHEN opt_out THEN 0
                    WHEN high AND (asks OR NOT refusal) THEN 3
                    WHEN refusal THEN 0
                    WHEN medium AND (asks OR NOT polite) THEN 2
                    WHEN m_discount AND asks THEN 3
                    WHEN asks THEN 2
                    ELSE 1
                END AS rank
            FROM f
        )
        SELECT contact_id, "at", rank, opt_out,
            m_discount AS i_discount, m_new_product AS i_new_product, m_education AS i_education,
            CASE rank WHEN 3 THEN false WHEN 2 THEN NOT m_education OR m_function ELSE m_function END
                AS i_function,
            m_loyal AND NOT negative AS i_loyal
        FROM r"""
    )

    day = "INTERVAL 1 DAY"
    n = ts(now)
    con.execute(
        f"""CREATE OR REPLACE TABLE contact_tags AS
        WITH inb AS (
            SELECT contact_id,
                max("at") AS last_inbound_at,
                max("at") FILTER (WHERE rank = 0) AS last_none_at,
                bool_or(opt_out) AS opted_out,
                count(*) FILTER (WHERE "at" >= {n} - 30 * {day}) AS inbound_30d,
                bool_or(i_discount) AS interest_discount,
                bool_or(i_new_product) AS interest_new_product,
                bool_or(i_function) AS interest_function,
                bool_or(i_education) AS interest_education,
                bool_or(i_loyal) AS interest_loyal
            FROM classified GROUP BY contact_id
        ), best AS (
            SELECT c.contact_id, max(c.rank) AS best_rank
            FROM classified c JOIN inb USING (contact_id)
            WHERE inb.last_none_at IS NULL OR c."at" > inb.last_none_at
            GROUP BY c.contact_id
        ), seen AS (
            SELECT contact_id, min("at") AS first_seen FROM (
                SELECT contact_id, "at" FROM msg UNION ALL SELECT contact_id, "at" FROM evt
            ) GROUP BY contact_id
        ), ev AS (
            SELECT contact_id,
                count(*) FILTER (WHERE type = 'order') AS orders,
                max("at") FILTER (WHERE type = 'order') AS last_order_at,
                max("at") FILTER (WHERE type = 'click') AS last_click_at
            FROM evt GROUP BY contact_id
        )
        SELECT c.contact_id, c.phone_e164, c.email_key,
            CASE
                WHEN inb.last_inbound_at >= {n} - 1 * {day} THEN 'high'
                WHEN inb.last_inbound_at >= {n} - 3 * {day} THEN 'medium'
                WHEN inb.last_inbound_at >= {n} - 7 * {day} THEN 'low'
                ELSE 'dormant'
            END AS activity,
            CASE
                WHEN coalesce(inb.opted_out, false) THEN 'none'
                WHEN best.best_rank = 3 AND inb.last_inbound_at < {n} - 3 * {day} THEN 'medium'
                WHEN best.best_rank = 3 THEN 'high'
                WHEN best.best_rank = 2 THEN 'medium'
                WHEN best.best_rank = 1 THEN 'potential'
                ELSE 'none'
            END AS intent,
            coalesce(inb.opted_out, false) AS opted_out,
            inb.last_inbound_at,
            coalesce(inb.interest_discount, false) AS interest_discount,
            coalesce(inb.interest_new_product, false) AS interest_new_product,
            coalesce(inb.interest_function, false) AS interest_function,
            coalesce(inb.interest_education, false) AS interest_education,
            coalesce(inb.interest_loyal, false) AS interest_loyal,
            coalesce(seen.first_seen > {n} - 30 * {day}, false) AS lifecycle_new,
            coalesce(inb.inbound_30d >= 3, false) AS lifecycle_active,
            coalesce(ev.last_order_at < {n} - 90 * {day}, false) AS lifecycle_dormant_buyer,
            coalesce(ev.last_order_at >= {n} - 90 * {day} AND ev.orders >= 2, false)
                AS lifecycle_repeat_buyer,
            coalesce(ev.last_click_at >= {n} - 7 * {day}
                AND (ev.last_order_at IS NULL OR ev.last_order_at < ev.last_click_at), false)
                AS lifecycle_clicked_not_converted,
            coalesce(coalesce(greatest(inb.last_inbound_at, ev.last_order_at), seen.first_seen)
                < {n} - 180 * {day}, false) AS lifecycle_cleanup
        FROM contacts c
        LEFT JOIN inb USING (contact_id)
        LEFT JOIN best USING (contact_id)
        LEFT JOIN seen USING (contact_id)
        LEFT JOIN ev USING (contact_id)"""
    )


def audience_sql(now):
    return f"""SELECT contact_id FROM contact_tags
        WHERE intent = 'high' AND interest_discount
          AND last_inbound_at >= {ts(now)} - INTERVAL 7 DAY AND NOT opted_out"""


LIFECYCLE = {
    "new": "lifecycle_new",
    "active": "lifecycle_active",
    "dormant-buyer": "lifecycle_dormant_buyer",
    "repeat-buyer": "lifecycle_repeat_buyer",
    "clicked-not-converted": "lifecycle_clicked_not_converted",
    "cleanup": "lifecycle_cleanup",
}


def agreement(con, stoke_db):
    """How often the baseline's tags equal the ones Stoke stored (read from its SQLite file,
    matched by phone), over the contacts Stoke tagged. A check that the two compute the same
    thing, not part of any timing; it reads Stoke's tables as they are today."""
    import sqlite3

    db = sqlite3.connect(f"file:{stoke_db}?mode=ro", uri=True)
    phones = dict(db.execute("SELECT contact_id, value FROM contact_handles WHERE kind = 'phone'"))
    stoke = {}
    for contact, family, value in db.execute(
        "SELECT contact_id, family, value FROM tags "
        "WHERE family IN ('activity', 'intent', 'interest', 'lifecycle')"
    ):
        tags = stoke.setdefault(phones.get(contact), {"interest": set(), "lifecycle": set()})
        if family in ("interest", "lifecycle"):
            tags[family].add(value)
        else:
            tags[family] = value
    stoke.pop(None, None)
    cursor = con.execute("SELECT * FROM contact_tags")
    columns = [d[0] for d in cursor.description]
    same = {}
    audience = {"both": 0, "stoke only": 0, "duckdb only": 0}
    for row in cursor.fetchall():
        ours = dict(zip(columns, row))
        theirs = stoke.get(ours["phone_e164"])
        if theirs is None:
            continue
        checks = [("activity", theirs.get("activity") == ours["activity"]),
                  ("intent", theirs.get("intent") == ours["intent"])]
        checks += [(f"interest {i}", (i in theirs["interest"]) == ours["interest_" + i])
                   for i in INTERESTS]
        checks += [(f"lifecycle {k}", (k in theirs["lifecycle"]) == ours[c])
                   for k, c in LIFECYCLE.items()]
        for name, equal in checks:
            hits, total = same.get(name, (0, 0))
            same[name] = (hits + equal, total + 1)
        # The audience from tags: an opted-out contact's intent is none in both.
        in_stoke = (theirs.get("intent") == "high" and "discount" in theirs["interest"]
                    and theirs.get("activity") in ("high", "medium", "low"))
        in_ours = (ours["intent"] == "high" and ours["interest_discount"]
                   and ours["activity"] in ("high", "medium", "low") and not ours["opted_out"])
        if in_stoke and in_ours:
            audience["both"] += 1
        elif in_stoke or in_ours:
            audience["stoke only" if in_stoke else "duckdb only"] += 1
    for name, (hits, total) in same.items():
        print(f"agreement {name}: {hits} of {total} contacts ({100 * hits / total:.1f}%)")
    print("agreement audience: " + ", ".join(f"{k} {v}" for k, v in audience.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", help="a directory written by `stoke gen`")
    parser.add_argument("--now", required=True, help="the moment tags are evaluated at (RFC 3339)")
    parser.add_argument("--lexicons", required=True, help="crates/stoke-core/playbook/lexicons.toml")
    parser.add_argument("--repeat", type=int, default=21, help="audience runs (median reported)")
    parser.add_argument("--threads", type=int, default=0, help="DuckDB threads (0: its default)")
    parser.add_argument("--agreement", metavar="STOKE_DB",
                        help="after the timings, compare the tags with a Stoke SQLite file's")
    args = parser.parse_args()

    now = dt.datetime.fromisoformat(args.now.replace("Z", "+00:00"))
    now = now.astimezone(dt.timezone.utc).replace(tzinfo=None)

    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]

    t0 = time.perf_counter()
    load(con, args.workspace)
    t1 = time.perf_counter()
    # Reading the lexicons is part of the recompute, as compiling the playbook is part of Stoke's.
    recompute_tags(con, now, lexicon_patterns(args.lexicons))
    t2 = time.perf_counter()
    load_s, tags_s, recompute_s = t1 - t0, t2 - t1, t2 - t0

    counts = con.execute(
        """SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM messages),
                  (SELECT count(*) FROM events), (SELECT count(*) FROM msg),
                  (SELECT count(*) FROM evt), (SELECT count(*) FROM classified)"""
    ).fetchone()
    contacts, messages, events, messages_resolved, events_resolved, inbound = counts
    print(f"duckdb {duckdb.__version__}, {threads} threads: {contacts} contacts, {messages} messages "
          f"({inbound} inbound), {events} events")
    if messages_resolved != messages or events_resolved != events:
        print(f"warning: {messages - messages_resolved} messages and {events - events_resolved} "
              "events name no contact of contacts.csv and were left out", file=sys.stderr)
    dist = con.execute(
        """SELECT intent, count(*) FROM contact_tags
           WHERE last_inbound_at IS NOT NULL GROUP BY intent ORDER BY intent"""
    ).fetchall()
    print("intent of contacts who replied: " + ", ".join(f"{k} {v}" for k, v in dist))
    print(f"load the files {load_s:.2f} s; tags of every contact {tags_s:.2f} s; "
          f"recompute from the files {recompute_s:.2f} s")

    query = audience_sql(now)
    times = []
    matched = None
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        rows = con.execute(query).fetchall()
        times.append(time.perf_counter() - t0)
        matched = len(rows)
    audience_ms = statistics.median(times) * 1e3

    print(f"figure\tduckdb_version\t{duckdb.__version__}")
    print(f"figure\tduckdb_load_s\t{load_s:.4f}")
    print(f"figure\tduckdb_tags_s\t{tags_s:.4f}")
    print(f"figure\tduckdb_recompute_s\t{recompute_s:.4f}")
    print(f"figure\tduckdb_audience_ms\t{audience_ms:.4f}")
    print(f"figure\tduckdb_audience_count\t{matched}")
    if args.agreement:
        agreement(con, args.agreement)
    print(f"recompute {recompute_s:.2f} s (load {load_s:.2f} + tags {tags_s:.2f}); {matched} of "
          f"{contacts} contacts match {AUDIENCE} in {audience_ms:.2f} ms, median of {len(times)}")


if __name__ == "__main__":
    main()
