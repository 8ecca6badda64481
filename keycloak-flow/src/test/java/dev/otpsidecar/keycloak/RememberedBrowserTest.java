package dev.otpsidecar.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.keycloak.credential.CredentialModel;
import org.keycloak.crypto.KeyStatus;
import org.keycloak.crypto.KeyType;
import org.keycloak.crypto.KeyUse;
import org.keycloak.crypto.KeyWrapper;
import org.keycloak.crypto.MacSignatureSignerContext;
import org.keycloak.crypto.MacSignatureVerifierContext;
import org.keycloak.crypto.SignatureSignerContext;
import org.keycloak.jose.jws.JWSBuilder;

/**
 * The remember-browser cookie with real HMAC keys through Keycloak's own MAC signer and verifier: only a
 * cookie for this realm, this user, unexpired, not revoked and issued for the user's current credentials
 * lets a browser skip the step.
 */
class RememberedBrowserTest {

    static final Instant NOW = Instant.ofEpochSecond(1_800_000_000L);
    static final Duration DAYS_30 = Duration.ofDays(30);
    static final String REALM = "realm-id-acme";
    static final String ALICE = "9a11e084-7ab3-4200-904a-2f19b46fbebc";
    static final String BOB = "2b7e1516-28ae-42d2-a6ab-f7158809cf4f";

    static KeyWrapper realmKey;
    static KeyWrapper otherKey;

    @BeforeAll
    static void keys() throws Exception {
        realmKey = hmacKey("realm-hs512");
        otherKey = hmacKey("realm-hs512"); // same kid, other secret: what a forger would have
    }

    static KeyWrapper hmacKey(String kid) throws Exception {
        KeyGenerator generator = KeyGenerator.getInstance("HmacSHA512");
        generator.init(512);
        SecretKey secret = generator.generateKey();
        KeyWrapper key = new KeyWrapper();
        key.setKid(kid);
        key.setAlgorithm("HS512");
        key.setType(KeyType.OCT);
        key.setUse(KeyUse.SIG);
        key.setStatus(KeyStatus.ACTIVE);
        key.setSecretKey(secret);
        return key;
    }

    static SignatureSignerContext signer(KeyWrapper key) throws Exception {
        return new MacSignatureSignerContext(key);
    }

    /** The realm's keys as Keycloak's key manager would look them up: by kid and algorithm. */
    static final RememberedBrowser.Verifiers REALM_KEYS = (kid, alg) ->
            kid.equals(realmKey.getKid()) && alg.equals(realmKey.getAlgorithm())
                    ? new MacSignatureVerifierContext(realmKey) : null;

    static final String STAMP = RememberedBrowser.credentialStamp(Stream.of(password("cred-1", 1_700_000_000_000L)));

    static RememberedBrowser.Binding alice() {
        return new RememberedBrowser.Binding(REALM, ALICE, STAMP, 0);
    }

    static String issued(RememberedBrowser.Binding binding) throws Exception {
        return RememberedBrowser.issue(binding, NOW, DAYS_30, signer(realmKey));
    }

    static RememberedBrowser.Refusal refusal(String value, RememberedBrowser.Binding expected, Instant at) {
        return assertThrows(RememberedBrowser.Refused.class,
                () -> RememberedBrowser.check(value, expected, at, REALM_KEYS)).reason();
    }

    static CredentialModel password(String id, long createdMillis) {
        CredentialModel c = new CredentialModel();
        c.setId(id);
        c.setType("password");
        c.setCreatedDate(createdMillis);
        c.setSecretData("{\"value\":\"hash\",\"salt\":\"salt\"}");
        return c;
    }

    @Test
    void aCookieForThisRealmUserAndCredentialsIsAccepted() throws Exception {
        String value = issued(alice());
        RememberedBrowser.Remembered remembered = RememberedBrowser.check(value, alice(), NOW.plusSeconds(3600), REALM_KEYS);
        assertEquals(NOW.getEpochSecond(), remembered.issuedAt());
        assertEquals(NOW.plus(DAYS_30).getEpochSecond(), remembered.expiresAt());
        // Still good one second before it runs out.
        RememberedBrowser.check(value, alice(), NOW.plus(DAYS_30).minusSeconds(1), REALM_KEYS);
    }

