package dev.otpsidecar.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.PublicKey;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import dev.otpsidecar.keycloak.AssertionVerifier.Reason;
import dev.otpsidecar.keycloak.AssertionVerifier.Rejected;
import dev.otpsidecar.keycloak.AssertionVerifier.Result;

class AssertionVerifierTest {

    static final String SIDECAR = "https://id.example.com/otp";
    static final String REALM = "https://id.example.com/realms/acme";
    static final String NONCE = "q8mJ0n1a3sZk2bW7xY4c9A";
    static final String USER = "9a11e084-7ab3-4200-904a-2f19b46fbebc";
    static final long NOW = 1_800_000_000L;
    static final String KID = "ec-kid-1";

    static KeyPair ec;
    static KeyPair otherEc;
    static KeyPair rsa;
    static KeyPair ed;

    final Map<String, PublicKey> keys = new HashMap<>();
    final Map<String, Long> usedJtis = new ConcurrentHashMap<>();
    Clock clock = Clock.fixed(Instant.ofEpochSecond(NOW), ZoneOffset.UTC);
    final AssertionVerifier.Expected expected = new AssertionVerifier.Expected(SIDECAR, REALM, NONCE, USER);

    @BeforeAll
    static void keys() throws Exception {
        ec = TestJws.ecP256();
        otherEc = TestJws.ecP256();
        rsa = TestJws.rsa2048();
        ed = TestJws.ed25519();
    }

    @BeforeEach
    void publish() {
        keys.put(KID, ec.getPublic());
        keys.put("rsa-kid", rsa.getPublic());
        keys.put("ed-kid", ed.getPublic());
    }

    AssertionVerifier verifier() {
        return new AssertionVerifier(clock, (kid, alg) -> keys.get(kid),
                (key, lifespan) -> usedJtis.putIfAbsent(key, lifespan) == null);
    }

    static Map<String, Object> claims() {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("iss", SIDECAR);
        c.put("aud", REALM);
        c.put("sub", USER);
        c.put("nonce", NONCE);
        c.put("req_jti", "req-1");
        c.put("jti", "assertion-1");
        c.put("iat", NOW - 5);
        c.put("exp", NOW + 55);
        c.put("result", "success");
        c.put("amr", List.of("otp"));
        c.put("otp_channel", "email");
        return c;
    }

    static Map<String, Object> claims(String name, Object value) {
        Map<String, Object> c = claims();
        if (value == null) {
            c.remove(name);
        } else {
            c.put(name, value);
        }
        return c;
    }

    String es256(Map<String, Object> claims) throws Exception {
        return TestJws.sign("ES256", KID, claims, ec.getPrivate());
    }

    Reason rejection(String token) {
        return assertThrows(Rejected.class, () -> verifier().verify(token, expected)).reason();
    }

    @Test
    void acceptsAValidEs256Assertion() throws Exception {
        AssertionVerifier.Verified v = verifier().verify(es256(claims()), expected);
        assertEquals(Result.SUCCESS, v.result());
        assertEquals("assertion-1", v.jti());
        assertEquals("req-1", v.requestJti());
    }

    @Test
    void acceptsRs256AndEdDsa() throws Exception {
        assertEquals(Result.SUCCESS, verifier().verify(
                TestJws.sign("RS256", "rsa-kid", claims("jti", "rsa-1"), rsa.getPrivate()), expected).result());
        assertEquals(Result.SUCCESS, verifier().verify(
                TestJws.sign("EdDSA", "ed-kid", claims("jti", "ed-1"), ed.getPrivate()), expected).result());
    }

    @ParameterizedTest
    @EnumSource(value = Result.class, names = {"LOCKED", "EXPIRED", "CANCELLED"})
    void nonSuccessResultsAreReportedAndBecomeCountedFailures(Result result) throws Exception {
        AssertionVerifier.Verified v = verifier().verify(es256(claims("result", result.wire())), expected);
        assertEquals(result, v.result());
        StepFailure failure = StepFailure.of(v.result());
        assertNotNull(failure, "a non-success result must fail the step");
        assertEquals(result.wire(), failure.reason());
        assertNull(StepFailure.of(Result.SUCCESS));
    }

    @Test
    void refusesAnUnknownResult() throws Exception {
        assertEquals(Reason.UNKNOWN_RESULT, rejection(es256(claims("result", "invalid"))));
        assertEquals(Reason.UNKNOWN_RESULT, rejection(es256(claims("result", "SUCCESS"))));
    }

    @Test
    void refusesAWrongNonce() throws Exception {
        assertEquals(Reason.NONCE_MISMATCH, rejection(es256(claims("nonce", "AAAAAAAAAAAAAAAAAAAAAA"))));
    }

    @Test
    void refusesWhenNoRequestIsPending() throws Exception {
        AssertionVerifier.Expected none = new AssertionVerifier.Expected(SIDECAR, REALM, null, USER);
        Rejected r = assertThrows(Rejected.class, () -> verifier().verify(es256(claims()), none));
        assertEquals(Reason.NONCE_MISMATCH, r.reason());
    }

