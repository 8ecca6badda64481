//! The raw walk: the TOML file and `OTP_SIDECAR__*` overrides merged into one
//! tree, read with typed accessors that record every problem with its key
//! path and where the value came from.
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use toml::Value;
use url::Url;

use super::{ConfigError, ENV_PREFIX};
use crate::net::{redact, UrlError};

/// Collects errors while walking the merged TOML tree.
pub(super) struct Walk {
    pub(super) file: Option<PathBuf>,
    /// Paths set from the environment, with the variable that set them.
    pub(super) env_paths: BTreeMap<String, String>,
    pub(super) errors: Vec<ConfigError>,
}

/// `prefix.key`, the key quoted as TOML writes it when it is not a bare key
/// (`apps."my app"`), so an error never names a blank or ambiguous key.
pub(super) fn join(prefix: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let key = if bare {
        key.to_string()
    } else {
        let mut quoted = String::from("\"");
        for c in key.chars() {
            match c {
                '"' => quoted.push_str("\\\""),
                '\\' => quoted.push_str("\\\\"),
                c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
                c => quoted.push(c),
            }
        }
        quoted.push('"');
        quoted
    };
    if prefix.is_empty() {
        key
    } else {
        format!("{prefix}.{key}")
    }
}

/// A dotted path from its segments, each as [`join`] writes it.
fn path_of(segments: &[String]) -> String {
    segments.iter().fold(String::new(), |p, s| join(&p, s))
}

pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a datetime",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(key, k), *k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

impl Walk {
    pub(super) fn new(file: Option<&Path>) -> Self {
        Self {
            file: file.map(Path::to_path_buf),
            env_paths: BTreeMap::new(),
            errors: Vec::new(),
        }
    }

    pub(super) fn origin(&self, key: &str) -> Option<String> {
        // The variable that set this key or a table containing it.
        let mut probe = key.to_string();
        loop {
            if let Some(var) = self.env_paths.get(&probe) {
                return Some(format!("environment variable {var}"));
            }
            match probe.rfind(['.', '[']) {
                Some(i) => probe.truncate(i),
                None => break,
            }
        }
        self.file.as_ref().map(|f| f.display().to_string())
    }

    pub(super) fn set_by_env(&self, key: &str) -> bool {
        self.env_paths.contains_key(key)
    }

    pub(super) fn error(&mut self, key: &str, message: impl Into<String>) {
        let origin = self.origin(key);
        self.errors.push(ConfigError {
            key: key.to_string(),
            message: message.into(),
            origin,
        });
    }

    /// A problem of the file as a whole (unreadable, not TOML): the file is the key.
    pub(super) fn file_error(&mut self, path: &Path, message: impl Into<String>) {
        self.errors.push(ConfigError {
            key: path.display().to_string(),
            message: message.into(),
            origin: None,
        });
    }

    pub(super) fn found(
        &mut self,
        key: &str,
        found: impl fmt::Display,
        expected: impl fmt::Display,
    ) {
        self.error(key, format!("found {found}, expected {expected}"));
    }

    /// `OTP_SIDECAR__A__B=v` sets `a.b`. Values starting with `[` or `{` are
    /// TOML arrays or inline tables; everything else is text, converted to the
    /// key's type when the key is read.
    pub(super) fn apply_env(&mut self, root: &mut toml::Table, name: &str, raw: &str) {
        let rest = &name[ENV_PREFIX.len()..];
        let segments: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        if segments.iter().any(String::is_empty) {
            self.errors.push(ConfigError {
                key: name.to_string(),
                message: "found an empty segment, expected OTP_SIDECAR__SECTION__KEY".into(),
                origin: Some(format!("environment variable {name}")),
            });
            return;
        }
        // Found by fuzzing: `OTP_SIDECAR__ ` was reported under the key " ".
        if let Some(seg) = segments
            .iter()
            .find(|s| s.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            self.errors.push(ConfigError {
                key: name.to_string(),
                message: format!(
                    "found the segment {seg:?} with whitespace or control characters, \
                     expected OTP_SIDECAR__SECTION__KEY"
                ),
                origin: Some(format!("environment variable {name}")),
            });
            return;
        }
        let value = if raw.trim_start().starts_with(['[', '{']) {
            match format!("v = {raw}").parse::<toml::Table>() {
                Ok(mut t) => t.remove("v").unwrap_or(Value::String(raw.to_string())),
                Err(e) => {
                    self.errors.push(ConfigError {
                        key: path_of(&segments),
                        message: format!(
                            "found a value starting with [ or {{ that is not a TOML array or inline table ({})",
                            e.to_string().lines().next().unwrap_or_default()
                        ),
                        origin: Some(format!("environment variable {name}")),
                    });
                    return;
                }
            }
        } else {
            Value::String(raw.to_string())
        };
        let path = path_of(&segments);
        let mut table = root;
        for (i, seg) in segments.iter().enumerate() {
            if i + 1 == segments.len() {
                table.insert(seg.clone(), value);
                self.env_paths.insert(path, name.to_string());
                return;
            }
            let entry = table
                .entry(seg.clone())
                .or_insert_with(|| Value::Table(toml::Table::new()));
            match entry {
                Value::Table(t) => table = t,
                other => {
                    let at = path_of(&segments[..=i]);
                    let found = type_name(other);
                    self.errors.push(ConfigError {
                        key: path.clone(),
                        message: format!("cannot override: {at} is {found}, not a table"),
                        origin: Some(format!("environment variable {name}")),
                    });
                    return;
                }
            }
        }
    }

