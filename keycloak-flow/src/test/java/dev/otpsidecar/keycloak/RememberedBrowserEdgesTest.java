package dev.otpsidecar.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.keycloak.credential.CredentialModel;
import org.keycloak.jose.jws.JWSBuilder;

import dev.otpsidecar.keycloak.RememberedBrowser.Refusal;

/**
 * The edges of the remember-browser cookie's checks: the length bound, the iat window, whole-number
 * claims, and a credential stamp that changes with every credential's own fields.
 */
class RememberedBrowserEdgesTest {

    static final Instant NOW = RememberedBrowserTest.NOW;
    static final long NOW_S = NOW.getEpochSecond();

    @BeforeAll
    static void realmKey() throws Exception {
        // The realm's key and its verifiers as RememberedBrowserTest sets them up.
        RememberedBrowserTest.keys();
    }

    static Map<String, Object> claims(long iat, Object exp) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("realm", RememberedBrowserTest.REALM);
        c.put("sub", RememberedBrowserTest.ALICE);
        c.put("cst", RememberedBrowserTest.STAMP);
        c.put("iat", iat);
        c.put("exp", exp);
        return c;
    }

    static String cookie(Map<String, Object> claims) throws Exception {
        return new JWSBuilder().type(RememberedBrowser.TYPE).jsonContent(claims)
                .sign(RememberedBrowserTest.signer(RememberedBrowserTest.realmKey));
    }

    static Refusal refusal(String value) {
        return RememberedBrowserTest.refusal(value, RememberedBrowserTest.alice(), NOW);
    }

    static RememberedBrowser.Remembered accepted(String value) throws Exception {
        return RememberedBrowser.check(value, RememberedBrowserTest.alice(), NOW, RememberedBrowserTest.REALM_KEYS);
    }

    @Test
    void noValueIsMalformed() {
        assertEquals(Refusal.MALFORMED, refusal(null));
        RememberedBrowser.Refused r = assertThrows(RememberedBrowser.Refused.class,
                () -> accepted(null));
        assertEquals("empty or longer than " + RememberedBrowser.MAX_VALUE_LENGTH + " characters", r.getMessage());
    }

    @Test
    void theLengthBoundIsExact() {
        String atBound = "x".repeat(RememberedBrowser.MAX_VALUE_LENGTH);
        // At the bound the value is parsed (and is no JWS); past it, it is not even parsed.
        assertEquals("not a compact JWS",
                assertThrows(RememberedBrowser.Refused.class, () -> accepted(atBound)).getMessage());
        assertEquals("empty or longer than " + RememberedBrowser.MAX_VALUE_LENGTH + " characters",
                assertThrows(RememberedBrowser.Refused.class, () -> accepted(atBound + "x")).getMessage());
    }

    @Test
    void iatMayLieUpToTheLeewayAheadAndAtExp() throws Exception {
        long leeway = 60;
        assertEquals(NOW_S + leeway, accepted(cookie(claims(NOW_S + leeway, NOW_S + 3600))).issuedAt());
        assertEquals(Refusal.MALFORMED, refusal(cookie(claims(NOW_S + leeway + 1, NOW_S + 3600))));
        // Issued and expiring in the same second, still ahead: valid until then.
        assertEquals(NOW_S + 1, accepted(cookie(claims(NOW_S + 1, NOW_S + 1))).expiresAt());
        assertEquals(Refusal.MALFORMED, refusal(cookie(claims(NOW_S + 2, NOW_S + 1))));
    }

    @Test
    void itExpiresAtExp() throws Exception {
        assertEquals(Refusal.EXPIRED, refusal(cookie(claims(NOW_S - 10, NOW_S))));
        assertEquals(NOW_S + 1, accepted(cookie(claims(NOW_S - 10, NOW_S + 1))).expiresAt());
    }

    @Test
    void timesPastTheIntRangeAreRead() throws Exception {
        long far = 4_000_000_000L; // 2096, past 2^31 seconds: read as a long
        assertEquals(far, accepted(cookie(claims(NOW_S - 10, far))).expiresAt());
    }

    @Test
    void timesAreWholeNumbers() throws Exception {
        assertEquals(Refusal.MALFORMED, refusal(cookie(claims(NOW_S - 10, (double) (NOW_S + 3600)))));
        assertEquals(Refusal.MALFORMED, refusal(cookie(claims(NOW_S - 10, String.valueOf(NOW_S + 3600)))));
    }

    @Test
    void everyRefusalHasItsStableCode() {
        Map<Refusal, String> codes = new LinkedHashMap<>();
        for (Refusal r : Refusal.values()) {
            codes.put(r, r.code());
        }
        assertEquals(Map.of(Refusal.MALFORMED, "malformed", Refusal.ALGORITHM_NOT_ALLOWED, "algorithm_not_allowed",
                Refusal.UNKNOWN_KEY, "unknown_key", Refusal.BAD_SIGNATURE, "bad_signature",
                Refusal.WRONG_TYPE, "wrong_type", Refusal.OTHER_REALM, "other_realm",
                Refusal.OTHER_USER, "other_user", Refusal.EXPIRED, "expired", Refusal.REVOKED, "revoked",
                Refusal.CREDENTIALS_CHANGED, "credentials_changed"), codes);
    }

    static CredentialModel credential(String type, String id, long created) {
        CredentialModel c = new CredentialModel();
        c.setType(type);
        c.setId(id);
        c.setCreatedDate(created);
        return c;
    }

    static String stamp(CredentialModel... credentials) {
        return RememberedBrowser.credentialStamp(Stream.of(credentials));
    }

    @Test
    void theStampFollowsEachCredentialsTypeIdAndCreationTime() {
        String base = stamp(credential("password", "c1", 1000));
        assertNotEquals(base, stamp(credential("otp", "c1", 1000)));
        assertNotEquals(base, stamp(credential("password", "c2", 1000)));
        assertNotEquals(base, stamp(credential("password", "c1", 1001)));
        assertNotEquals(stamp(), base);
        // The order the server lists them in does not matter.
        assertEquals(stamp(credential("password", "c1", 1000), credential("otp", "c2", 5)),
                stamp(credential("otp", "c2", 5), credential("password", "c1", 1000)));
    }

    @Test
    void twoCredentialsDoNotStampLikeOneWhoseIdSpansBoth() {
        // Without a separator between credentials, "p\0a\01" + "p\0b\02" would hash like the one line
        // "p\0a\01p\0b\02".
        assertNotEquals(stamp(credential("p", "a", 1), credential("p", "b", 2)),
                stamp(credential("p", "a\u00001p\u0000b", 2)));
    }
}
