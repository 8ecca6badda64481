package dev.otpsidecar.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.otpsidecar.keycloak.AssertionVerifier.Reason;
import dev.otpsidecar.keycloak.AssertionVerifier.Rejected;
import dev.otpsidecar.keycloak.AssertionVerifier.Result;

/**
 * The edges of each assertion check (exactly at the leeway, the lifetime, the length bound) and the
 * detail each refusal reports in the Keycloak event: the check that refuses is the one that names it,
 * not a later one that happens to refuse the same token for another reason.
 */
class AssertionVerifierEdgesTest {

    static final String SIDECAR = AssertionVerifierTest.SIDECAR;
    static final String REALM = AssertionVerifierTest.REALM;
    static final long NOW = AssertionVerifierTest.NOW;
    static final long LEEWAY = AssertionVerifier.LEEWAY_SECONDS;
    static final String KID = "ec-kid-1";

    static KeyPair ec;
    static KeyPair p384;
    static KeyPair rsa1024;

    final Map<String, PublicKey> keys = new HashMap<>();
    final Map<String, Long> usedJtis = new ConcurrentHashMap<>();
    final AssertionVerifier.Expected expected =
            new AssertionVerifier.Expected(SIDECAR, REALM, AssertionVerifierTest.NONCE, AssertionVerifierTest.USER);

    @BeforeAll
    static void makeKeys() throws Exception {
        ec = TestJws.ecP256();
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp384r1"));
        p384 = g.generateKeyPair();
        KeyPairGenerator r = KeyPairGenerator.getInstance("RSA");
        r.initialize(1024);
        rsa1024 = r.generateKeyPair();
    }

    @BeforeEach
    void publish() {
        keys.put(KID, ec.getPublic());
        keys.put("p384", p384.getPublic());
        keys.put("rsa1024", rsa1024.getPublic());
    }

    AssertionVerifier verifier() {
        return new AssertionVerifier(Clock.fixed(Instant.ofEpochSecond(NOW), ZoneOffset.UTC),
                (kid, alg) -> keys.get(kid), (key, lifespan) -> usedJtis.putIfAbsent(key, lifespan) == null);
    }

    static Map<String, Object> claims(Object... pairs) {
        Map<String, Object> c = AssertionVerifierTest.claims();
        for (int i = 0; i < pairs.length; i += 2) {
            if (pairs[i + 1] == null) {
                c.remove((String) pairs[i]);
            } else {
                c.put((String) pairs[i], pairs[i + 1]);
            }
        }
        return c;
    }

