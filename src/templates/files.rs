//! The template file set: the built-ins compiled into the binary, merged file
//! by file with an override directory.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_embed::RustEmbed;

use super::Problem;

#[derive(RustEmbed)]
#[folder = "templates/"]
#[include = "*.hbs"]
#[include = "*.ftl"]
#[include = "static/*"]
struct BuiltIn;

/// Where a file came from; shown in every problem report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    BuiltIn,
    Override(PathBuf),
}

/// One file of the set, by its path relative to the template root
/// (`pages/code.hbs`, `locales/de/main.ftl`, `static/page.css`).
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub bytes: Vec<u8>,
    pub origin: Origin,
}

impl SourceFile {
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.bytes)
    }
}

/// Built-ins merged with an override directory.
#[derive(Debug, Clone, Default)]
pub struct FileSet {
    pub files: BTreeMap<String, SourceFile>,
}

/// The kinds of file the set holds; anything else in an override directory is
/// reported, so a misnamed file is not silently ignored.
fn is_known(rel: &str) -> bool {
    rel.ends_with(".hbs")
        || (rel.starts_with("locales/") && rel.ends_with(".ftl"))
        || (rel.starts_with("static/") && !rel["static/".len()..].contains('/'))
}

/// Files an override directory may hold without being templates.
fn is_ignorable(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.starts_with('.') || name.eq_ignore_ascii_case("README.md") || name.ends_with('~')
}

impl FileSet {
    /// The built-ins, then every file under `override_dir` on top.
    pub fn load(override_dir: Option<&Path>) -> (Self, Vec<Problem>) {
        let mut set = FileSet::default();
        let mut problems = Vec::new();
        for name in BuiltIn::iter() {
            if let Some(file) = BuiltIn::get(&name) {
                set.files.insert(
                    name.to_string(),
                    SourceFile {
                        bytes: file.data.into_owned(),
                        origin: Origin::BuiltIn,
                    },
                );
            }
        }
        if let Some(dir) = override_dir {
            if !dir.is_dir() {
                problems.push(Problem::file(
                    dir.display().to_string(),
                    "override directory does not exist or is not a directory",
                ));
            } else {
                walk(dir, dir, &mut set, &mut problems);
            }
        }
        (set, problems)
    }

    pub fn get(&self, rel: &str) -> Option<&SourceFile> {
        self.files.get(rel)
    }

    /// The path shown to a person for a file: the override's real path, or
    /// `templates/<rel>` (built-in, as in the source tree).
    pub fn display(&self, rel: &str) -> String {
        match self.files.get(rel).map(|f| &f.origin) {
            Some(Origin::Override(p)) => p.display().to_string(),
            _ => format!("templates/{rel}"),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &SourceFile)> {
        self.files.iter()
    }
}

fn walk(root: &Path, dir: &Path, set: &mut FileSet, problems: &mut Vec<Problem>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            problems.push(Problem::file(
                dir.display().to_string(),
                format!("cannot read directory: {e}"),
            ));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let Ok(rel) = path.strip_prefix(root) else {
            continue;
        };
        let rel: String = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        // Kubernetes mounts a ConfigMap through `..data` symlinks and dot directories.
        if rel.split('/').any(|part| part.starts_with('.')) {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, set, problems);
            continue;
        }
        if is_ignorable(&rel) {
            continue;
        }
        if !is_known(&rel) {
            problems.push(Problem::file(
                path.display().to_string(),
                "unexpected file: templates end in .hbs, messages are locales/<lang>/*.ftl, \
                 assets sit directly in static/",
            ));
            continue;
        }
        match std::fs::read(&path) {
            Ok(bytes) => {
                set.files.insert(
                    rel,
                    SourceFile {
                        bytes,
                        origin: Origin::Override(path.clone()),
                    },
                );
            }
            Err(e) => problems.push(Problem::file(
                path.display().to_string(),
                format!("cannot read: {e}"),
            )),
        }
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count() + 1)
        .unwrap_or(1);
    (line, col)
}
