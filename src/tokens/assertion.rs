//! The sidecar's own signing key: assertions out, public keys in our JWKS.
//!
//! Keys are PKCS#8 PEM files (ES256 by default; EdDSA and RS256 selectable)
//! or, on loopback only, an ephemeral key from the OS CSPRNG. The `kid` is
//! the RFC 7638 thumbprint, so it changes exactly when the key does.
use std::fmt;
use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    RSA_PKCS1_SHA256,
};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::der;
use super::{b64url_encode, AssertionClaims, SigningSettings};

/// Smallest RSA key we sign with (bits).
const MIN_RSA_BITS: usize = 2048;
/// RSA size of an ephemeral RS256 key.
const EPHEMERAL_RSA_BITS: KeySize = KeySize::Rsa2048;

/// Why a signing key could not be loaded or used; names the file.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: cannot read ({message})")]
    Read { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "{path}: holds {found} key but signing.algorithm is {configured}; \
         set signing.algorithm = \"{found_alg}\" or use an {configured} key"
    )]
    AlgorithmMismatch {
        path: PathBuf,
        found: &'static str,
        found_alg: &'static str,
        configured: &'static str,
    },
    #[error("cannot generate an ephemeral key: {0}")]
    Generate(String),
    #[error("cannot sign: {0}")]
    Sign(String),
}

/// The algorithm the sidecar signs assertions with (`[signing] algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlgorithm {
    Es256,
    EdDsa,
    Rs256,
}

impl SigningAlgorithm {
    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
        }
    }

    /// Parses a JOSE `alg` name (exact spelling).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ES256" => Some(Self::Es256),
            "EdDSA" => Some(Self::EdDsa),
            "RS256" => Some(Self::Rs256),
            _ => None,
        }
    }

    fn key_kind(self) -> &'static str {
        match self {
            Self::Es256 => "an EC P-256",
            Self::EdDsa => "an Ed25519",
            Self::Rs256 => "an RSA",
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Public parameters of a key, as the JWK members RFC 7638 hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PublicParams {
    Ec { x: String, y: String },
    Okp { x: String },
    Rsa { n: String, e: String },
}

impl PublicParams {
    fn algorithm(&self) -> SigningAlgorithm {
        match self {
            Self::Ec { .. } => SigningAlgorithm::Es256,
            Self::Okp { .. } => SigningAlgorithm::EdDsa,
            Self::Rsa { .. } => SigningAlgorithm::Rs256,
        }
    }

    /// The required members only, in lexicographic order (RFC 7638 section 3.2).
    fn canonical_json(&self) -> String {
        match self {
            Self::Ec { x, y } => format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#),
            Self::Okp { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
            Self::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
        }
    }

    fn jwk(&self, kid: &str) -> Value {
        let alg = self.algorithm().as_str();
        match self {
            Self::Ec { x, y } => json!({
                "kty": "EC", "crv": "P-256", "x": x, "y": y,
                "alg": alg, "use": "sig", "kid": kid,
            }),
            Self::Okp { x } => json!({
                "kty": "OKP", "crv": "Ed25519", "x": x,
                "alg": alg, "use": "sig", "kid": kid,
            }),
            Self::Rsa { n, e } => json!({
                "kty": "RSA", "n": n, "e": e,
                "alg": alg, "use": "sig", "kid": kid,
            }),
        }
    }
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url) of a public JWK given as JSON.
/// Returns `None` for key types other than EC P-256, OKP Ed25519 and RSA.
pub fn thumbprint(jwk: &Value) -> Option<String> {
    let s = |k: &str| jwk.get(k).and_then(Value::as_str).map(str::to_string);
    let params = match (s("kty")?.as_str(), s("crv").as_deref()) {
        ("EC", Some("P-256")) => PublicParams::Ec {
            x: s("x")?,
            y: s("y")?,
        },
        ("OKP", Some("Ed25519")) => PublicParams::Okp { x: s("x")? },
        ("RSA", _) => PublicParams::Rsa {
            n: s("n")?,
            e: s("e")?,
        },
        _ => return None,
    };
    Some(params_thumbprint(&params))
}

fn params_thumbprint(params: &PublicParams) -> String {
    b64url_encode(&Sha256::digest(params.canonical_json().as_bytes()))
}

/// A private key, parsed once by aws-lc (not again for every signature).
enum PrivateKey {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

impl PrivateKey {
    /// The JWS signature of `message` (ES256: the fixed-size r || s form).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let failed = |e: aws_lc_rs::error::Unspecified| KeyError::Sign(e.to_string());
        match self {
            PrivateKey::Ec(key) => key
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(failed),
            PrivateKey::Ed(key) => Ok(key.sign(message).as_ref().to_vec()),
            PrivateKey::Rsa(key) => {
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(failed)?;
                Ok(signature)
            }
        }
    }
}

/// A key we sign with.
struct SigningKey {
    algorithm: SigningAlgorithm,
    kid: String,
    private: PrivateKey,
    public: PublicParams,
}

/// The JOSE header of what we sign.
#[derive(Serialize)]
struct JoseHeader<'a> {
    typ: &'static str,
    alg: &'static str,
    kid: &'a str,
}

/// Signs assertions with the current key and publishes current + previous public keys.
pub struct AssertionSigner {
    current: SigningKey,
    /// Public keys still published during a rotation, by kid.
    previous: Vec<(String, PublicParams)>,
    ephemeral: bool,
}

impl fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("algorithm", &self.current.algorithm)
            .field("kid", &self.current.kid)
            .field(
                "previous",
                &self.previous.iter().map(|p| &p.0).collect::<Vec<_>>(),
            )
            .field("ephemeral", &self.ephemeral)
            .finish_non_exhaustive()
    }
}

