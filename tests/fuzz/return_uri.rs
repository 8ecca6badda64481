//! `return_uri`: never accepted outside the registered realm's action URL,
//! however it is spelled; the real action URL is never refused.
use proptest::prelude::*;

use crate::cases;
use crate::oracle::{check_return_uri, check_return_uri_accepts, ACTION_PATH};

fn issuer() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["https", "http", "HTTPS"]),
        prop::sample::select(vec![
            "id.example.com",
            "ID.Example.COM",
            "localhost",
            "127.0.0.1",
            "[::1]",
            "xn--bcher-kva.example",
            "bücher.example",
            "id.example.com.",
        ]),
        prop::sample::select(vec!["", ":443", ":80", ":8443", ":8080"]),
        prop::sample::select(vec![
            "",
            "/",
            "/realms/acme",
            "/auth/realms/a-b",
            "/realms/acme/",
        ]),
    )
        .prop_map(|(s, h, p, path)| format!("{s}://{h}{p}{path}"))
}

/// Edits that turn a good URL into a look-alike.
const EDITS: &[&str] = &[
    "@",
    "\\",
    "/",
    "//",
    "..",
    "/..",
    "/.",
    ".",
    "%2e",
    "%2E",
    "%2f",
    "%5c",
    "%40",
    "#",
    "?",
    ":",
    ":443",
    ":0443",
    ":80",
    ":8443",
    "user:pw@",
    "evil.example",
    ".evil.example",
    "\u{ff0f}",
    "\u{2044}",
    "%00",
    " ",
    "\t",
    "\n",
    "\u{0}",
    "\u{3002}",
    "A",
    "HTTPS://",
    "http://",
    "javascript:",
    "//evil.example/",
    "%252e",
    ";",
    "&",
];

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, &'static str),
    Delete(usize, usize),
    Upper(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(
        prop_oneof![
            4 => (any::<usize>(), prop::sample::select(EDITS)).prop_map(|(i, s)| Edit::Insert(i, s)),
            2 => (any::<usize>(), 1usize..8).prop_map(|(i, n)| Edit::Delete(i, n)),
            1 => any::<usize>().prop_map(Edit::Upper),
        ],
        0..4,
    )
}

fn apply(mut s: String, edits: &[Edit]) -> String {
    for e in edits {
        let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
        match *e {
            Edit::Insert(i, what) => s.insert_str(bounds[i % bounds.len()], what),
            Edit::Delete(i, n) => {
                let a = i % bounds.len();
                let b = (a + n).min(bounds.len() - 1);
                s.replace_range(bounds[a]..bounds[b], "");
            }
            Edit::Upper(i) => {
                let a = bounds[i % bounds.len()];
                let upper = s[a..]
                    .chars()
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string());
                if let Some(u) = upper {
                    let n = s[a..].chars().next().map_or(0, char::len_utf8);
                    s.replace_range(a..a + n, &u);
                }
            }
        }
    }
    s
}

fn query() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~=&%/?:@!$'()*+,;-]{0,80}"
}

proptest! {
    #![proptest_config(cases(10000))]

    /// A good URL (of this issuer or another) edited at random.
    #[test]
    fn edited_action_urls_stay_inside_the_issuer(
        configured in issuer(),
        target in issuer(),
        q in query(),
        edits in edits(),
    ) {
        let good = format!("{}{ACTION_PATH}?{q}", target.trim_end_matches('/'));
        check_return_uri(&configured, &apply(good, &edits));
    }

    /// Anything at all.
    #[test]
    fn arbitrary_strings_stay_inside_the_issuer(configured in issuer(), raw in "\\PC{0,120}") {
        check_return_uri(&configured, &raw);
    }

    /// No false refusals: the issuer's own action URL with any URL-safe query.
    #[test]
    fn the_action_url_is_accepted(configured in issuer(), q in query()) {
        check_return_uri_accepts(&configured, &q);
    }
}
