//! Template rendering with hostile names, addresses, app names, form fields
//! and locale tags: no panic, no failure, the data HTML-escaped in pages and
//! mail HTML, verbatim in plain text, and never read as a template or a message.
use std::sync::OnceLock;

use otp_sidecar::templates::Page;
use proptest::prelude::*;

use crate::cases;
use crate::oracle::{Hostile, PageShape, TemplateOracle, DELIVERIES, ERRORS, NOTICES};
use crate::strategies::{hostile_text, printable_hostile};

fn oracle() -> &'static TemplateOracle {
    static ORACLE: OnceLock<TemplateOracle> = OnceLock::new();
    ORACLE.get_or_init(|| TemplateOracle::new("Acme Sign-in"))
}

fn hostile() -> impl Strategy<Value = Hostile> {
    (
        printable_hostile(6),
        printable_hostile(4),
        printable_hostile(4),
        printable_hostile(4),
        printable_hostile(3),
        printable_hostile(3),
        hostile_text(6),
        printable_hostile(4),
    )
        .prop_map(
            |(name, email, client_id, app_name, email_masked, field_name, field_value, action)| {
                Hostile {
                    name,
                    email,
                    client_id,
                    app_name,
                    email_masked,
                    field_name,
                    field_value,
                    action,
                }
            },
        )
}

fn locale() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "en",
            "de",
            "fr",
            "es",
            "de-AT",
            "pt-BR",
            "EN",
            "de_DE",
            "zh-Hant-TW",
            "x-private",
            "i-klingon",
            "",
            "-",
            "--",
            "de--AT",
            "en-",
            "und",
            "root",
            "../en",
            "en/../../etc",
            "{{locale}}",
        ])
        .prop_map(str::to_string),
        "[a-zA-Z0-9_-]{0,35}",
        hostile_text(3),
    ]
}

fn shape() -> impl Strategy<Value = PageShape> {
    (
        any::<u8>(),
        any::<u32>(),
        prop::option::of(prop_oneof![
            Just(i64::MIN),
            Just(i64::MAX),
            1_799_999_000i64..1_800_001_000
        ]),
        prop::option::of(prop::sample::select(NOTICES)),
        prop::option::of(prop::sample::select(DELIVERIES)),
        prop::option::of(prop::sample::select(ERRORS)),
    )
        .prop_map(
            |(code_length, attempts_left, resend_available_at, notice, delivery, error)| {
                PageShape {
                    code_length,
                    attempts_left,
                    resend_available_at,
                    notice,
                    delivery,
                    error,
                }
            },
        )
}

proptest! {
    #![proptest_config(cases(800))]

    #[test]
    fn mails_escape_and_never_interpret_user_data(
        loc in locale(),
        h in hostile(),
        resent in any::<bool>(),
    ) {
        oracle().check_mail(&loc, &h, resent);
    }

    #[test]
    fn pages_escape_and_never_interpret_user_data(
        loc in locale(),
        h in hostile(),
        shape in shape(),
        page in prop::sample::select(Page::ALL.to_vec()),
    ) {
        oracle().check_page(page, &loc, &h, &shape);
    }
}

proptest! {
    // Loading the template set is the slow part: fewer cases.
    #![proptest_config(cases(12))]

    /// The operator's product name is data too.
    #[test]
    fn a_hostile_product_name_is_data(product in printable_hostile(5), h in hostile()) {
        let o = TemplateOracle::new(&product);
        o.check_mail("en", &h, false);
        o.check_page(Page::Code, "de", &h, &PageShape {
            code_length: 6,
            attempts_left: 3,
            resend_available_at: Some(1_800_000_030),
            notice: Some("sent"),
            delivery: Some("sent"),
            error: None,
        });
    }
}
