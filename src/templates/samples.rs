//! Sample data for every template and every state a template shows: what the
//! check renders, the preview shows and the tests look at.
use super::model::{AppInfo, FormField, MailContext, Page, PageContext};

/// The code in every sample mail; the check makes sure a mail shows it.
pub const SAMPLE_CODE: &str = "482913";
pub const SAMPLE_CSRF: &str = "sample-csrf-token";

#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // a few dozen samples, built once
pub enum SampleKind {
    Mail(MailContext),
    Page(Page, PageContext),
}

/// One state of one template, e.g. the code page after a wrong code.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Stable identifier, used in preview URLs and screenshot names.
    pub id: String,
    /// Short description for the gallery.
    pub title: String,
    pub kind: SampleKind,
}

fn app() -> AppInfo {
    AppInfo {
        client_id: "payroll-web".into(),
        name: "Acme Payroll".into(),
    }
}

fn code_page(now: i64) -> PageContext {
    PageContext {
        csrf_token: Some(SAMPLE_CSRF.into()),
        verify_action: Some("/otp/challenge/verify".into()),
        resend_action: Some("/otp/challenge/resend".into()),
        cancel_action: Some("/otp/challenge/cancel".into()),
        email_masked: Some("j***@example.com".into()),
        code_length: Some(6),
        expires_at: Some(now + 300),
        attempts_left: Some(5),
        resend_available_at: Some(now + 30),
        resends_left: Some(3),
        app: Some(app()),
        notice: Some("sent".into()),
        delivery: Some("sent".into()),
        status_url: Some("/otp/challenge/status".into()),
        ..PageContext::default()
    }
}

/// Error reasons the error page must explain.
pub const ERROR_REASONS: [&str; 7] = [
    "invalid_request",
    "send_limited",
    "no_challenge",
    "internal",
    "expired",
    "locked",
    "not_found",
];

/// Every sample, with times relative to `now` (unix seconds).
pub fn all(now: i64) -> Vec<Sample> {
    let mut out = vec![
        Sample {
            id: "mail-code".into(),
            title: "Code mail".into(),
            kind: SampleKind::Mail(MailContext {
                code: SAMPLE_CODE.into(),
                app: app(),
                name: Some("Jane Doe".into()),
                email: "jane.doe@example.com".into(),
                expires_at: now + 300,
                expires_in_minutes: 5,
                resent: false,
            }),
        },
        Sample {
            id: "mail-code-resent".into(),
            title: "Code mail, resent, no name, 1 minute".into(),
            kind: SampleKind::Mail(MailContext {
                code: SAMPLE_CODE.into(),
                app: AppInfo {
                    client_id: "account-console".into(),
                    name: "account-console".into(),
                },
                name: None,
                email: "jane.doe@example.com".into(),
                expires_at: now + 60,
                expires_in_minutes: 1,
                resent: true,
            }),
        },
    ];
    let code_variants: Vec<(&str, &str, PageContext)> = vec![
        ("code-sent", "Code page: code sent", code_page(now)),
        (
            "code-resent",
            "Code page: new code sent",
            PageContext {
                notice: Some("resent".into()),
                resends_left: Some(2),
                ..code_page(now)
            },
        ),
        (
            "code-invalid",
            "Code page: wrong code, 3 attempts left",
            PageContext {
                notice: Some("invalid_code".into()),
                attempts_left: Some(3),
                ..code_page(now)
            },
        ),
        (
            "code-invalid-last",
            "Code page: wrong code, 1 attempt left",
            PageContext {
                notice: Some("invalid_code".into()),
                attempts_left: Some(1),
                ..code_page(now)
            },
        ),
        (
            "code-cooldown",
            "Code page: resend asked too early",
            PageContext {
                notice: Some("cooldown".into()),
                resend_available_at: Some(now + 25),
                ..code_page(now)
            },
        ),
        (
            "code-sending",
            "Code page: mail still being sent",
            PageContext {
                delivery: Some("sending".into()),
                ..code_page(now)
            },
        ),
        (
            "code-send-failed",
            "Code page: mail could not be sent, a new code is free",
            PageContext {
                delivery: Some("failed".into()),
                resend_available_at: Some(now),
                ..code_page(now)
            },
        ),
        (
            "code-send-limited",
            "Code page: too many codes for this address",
            PageContext {
                notice: Some("send_limited".into()),
                ..code_page(now)
            },
        ),
        (
            "code-last-minute",
            "Code page: less than a minute left",
            PageContext {
                expires_at: Some(now + 40),
                resend_available_at: Some(now),
                ..code_page(now)
            },
        ),
        (
            "code-expired",
            "Code page: the code has expired, a new one can be sent",
            PageContext {
                expires_at: Some(now - 5),
                expired: true,
                notice: None,
                resend_available_at: Some(now),
                resends_left: Some(2),
                ..code_page(now)
            },
        ),
        (
            "code-no-resend",
            "Code page: no resend left, no notice",
            PageContext {
                notice: None,
                resend_available_at: None,
                resends_left: Some(0),
                ..code_page(now)
            },
        ),
    ];
    for (id, title, ctx) in code_variants {
        out.push(Sample {
            id: id.into(),
            title: title.into(),
            kind: SampleKind::Page(Page::Code, ctx),
        });
    }
    out.push(Sample {
        id: "redirect".into(),
        title: "Redirect (auto-submitting form)".into(),
        kind: SampleKind::Page(
            Page::Redirect,
            PageContext {
                redirect_action: Some(
                    "https://id.example.com/realms/acme/login-actions/authenticate?session_code=abc"
                        .into(),
                ),
                redirect_fields: vec![FormField {
                    name: "assertion".into(),
                    value: "eyJhbGciOiJFUzI1NiJ9.sample.signature".into(),
                }],
                app: Some(app()),
                ..PageContext::default()
            },
        ),
    });
    out.push(Sample {
        id: "finished-success".into(),
        title: "Finished (Back after a success), with the application's address".into(),
        kind: SampleKind::Page(
            Page::Finished,
            PageContext {
                finished: Some("success".into()),
                app: Some(app()),
                app_url: Some("https://payroll.example.com/".into()),
                ..PageContext::default()
            },
        ),
    });
    out.push(Sample {
        id: "finished-cancelled".into(),
        title: "Finished (Back after a cancel), no address known".into(),
        kind: SampleKind::Page(
            Page::Finished,
            PageContext {
                finished: Some("cancelled".into()),
                app: Some(app()),
                ..PageContext::default()
            },
        ),
    });
    for reason in ERROR_REASONS {
        out.push(Sample {
            id: format!("error-{}", reason.replace('_', "-")),
            title: format!("Error page: {reason}"),
            kind: SampleKind::Page(
                Page::Error,
                PageContext {
                    error: Some(reason.into()),
                    // Before the request is verified there is no application to name.
                    app: matches!(reason, "expired" | "locked").then(app),
                    // After a failed code the page can offer to start again.
                    cancel_action: matches!(reason, "expired" | "locked")
                        .then(|| "/otp/challenge/cancel".to_string()),
                    csrf_token: matches!(reason, "expired" | "locked")
                        .then(|| SAMPLE_CSRF.to_string()),
                    ..PageContext::default()
                },
            ),
        });
    }
    out
}