    @Test
    void anExpiredCookieIsRefused() throws Exception {
        String value = issued(alice());
        assertEquals(RememberedBrowser.Refusal.EXPIRED, refusal(value, alice(), NOW.plus(DAYS_30)));
        assertEquals(RememberedBrowser.Refusal.EXPIRED, refusal(value, alice(), NOW.plus(Duration.ofDays(400))));
    }

    @Test
    void anotherUsersCookieIsRefused() throws Exception {
        String bobs = issued(new RememberedBrowser.Binding(REALM, BOB, STAMP, 0));
        assertEquals(RememberedBrowser.Refusal.OTHER_USER, refusal(bobs, alice(), NOW));
    }

    @Test
    void aCookieOfAnotherRealmIsRefused() throws Exception {
        String otherRealm = issued(new RememberedBrowser.Binding("realm-id-other", ALICE, STAMP, 0));
        assertEquals(RememberedBrowser.Refusal.OTHER_REALM, refusal(otherRealm, alice(), NOW));
    }

    @Test
    void aCookieIssuedBeforeACredentialChangeIsRefused() throws Exception {
        String value = issued(alice());
        // The password was set again: same credential id, new creation time.
        String newStamp = RememberedBrowser.credentialStamp(Stream.of(password("cred-1", 1_800_000_100_000L)));
        assertEquals(RememberedBrowser.Refusal.CREDENTIALS_CHANGED,
                refusal(value, new RememberedBrowser.Binding(REALM, ALICE, newStamp, 0), NOW));
    }

    @Test
    void aCookieIssuedBeforeARevocationIsRefused() throws Exception {
        String value = issued(alice());
        // An admin signed the user out (user not-before) at the very second of issue, or later.
        assertEquals(RememberedBrowser.Refusal.REVOKED,
                refusal(value, new RememberedBrowser.Binding(REALM, ALICE, STAMP, NOW.getEpochSecond()), NOW));
        assertEquals(RememberedBrowser.Refusal.REVOKED,
                refusal(value, new RememberedBrowser.Binding(REALM, ALICE, STAMP, NOW.getEpochSecond() + 60), NOW.plusSeconds(120)));
        // A revocation before the cookie was issued does not touch it.
        RememberedBrowser.check(value, new RememberedBrowser.Binding(REALM, ALICE, STAMP, NOW.getEpochSecond() - 1), NOW, REALM_KEYS);
    }