impl AssertionSigner {
    /// The configured key file, or an ephemeral key when none is set
    /// (config validation allows that on loopback only).
    pub fn from_settings(settings: &SigningSettings) -> Result<Self, KeyError> {
        let mut signer = match &settings.key_file {
            Some(path) => Self::from_pem_file(settings.algorithm, path)?,
            None => Self::ephemeral(settings.algorithm)?,
        };
        for path in &settings.previous_key_files {
            let pem = read(path)?;
            let public = load_public(path, &pem)?;
            let kid = params_thumbprint(&public);
            if kid != signer.current.kid && !signer.previous.iter().any(|(k, _)| *k == kid) {
                signer.previous.push((kid, public));
            }
        }
        // One signature now: a key that parses but cannot sign fails the
        // start, and the CSPRNG behind ES256 is seeded before the first
        // request instead of during it (about 40 ms on first use).
        signer.sign_payload(&json!({ "probe": "start-up" }))?;
        Ok(signer)
    }

    /// Every problem of the configured key files, each naming its file, for
    /// `config check`: the current key must be a PKCS#8 private key of
    /// `algorithm`, each previous one a private or public key. With
    /// `algorithm` `None` (itself invalid) the files are still checked for
    /// their format, so one problem does not hide another.
    pub fn check_key_files(
        algorithm: Option<SigningAlgorithm>,
        key_file: Option<&Path>,
        previous_key_files: &[PathBuf],
    ) -> Vec<KeyError> {
        let mut problems = Vec::new();
        if let Some(path) = key_file {
            match read(path).and_then(|pem| load_private(path, &pem)) {
                Ok(key) => match algorithm {
                    Some(a) if a != key.algorithm => problems.push(KeyError::AlgorithmMismatch {
                        path: path.to_path_buf(),
                        found: key.algorithm.key_kind(),
                        found_alg: key.algorithm.as_str(),
                        configured: a.as_str(),
                    }),
                    _ => {}
                },
                Err(e) => problems.push(e),
            }
        }
        for path in previous_key_files {
            if let Err(e) = read(path).and_then(|pem| load_public(path, &pem)) {
                problems.push(e);
            }
        }
        problems
    }

    /// A PKCS#8 PEM private key of the given algorithm.
    pub fn from_pem_file(algorithm: SigningAlgorithm, path: &Path) -> Result<Self, KeyError> {
        let pem = read(path)?;
        Self::from_pem(algorithm, path, &pem)
    }

    /// Like [`Self::from_pem_file`] with the PEM text given; `path` only names it in errors.
    pub fn from_pem(
        algorithm: SigningAlgorithm,
        path: &Path,
        pem: &[u8],
    ) -> Result<Self, KeyError> {
        let current = load_private(path, pem)?;
        if current.algorithm != algorithm {
            return Err(KeyError::AlgorithmMismatch {
                path: path.to_path_buf(),
                found: current.algorithm.key_kind(),
                found_alg: current.algorithm.as_str(),
                configured: algorithm.as_str(),
            });
        }
        Ok(Self {
            current,
            previous: Vec::new(),
            ephemeral: false,
        })
    }

