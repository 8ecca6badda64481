//! The rule catalog: every rule's stable id, severity and help text.
//! `docs/realm-lint.md` explains each one with an example fix.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub help: &'static str,
}

macro_rules! rules {
    ($($name:ident = $id:literal, $sev:ident, $summary:literal, $help:literal;)*) => {
        $(pub static $name: Rule = Rule { id: $id, severity: Severity::$sev, summary: $summary, help: $help };)*
        /// Every rule, in documentation order.
        pub static ALL: &[&Rule] = &[$(&$name),*];
    };
}

rules! {
    OTP_PARTIAL = "otp-policy/partial", Error,
        "otpPolicy* fields without otpPolicyType are ignored, or (the algorithm) half applied",
        "Keycloak applies the OTP policy only when otpPolicyType is present, on create and on update; keycloak-config-cli 6.2 and later still writes a lone otpPolicyAlgorithm into an existing realm, as is. Add otpPolicyType (\"totp\" or \"hotp\") next to the other otpPolicy* fields.";
    OTP_INCOMPLETE = "otp-policy/incomplete", Error,
        "otpPolicyType set, but fields the policy needs are missing",
        "With otpPolicyType present Keycloak builds the policy from the given fields only: a missing algorithm becomes null, missing digits, period or look-ahead window become 0, on update as on create. Set otpPolicyAlgorithm, otpPolicyDigits, otpPolicyLookAheadWindow and (for totp) otpPolicyPeriod.";
    OTP_TYPE = "otp-policy/type", Error,
        "otpPolicyType is not \"totp\" or \"hotp\"",
        "Keycloak compares the type case-sensitively with \"totp\" and \"hotp\".";
    OTP_WRONG_TYPE = "otp-policy/wrong-type", Error,
        "an otpPolicy* value has the wrong JSON type",
        "otpPolicyType and otpPolicyAlgorithm are strings, otpPolicyDigits, otpPolicyPeriod, otpPolicyLookAheadWindow and otpPolicyInitialCounter integers, otpPolicyCodeReusable a boolean.";
    OTP_ALGORITHM = "otp-policy/algorithm", Error,
        "otpPolicyAlgorithm is not HmacSHA1, HmacSHA256 or HmacSHA512",
        "Keycloak passes the name to javax.crypto.Mac; write the JCA name, e.g. HmacSHA256, not SHA256.";
    OTP_SHA1 = "otp-policy/sha1", Warning,
        "otpPolicyAlgorithm HmacSHA1 is deprecated",
        "Prefer HmacSHA256 for new enrolments; existing credentials keep the algorithm they were enrolled with.";
    OTP_DIGITS = "otp-policy/digits", Error,
        "otpPolicyDigits is not 6 or 8",
        "Authenticator apps support 6 and 8 digit codes; fewer digits are easier to guess.";
    OTP_PERIOD = "otp-policy/period", Error,
        "otpPolicyPeriod is outside 1..=120 seconds",
        "A time step of 0 cannot work, and with a long step a captured code stays valid for minutes; 30 is the standard.";
    OTP_LOOK_AHEAD = "otp-policy/look-ahead", Error,
        "otpPolicyLookAheadWindow is outside 0..=10",
        "Each step of look-ahead accepts more codes at once (2w+1 for totp), multiplying a guesser's chance; 1 is Keycloak's default.";
    OTP_PERIOD_WITH_HOTP = "otp-policy/period-with-hotp", Warning,
        "otpPolicyPeriod is set on an hotp policy",
        "HOTP is counter-based and never reads the period; remove it, or set otpPolicyType to totp if a time-based code was meant.";
    OTP_COUNTER_WITH_TOTP = "otp-policy/counter-with-totp", Warning,
        "otpPolicyInitialCounter is set on a totp policy",
        "TOTP is time-based and never reads the counter; remove it, or set otpPolicyType to hotp if a counter-based code was meant.";
    OTP_UNKNOWN_KEY = "otp-policy/unknown-key", Error,
        "an otpPolicy* key Keycloak does not know",
        "Keycloak's admin REST API (create and update) and keycloak-config-cli refuse a realm with an unknown key, so a misspelt otpPolicy* key stops the whole import.";
    OTP_CODE_REUSABLE = "otp-policy/code-reusable", Warning,
        "otpPolicyCodeReusable is true",
        "A reusable code can be replayed within its validity window; leave it false.";
    FLOW_UNKNOWN = "flow/unknown-flow", Error,
        "a flow binding or sub-flow names a flow that is not in the file",
        "Keycloak resolves browserFlow and flowAlias by alias and client overrides by flow id; a name that matches no flow breaks the import or leaves the binding empty.";
    SIDECAR_NOT_BOUND = "otp-sidecar/not-bound", Error,
        "no otp-sidecar step runs in any browser flow",
        "The realm has otp-sidecar executions, but none is in the realm's browserFlow or a client's browser override (directly or through sub-flows).";
    SIDECAR_UNBOUND_FLOW = "otp-sidecar/unbound-flow", Warning,
        "an otp-sidecar step sits in a flow nothing uses",
        "This execution is not reachable from any browser binding; remove it or bind its flow.";
    SIDECAR_REQUIREMENT = "otp-sidecar/requirement", Error,
        "the otp-sidecar step can be skipped",
        "The step must be REQUIRED, and every sub-flow above it REQUIRED, or CONDITIONAL with an enabled condition, or ALTERNATIVE only among alternatives.";
    SIDECAR_BYPASS = "otp-sidecar/bypass", Warning,
        "an alternative next to the otp-sidecar branch can finish the login without it",
        "Only auth-cookie and identity-provider-redirector are expected as alternatives to the branch holding the step.";
    SIDECAR_IDENTIFY = "otp-sidecar/user-not-identified", Error,
        "no step identifies the user before the otp-sidecar step",
        "The step needs a user (their email address); put it after a REQUIRED auth-username-password-form, auth-username-form or another identifying step.";
    SIDECAR_CONFIG_MISSING = "otp-sidecar/config-missing", Error,
        "the otp-sidecar step has no authenticator config",
        "Set the execution's authenticatorConfig to the alias of an authenticatorConfig entry holding the sidecar settings.";
    SIDECAR_CONFIG_INCOMPLETE = "otp-sidecar/config-incomplete", Error,
        "the otp-sidecar authenticator config lacks settings",
        "Every setting of the authenticator is given explicitly, so an export shows what runs.";
    SIDECAR_CONFIG_UNKNOWN_KEY = "otp-sidecar/config-unknown-key", Error,
        "an otp-sidecar config key the authenticator does not read",
        "Keycloak stores any key; a misspelt one is silently unused.";
    SIDECAR_CONFIG_INVALID = "otp-sidecar/config-invalid", Error,
        "an otp-sidecar config value is invalid",
        "URLs are https (plain http only to localhost, 127.0.0.0/8 or ::1); numbers lie within the sidecar's bounds.";
    SIDECAR_BRUTE_FORCE = "otp-sidecar/brute-force", Warning,
        "brute-force protection is off in a realm using otp-sidecar",
        "Set bruteForceProtected: true so repeated failures lock the account, on top of the sidecar's per-challenge attempt limit.";
}

pub fn by_id(id: &str) -> Option<&'static Rule> {
    ALL.iter().copied().find(|r| r.id == id)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_namespaced() {
        let mut ids: Vec<_> = ALL.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len());
        assert!(ALL.iter().all(|r| r.id.contains('/')));
        assert_eq!(by_id("otp-policy/partial"), Some(&OTP_PARTIAL));
    }
}
