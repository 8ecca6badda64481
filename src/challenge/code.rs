//! Secrets of a challenge: the one-time code, the challenge id, the pepper and
//! the MAC we store instead of the code, and the per-challenge CSRF token
//! derived from the pepper.
//!
//! All randomness comes from the operating system's CSPRNG ([`OsRng`]). Like
//! every generator built on it, these functions abort the request with a panic
//! only if the kernel cannot hand out random bytes at all, which Linux never
//! does once booted (`getrandom(2)` blocks until the pool is ready).
use std::fmt;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize as _, Zeroizing};

use super::{ChallengeId, CodeMac};

/// The characters a code is made of.
pub const CODE_ALPHABET: &[u8] = b"0123456789";
/// Shortest code we generate or accept.
pub const MIN_CODE_LENGTH: u8 = 4;
/// Longest code we generate or accept.
pub const MAX_CODE_LENGTH: u8 = 10;

/// A one-time code. Its digits are shown only through [`Code::expose`] (for
/// the mail); `Debug` prints the length, never the digits, and there is no
/// `Display`, `Serialize` or `PartialEq` (compare MACs with [`mac_eq`]).
/// The digits are wiped from memory on drop.
#[derive(Clone)]
pub struct Code(Zeroizing<String>);

/// Why a submitted code was refused before it reached the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("the code is empty")]
    Empty,
    #[error("the code may contain only the digits 0-9 (spaces and dashes are ignored)")]
    InvalidCharacter,
    #[error("the code has {got} digits, expected {expected}")]
    WrongLength { expected: u8, got: usize },
}

impl Code {
    /// A fresh code of `length` digits from the OS CSPRNG, uniform over
    /// [`CODE_ALPHABET`]. `length` is clamped into
    /// [`MIN_CODE_LENGTH`]`..=`[`MAX_CODE_LENGTH`]; policies are already
    /// clamped to that range when the request is read.
    pub fn generate(length: u8) -> Code {
        Code::generate_with(&mut OsRng, length)
    }

    /// [`Code::generate`] with the random source injected (tests only use a
    /// deterministic one to check the sampling; production always uses OsRng).
    pub(crate) fn generate_with<R: RngCore>(rng: &mut R, length: u8) -> Code {
        let length = length.clamp(MIN_CODE_LENGTH, MAX_CODE_LENGTH);
        let mut digits = Zeroizing::new(String::with_capacity(usize::from(length)));
        for _ in 0..length {
            let index = uniform_index(rng, CODE_ALPHABET.len());
            if let Some(&c) = CODE_ALPHABET.get(index) {
                digits.push(char::from(c));
            }
        }
        Code(digits)
    }

    /// Reads what the user typed: spaces (any Unicode white space) and dashes
    /// are dropped, everything else must be an ASCII digit, and the result must
    /// have exactly `length` digits.
    pub fn parse(input: &str, length: u8) -> Result<Code, CodeError> {
        let mut digits = Zeroizing::new(String::with_capacity(usize::from(length)));
        let mut got = 0usize;
        for c in input.chars() {
            if c.is_whitespace() || c == '-' {
                continue;
            }
            if !c.is_ascii_digit() {
                return Err(CodeError::InvalidCharacter);
            }
            got += 1;
            // Bounded: a pasted novel is counted, not copied.
            if got <= usize::from(length) {
                digits.push(c);
            }
        }
        if got == 0 {
            return Err(CodeError::Empty);
        }
        if got != usize::from(length) {
            return Err(CodeError::WrongLength {
                expected: length,
                got,
            });
        }
        Ok(Code(digits))
    }

    /// The digits, for the one place that needs them: the mail to the user.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Code(<redacted, {} digits>)", self.0.len())
    }
}

/// An index uniform over `0..n` (`1 <= n <= 256`), by rejection sampling of
/// single bytes: bytes at or above the largest multiple of `n` that fits in
/// 256 are drawn again, so every index has exactly the same chance.
pub(crate) fn uniform_index<R: RngCore>(rng: &mut R, n: usize) -> usize {
    let n = n.clamp(1, 256);
    let zone = 256 - (256 % n);
    loop {
        let mut byte = [0u8; 1];
        rng.fill_bytes(&mut byte);
        let b = usize::from(byte[0]);
        if b < zone {
            return b % n;
        }
    }
}

/// Length of a challenge id in characters: 16 bytes, base64url, no padding.
pub const CHALLENGE_ID_LEN: usize = 22;

