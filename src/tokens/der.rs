//! The little DER the key files need: the key inside a PKCS#8 private key,
//! the algorithm and key of an SPKI public key, and `n`/`e` of an RSA public
//! key. Signing itself is done by aws-lc (through jsonwebtoken).

/// `1.2.840.10045.2.1` id-ecPublicKey.
pub(super) const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// `1.2.840.10045.3.1.7` prime256v1 (P-256).
pub(super) const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// `1.3.101.112` Ed25519.
pub(super) const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
/// `1.2.840.113549.1.1.1` rsaEncryption.
pub(super) const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;

/// One TLV: its tag, its contents, and what follows it.
fn next(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, rest) = rest.split_at(n);
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    let (value, rest) = rest.split_at(len);
    Some((tag, value, rest))
}

fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match next(input)? {
        (t, value, rest) if t == tag => Some((value, rest)),
        _ => None,
    }
}

/// `AlgorithmIdentifier`: the OID and, for EC, the curve OID.
fn algorithm(input: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let (oid, params) = expect(input, OID)?;
    let curve = expect(params, OID).map(|(c, _)| c);
    Some((oid, curve))
}

/// The parts of an SPKI public key.
pub(super) struct Spki<'a> {
    pub oid: &'a [u8],
    /// The named curve of an EC key.
    pub curve: Option<&'a [u8]>,
    pub key: &'a [u8],
}

/// An SPKI (`SubjectPublicKeyInfo`) public key.
pub(super) fn spki(der: &[u8]) -> Option<Spki<'_>> {
    let (spki, _) = expect(der, SEQUENCE)?;
    let (alg, rest) = expect(spki, SEQUENCE)?;
    let (oid, curve) = algorithm(alg)?;
    let (bits, _) = expect(rest, BIT_STRING)?;
    // No unused bits in a key.
    let (&0, key) = bits.split_first()? else {
        return None;
    };
    Some(Spki { oid, curve, key })
}

/// A PKCS#8 private key: (algorithm OID, the inner private key, e.g. PKCS#1 for RSA).
pub(super) fn pkcs8(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (info, _) = expect(der, SEQUENCE)?;
    let (_version, rest) = expect(info, INTEGER)?;
    let (alg, rest) = expect(rest, SEQUENCE)?;
    let (oid, _) = algorithm(alg)?;
    let (key, _) = expect(rest, OCTET_STRING)?;
    Some((oid, key))
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`,
/// each without the sign byte.
pub(super) fn rsa_public(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (seq, _) = expect(der, SEQUENCE)?;
    let (n, rest) = expect(seq, INTEGER)?;
    let (e, _) = expect(rest, INTEGER)?;
    Some((strip_sign(n), strip_sign(e)))
}

fn strip_sign(int: &[u8]) -> &[u8] {
    match int {
        [0, rest @ ..] if !rest.is_empty() => rest,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_truncation() {
        assert_eq!(
            next(&[0x04, 0x02, 1, 2, 9]),
            Some((0x04, &[1u8, 2][..], &[9u8][..]))
        );
        assert_eq!(
            next(&[0x04, 0x81, 0x02, 1, 2]),
            Some((0x04, &[1u8, 2][..], &[][..]))
        );
        assert_eq!(next(&[0x04, 0x03, 1, 2]), None);
        assert_eq!(next(&[0x04, 0x80]), None);
        // 0x80 is no length (BER's indefinite form), also with bytes after it.
        let mut indefinite = vec![0x04, 0x80];
        indefinite.extend([0u8; 200]);
        assert_eq!(next(&indefinite), None);
        // Long forms: up to 4 length bytes, all of them present.
        assert_eq!(next(&[0x04, 0x81, 0x00]), Some((0x04, &[][..], &[][..])));
        assert_eq!(
            next(&[0x04, 0x84, 0, 0, 0, 1, 7]),
            Some((0x04, &[7u8][..], &[][..]))
        );
        assert_eq!(next(&[0x04, 0x85, 0, 0, 0, 0, 1, 7]), None);
        assert_eq!(next(&[0x04, 0x82, 0x01]), None);
        assert_eq!(next(&[0x04]), None);
        assert!(pkcs8(&[0x30, 0x00]).is_none());
        assert!(spki(b"not der").is_none());
    }

    #[test]
    fn expect_takes_only_the_tag_it_expects() {
        let int = [0x02, 0x01, 0x05, 0xff];
        assert_eq!(expect(&int, 0x02), Some((&[0x05u8][..], &[0xffu8][..])));
        assert_eq!(expect(&int, 0x30), None);
    }

    #[test]
    fn rsa_integers_lose_their_sign_byte() {
        let der = [0x30, 0x08, 0x02, 0x03, 0x00, 0xc1, 0x01, 0x02, 0x01, 0x03];
        assert_eq!(rsa_public(&der), Some((&[0xc1u8, 0x01][..], &[0x03u8][..])));
        // A lone zero is the number zero, not a sign byte.
        let zeros = [0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00];
        assert_eq!(rsa_public(&zeros), Some((&[0u8][..], &[0u8][..])));
    }
}
