//! Messages per locale (Fluent `.ftl` files under `locales/<lang>/`), the
//! fallback chain (`de-AT` -> `de` -> `en`) and date formatting from
//! per-locale patterns.
use std::collections::{BTreeMap, BTreeSet};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

use super::files::{line_col, FileSet};
use super::Problem;

/// The locale every other one falls back to, and the reference for which
/// messages must exist.
pub const DEFAULT_LOCALE: &str = "en";

type Bundle = FluentBundle<FluentResource>;

/// An RFC 9110 `qvalue` in thousandths: `1`, `1.0`, `0.8`, `0.125`; `None` when malformed.
fn parse_qvalue(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Traditional Chinese (`zh-Hant`, `zh-TW`, `zh-HK`, `zh-MO`) is not served
/// Simplified Chinese as a sibling: its readers get the default instead.
fn is_traditional_chinese(id: &LanguageIdentifier) -> bool {
    id.language.as_str() == "zh"
        && (id.script.is_some_and(|s| s.as_str() == "Hant")
            || id
                .region
                .is_some_and(|r| matches!(r.as_str(), "TW" | "HK" | "MO")))
}

/// Where a message is defined, for reports.
#[derive(Debug, Clone)]
struct Definition {
    file: String,
    line: usize,
}

pub struct Locales {
    bundles: BTreeMap<String, Bundle>,
    /// locale -> message id -> where it is defined.
    definitions: BTreeMap<String, BTreeMap<String, Definition>>,
    /// For each of our locales, its [`Chains`], worked out once: a template
    /// is rendered in one of them, with a lookup for every message.
    chains: BTreeMap<String, Chains>,
}

/// A locale's own fallback chain and the full one (ending with the default).
struct Chains {
    own: Vec<String>,
    full: Vec<String>,
}

/// A message lookup that did not go cleanly, for the check.
#[derive(Debug, Clone)]
pub struct MessageIssue {
    pub locale: String,
    pub message: String,
}

impl Locales {
    /// Parse every `locales/<tag>/*.ftl`. Built-in files load first; an
    /// override file with a new name adds or replaces single messages, one
    /// with a built-in's name replaces that file.
    pub fn load(files: &FileSet) -> (Self, Vec<Problem>) {
        let mut problems = Vec::new();
        let mut by_locale: BTreeMap<String, Vec<&String>> = BTreeMap::new();
        for (rel, _) in files.iter() {
            let mut parts = rel.split('/');
            if let (Some("locales"), Some(tag), Some(_name), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            {
                by_locale.entry(tag.to_string()).or_default().push(rel);
            }
        }
        let mut bundles = BTreeMap::new();
        let mut definitions = BTreeMap::new();
        for (tag, rels) in by_locale {
            let langid: LanguageIdentifier = match tag.parse() {
                Ok(l) => l,
                Err(_) => {
                    problems.push(Problem::file(
                        files.display(&format!("locales/{tag}")),
                        format!("`{tag}` is not a language tag (e.g. `de`, `de-AT`)"),
                    ));
                    continue;
                }
            };
            let key = langid.to_string();
            if key != tag {
                problems.push(Problem::file(
                    files.display(rels[0]),
                    format!("locale directory `{tag}` should be spelled `{key}`"),
                ));
                continue;
            }
            let mut bundle: Bundle = FluentBundle::new_concurrent(vec![langid]);
            // Unicode isolation marks would end up in subjects and plain text.
            bundle.set_use_isolating(false);
            let mut defs: BTreeMap<String, Definition> = BTreeMap::new();
            // Built-ins first, so override files can replace their messages.
            let mut ordered: Vec<&String> = rels.clone();
            ordered.sort_by_key(|rel| {
                (
                    !matches!(
                        files.get(rel).map(|f| &f.origin),
                        Some(super::files::Origin::BuiltIn)
                    ),
                    (*rel).clone(),
                )
            });
            for rel in ordered {
                let Some(file) = files.get(rel) else { continue };
                let display = files.display(rel);
                let text = file.text().into_owned();
                let overriding = !matches!(file.origin, super::files::Origin::BuiltIn);
                let resource = match FluentResource::try_new(text.clone()) {
                    Ok(r) => r,
                    Err((r, errors)) => {
                        for e in errors {
                            let (line, col) = line_col(&text, e.pos.start);
                            problems.push(Problem::at(
                                display.clone(),
                                line,
                                col,
                                format!("Fluent syntax: {}", e.kind),
                            ));
                        }
                        r
                    }
                };
                for (id, offset) in message_ids(&resource, &text) {
                    let (line, _) = line_col(&text, offset);
                    if let Some(previous) = defs.get(&id) {
                        if !overriding {
                            problems.push(Problem::at(
                                display.clone(),
                                line,
                                1,
                                format!(
                                    "message `{id}` is already defined at {}:{}",
                                    previous.file, previous.line
                                ),
                            ));
                        }
                    }
                    defs.insert(
                        id,
                        Definition {
                            file: display.clone(),
                            line,
                        },
                    );
                }
                if overriding {
                    bundle.add_resource_overriding(resource);
                } else if let Err(errors) = bundle.add_resource(resource) {
                    // Duplicates are reported above with their lines.
                    let _ = errors;
                }
            }
            definitions.insert(key.clone(), defs);
            bundles.insert(key, bundle);
        }
        let mut locales = Locales {
            bundles,
            definitions,
            chains: BTreeMap::new(),
        };
        locales.chains = locales
            .bundles
            .keys()
            .map(|tag| (tag.clone(), locales.chains_of(tag)))
            .collect();
        if !locales.bundles.contains_key(DEFAULT_LOCALE) {
            problems.push(Problem::file(
                files.display(&format!("locales/{DEFAULT_LOCALE}")),
                format!("the default locale `{DEFAULT_LOCALE}` has no messages"),
            ));
        }
        problems.extend(locales.completeness());
        (locales, problems)
    }

    /// Every locale must have every message of the default locale (a regional
    /// locale may take them from its language), and no message the default lacks.
    fn completeness(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let Some(reference) = self.definitions.get(DEFAULT_LOCALE) else {
            return problems;
        };
        for (tag, defs) in &self.definitions {
            if tag == DEFAULT_LOCALE {
                continue;
            }
            let chain = self.own_chain(tag);
            for (id, def) in reference {
                let found = chain.iter().any(|l| {
                    self.definitions
                        .get(l)
                        .is_some_and(|d| d.contains_key(id.as_str()))
                });
                if !found {
                    problems.push(Problem {
                        file: self.locale_dir_display(tag),
                        line: None,
                        column: None,
                        locale: Some(tag.clone()),
                        message: format!(
                            "message `{id}` is missing (defined for {DEFAULT_LOCALE} at {}:{})",
                            def.file, def.line
                        ),
                    });
                }
            }
            for (id, def) in defs {
                if !reference.contains_key(id) {
                    problems.push(Problem {
                        file: def.file.clone(),
                        line: Some(def.line),
                        column: Some(1),
                        locale: Some(tag.clone()),
                        message: format!(
                            "message `{id}` does not exist in the default locale \
                             {DEFAULT_LOCALE} (misspelt?)"
                        ),
                    });
                }
            }
        }
        problems
    }

    fn locale_dir_display(&self, tag: &str) -> String {
        self.definitions
            .get(tag)
            .and_then(|d| d.values().next())
            .map(|d| {
                d.file
                    .rsplit_once('/')
                    .map(|(dir, _)| format!("{dir}/"))
                    .unwrap_or_else(|| d.file.clone())
            })
            .unwrap_or_else(|| format!("locales/{tag}/"))
    }

    /// Locale tags that have messages.
    pub fn tags(&self) -> impl Iterator<Item = &String> {
        self.bundles.keys()
    }

    /// The locales tried for `requested`, most specific first, ending with the
    /// default: `de-AT` -> `de-AT`, `de`, `en`. Unknown or malformed tags give
    /// just the default.
    pub fn chain(&self, requested: &str) -> Vec<String> {
        let mut chain = self.own_chain(requested);
        if !chain.iter().any(|l| l == DEFAULT_LOCALE) {
            chain.push(DEFAULT_LOCALE.to_string());
        }
        chain
    }

    fn chains_of(&self, requested: &str) -> Chains {
        Chains {
            own: self.own_chain(requested),
            full: self.chain(requested),
        }
    }

    /// Like [`chain`](Self::chain) but without the final fallback to the default.
    fn own_chain(&self, requested: &str) -> Vec<String> {
        let normalized = requested.trim().replace('_', "-");
        let Ok(id) = normalized.parse::<LanguageIdentifier>() else {
            return Vec::new();
        };
        let language = id.language;
        let mut candidates: Vec<LanguageIdentifier> = vec![id.clone()];
        let mut without_variants = id.clone();
        without_variants.clear_variants();
        candidates.push(without_variants.clone());
        if without_variants.script.is_some() && without_variants.region.is_some() {
            let mut ls = without_variants.clone();
            ls.region = None;
            candidates.push(ls);
            let mut lr = without_variants.clone();
            lr.script = None;
            candidates.push(lr);
        }
        candidates.push(LanguageIdentifier::from_parts(language, None, None, &[]));
        let mut chain: Vec<String> = Vec::new();
        for c in candidates {
            let tag = c.to_string();
            if self.bundles.contains_key(&tag) && !chain.contains(&tag) {
                chain.push(tag);
            }
        }
        if chain.is_empty() && !is_traditional_chinese(&id) {
            // `pt-PT` or `pt` reads `pt-BR` better than English; `zh` and
            // `zh-Hans-SG` read `zh-CN`. The first such locale by name.
            if let Some(sibling) = self.bundles.keys().find(|tag| {
                tag.parse::<LanguageIdentifier>()
                    .is_ok_and(|l| l.language == language)
            }) {
                chain.push(sibling.clone());
            }
        }
        chain
    }

    /// The best of our locales for an `Accept-Language` header: its ranges in
    /// order of `q` (ties keep the header's order; `q=0` and `*` are skipped),
    /// the first that has a locale of its own (`de-CH` -> `de`, `pt` ->
    /// `pt-BR`). `None` when no range matches, so the caller's default applies.
    pub fn negotiate(&self, accept_language: &str) -> Option<String> {
        let mut ranges: Vec<(u16, usize, &str)> = Vec::new();
        for (i, part) in accept_language.split(',').take(32).enumerate() {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            if tag.is_empty() || tag == "*" {
                continue;
            }
            let mut q = 1000u16;
            for param in pieces {
                if let Some(value) = param.trim().strip_prefix("q=") {
                    q = parse_qvalue(value.trim()).unwrap_or(0);
                }
            }
            if q > 0 {
                ranges.push((q, i, tag));
            }
        }
        ranges.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        ranges
            .into_iter()
            .find_map(|(_, _, tag)| self.own_chain(tag).into_iter().next())
    }

    /// The locale a page is written in for `requested` (its `lang`).
    pub fn resolve(&self, requested: &str) -> String {
        self.chain(requested)
            .into_iter()
            .next()
            .unwrap_or_else(|| DEFAULT_LOCALE.to_string())
    }

    /// Format message `id` for `locale` (already resolved), walking the
    /// fallback chain. Issues (a message absent from the locale's own chain,
    /// a formatting error) are pushed to `issues`; the text is still produced
    /// when any locale of the chain has the message.
    pub fn format(
        &self,
        locale: &str,
        id: &str,
        args: &FluentArgs<'_>,
        issues: &mut Vec<MessageIssue>,
    ) -> Option<String> {
        let computed;
        let Chains { own, full: chain } = match self.chains.get(locale) {
            Some(known) => known,
            None => {
                computed = self.chains_of(locale);
                &computed
            }
        };
        for tag in chain {
            let Some(bundle) = self.bundles.get(tag) else {
                continue;
            };
            let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
                continue;
            };
            if !own.contains(tag) {
                issues.push(MessageIssue {
                    locale: locale.to_string(),
                    message: format!("message `{id}` is missing in locale {locale}"),
                });
            }
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, Some(args), &mut errors);
            for e in errors {
                issues.push(MessageIssue {
                    locale: tag.clone(),
                    message: format!("message `{id}`: {e}"),
                });
            }
            return Some(text.into_owned());
        }
        issues.push(MessageIssue {
            locale: locale.to_string(),
            message: format!("message `{id}` is not defined in any locale"),
        });
        None
    }

    /// Every message id of the default locale.
    pub fn default_ids(&self) -> BTreeSet<String> {
        self.definitions
            .get(DEFAULT_LOCALE)
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// Message ids of a resource with their byte offsets (terms are internal).
fn message_ids(resource: &FluentResource, text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut search_from = 0;
    for entry in resource.entries() {
        if let fluent_syntax::ast::Entry::Message(m) = entry {
            let id = m.id.name;
            let offset = find_definition(text, id, search_from).unwrap_or(0);
            search_from = offset;
            out.push((id.to_string(), offset));
        }
    }
    out
}

/// Offset of `id =` at the start of a line, at or after `from`.
fn find_definition(text: &str, id: &str, from: usize) -> Option<usize> {
    let mut start = from;
    while let Some(pos) = text.get(start..)?.find(id) {
        let abs = start + pos;
        let at_line_start = abs == 0 || text.as_bytes().get(abs - 1) == Some(&b'\n');
        let rest = text.get(abs + id.len()..).unwrap_or("");
        if at_line_start && rest.trim_start_matches([' ', '\t']).starts_with('=') {
            return Some(abs);
        }
        start = abs + id.len();
    }
    None
}

/// Turn a template value into a Fluent argument: numbers stay numbers (so
/// plural selectors work), everything else becomes text.
pub fn fluent_value(value: &serde_json::Value) -> FluentValue<'static> {
    match value {
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => FluentValue::from(i),
            None => FluentValue::from(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => FluentValue::from(s.clone()),
        serde_json::Value::Bool(b) => FluentValue::from(if *b { "true" } else { "false" }),
        serde_json::Value::Null => FluentValue::from(""),
        other => FluentValue::from(other.to_string()),
    }
}

/// The pieces a date pattern message (`datetime-full`, `datetime-time`) may use.
pub fn datetime_args(unix: i64) -> Option<(FluentArgs<'static>, u8)> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).ok()?;
    let mut args = FluentArgs::new();
    let hour = t.hour();
    let hour12 = match hour % 12 {
        0 => 12,
        h => h,
    };
    args.set("year", FluentValue::from(t.year().to_string()));
    args.set("day", FluentValue::from(t.day()));
    args.set("day2", FluentValue::from(format!("{:02}", t.day())));
    args.set(
        "month2",
        FluentValue::from(format!("{:02}", u8::from(t.month()))),
    );
    args.set("hour", FluentValue::from(hour));
    args.set("hour2", FluentValue::from(format!("{hour:02}")));
    args.set("hour12", FluentValue::from(hour12));
    args.set("minute", FluentValue::from(format!("{:02}", t.minute())));
    args.set(
        "dayperiod",
        FluentValue::from(if hour < 12 { "am" } else { "pm" }),
    );
    args.set(
        "weekday",
        FluentValue::from(t.weekday().number_from_monday().to_string()),
    );
    Some((args, u8::from(t.month())))
}