/// Why a string is not a challenge id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeIdError {
    #[error("challenge id must be {CHALLENGE_ID_LEN} characters, got {0}")]
    WrongLength(usize),
    #[error("challenge id must be base64url without padding (A-Z a-z 0-9 - _)")]
    InvalidCharacter,
    #[error("challenge id is not the canonical encoding of 128 bits")]
    NotCanonical,
}

impl ChallengeId {
    /// 128 bits from the OS CSPRNG, base64url without padding.
    pub fn generate() -> ChallengeId {
        let mut bytes = [0u8; 16];
        OsRng.fill_bytes(&mut bytes);
        ChallengeId(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The id a browser holding `binding` proposes for request `jti`:
    /// `HMAC-SHA256(pepper, "retry" || binding || 0 || jti)`, first 128 bits.
    /// The same browser retrying the same request proposes the same id; no
    /// one without the pepper can tell it in advance.
    pub fn derived(pepper: &Pepper, binding: &ChallengeId, jti: &str) -> ChallengeId {
        let mut m = pepper.0.clone();
        m.update(b"retry");
        m.update(binding.as_str().as_bytes());
        m.update(&[0]);
        m.update(jti.as_bytes());
        let full: [u8; 32] = m.finalize().into_bytes().into();
        ChallengeId(URL_SAFE_NO_PAD.encode(&full[..16]))
    }

    /// Accepts exactly what [`ChallengeId::generate`] makes: 22 base64url
    /// characters that decode, canonically, to 16 bytes.
    pub fn parse(input: &str) -> Result<ChallengeId, ChallengeIdError> {
        if input.len() != CHALLENGE_ID_LEN {
            return Err(ChallengeIdError::WrongLength(input.chars().count()));
        }
        if !input
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ChallengeIdError::InvalidCharacter);
        }
        // The engine refuses non-zero trailing bits, so each id has one spelling.
        match URL_SAFE_NO_PAD.decode(input) {
            Ok(bytes) if bytes.len() == 16 => Ok(ChallengeId(input.to_owned())),
            _ => Err(ChallengeIdError::NotCanonical),
        }
    }
}

impl std::str::FromStr for ChallengeId {
    type Err = ChallengeIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChallengeId::parse(s)
    }
}

impl TryFrom<String> for ChallengeId {
    type Error = ChallengeIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ChallengeId::parse(&s)
    }
}

impl fmt::Display for ChallengeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Shortest pepper we accept, in bytes.
pub const MIN_PEPPER_LEN: usize = 32;

/// The server-wide HMAC key that codes are MACed with. Only the keyed HMAC
/// state is kept; `Debug` never shows it.
#[derive(Clone)]
pub struct Pepper(pub(super) Hmac<Sha256>);

#[derive(Debug, thiserror::Error)]
pub enum PepperError {
    #[error("pepper is {got} bytes, at least {MIN_PEPPER_LEN} are required")]
    TooShort { got: usize },
    #[error("pepper is unusable as an HMAC key")]
    InvalidKey,
    #[error("cannot read pepper file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

impl Pepper {
    /// A pepper from raw bytes; at least [`MIN_PEPPER_LEN`] of them.
    pub fn from_bytes(bytes: &[u8]) -> Result<Pepper, PepperError> {
        if bytes.len() < MIN_PEPPER_LEN {
            return Err(PepperError::TooShort { got: bytes.len() });
        }
        Hmac::<Sha256>::new_from_slice(bytes)
            .map(Pepper)
            .map_err(|_| PepperError::InvalidKey)
    }

    /// `HMAC-SHA256(pepper, 0x00 label 0x00 part ...)`: a MAC for other
    /// purposes than codes. The leading zero byte keeps these inputs apart
    /// from the code MAC's (`id || code`, base64url and digits only), and
    /// each part is closed by a zero byte, so parts cannot run into each
    /// other (parts must not contain a zero byte themselves, or must be last).
    pub fn tag(&self, label: &str, parts: &[&[u8]]) -> [u8; 32] {
        let mut m = self.0.clone();
        m.update(b"\0");
        m.update(label.as_bytes());
        for part in parts {
            m.update(b"\0");
            m.update(part);
        }
        m.finalize().into_bytes().into()
    }

    /// A pepper from a secret, e.g. one read from configuration.
    pub fn from_secret(secret: &secrecy::SecretSlice<u8>) -> Result<Pepper, PepperError> {
        use secrecy::ExposeSecret as _;
        Pepper::from_bytes(secret.expose_secret())
    }

