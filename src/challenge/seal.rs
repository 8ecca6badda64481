//! The current code, sealed for delivery by any process of the deployment.
//!
//! A process that dies between storing a challenge and the mail server's
//! reply must not lose the mail: another process takes the delivery over
//! and sends the *same* code (a duplicate mail is harmless; a second code
//! would make the first one wrong). So the record keeps the code sealed:
//! its digits XOR a keystream of `HMAC-SHA256(pepper, 0x00 "seal" || id ||
//! generation)`. Every (challenge, generation) seals exactly one code, so no
//! keystream is used twice; the leading zero byte keeps these inputs apart
//! from the code MAC's (`id || code`, base64url and digits only). Unsealing
//! is checked against the stored MAC by the caller, so a tampered sealed
//! code is never mailed.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::Mac as _;

use super::{ChallengeId, Code, Pepper, MAX_CODE_LENGTH};

fn keystream(pepper: &Pepper, id: &ChallengeId, generation: u32) -> [u8; 32] {
    let mut m = pepper.0.clone();
    m.update(b"\0seal");
    m.update(id.as_str().as_bytes());
    m.update(&generation.to_be_bytes());
    m.finalize().into_bytes().into()
}

/// `code` sealed for `id` and `generation`, base64url.
pub fn seal_code(pepper: &Pepper, id: &ChallengeId, generation: u32, code: &Code) -> String {
    let key = keystream(pepper, id, generation);
    let sealed: Vec<u8> = code
        .expose()
        .bytes()
        .zip(key.iter())
        .map(|(digit, k)| digit ^ k)
        .collect();
    URL_SAFE_NO_PAD.encode(sealed)
}

/// The code sealed by [`seal_code`], if `sealed` opens to a code of `length`.
pub fn unseal_code(
    pepper: &Pepper,
    id: &ChallengeId,
    generation: u32,
    sealed: &str,
    length: u8,
) -> Option<Code> {
    let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    if bytes.len() > usize::from(MAX_CODE_LENGTH) {
        return None;
    }
    let key = keystream(pepper, id, generation);
    let digits: String = bytes
        .iter()
        .zip(key.iter())
        .map(|(b, k)| char::from(b ^ k))
        .collect();
    Code::parse(&digits, length).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn pepper(byte: u8) -> Pepper {
        Pepper::from_bytes(&[byte; 32]).unwrap()
    }

    #[test]
    fn codes_of_every_allowed_length_open() {
        let id = ChallengeId::generate();
        for length in crate::challenge::MIN_CODE_LENGTH..=MAX_CODE_LENGTH {
            let code = Code::generate(length);
            let sealed = seal_code(&pepper(1), &id, 3, &code);
            let opened = unseal_code(&pepper(1), &id, 3, &sealed, length);
            assert_eq!(
                opened.as_ref().map(Code::expose),
                Some(code.expose()),
                "{length}"
            );
        }
    }

    #[test]
    fn a_sealed_code_opens_only_with_its_pepper_id_and_generation() {
        let id = ChallengeId::generate();
        let code = Code::generate(6);
        let sealed = seal_code(&pepper(1), &id, 0, &code);
        assert!(!sealed.contains(code.expose()));
        let opened = unseal_code(&pepper(1), &id, 0, &sealed, 6).unwrap();
        assert_eq!(opened.expose(), code.expose());
        let other_gen = unseal_code(&pepper(1), &id, 1, &sealed, 6);
        assert!(other_gen.is_none_or(|c| c.expose() != code.expose()));
        let other_pepper = unseal_code(&pepper(2), &id, 0, &sealed, 6);
        assert!(other_pepper.is_none_or(|c| c.expose() != code.expose()));
        assert!(unseal_code(&pepper(1), &id, 0, "%%%", 6).is_none());
    }
}