    /// A fresh key from the OS CSPRNG (through aws-lc), gone when the process exits.
    pub fn ephemeral(algorithm: SigningAlgorithm) -> Result<Self, KeyError> {
        let gen = |e: &dyn fmt::Display| KeyError::Generate(e.to_string());
        let der: Vec<u8> = match algorithm {
            SigningAlgorithm::Es256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|k| k.to_pkcs8v1())
                .map_err(|e| gen(&e))?
                .as_ref()
                .to_vec(),
            SigningAlgorithm::EdDsa => Ed25519KeyPair::generate()
                .and_then(|k| k.to_pkcs8v1())
                .map_err(|e| gen(&e))?
                .as_ref()
                .to_vec(),
            SigningAlgorithm::Rs256 => {
                let key = RsaKeyPair::generate(EPHEMERAL_RSA_BITS).map_err(|e| gen(&e))?;
                let der: aws_lc_rs::encoding::Pkcs8V1Der<'static> =
                    key.as_der().map_err(|e| gen(&e))?;
                der.as_ref().to_vec()
            }
        };
        let current = load_private_der(Path::new("(ephemeral key)"), &der)?;
        Ok(Self {
            current,
            previous: Vec::new(),
            ephemeral: true,
        })
    }

    /// Signs an assertion: header `alg`, `kid`, `typ: "JWT"`.
    pub fn sign(&self, claims: &AssertionClaims) -> Result<String, KeyError> {
        self.sign_payload(claims)
    }

    /// Signs any claims set with the current key. The demo realm and tests use
    /// this to play Keycloak's part; the service signs only [`AssertionClaims`].
    pub fn sign_payload<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let header = JoseHeader {
            typ: "JWT",
            alg: self.current.algorithm.as_str(),
            kid: &self.current.kid,
        };
        let json = |v: Result<Vec<u8>, serde_json::Error>| {
            v.map(|bytes| b64url_encode(&bytes))
                .map_err(|e| KeyError::Sign(e.to_string()))
        };
        let mut token = json(serde_json::to_vec(&header))?;
        token.push('.');
        token.push_str(&json(serde_json::to_vec(claims))?);
        let signature = self.current.private.sign(token.as_bytes())?;
        token.push('.');
        token.push_str(&b64url_encode(&signature));
        Ok(token)
    }

    /// `{"keys": [...]}` with the current key first, then the previous ones.
    pub fn jwks(&self) -> Value {
        let mut keys = vec![self.current.public.jwk(&self.current.kid)];
        keys.extend(self.previous.iter().map(|(kid, p)| p.jwk(kid)));
        json!({ "keys": keys })
    }

    /// The current key's RFC 7638 thumbprint.
    pub fn kid(&self) -> &str {
        &self.current.kid
    }

    pub fn algorithm(&self) -> SigningAlgorithm {
        self.current.algorithm
    }

    /// True when the key was generated at start-up (no `signing.key_file`).
    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral
    }
}