    /// Reads a pepper file: its bytes, minus trailing white space (a final
    /// newline from `echo` or an editor is not part of the secret). Generate
    /// one with `head -c 32 /dev/urandom | base64 > pepper`.
    pub fn from_file(path: &Path) -> Result<Pepper, PepperError> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| PepperError::Read {
            path: path.display().to_string(),
            source,
        })?);
        let end = bytes
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        Pepper::from_bytes(bytes.get(..end).unwrap_or_default())
    }

    /// A random 64-byte pepper for this process: right for the in-memory
    /// store, whose MACs die with the process anyway.
    pub fn random() -> Pepper {
        // A random key of a full SHA-256 block: the infallible HMAC constructor.
        let mut key = hmac::digest::Key::<Hmac<Sha256>>::default();
        OsRng.fill_bytes(&mut key[..]);
        let hmac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&key);
        key[..].zeroize();
        Pepper(hmac)
    }
}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pepper(<redacted>)")
    }
}

/// `HMAC-SHA256(pepper, challenge_id || code)`. Unambiguous because a parsed
/// [`ChallengeId`] always has [`CHALLENGE_ID_LEN`] characters.
pub fn mac(pepper: &Pepper, id: &ChallengeId, code: &Code) -> CodeMac {
    let mut m = pepper.0.clone();
    m.update(id.as_str().as_bytes());
    m.update(code.expose().as_bytes());
    m.finalize().into_bytes().into()
}

/// Constant-time equality of two MACs.
pub fn mac_eq(a: &CodeMac, b: &CodeMac) -> bool {
    a.ct_eq(b).into()
}

/// The CSRF token of challenge `id`'s browser forms: `HMAC-SHA256(pepper,
/// 0 "csrf" 0 id)` ([`Pepper::tag`]), base64url. Recomputed wherever it is
/// needed, never stored: as unguessable as a random token to anyone without
/// the pepper, and one per challenge since every id is.
pub fn csrf_token(pepper: &Pepper, id: &ChallengeId) -> String {
    URL_SAFE_NO_PAD.encode(pepper.tag("csrf", &[id.as_str().as_bytes()]))
}

