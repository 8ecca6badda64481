//! The data model templates receive. Bump [`SCHEMA_VERSION`] on any breaking
//! change and document it in `templates/README.md`.
use serde::Serialize;

use super::brand::Rgb;

pub const SCHEMA_VERSION: u32 = 1;

/// Look and feel from configuration (`[branding]`), so a deployment can
/// rebrand without touching a template.
#[derive(Debug, Clone, Serialize)]
pub struct Branding {
    pub product_name: String,
    pub logo_url: Option<String>,
    /// The primary colour; templates see it as `#rrggbb`.
    pub primary_color: Rgb,
}

impl Default for Branding {
    fn default() -> Self {
        Self {
            product_name: "Sign-in".into(),
            logo_url: None,
            // The blue of Keycloak's own login page.
            primary_color: Rgb(0x00, 0x66, 0xcc),
        }
    }
}

/// `[branding]` of one realm (`[realms.branding]` after its `[[realms]]`
/// entry): each key set replaces the global one for that realm's sign-ins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RealmBranding {
    /// Replaces both the global product name and the realm's display name
    /// from the request.
    pub product_name: Option<String>,
    pub logo_url: Option<String>,
    pub primary_color: Option<Rgb>,
}

/// The realm a page or mail speaks for: its issuer (to find its
/// `[branding]`) and its display name from the request.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealmLook<'a> {
    pub issuer: Option<&'a str>,
    pub display_name: Option<&'a str>,
}

/// The application the user is signing in to (`azp`, with its display name).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AppInfo {
    pub client_id: String,
    /// Display name from `[apps]` in the configuration, else the client id.
    pub name: String,
}

/// Data for the code mail (`mail/code.subject`, `mail/code.html`, `mail/code.txt`).
#[derive(Debug, Clone, Serialize)]
pub struct MailContext {
    pub code: String,
    pub app: AppInfo,
    /// The recipient's name from the request (`name` claim), when given.
    pub name: Option<String>,
    pub email: String,
    /// Unix seconds when the code stops working.
    pub expires_at: i64,
    /// Whole minutes the code stays valid, rounded up.
    pub expires_in_minutes: u64,
    /// `true` when this mail replaces an earlier code (a resend).
    pub resent: bool,
}

/// A rendered mail.
#[derive(Debug, Clone)]
pub struct RenderedMail {
    /// The sender's display name, when the realm has one of its own (its
    /// `[branding] product_name` or its display name): it replaces the
    /// display name of `mail.from`, whose address stays.
    pub sender_name: Option<String>,
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// The pages the sidecar shows a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// Code entry form (with notices: sent, resent, invalid code, cooldown).
    Code,
    /// Auto-submitting POST form (request to us, assertion to Keycloak).
    Redirect,
    /// Anything that stops the flow here (bad request, mail not sent, ...).
    Error,
    /// What Back shows once the step has handed the browser back: how it
    /// ended and the way to the application; never a live form.
    Finished,
}

impl Page {
    pub const ALL: [Page; 4] = [Page::Code, Page::Redirect, Page::Error, Page::Finished];

    pub fn template_name(self) -> &'static str {
        match self {
            Page::Code => "pages/code",
            Page::Redirect => "pages/redirect",
            Page::Error => "pages/error",
            Page::Finished => "pages/finished",
        }
    }
}

/// A hidden form field of the redirect page.
#[derive(Debug, Clone, Serialize)]
pub struct FormField {
    pub name: String,
    pub value: String,
}

/// Data for a page; fields a page does not use are `None`/empty.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PageContext {
    /// Per-form CSRF token (code page forms).
    pub csrf_token: Option<String>,
    /// Form targets (absolute paths under the sidecar's public URL).
    pub verify_action: Option<String>,
    pub resend_action: Option<String>,
    pub cancel_action: Option<String>,
    /// The recipient, masked (`j***@example.com`).
    pub email_masked: Option<String>,
    pub code_length: Option<u8>,
    pub expires_at: Option<i64>,
    /// Code page: the code has lapsed; a new one can be asked for (no code field).
    #[serde(default)]
    pub expired: bool,
    pub attempts_left: Option<u32>,
    /// Unix seconds from which "send a new code" is allowed; `None` when no resend is left.
    pub resend_available_at: Option<i64>,
    pub resends_left: Option<u32>,
    pub app: Option<AppInfo>,
    /// Notice on the code page: `sent`, `resent`, `invalid_code`, `cooldown`,
    /// `no_resends_left`, `send_limited`.
    pub notice: Option<String>,
    /// Code page: where the mail with the current code stands: `sending`,
    /// `sent` or `failed` (then the next code is free).
    pub delivery: Option<String>,
    /// Code page: the JSON status the page polls while `sending`.
    pub status_url: Option<String>,
    /// Error page reason: `invalid_request`, `send_limited`, `no_challenge`,
    /// `internal`, `expired`, `locked`.
    pub error: Option<String>,
    /// Finished page: how the step ended (`success`, `cancelled`, `locked`,
    /// `expired`).
    pub finished: Option<String>,
    /// Finished page: the application's address, when known.
    pub app_url: Option<String>,
    /// Redirect page: where to POST, and the hidden fields.
    pub redirect_action: Option<String>,
    pub redirect_fields: Vec<FormField>,
    /// URL path under which `static/*` is served (e.g. `/otp/static`);
    /// `None` means `/static`.
    pub static_base: Option<String>,
}