    @Test
    void aTamperedCookieIsRefused() throws Exception {
        String[] parts = issued(alice()).split("\\.");
        // The payload rewritten for another user, the signature kept.
        String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
        String forged = payload.replace(ALICE, BOB);
        assertNotEquals(payload, forged);
        String value = parts[0] + "." + Base64.getUrlEncoder().withoutPadding()
                .encodeToString(forged.getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
        assertEquals(RememberedBrowser.Refusal.BAD_SIGNATURE,
                refusal(value, new RememberedBrowser.Binding(REALM, BOB, STAMP, 0), NOW));
        // The expiry pushed out.
        String later = payload.replace("\"exp\":" + NOW.plus(DAYS_30).getEpochSecond(), "\"exp\":" + NOW.plus(Duration.ofDays(3650)).getEpochSecond());
        assertNotEquals(payload, later);
        String extended = parts[0] + "." + Base64.getUrlEncoder().withoutPadding()
                .encodeToString(later.getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
        assertEquals(RememberedBrowser.Refusal.BAD_SIGNATURE, refusal(extended, alice(), NOW.plus(DAYS_30)));
        // One signature character changed.
        char last = parts[2].charAt(0);
        String badSig = parts[0] + "." + parts[1] + "." + (last == 'A' ? 'B' : 'A') + parts[2].substring(1);
        assertEquals(RememberedBrowser.Refusal.BAD_SIGNATURE, refusal(badSig, alice(), NOW));
    }

    @Test
    void aCookieSignedWithAnotherSecretIsRefused() throws Exception {
        String forged = RememberedBrowser.issue(alice(), NOW, DAYS_30, signer(otherKey));
        assertEquals(RememberedBrowser.Refusal.BAD_SIGNATURE, refusal(forged, alice(), NOW));
    }

    @Test
    void aCookieOfAnUnknownKeyIsRefused() throws Exception {
        String value = RememberedBrowser.issue(alice(), NOW, DAYS_30, signer(hmacKey("rotated-away")));
        assertEquals(RememberedBrowser.Refusal.UNKNOWN_KEY, refusal(value, alice(), NOW));
    }

    @Test
    void onlyHmacAlgorithmsAreAccepted() {
        String header = b64("{\"alg\":\"none\",\"typ\":\"otp-sidecar-remember\",\"kid\":\"realm-hs512\"}");
        String payload = b64("{\"realm\":\"" + REALM + "\",\"sub\":\"" + ALICE + "\",\"cst\":\"" + STAMP
                + "\",\"iat\":" + NOW.getEpochSecond() + ",\"exp\":" + NOW.plus(DAYS_30).getEpochSecond() + "}");
        assertEquals(RememberedBrowser.Refusal.ALGORITHM_NOT_ALLOWED, refusal(header + "." + payload + ".", alice(), NOW));
        String rs = b64("{\"alg\":\"RS256\",\"typ\":\"otp-sidecar-remember\",\"kid\":\"realm-hs512\"}");
        assertEquals(RememberedBrowser.Refusal.ALGORITHM_NOT_ALLOWED, refusal(rs + "." + payload + ".c2ln", alice(), NOW));
    }

    @Test
    void anotherTokenSignedWithTheRealmKeyIsNotACookie() throws Exception {
        String other = new JWSBuilder().type("JWT").jsonContent(Map.of("realm", REALM, "sub", ALICE, "cst", STAMP,
                "iat", NOW.getEpochSecond(), "exp", NOW.plus(DAYS_30).getEpochSecond())).sign(signer(realmKey));
        assertEquals(RememberedBrowser.Refusal.WRONG_TYPE, refusal(other, alice(), NOW));
    }

    @Test
    void garbageIsRefusedAsMalformed() {
        for (String value : List.of("", "x", "a.b", "a.b.c", "....", "x".repeat(RememberedBrowser.MAX_VALUE_LENGTH + 1))) {
            assertEquals(RememberedBrowser.Refusal.MALFORMED, refusal(value, alice(), NOW), value);
        }
        assertEquals(RememberedBrowser.Refusal.MALFORMED, refusal(null, alice(), NOW));
    }

    @Test
    void theCredentialStampFollowsTheCredentialsNotTheirOrder() {
        CredentialModel pwd = password("cred-1", 1_700_000_000_000L);
        CredentialModel otp = password("cred-2", 1_700_000_500_000L);
        otp.setType("otp");
        String both = RememberedBrowser.credentialStamp(Stream.of(pwd, otp));
        assertEquals(both, RememberedBrowser.credentialStamp(Stream.of(otp, pwd)), "order does not matter");
        assertNotEquals(both, RememberedBrowser.credentialStamp(Stream.of(pwd)), "a removed credential changes it");
        assertNotEquals(STAMP, RememberedBrowser.credentialStamp(Stream.of(password("cred-9", 1_700_000_000_000L))),
                "another credential id changes it");
        assertFalse(both.contains("hash") || both.contains("salt"));
        assertEquals(43, both.length(), "SHA-256, base64url");
    }

    @Test
    void theCookieIsHttpOnlyLaxLimitedToTheRealmAndSecureOverHttps() {
        String plain = RememberedBrowser.setCookie("v.a.l", "/realms/acme/", 2_592_000, false);
        assertEquals("OTP_SIDECAR_REMEMBER=v.a.l; Path=/realms/acme/; Max-Age=2592000; HttpOnly; SameSite=Lax", plain);
        String secure = RememberedBrowser.setCookie("v.a.l", "/auth/realms/acme/", 86_400, true);
        assertTrue(secure.endsWith("; HttpOnly; SameSite=Lax; Secure"), secure);
        assertTrue(secure.contains("; Path=/auth/realms/acme/;"), secure);
        assertEquals("OTP_SIDECAR_REMEMBER=; Path=/realms/acme/; Max-Age=0; HttpOnly; SameSite=Lax",
                RememberedBrowser.expireCookie("/realms/acme/", false));
    }

    @Test
    void onlyAnHmacKeySignsCookies() {
        SignatureSignerContext rsa = RequestTokenBuilderTest.signer();
        assertThrows(IllegalArgumentException.class, () -> RememberedBrowser.issue(alice(), NOW, DAYS_30, rsa));
    }

    private static String b64(String json) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
    }
}