    @Test
    void refusesAWrongSubject() throws Exception {
        assertEquals(Reason.SUBJECT_MISMATCH, rejection(es256(claims("sub", "someone-else"))));
    }

    @Test
    void refusesAWrongIssuer() throws Exception {
        assertEquals(Reason.WRONG_ISSUER, rejection(es256(claims("iss", "https://evil.example.com/otp"))));
        // No prefix or trailing-slash leniency.
        assertEquals(Reason.WRONG_ISSUER, rejection(es256(claims("iss", SIDECAR + "/"))));
    }

    @Test
    void refusesAWrongAudience() throws Exception {
        assertEquals(Reason.WRONG_AUDIENCE, rejection(es256(claims("aud", "https://id.example.com/realms/other"))));
        assertEquals(Reason.WRONG_AUDIENCE, rejection(es256(claims("aud", List.of("otp-sidecar")))));
    }

    @Test
    void acceptsTheRealmInAnAudienceArray() throws Exception {
        assertEquals(Result.SUCCESS,
                verifier().verify(es256(claims("aud", List.of("other", REALM))), expected).result());
    }

    @Test
    void refusesAnExpiredAssertion() throws Exception {
        Map<String, Object> c = claims();
        c.put("iat", NOW - 80);
        c.put("exp", NOW - 20);
        Rejected r = assertThrows(Rejected.class, () -> verifier().verify(es256(c), expected));
        assertEquals(Reason.ASSERTION_EXPIRED, r.reason());
        assertTrue(r.getMessage().contains("exp"), r.getMessage());
    }

    @Test
    void toleratesSmallClockSkewOnExp() throws Exception {
        Map<String, Object> c = claims();
        c.put("iat", NOW - 65);
        c.put("exp", NOW - 5);
        assertEquals(Result.SUCCESS, verifier().verify(es256(c), expected).result());
        c.put("jti", "late-1");
        c.put("iat", NOW - 71);
        c.put("exp", NOW - AssertionVerifier.LEEWAY_SECONDS - 1);
        assertEquals(Reason.ASSERTION_EXPIRED, rejection(es256(c)));
    }

    @Test
    void refusesIatInTheFuture() throws Exception {
        Map<String, Object> c = claims();
        c.put("iat", NOW + 30);
        c.put("exp", NOW + 60);
        assertEquals(Reason.BAD_IAT, rejection(es256(c)));
    }

    @Test
    void refusesALifetimeLongerThanTheProtocolAllows() throws Exception {
        Map<String, Object> c = claims();
        c.put("iat", NOW);
        c.put("exp", NOW + 3600);
        assertEquals(Reason.BAD_IAT, rejection(es256(c)));
        c.put("exp", NOW - 1);
        c.put("iat", NOW);
        assertEquals(Reason.BAD_IAT, rejection(es256(c)));
    }

    @Test
    void refusesABadSignature() throws Exception {
        // Signed by a key the sidecar does not publish under this kid.
        assertEquals(Reason.BAD_SIGNATURE, rejection(TestJws.sign("ES256", KID, claims(), otherEc.getPrivate())));
    }

    @Test
    void refusesATamperedPayload() throws Exception {
        String locked = es256(claims("result", "locked"));
        String[] parts = locked.split("\\.");
        String forgedPayload = TestJws.b64(TestJws.json(claims()).getBytes(StandardCharsets.UTF_8));
        assertEquals(Reason.BAD_SIGNATURE, rejection(parts[0] + "." + forgedPayload + "." + parts[2]));
    }

    @Test
    void refusesAlgNone() {
        assertEquals(Reason.ALGORITHM_NOT_ALLOWED, rejection(TestJws.unsigned(KID, claims())));
    }

    @Test
    void refusesHs256EvenWithThePublicKeyAsSecret() throws Exception {
        // The classic confusion: HMAC keyed with the verifier's public key bytes.
        assertEquals(Reason.ALGORITHM_NOT_ALLOWED, rejection(TestJws.hs256(KID, claims(), ec.getPublic().getEncoded())));
        assertEquals(Reason.ALGORITHM_NOT_ALLOWED,
                rejection(TestJws.hs256(KID, claims(), "secret".getBytes(StandardCharsets.UTF_8))));
    }

    @Test
    void refusesAKeyThatDoesNotFitTheAlgorithm() throws Exception {
        // RS256 header, but the kid names the EC key.
        assertEquals(Reason.BAD_SIGNATURE, rejection(TestJws.sign("RS256", KID, claims(), rsa.getPrivate())));
    }