    static Map<String, Object> header(Object... pairs) {
        Map<String, Object> h = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            h.put((String) pairs[i], pairs[i + 1]);
        }
        return h;
    }

    /** A JWS with this header, signed with `jca` by `key` (the header need not agree). */
    static String signed(Map<String, Object> header, Map<String, Object> claims, String jca, PrivateKey key)
            throws Exception {
        String input = TestJws.signingInput(header, claims);
        Signature s = Signature.getInstance(jca);
        s.initSign(key);
        s.update(input.getBytes(StandardCharsets.US_ASCII));
        return input + "." + TestJws.b64(s.sign());
    }

    static String es256(Map<String, Object> claims) throws Exception {
        return TestJws.sign("ES256", KID, claims, ec.getPrivate());
    }

    Rejected rejected(String token) {
        return assertThrows(Rejected.class, () -> verifier().verify(token, expected));
    }

    void refused(String token, Reason reason, String detail) {
        Rejected r = rejected(token);
        assertEquals(reason, r.reason(), r.getMessage());
        assertTrue(r.getMessage().contains(detail), "detail '" + r.getMessage() + "' should say: " + detail);
    }

    Result accepted(Map<String, Object> claims) throws Exception {
        return verifier().verify(es256(claims), expected).result();
    }

    @Test
    void everyReasonHasItsStableEventCode() {
        Map<Reason, String> codes = new LinkedHashMap<>();
        for (Reason r : Reason.values()) {
            codes.put(r, r.code());
        }
        assertEquals(Map.ofEntries(
                Map.entry(Reason.MALFORMED, "malformed_assertion"),
                Map.entry(Reason.ALGORITHM_NOT_ALLOWED, "algorithm_not_allowed"),
                Map.entry(Reason.UNKNOWN_KEY, "unknown_key"),
                Map.entry(Reason.KEYS_UNAVAILABLE, "sidecar_keys_unavailable"),
                Map.entry(Reason.BAD_SIGNATURE, "bad_signature"),
                Map.entry(Reason.MISSING_CLAIM, "missing_claim"),
                Map.entry(Reason.WRONG_ISSUER, "wrong_issuer"),
                Map.entry(Reason.WRONG_AUDIENCE, "wrong_audience"),
                Map.entry(Reason.ASSERTION_EXPIRED, "assertion_expired"),
                Map.entry(Reason.BAD_IAT, "bad_iat"),
                Map.entry(Reason.NONCE_MISMATCH, "nonce_mismatch"),
                Map.entry(Reason.SUBJECT_MISMATCH, "subject_mismatch"),
                Map.entry(Reason.UNKNOWN_RESULT, "unknown_result"),
                Map.entry(Reason.REPLAYED, "replayed_assertion")), codes);
    }

    @Test
    void expiryIsExactlyAtTheLeeway() throws Exception {
        // exp + leeway == now still passes; one second later it does not.
        assertEquals(Result.SUCCESS, accepted(claims("exp", NOW - LEEWAY, "iat", NOW - LEEWAY - 30, "jti", "a")));
        refused(es256(claims("exp", NOW - LEEWAY - 1, "iat", NOW - LEEWAY - 31, "jti", "b")),
                Reason.ASSERTION_EXPIRED, "exp " + (NOW - LEEWAY - 1) + " has passed (now " + NOW + ")");
    }

    @Test
    void iatInTheFutureIsExactlyAtTheLeeway() throws Exception {
        assertEquals(Result.SUCCESS, accepted(claims("iat", NOW + LEEWAY, "exp", NOW + LEEWAY + 30, "jti", "a")));
        refused(es256(claims("iat", NOW + LEEWAY + 1, "exp", NOW + LEEWAY + 31, "jti", "b")),
                Reason.BAD_IAT, "is in the future");
    }

    @Test
    void theLifetimeIsBoundedOnBothSides() throws Exception {
        long max = AssertionVerifier.MAX_LIFETIME_SECONDS;
        assertEquals(Result.SUCCESS, accepted(claims("iat", NOW - 5, "exp", NOW - 5 + max, "jti", "a")));
        assertEquals(Result.SUCCESS, accepted(claims("iat", NOW, "exp", NOW, "jti", "b")));
        refused(es256(claims("iat", NOW - 5, "exp", NOW - 5 + max + 1, "jti", "c")),
                Reason.BAD_IAT, "lifetime exp-iat = " + (max + 1) + " s");
        refused(es256(claims("iat", NOW, "exp", NOW - 1, "jti", "d")), Reason.BAD_IAT, "lifetime exp-iat = -1 s");
    }

    @Test
    void theJtiIsKeptForExactlyAsLongAsTheAssertionCouldPass() throws Exception {
        // exp = now + 55: usable for 55 s plus the leeway, plus the second it is in now.
        accepted(claims("exp", NOW + 55, "jti", "kept"));
        assertEquals(Map.of(SIDECAR + "#kept", 55 + LEEWAY + 1), usedJtis);
    }

    @Test
    void anEmptyOrBlankTokenIsNotAnAssertion() {
        refused(null, Reason.MALFORMED, "no assertion in the request");
        refused("", Reason.MALFORMED, "no assertion in the request");
        refused("   ", Reason.MALFORMED, "no assertion in the request");
    }

    @Test
    void theLengthBoundIsExact() {
        int max = AssertionVerifier.MAX_TOKEN_LENGTH;
        // At the bound the token is read (and refused for its shape), past it not even split.
        refused("x".repeat(max), Reason.MALFORMED, "expected 3 parts, got 1");
        refused("x".repeat(max + 1), Reason.MALFORMED, "longer than " + max + " characters");
        refused("a.b.c." + "x".repeat(max), Reason.MALFORMED, "longer than");
    }

    @Test
    void aTokenOfOtherThanThreePartsIsRefusedAsSuch() {
        refused("a.b", Reason.MALFORMED, "expected 3 parts, got 2");
        refused("a.b.c.d", Reason.MALFORMED, "expected 3 parts, got 4");
    }

    @Test
    void theHeaderMustNameAnAlgorithmAsAString() throws Exception {
        String payload = TestJws.b64(TestJws.json(claims()).getBytes(StandardCharsets.UTF_8));
        String noAlg = TestJws.b64(TestJws.json(header("kid", KID)).getBytes(StandardCharsets.UTF_8));
        refused(noAlg + "." + payload + ".AA", Reason.MALFORMED, "JWS header has no 'alg'");
        String numericAlg = TestJws.b64(TestJws.json(header("alg", 256, "kid", KID)).getBytes(StandardCharsets.UTF_8));
        refused(numericAlg + "." + payload + ".AA", Reason.MALFORMED, "JWS header has no 'alg'");
    }

    @Test
    void aKidThatIsNotAStringIsRefused() throws Exception {
        refused(signed(header("alg", "ES256", "kid", 7), claims(), "SHA256withECDSAinP1363Format", ec.getPrivate()),
                Reason.MALFORMED, "'kid' is not a string");
    }

    @Test
    void aCriticalHeaderIsRefused() throws Exception {
        refused(signed(header("alg", "ES256", "kid", KID, "crit", List.of("exp")), claims(),
                "SHA256withECDSAinP1363Format", ec.getPrivate()), Reason.MALFORMED, "'crit' is not supported");
    }

    @Test
    void anEmptyKidIsNoKid() throws Exception {
        keys.put("", ec.getPublic());
        refused(signed(header("alg", "ES256", "kid", ""), claims(), "SHA256withECDSAinP1363Format", ec.getPrivate()),
                Reason.UNKNOWN_KEY, "JWS header has no 'kid'");
        refused(signed(header("alg", "ES256"), claims(), "SHA256withECDSAinP1363Format", ec.getPrivate()),
                Reason.UNKNOWN_KEY, "JWS header has no 'kid'");
    }

    @Test
    void es256NeedsAP256Key() throws Exception {
        refused(signed(header("alg", "ES256", "kid", "p384"), claims(), "SHA384withECDSAinP1363Format",
                p384.getPrivate()), Reason.BAD_SIGNATURE, "is not a P-256 key");
    }

    @Test
    void anEs256SignatureIsExactly64Bytes() throws Exception {
        String token = es256(claims());
        String head = token.substring(0, token.lastIndexOf('.') + 1);
        byte[] sig = TestJws.unb64(token.substring(token.lastIndexOf('.') + 1));
        byte[] longer = java.util.Arrays.copyOf(sig, 65);
        refused(head + TestJws.b64(longer), Reason.BAD_SIGNATURE, "must be 64 bytes, got 65");
    }

    @Test
    void rs256NeedsAtLeast2048Bits() throws Exception {
        refused(signed(header("alg", "RS256", "kid", "rsa1024"), claims(), "SHA256withRSA", rsa1024.getPrivate()),
                Reason.BAD_SIGNATURE, "not an RSA key of at least 2048 bits");
    }

    @Test
    void aKeyWithoutAnEncodingIsRefused() throws Exception {
        keys.put(KID, new PublicKey() {
            private static final long serialVersionUID = 1L;

            @Override
            public String getAlgorithm() {
                return "EC";
            }

            @Override
            public String getFormat() {
                return null;
            }

            @Override
            public byte[] getEncoded() {
                return null;
            }
        });
        refused(es256(claims()), Reason.BAD_SIGNATURE, "has no X.509 encoding");
    }

    @Test
    void anAbsentAudienceIsAMissingClaim() throws Exception {
        refused(es256(claims("aud", null)), Reason.MISSING_CLAIM, "claim 'aud' is missing");
    }

    @Test
    void absentStringAndNumberClaimsAreMissingNotMalformed() throws Exception {
        refused(es256(claims("sub", null)), Reason.MISSING_CLAIM, "claim 'sub' is missing");
        refused(es256(claims("exp", null)), Reason.MISSING_CLAIM, "claim 'exp' is missing");
    }

    @Test
    void aJsonNullClaimIsMissing() throws Exception {
        for (String name : List.of("aud", "sub", "exp")) {
            Map<String, Object> c = claims();
            c.put(name, null); // serialized as "name": null
            refused(es256(c), Reason.MISSING_CLAIM, "claim '" + name + "' is missing");
        }
    }

    @Test
    void aNumberClaimMustFitInALong() throws Exception {
        refused(es256(claims("exp", new java.math.BigInteger("1" + "0".repeat(30)))), Reason.MALFORMED,
                "claim 'exp' must be a number of seconds");
        refused(es256(claims("iat", "1800000000")), Reason.MALFORMED, "claim 'iat' must be a number of seconds");
    }

    @Test
    void noPendingRequestIsSaidAsSuch() throws Exception {
        AssertionVerifier.Expected none = new AssertionVerifier.Expected(SIDECAR, REALM, null, AssertionVerifierTest.USER);
        Rejected r = assertThrows(Rejected.class, () -> verifier().verify(es256(claims()), none));
        assertEquals(Reason.NONCE_MISMATCH, r.reason());
        assertEquals("no request is pending in this login session", r.getMessage());
    }

    @Test
    void anEmptyHeaderIsNotAJsonObject() throws Exception {
        String payload = TestJws.b64(TestJws.json(claims()).getBytes(StandardCharsets.UTF_8));
        refused("." + payload + ".AA", Reason.MALFORMED, "JWS header is not");
        refused(TestJws.b64("[1]".getBytes(StandardCharsets.UTF_8)) + "." + payload + ".AA",
                Reason.MALFORMED, "JWS header is not a JSON object");
    }

    @Test
    void paddingIsRefusedWherever() throws Exception {
        String token = es256(claims());
        String head = token.substring(0, token.lastIndexOf('.') + 1);
        String sig = token.substring(token.lastIndexOf('.') + 1);
        refused(head + sig + "=", Reason.MALFORMED, "JWS signature must be unpadded base64url");
        refused(head + "=" + sig, Reason.MALFORMED, "JWS signature must be unpadded base64url");
    }
}