fn read(path: &Path) -> Result<Vec<u8>, KeyError> {
    std::fs::read(path).map_err(|e| KeyError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn invalid(path: &Path, message: impl Into<String>) -> KeyError {
    KeyError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// "a" or "an" before a PEM label, as it is read aloud ("an EC …", "an RSA …").
fn article(label: &str) -> &'static str {
    let first = label.split_whitespace().next().unwrap_or_default();
    let spelled_out = matches!(first, "EC" | "RSA" | "SSH2" | "X509");
    let vowel = first
        .chars()
        .next()
        .is_some_and(|c| "AEIOUaeiou".contains(c));
    if spelled_out || vowel {
        "an"
    } else {
        "a"
    }
}

fn parse_pem(path: &Path, pem: &[u8]) -> Result<pem::Pem, KeyError> {
    let parsed = pem::parse(pem).map_err(|e| invalid(path, format!("not a PEM file ({e})")))?;
    match parsed.tag() {
        "PRIVATE KEY" | "PUBLIC KEY" => Ok(parsed),
        "EC PRIVATE KEY" | "RSA PRIVATE KEY" => Err(invalid(
            path,
            format!(
                "holds {} {} (not PKCS#8); convert it with \
                 `openssl pkcs8 -topk8 -nocrypt -in OLD -out NEW`",
                article(parsed.tag()),
                parsed.tag()
            ),
        )),
        "ENCRYPTED PRIVATE KEY" => Err(invalid(
            path,
            "holds an encrypted key; store it unencrypted (PKCS#8) with file permissions 0600",
        )),
        other => Err(invalid(
            path,
            format!(
                "holds {} {other} block, expected PRIVATE KEY (PKCS#8)",
                article(other)
            ),
        )),
    }
}

fn load_private(path: &Path, pem: &[u8]) -> Result<SigningKey, KeyError> {
    let parsed = parse_pem(path, pem)?;
    if parsed.tag() != "PRIVATE KEY" {
        return Err(invalid(
            path,
            "holds a public key; the signing key must be a private key (PKCS#8)",
        ));
    }
    load_private_der(path, parsed.contents())
}

/// A PKCS#8 private key: EC P-256, Ed25519 or RSA, parsed (and checked) by
/// aws-lc, which also signs with it.
fn load_private_der(path: &Path, der: &[u8]) -> Result<SigningKey, KeyError> {
    const KINDS: &str = "not a PKCS#8 EC P-256, Ed25519 or RSA private key";
    let Some((oid, _)) = der::pkcs8(der) else {
        return Err(invalid(path, KINDS));
    };
    let rejected = |what: &str, e: aws_lc_rs::error::KeyRejected| {
        invalid(path, format!("{what} private key refused ({e})"))
    };
    let (algorithm, private, public) = if oid == der::OID_EC_PUBLIC_KEY {
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|e| rejected("EC P-256", e))?;
        let public = ec_params(path, key.public_key().as_ref())?;
        (SigningAlgorithm::Es256, PrivateKey::Ec(key), public)
    } else if oid == der::OID_ED25519 {
        let key =
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|e| rejected("Ed25519", e))?;
        let public = PublicParams::Okp {
            x: b64url_encode(key.public_key().as_ref()),
        };
        (SigningAlgorithm::EdDsa, PrivateKey::Ed(key), public)
    } else if oid == der::OID_RSA {
        let key = RsaKeyPair::from_pkcs8(der).map_err(|e| rejected("RSA", e))?;
        let public = rsa_params(path, key.public_key().as_ref())?;
        (SigningAlgorithm::Rs256, PrivateKey::Rsa(key), public)
    } else {
        return Err(invalid(path, KINDS));
    };
    let kid = params_thumbprint(&public);
    Ok(SigningKey {
        algorithm,
        kid,
        private,
        public,
    })
}

/// Public parameters from a PEM private (PKCS#8) or public (SPKI) key.
fn load_public(path: &Path, pem: &[u8]) -> Result<PublicParams, KeyError> {
    let parsed = parse_pem(path, pem)?;
    if parsed.tag() == "PRIVATE KEY" {
        return Ok(load_private_der(path, parsed.contents())?.public);
    }
    const KINDS: &str = "not an EC P-256, Ed25519 or RSA public key (SPKI)";
    let Some(spki) = der::spki(parsed.contents()) else {
        return Err(invalid(path, KINDS));
    };
    if spki.oid == der::OID_EC_PUBLIC_KEY && spki.curve == Some(der::OID_P256) {
        ec_params(path, spki.key)
    } else if spki.oid == der::OID_ED25519 && spki.key.len() == 32 {
        Ok(PublicParams::Okp {
            x: b64url_encode(spki.key),
        })
    } else if spki.oid == der::OID_RSA {
        rsa_params(path, spki.key)
    } else {
        Err(invalid(path, KINDS))
    }
}

fn check_rsa_size(path: &Path, bits: usize) -> Result<(), KeyError> {
    if bits < MIN_RSA_BITS {
        return Err(invalid(
            path,
            format!("RSA key of {bits} bits; at least {MIN_RSA_BITS} required"),
        ));
    }
    Ok(())
}

