//! CSS inlining of the code mail, done once per mail *skeleton*.
//!
//! Inlining parses the whole mail, matches every rule against it and writes
//! it out again: most of the CPU a code mail costs. Which style an element
//! gets depends on the elements and their attributes, never on the text
//! between them (the mail's CSS cannot select on text). So the text runs of
//! the rendered mail (the code, the name, the sentences) are swapped for
//! numbered markers, the resulting skeleton is inlined once and kept, and
//! each mail puts its own text back into the kept result.
//!
//! The result is checked, not trusted: every marker must come back exactly
//! once and in order (the HTML parser moves misplaced text, e.g. text
//! directly inside a `<table>`). If not, or if the mail itself contains a
//! marker character, the mail is inlined whole, as before.
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// Opens and closes a marker; private-use characters no template writes.
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';
/// Skeletons kept: one per template variant (locale, branding, resent or
/// not, expiry wording), most recently used first.
const KEPT: usize = 32;

/// Elements whose content the HTML parser takes as raw text: copied as is.
const RAW_TEXT: &[&str] = &[
    "style", "script", "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title",
];

/// What inlining a skeleton gave: the inlined skeleton, or `None` when its
/// markers did not survive (every mail of this skeleton is inlined whole).
type Inlined = Option<Arc<str>>;

#[derive(Default)]
pub(crate) struct MailInliner {
    kept: Mutex<VecDeque<(Arc<str>, Inlined)>>,
}

impl MailInliner {
    /// `html` with its `<style>` rules inlined: the same result as
    /// [`super::inline_css`] of the whole mail, up to how entities in text
    /// are written.
    pub(crate) fn inline(&self, html: &str) -> Result<String, String> {
        if html.contains([OPEN, CLOSE]) {
            return super::inline_css(html);
        }
        let (skeleton, runs) = skeleton(html);
        let inlined = match self.lookup(&skeleton) {
            Some(found) => found,
            None => {
                let whole = super::inline_css(&skeleton)?;
                let usable = restore(&whole, &runs).is_some().then(|| Arc::from(whole));
                self.keep(skeleton, usable.clone());
                usable
            }
        };
        match inlined.and_then(|i| restore(&i, &runs)) {
            Some(done) => Ok(done),
            None => super::inline_css(html),
        }
    }

    fn lookup(&self, skeleton: &str) -> Option<Inlined> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let at = kept.iter().position(|(s, _)| &**s == skeleton)?;
        let entry = kept.remove(at)?;
        let found = entry.1.clone();
        kept.push_front(entry);
        Some(found)
    }

    fn keep(&self, skeleton: String, inlined: Inlined) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.push_front((Arc::from(skeleton), inlined));
        kept.truncate(KEPT);
    }

    #[cfg(test)]
    fn kept(&self) -> usize {
        self.kept.lock().map_or(0, |k| k.len())
    }

    #[cfg(test)]
    pub(crate) fn kept_count(&self) -> usize {
        self.kept()
    }

    /// Kept skeletons whose markers survived inlining.
    #[cfg(test)]
    pub(crate) fn usable(&self) -> usize {
        self.kept
            .lock()
            .map_or(0, |k| k.iter().filter(|(_, i)| i.is_some()).count())
    }
}

/// The mail with each text run's non-blank middle replaced by a marker, and
/// those middles in order. Tags, comments and raw-text element content are
/// copied as they are.
fn skeleton(html: &str) -> (String, Vec<&str>) {
    let mut out = String::with_capacity(html.len());
    let mut runs = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            text_run(rest, &mut out, &mut runs);
            break;
        };
        text_run(&rest[..lt], &mut out, &mut runs);
        rest = &rest[lt..];
        let end = if rest.starts_with("<!--") {
            rest.find("-->").map_or(rest.len(), |i| i + 3)
        } else {
            tag_end(rest)
        };
        let (tag, after) = rest.split_at(end);
        out.push_str(tag);
        rest = after;
        if let Some(name) = raw_text_element(tag) {
            let close = find_close(rest, name).unwrap_or(rest.len());
            out.push_str(&rest[..close]);
            rest = &rest[close..];
        }
    }
    (out, runs)
}

fn text_run<'a>(text: &'a str, out: &mut String, runs: &mut Vec<&'a str>) {
    let core = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if core.is_empty() {
        out.push_str(text);
        return;
    }
    let start = text.len()
        - text
            .trim_start_matches(|c: char| c.is_ascii_whitespace())
            .len();
    out.push_str(&text[..start]);
    let _ = write!(out, "{OPEN}{}{CLOSE}", runs.len());
    out.push_str(&text[start + core.len()..]);
    runs.push(core);
}

/// The length of the tag at the start of `s` (through its `>`, quotes
/// honoured), or all of `s` when it never closes.
fn tag_end(s: &str) -> usize {
    let mut quote = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return i + 1,
            _ => {}
        }
    }
    s.len()
}