/// Constant-time comparison of the CSRF token a form sent with the one the
/// challenge holds. An empty token never matches.
pub fn csrf_token_matches(expected: &str, submitted: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// Hands out a fixed byte sequence, then repeats it.
    struct Scripted {
        bytes: Vec<u8>,
        pos: usize,
    }

    impl Scripted {
        fn new(bytes: Vec<u8>) -> Self {
            Scripted { bytes, pos: 0 }
        }
    }

    impl RngCore for Scripted {
        fn next_u32(&mut self) -> u32 {
            let mut b = [0u8; 4];
            self.fill_bytes(&mut b);
            u32::from_le_bytes(b)
        }
        fn next_u64(&mut self) -> u64 {
            let mut b = [0u8; 8];
            self.fill_bytes(&mut b);
            u64::from_le_bytes(b)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for d in dest {
                *d = self.bytes[self.pos % self.bytes.len()];
                self.pos += 1;
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    #[test]
    fn every_accepted_byte_maps_to_each_digit_equally_often() {
        // Feed every byte value once: the 250 accepted ones hit each digit 25 times.
        let mut counts = [0usize; 10];
        let mut rejected = 0;
        for b in 0..=255u8 {
            // The rejected byte is followed by a marker we can recognise.
            let mut rng = Scripted::new(vec![b, 0]);
            let i = uniform_index(&mut rng, 10);
            if rng.pos == 2 {
                rejected += 1;
                assert_eq!(i, 0);
            } else {
                counts[i] += 1;
            }
        }
        assert_eq!(rejected, 6, "bytes 250..=255 must be redrawn");
        assert_eq!(counts, [25; 10]);
    }

    #[test]
    fn bytes_past_the_last_full_block_are_redrawn() {
        let mut rng = Scripted::new(vec![250, 255, 251, 249, 7, 13]);
        let code = Code::generate_with(&mut rng, 4);
        // 250, 255, 251 rejected; 249 -> 9, 7 -> 7, 13 -> 3, then wraps: 250.. rejected, 249 -> 9
        assert_eq!(code.expose(), "9739");
    }

    #[test]
    fn uniform_index_for_other_alphabet_sizes() {
        for n in [1usize, 2, 3, 7, 10, 16, 36, 200, 256] {
            let zone = 256 - 256 % n;
            let mut counts = vec![0usize; n];
            for b in 0..zone {
                let mut rng = Scripted::new(vec![b as u8]);
                counts[uniform_index(&mut rng, n)] += 1;
            }
            assert!(counts.iter().all(|&c| c == zone / n), "n = {n}");
        }
    }

    #[test]
    fn generated_codes_have_the_asked_length_clamped_to_4_to_10() {
        for (asked, got) in [
            (0u8, 4usize),
            (3, 4),
            (4, 4),
            (6, 6),
            (10, 10),
            (11, 10),
            (255, 10),
        ] {
            let code = Code::generate(asked);
            assert_eq!(code.expose().len(), got);
            assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn os_generated_codes_differ() {
        let codes: std::collections::HashSet<String> = (0..50)
            .map(|_| Code::generate(10).expose().to_owned())
            .collect();
        assert!(
            codes.len() > 45,
            "50 random 10-digit codes should not repeat"
        );
    }

    #[test]
    fn debug_never_shows_the_digits() {
        let code = Code::parse("123456", 6).unwrap();
        let shown = format!("{code:?}");
        assert!(!shown.contains("123456"), "{shown}");
        assert!(shown.contains("redacted"));
        let pepper = Pepper::from_bytes(&[7u8; 32]).unwrap();
        assert_eq!(format!("{pepper:?}"), "Pepper(<redacted>)");
    }

    #[test]
    fn parse_strips_spaces_and_dashes() {
        assert_eq!(Code::parse(" 123-456 ", 6).unwrap().expose(), "123456");
        assert_eq!(Code::parse("12 34\t56", 6).unwrap().expose(), "123456");
        assert_eq!(Code::parse("0000", 4).unwrap().expose(), "0000");
    }

    #[test]
    fn parse_refuses_with_a_reason() {
        assert_eq!(Code::parse("", 6).unwrap_err(), CodeError::Empty);
        assert_eq!(Code::parse(" - ", 6).unwrap_err(), CodeError::Empty);
        assert_eq!(
            Code::parse("12345", 6).unwrap_err(),
            CodeError::WrongLength {
                expected: 6,
                got: 5
            }
        );
        assert_eq!(
            Code::parse("1234567", 6).unwrap_err(),
            CodeError::WrongLength {
                expected: 6,
                got: 7
            }
        );
        assert_eq!(
            Code::parse(&"1".repeat(10_000), 6).unwrap_err(),
            CodeError::WrongLength {
                expected: 6,
                got: 10_000
            }
        );
        assert_eq!(
            Code::parse("12345a", 6).unwrap_err(),
            CodeError::InvalidCharacter
        );
        assert_eq!(
            Code::parse("+12345", 6).unwrap_err(),
            CodeError::InvalidCharacter
        );
        // Arabic-Indic and full-width digits are digits to Unicode, not to us.
        assert_eq!(
            Code::parse("١٢٣٤٥٦", 6).unwrap_err(),
            CodeError::InvalidCharacter
        );
        assert_eq!(
            Code::parse("１２３４５６", 6).unwrap_err(),
            CodeError::InvalidCharacter
        );
        assert!(CodeError::WrongLength {
            expected: 6,
            got: 5
        }
        .to_string()
        .contains("expected 6"));
    }

    #[test]
    fn challenge_ids_round_trip_and_are_unique() {
        let a = ChallengeId::generate();
        let b = ChallengeId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), CHALLENGE_ID_LEN);
        assert_eq!(ChallengeId::parse(a.as_str()).unwrap(), a);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<ChallengeId>(&json).unwrap(), a);
    }

    #[test]
    fn challenge_id_parse_refuses_everything_else() {
        let good = ChallengeId::generate();
        assert_eq!(
            ChallengeId::parse(""),
            Err(ChallengeIdError::WrongLength(0))
        );
        assert_eq!(
            ChallengeId::parse(&format!("{good}A")),
            Err(ChallengeIdError::WrongLength(23))
        );
        assert_eq!(
            ChallengeId::parse("AAAAAAAAAAAAAAAAAAAAA="),
            Err(ChallengeIdError::InvalidCharacter)
        );
        assert_eq!(
            ChallengeId::parse("AAAAAAAAAAAAAAAAAAAA+A"),
            Err(ChallengeIdError::InvalidCharacter)
        );
        assert_eq!(
            ChallengeId::parse("AAAAAAAAAAAAAAAAAAAA/A"),
            Err(ChallengeIdError::InvalidCharacter)
        );
        assert_eq!(
            ChallengeId::parse("{ch:AAAAAAAAAAAAAAAAA}"),
            Err(ChallengeIdError::InvalidCharacter)
        );
        // Last character carries 2 bits; 'B' sets a padding bit.
        assert_eq!(
            ChallengeId::parse("AAAAAAAAAAAAAAAAAAAAAB"),
            Err(ChallengeIdError::NotCanonical)
        );
        assert!(ChallengeId::parse("AAAAAAAAAAAAAAAAAAAAAA").is_ok());
        // Every base64url character, '-' and '_' too.
        assert!(ChallengeId::parse("-_09azAZ-_09azAZ-_09aw").is_ok());
        assert!(serde_json::from_str::<ChallengeId>("\"not an id\"").is_err());
    }

    #[test]
    fn mac_is_hmac_sha256_of_id_then_code() {
        // RFC 4231 test case 2 shape, checked against an independent HMAC run.
        let pepper = Pepper::from_bytes(&[0x0b; 32]).unwrap();
        let id = ChallengeId::parse("AAAAAAAAAAAAAAAAAAAAAA").unwrap();
        let code = Code::parse("123456", 6).unwrap();
        let mut expected = Hmac::<Sha256>::new_from_slice(&[0x0b; 32]).unwrap();
        expected.update(b"AAAAAAAAAAAAAAAAAAAAAA123456");
        let expected: CodeMac = expected.finalize().into_bytes().into();
        assert_eq!(mac(&pepper, &id, &code), expected);
        let other = Code::parse("123457", 6).unwrap();
        assert!(!mac_eq(
            &mac(&pepper, &id, &code),
            &mac(&pepper, &id, &other)
        ));
        let other_pepper = Pepper::from_bytes(&[0x0c; 32]).unwrap();
        assert_ne!(mac(&pepper, &id, &code), mac(&other_pepper, &id, &code));
        assert!(mac_eq(&mac(&pepper, &id, &code), &expected));
    }

    #[test]
    fn pepper_must_be_long_enough() {
        assert!(matches!(
            Pepper::from_bytes(&[1u8; 31]),
            Err(PepperError::TooShort { got: 31 })
        ));
        assert!(Pepper::from_bytes(&[1u8; 32]).is_ok());
        let id = ChallengeId::generate();
        let code = Code::generate(6);
        assert_ne!(
            mac(&Pepper::random(), &id, &code),
            mac(&Pepper::random(), &id, &code)
        );
    }

    #[test]
    fn pepper_file_ignores_the_trailing_newline() {
        let dir = std::env::temp_dir().join(format!("otp-pepper-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pepper");
        let secret = "0123456789abcdef0123456789abcdef";
        std::fs::write(&path, format!("{secret}\n")).unwrap();
        let from_file = Pepper::from_file(&path).unwrap();
        let direct = Pepper::from_bytes(secret.as_bytes()).unwrap();
        let id = ChallengeId::generate();
        let code = Code::generate(6);
        assert_eq!(mac(&from_file, &id, &code), mac(&direct, &id, &code));
        std::fs::write(&path, "short\n").unwrap();
        assert!(matches!(
            Pepper::from_file(&path),
            Err(PepperError::TooShort { got: 5 })
        ));
        assert!(matches!(
            Pepper::from_file(&dir.join("missing")),
            Err(PepperError::Read { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn csrf_tokens_differ_per_challenge_and_pepper_and_are_compared_exactly() {
        let pepper = Pepper::from_bytes(&[1u8; 32]).unwrap();
        let id = ChallengeId::generate();
        let a = csrf_token(&pepper, &id);
        let b = csrf_token(&pepper, &ChallengeId::generate());
        assert_eq!(a, csrf_token(&pepper, &id), "recomputed, not drawn");
        assert_ne!(a, b);
        assert_ne!(a, csrf_token(&Pepper::from_bytes(&[2u8; 32]).unwrap(), &id));
        assert_eq!(a.len(), 43);
        assert!(csrf_token_matches(&a, &a.clone()));
        assert!(!csrf_token_matches(&a, &b));
        assert!(!csrf_token_matches(&a, ""));
        assert!(!csrf_token_matches("", ""));
        assert!(!csrf_token_matches(&a, &a[..42]));
    }
}