    /// The table at `key`, reporting unknown keys (with a suggestion).
    pub(super) fn table<'a>(
        &mut self,
        key: &str,
        v: &'a Value,
        known: &[&str],
    ) -> Option<&'a toml::Table> {
        let Value::Table(t) = v else {
            self.found(key, type_name(v), "a table");
            return None;
        };
        self.unknown_keys(key, t, known);
        Some(t)
    }

    pub(super) fn unknown_keys(&mut self, prefix: &str, t: &toml::Table, known: &[&str]) {
        for k in t.keys() {
            if !known.contains(&k.as_str()) {
                let hint = match closest(k, known) {
                    Some(c) => format!("did you mean {}?", join(prefix, c)),
                    None => format!("valid keys here: {}", known.join(", ")),
                };
                self.error(&join(prefix, k), format!("unknown key; {hint}"));
            }
        }
    }

    pub(super) fn string<'a>(
        &mut self,
        t: &'a toml::Table,
        prefix: &str,
        key: &str,
    ) -> Option<&'a str> {
        let path = join(prefix, key);
        match t.get(key)? {
            Value::String(s) => Some(s),
            other => {
                self.found(&path, type_name(other), "a string");
                None
            }
        }
    }

    pub(super) fn integer(&mut self, t: &toml::Table, prefix: &str, key: &str) -> Option<i64> {
        let path = join(prefix, key);
        match t.get(key)? {
            Value::Integer(i) => Some(*i),
            Value::String(s) if self.set_by_env(&path) => match s.trim().parse::<i64>() {
                Ok(i) => Some(i),
                Err(_) => {
                    self.found(&path, format!("{s:?}"), "an integer");
                    None
                }
            },
            other => {
                self.found(&path, type_name(other), "an integer");
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, t: &toml::Table, prefix: &str, key: &str) -> Option<bool> {
        let path = join(prefix, key);
        match t.get(key)? {
            Value::Boolean(b) => Some(*b),
            Value::String(s) if self.set_by_env(&path) => match s.trim() {
                "true" => Some(true),
                "false" => Some(false),
                _ => {
                    self.found(&path, format!("{s:?}"), "true or false");
                    None
                }
            },
            other => {
                self.found(&path, type_name(other), "true or false");
                None
            }
        }
    }

    /// An integer within `lo..=hi`.
    pub(super) fn bounded(
        &mut self,
        t: &toml::Table,
        prefix: &str,
        key: &str,
        lo: i64,
        hi: i64,
    ) -> Option<i64> {
        let v = self.integer(t, prefix, key)?;
        if v < lo || v > hi {
            self.found(&join(prefix, key), v, format!("a value in {lo}..={hi}"));
            return None;
        }
        Some(v)
    }

    pub(super) fn path(&mut self, t: &toml::Table, prefix: &str, key: &str) -> Option<PathBuf> {
        let s = self.string(t, prefix, key)?;
        if s.trim().is_empty() {
            self.found(&join(prefix, key), "an empty string", "a file path");
            return None;
        }
        Some(PathBuf::from(s))
    }

    pub(super) fn http_url(&mut self, key: &str, raw: &str) -> Option<Url> {
        match Url::parse(raw) {
            Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.host_str().is_some() => {
                if !u.username().is_empty() || u.password().is_some() {
                    self.found(
                        key,
                        "a URL with user-info",
                        "an http(s) URL without user-info",
                    );
                    return None;
                }
                Some(u)
            }
            Ok(u) => {
                self.found(
                    key,
                    format!("{} with scheme {}", redact(&u), u.scheme()),
                    "an https:// or http:// URL",
                );
                None
            }
            Err(e) => {
                self.found(key, format!("{raw:?} ({e})"), "an https:// or http:// URL");
                None
            }
        }
    }

    /// Walks the whole tree; `None` (with errors recorded) when anything is wrong.
    /// A typed value, or its error recorded under `key`.
    pub(super) fn value<T>(&mut self, key: &str, parsed: Result<T, UrlError>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                self.found(key, e.found, e.expected);
                None
            }
        }
    }
}