/// The name of a raw-text element `tag` opens.
fn raw_text_element(tag: &str) -> Option<&'static str> {
    let name: String = tag
        .strip_prefix('<')?
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    RAW_TEXT.iter().copied().find(|raw| *raw == name)
}

/// Where `</name` starts in `s`, any letter case.
fn find_close(s: &str, name: &str) -> Option<usize> {
    let lower = s.to_ascii_lowercase();
    lower.find(&format!("</{name}"))
}

/// `inlined` with its markers replaced by `runs`, if every marker is there
/// exactly once and in order.
fn restore(inlined: &str, runs: &[&str]) -> Option<String> {
    let mut out =
        String::with_capacity(inlined.len() + runs.iter().map(|r| r.len()).sum::<usize>());
    let mut rest = inlined;
    let mut next = 0;
    while let Some(open) = rest.find(OPEN) {
        out.push_str(&rest[..open]);
        let after = &rest[open + OPEN.len_utf8()..];
        let close = after.find(CLOSE)?;
        let index: usize = after[..close].parse().ok()?;
        if index != next {
            return None;
        }
        out.push_str(runs.get(index)?);
        next += 1;
        rest = &after[close + CLOSE.len_utf8()..];
    }
    if rest.contains(CLOSE) || next != runs.len() {
        return None;
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MAIL: &str = r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Your code</title>
<style>.code { font-size: 28px; color: #123456 } p { margin: 0 } @media (prefers-color-scheme: dark) { p { color: #eee } }</style></head>
<body><!--[if mso]><table><tr><td><![endif]--><p class="intro">Hello {NAME},</p>
<p class="code">{CODE}</p><p>Sent to <b>{EMAIL}</b> for <a href="https://app.example.com/">Acme</a>.</p></body></html>"#;

    fn mail(name: &str, code: &str, email: &str) -> String {
        MAIL.replace("{NAME}", name)
            .replace("{CODE}", code)
            .replace("{EMAIL}", email)
    }

    /// How entities in text are written differs between handlebars (which
    /// escapes the data) and the HTML serializer: read both the same way.
    fn normalized(html: &str) -> String {
        html.replace("&#x27;", "'")
            .replace("&#x60;", "`")
            .replace("&#x3D;", "=")
            .replace("&quot;", "\"")
            .replace("&nbsp;", "\u{a0}")
    }

    #[test]
    fn gives_what_inlining_the_whole_mail_gives_and_inlines_each_skeleton_once() {
        let inliner = MailInliner::default();
        for (name, code, email) in [
            ("Jane", "123456", "jane@example.com"),
            (
                "O&#x27;Brien &amp; Sons &lt;b&gt;",
                "000001",
                "ob@example.com",
            ),
            ("Zoë &#x3D; Ünal", "987654", "zoe@example.org"),
        ] {
            let html = mail(name, code, email);
            let ours = inliner.inline(&html).unwrap();
            let whole = super::super::inline_css(&html).unwrap();
            assert_eq!(normalized(&ours), normalized(&whole), "for {name}");
            assert!(
                ours.contains(&format!(
                    r#"class="code" style="margin: 0;font-size: 28px;color: #123456;">{code}<"#
                )),
                "{ours}"
            );
        }
        assert_eq!(inliner.kept(), 1, "the three mails share one skeleton");
    }

    #[test]
    fn text_the_parser_moves_falls_back_to_inlining_the_whole_mail() {
        // Text directly inside a table is moved in front of it by the parser.
        let html = "<html><head><style>td { color: red }</style></head><body><table>stray<tr><td>cell</td></tr></table></body></html>";
        let inliner = MailInliner::default();
        let ours = inliner.inline(html).unwrap();
        assert_eq!(ours, super::super::inline_css(html).unwrap());
        // And again from what was kept.
        assert_eq!(inliner.inline(html).unwrap(), ours);
    }

    #[test]
    fn a_mail_with_marker_characters_is_inlined_whole() {
        let html = mail("\u{E000}0\u{E001}", "123456", "a@example.com");
        let inliner = MailInliner::default();
        assert_eq!(
            inliner.inline(&html).unwrap(),
            super::super::inline_css(&html).unwrap()
        );
        assert_eq!(inliner.kept(), 0);
    }

    #[test]
    fn raw_text_comments_and_quoted_brackets_are_left_alone() {
        let (skeleton, runs) =
            skeleton(r#"<style>p>b{x:y}</style><img alt="a > b"><!-- a <b> c -->x<p>y</p>"#);
        assert_eq!(runs, ["x", "y"]);
        assert_eq!(
            skeleton,
            "<style>p>b{x:y}</style><img alt=\"a > b\"><!-- a <b> c -->\u{E000}0\u{E001}<p>\u{E000}1\u{E001}</p>"
        );
    }

    #[test]
    fn kept_skeletons_are_bounded() {
        let inliner = MailInliner::default();
        for i in 0..(KEPT + 5) {
            let html = format!("<html><body><p class=\"c{i}\">x</p></body></html>");
            inliner.inline(&html).unwrap();
        }
        assert_eq!(inliner.kept(), KEPT);
    }
}