    @Test
    void refusesATruncatedEs256Signature() throws Exception {
        String token = es256(claims());
        String sig = token.substring(token.lastIndexOf('.') + 1);
        byte[] bytes = TestJws.unb64(sig);
        byte[] shorter = java.util.Arrays.copyOf(bytes, 63);
        assertEquals(Reason.BAD_SIGNATURE, rejection(token.substring(0, token.lastIndexOf('.') + 1) + TestJws.b64(shorter)));
    }

    @Test
    void refusesAnUnknownKid() throws Exception {
        assertEquals(Reason.UNKNOWN_KEY, rejection(TestJws.sign("ES256", "rotated-away", claims(), ec.getPrivate())));
    }

    @Test
    void refusesAMissingKid() throws Exception {
        String input = TestJws.signingInput(Map.of("alg", "ES256"), claims());
        java.security.Signature s = java.security.Signature.getInstance("SHA256withECDSAinP1363Format");
        s.initSign(ec.getPrivate());
        s.update(input.getBytes(StandardCharsets.US_ASCII));
        assertEquals(Reason.UNKNOWN_KEY, rejection(input + "." + TestJws.b64(s.sign())));
    }

    @Test
    void reportsUnavailableKeysSeparately() throws Exception {
        AssertionVerifier down = new AssertionVerifier(clock, (kid, alg) -> {
            throw new AssertionVerifier.KeysUnavailableException("connection refused", null);
        }, (key, lifespan) -> true);
        Rejected r = assertThrows(Rejected.class, () -> down.verify(es256(claims()), expected));
        assertEquals(Reason.KEYS_UNAVAILABLE, r.reason());
    }

    @Test
    void refusesAReplayedJti() throws Exception {
        String token = es256(claims());
        assertEquals(Result.SUCCESS, verifier().verify(token, expected).result());
        assertEquals(Reason.REPLAYED, rejection(token));
        // A different assertion reusing the jti is a replay too.
        assertEquals(Reason.REPLAYED, rejection(es256(claims("result", "locked"))));
    }

    @Test
    void keepsTheJtiUntilTheAssertionCouldNoLongerPass() throws Exception {
        verifier().verify(es256(claims()), expected);
        long lifespan = usedJtis.get(SIDECAR + "#assertion-1");
        assertTrue(lifespan >= 55 + AssertionVerifier.LEEWAY_SECONDS, "lifespan " + lifespan);
    }

    @Test
    void aRefusedAssertionDoesNotUseUpItsJti() throws Exception {
        assertEquals(Reason.NONCE_MISMATCH, rejection(es256(claims("nonce", "other"))));
        assertTrue(usedJtis.isEmpty());
    }

    @ParameterizedTest
    @ValueSource(strings = {"iss", "aud", "sub", "nonce", "req_jti", "jti", "exp", "iat", "result"})
    void refusesAMissingClaim(String claim) throws Exception {
        Rejected r = assertThrows(Rejected.class, () -> verifier().verify(es256(claims(claim, null)), expected));
        assertEquals(Reason.MISSING_CLAIM, r.reason());
        assertTrue(r.getMessage().contains("'" + claim + "'"), r.getMessage());
    }

    @Test
    void refusesClaimsOfTheWrongType() throws Exception {
        assertEquals(Reason.MALFORMED, rejection(es256(claims("exp", "soon"))));
        assertEquals(Reason.MALFORMED, rejection(es256(claims("sub", 42))));
        assertEquals(Reason.MALFORMED, rejection(es256(claims("nonce", ""))));
    }

    @Test
    void refusesMalformedTokens() {
        assertEquals(Reason.MALFORMED, rejection(null));
        assertEquals(Reason.MALFORMED, rejection(""));
        assertEquals(Reason.MALFORMED, rejection("a.b"));
        assertEquals(Reason.MALFORMED, rejection("a.b.c.d"));
        assertEquals(Reason.MALFORMED, rejection("!!!.e30.AA"));
        assertEquals(Reason.MALFORMED, rejection(TestJws.b64("not json".getBytes(StandardCharsets.UTF_8)) + ".e30.AA"));
        assertEquals(Reason.MALFORMED, rejection("x".repeat(AssertionVerifier.MAX_TOKEN_LENGTH + 1)));
    }

    @Test
    void refusesDuplicateClaims() throws Exception {
        String header = TestJws.b64("{\"alg\":\"ES256\",\"kid\":\"ec-kid-1\"}".getBytes(StandardCharsets.UTF_8));
        String payload = TestJws.b64(("{\"sub\":\"" + USER + "\",\"sub\":\"other\"}").getBytes(StandardCharsets.UTF_8));
        assertEquals(Reason.MALFORMED, rejection(header + "." + payload + ".AA"));
    }

    @Test
    void comparesNoncesExactly() {
        assertTrue(AssertionVerifier.constantTimeEquals("abc", "abc"));
        assertTrue(!AssertionVerifier.constantTimeEquals("abc", "abd"));
        assertTrue(!AssertionVerifier.constantTimeEquals("abc", "abcd"));
    }
}