/// From an uncompressed P-256 point (`04 || x || y`).
fn ec_params(path: &Path, point: &[u8]) -> Result<PublicParams, KeyError> {
    match point {
        [0x04, xy @ ..] if xy.len() == 64 => {
            let (x, y) = xy.split_at(32);
            Ok(PublicParams::Ec {
                x: b64url_encode(x),
                y: b64url_encode(y),
            })
        }
        _ => Err(invalid(path, "not an uncompressed EC P-256 public key")),
    }
}

/// From a DER `RSAPublicKey` (PKCS#1), at least [`MIN_RSA_BITS`] long.
fn rsa_params(path: &Path, der: &[u8]) -> Result<PublicParams, KeyError> {
    let Some((n, e)) = der::rsa_public(der) else {
        return Err(invalid(path, "not an RSA public key"));
    };
    let bits = match n.first() {
        Some(&top) => n.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    };
    check_rsa_size(path, bits)?;
    Ok(PublicParams::Rsa {
        n: b64url_encode(n),
        e: b64url_encode(e),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn pem_labels_get_the_article_they_are_read_with() {
        assert_eq!(article("EC PRIVATE KEY"), "an");
        assert_eq!(article("RSA PRIVATE KEY"), "an");
        assert_eq!(article("ENCRYPTED PRIVATE KEY"), "an");
        assert_eq!(article("PRIVATE KEY"), "a");
        assert_eq!(article("CERTIFICATE"), "a");
    }
    use jsonwebtoken::{DecodingKey, Validation};

    /// One DER TLV (lengths below 64 KiB).
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match u16::try_from(content.len()).unwrap() {
            n @ 0..=0x7f => out.push(n as u8),
            n @ 0x80..=0xff => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(content);
        out
    }

    /// An SPKI public key of algorithm `oid` (with `params`), as a PEM file's text.
    fn spki_pem(oid: &[u8], params: &[u8], key: &[u8]) -> String {
        use base64::Engine as _;
        let alg = [tlv(0x06, oid), params.to_vec()].concat();
        let bits = [&[0u8][..], key].concat();
        let spki = tlv(0x30, &[tlv(0x30, &alg), tlv(0x03, &bits)].concat());
        let b64 = base64::engine::general_purpose::STANDARD.encode(spki);
        format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n")
    }

    /// An RSA public key whose modulus has exactly `bits` bits.
    fn rsa_pem(bits: usize) -> String {
        let mut n = vec![0xa5u8; bits.div_ceil(8)];
        n[0] = 0xff >> (n.len() * 8 - bits);
        let key = tlv(
            0x30,
            &[tlv(0x02, &[&[0u8][..], &n].concat()), tlv(0x02, &[1, 0, 1])].concat(),
        );
        spki_pem(der::OID_RSA, &[0x05, 0x00], &key)
    }

    /// Public keys are taken only as written: each part that does not fit
    /// is refused with what was expected, naming the file.
    #[test]
    fn public_keys_are_checked_part_by_part() {
        let path = Path::new("previous.pem");
        let load = |pem: String| load_public(path, pem.as_bytes());
        match load(rsa_pem(2048)).unwrap() {
            PublicParams::Rsa { n, .. } => {
                assert_eq!(crate::tokens::b64url_decode(&n).unwrap().len(), 256)
            }
            other => panic!("expected RSA, got {other:?}"),
        }
        let short = load(rsa_pem(2047)).unwrap_err().to_string();
        assert!(
            short.contains("RSA key of 2047 bits; at least 2048"),
            "{short}"
        );
        assert!(short.contains("previous.pem"), "{short}");

        let p256 = tlv(0x06, der::OID_P256);
        let point = [&[0x04u8][..], &[7u8; 64]].concat();
        assert!(matches!(
            load(spki_pem(der::OID_EC_PUBLIC_KEY, &p256, &point)).unwrap(),
            PublicParams::Ec { .. }
        ));
        let truncated = load(spki_pem(der::OID_EC_PUBLIC_KEY, &p256, &point[..64]));
        let truncated = truncated.unwrap_err().to_string();
        assert!(
            truncated.contains("not an uncompressed EC P-256"),
            "{truncated}"
        );
        // P-384 (1.3.132.0.34): not one of ours.
        let p384 = tlv(0x06, &[0x2b, 0x81, 0x04, 0x00, 0x22]);
        let other_curve = [&[0x04u8][..], &[7u8; 96]].concat();
        let other_curve = load(spki_pem(der::OID_EC_PUBLIC_KEY, &p384, &other_curve));
        let other_curve = other_curve.unwrap_err().to_string();
        assert!(
            other_curve.contains("not an EC P-256, Ed25519 or RSA"),
            "{other_curve}"
        );

        assert!(matches!(
            load(spki_pem(der::OID_ED25519, &[], &[9u8; 32])).unwrap(),
            PublicParams::Okp { .. }
        ));
        let ed = load(spki_pem(der::OID_ED25519, &[], &[9u8; 31])).unwrap_err();
        assert!(
            ed.to_string().contains("not an EC P-256, Ed25519 or RSA"),
            "{ed}"
        );
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/keys")
            .join(name)
    }

    fn settings(alg: SigningAlgorithm, key: Option<&str>, previous: &[&str]) -> SigningSettings {
        SigningSettings {
            key_file: key.map(fixture),
            previous_key_files: previous.iter().map(|p| fixture(p)).collect(),
            algorithm: alg,
            audience: "otp-sidecar".into(),
        }
    }

    fn claims() -> AssertionClaims {
        AssertionClaims {
            iss: "https://id.example.com/otp".into(),
            aud: "https://id.example.com/realms/acme".into(),
            sub: "user-1".into(),
            nonce: "n".repeat(22),
            req_jti: "req-1".into(),
            jti: "as-1".into(),
            iat: 1_700_000_000,
            exp: 1_700_000_060,
            result: super::super::AssertionResult::Success,
            amr: vec!["otp".into()],
            otp_channel: "email".into(),
        }
    }

    /// Verifies `jwt` with the key published under its kid, as Keycloak would.
    fn verify_with_jwks(jwt: &str, jwks: &Value) -> AssertionClaims {
        let header = jsonwebtoken::decode_header(jwt).unwrap();
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        let kid = header.kid.unwrap();
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .unwrap();
        assert_eq!(thumbprint(jwk).unwrap(), kid);
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
        let key = DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&["https://id.example.com/realms/acme"]);
        validation.validate_exp = false;
        jsonwebtoken::decode::<AssertionClaims>(jwt, &key, &validation)
            .unwrap()
            .claims
    }

    #[test]
    fn rfc7638_example_thumbprint() {
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn signs_and_verifies_with_each_algorithm() {
        use jsonwebtoken::Algorithm;
        for (alg, jose, file) in [
            (
                SigningAlgorithm::Es256,
                Algorithm::ES256,
                "sidecar-es256.pem",
            ),
            (
                SigningAlgorithm::EdDsa,
                Algorithm::EdDSA,
                "sidecar-ed25519.pem",
            ),
            (
                SigningAlgorithm::Rs256,
                Algorithm::RS256,
                "sidecar-rs256.pem",
            ),
        ] {
            let signer = AssertionSigner::from_settings(&settings(alg, Some(file), &[])).unwrap();
            assert_eq!(signer.algorithm(), alg);
            assert!(!signer.is_ephemeral());
            let jwt = signer.sign(&claims()).unwrap();
            let header = jsonwebtoken::decode_header(&jwt).unwrap();
            assert_eq!(header.alg, jose);
            assert_eq!(header.typ.as_deref(), Some("JWT"));
            assert_eq!(header.kid.as_deref(), Some(signer.kid()));
            let jwks = signer.jwks();
            let key = &jwks["keys"][0];
            assert_eq!(key["alg"], alg.as_str());
            assert_eq!(key["use"], "sig");
            assert!(key.get("d").is_none(), "private part published: {key}");
            let back = verify_with_jwks(&jwt, &jwks);
            assert_eq!(back.sub, "user-1");
            assert_eq!(back.result, super::super::AssertionResult::Success);
        }
    }

    #[test]
    fn ec_jwk_members() {
        let signer = AssertionSigner::from_settings(&settings(
            SigningAlgorithm::Es256,
            Some("sidecar-es256.pem"),
            &[],
        ))
        .unwrap();
        let key = &signer.jwks()["keys"][0];
        assert_eq!(key["kty"], "EC");
        assert_eq!(key["crv"], "P-256");
        assert_eq!(key["x"].as_str().unwrap().len(), 43);
        assert_eq!(key["y"].as_str().unwrap().len(), 43);
        assert_eq!(key["kid"], signer.kid());
    }

    #[test]
    fn ephemeral_keys_are_fresh_and_work() {
        let a = AssertionSigner::ephemeral(SigningAlgorithm::Es256).unwrap();
        let b = AssertionSigner::ephemeral(SigningAlgorithm::Es256).unwrap();
        assert_ne!(a.kid(), b.kid());
        assert!(a.is_ephemeral());
        verify_with_jwks(&a.sign(&claims()).unwrap(), &a.jwks());
        let ed = AssertionSigner::ephemeral(SigningAlgorithm::EdDsa).unwrap();
        verify_with_jwks(&ed.sign(&claims()).unwrap(), &ed.jwks());
        let from_settings =
            AssertionSigner::from_settings(&settings(SigningAlgorithm::Es256, None, &[])).unwrap();
        assert!(from_settings.is_ephemeral());
    }

    #[test]
    fn previous_keys_are_published_from_private_or_public_pem() {
        let signer = AssertionSigner::from_settings(&settings(
            SigningAlgorithm::Es256,
            Some("sidecar-es256.pem"),
            &[
                "sidecar-ed25519.pub.pem",
                "sidecar-rs256.pem",
                "sidecar-es256.pub.pem", // the current key again: not duplicated
            ],
        ))
        .unwrap();
        let jwks = signer.jwks();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 3, "{jwks}");
        assert_eq!(keys[0]["kid"], signer.kid());
        assert_eq!(keys[1]["kty"], "OKP");
        assert_eq!(keys[1]["alg"], "EdDSA");
        assert_eq!(keys[2]["kty"], "RSA");
        assert!(keys[2].get("d").is_none());
        // An assertion signed by the previous key still verifies against this JWKS.
        let old = AssertionSigner::from_settings(&settings(
            SigningAlgorithm::EdDsa,
            Some("sidecar-ed25519.pem"),
            &[],
        ))
        .unwrap();
        verify_with_jwks(&old.sign(&claims()).unwrap(), &jwks);
        // Public and private forms give the same kid.
        assert_eq!(keys[1]["kid"], old.kid());
    }

    #[test]
    fn algorithm_must_match_the_key() {
        let err = AssertionSigner::from_settings(&settings(
            SigningAlgorithm::Es256,
            Some("sidecar-ed25519.pem"),
            &[],
        ))
        .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, KeyError::AlgorithmMismatch { .. }), "{msg}");
        assert!(
            msg.contains("Ed25519") && msg.contains("ES256") && msg.contains("sidecar-ed25519.pem"),
            "{msg}"
        );
        let err = AssertionSigner::from_settings(&settings(
            SigningAlgorithm::Rs256,
            Some("sidecar-es256.pem"),
            &[],
        ))
        .unwrap_err();
        assert!(err.to_string().contains("EC P-256"), "{err}");
    }

    #[test]
    fn unusable_key_files_name_the_file_and_the_problem() {
        let cases = [
            ("missing.pem", "cannot read"),
            ("sidecar-es256.pub.pem", "public key"),
            ("sidecar-es256.sec1.pem", "openssl pkcs8 -topk8"),
            ("README.md", "not a PEM"),
        ];
        for (file, expected) in cases {
            let err =
                AssertionSigner::from_settings(&settings(SigningAlgorithm::Es256, Some(file), &[]))
                    .unwrap_err()
                    .to_string();
            assert!(
                err.contains(file) && err.contains(expected),
                "{file}: {err}"
            );
        }
        let err = AssertionSigner::from_settings(&settings(
            SigningAlgorithm::Es256,
            Some("sidecar-es256.pem"),
            &["missing-previous.pem"],
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("missing-previous.pem"), "{err}");
    }

    #[test]
    fn debug_never_shows_key_material() {
        let signer = AssertionSigner::from_settings(&settings(
            SigningAlgorithm::Es256,
            Some("sidecar-es256.pem"),
            &[],
        ))
        .unwrap();
        let pem = std::fs::read_to_string(fixture("sidecar-es256.pem")).unwrap();
        let body: String = pem.lines().nth(1).unwrap().chars().take(20).collect();
        let debug = format!("{signer:?}");
        assert!(debug.contains(signer.kid()));
        assert!(!debug.contains(&body));
    }
}
