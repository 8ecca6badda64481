package dev.otpsidecar.keycloak;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Stream;

import org.keycloak.common.VerificationException;
import org.keycloak.credential.CredentialModel;
import org.keycloak.crypto.SignatureSignerContext;
import org.keycloak.crypto.SignatureVerifierContext;
import org.keycloak.jose.jws.JWSBuilder;
import org.keycloak.jose.jws.JWSInput;
import org.keycloak.jose.jws.JWSInputException;

/**
 * The "remember this browser" cookie: a compact JWS signed with one of the realm's HMAC keys (Keycloak's
 * own key manager, the key its internal tokens use), bound to the realm, the user, an expiry and a stamp
 * over the user's stored credentials. Knows nothing of the Keycloak session: the authenticator passes the
 * signer, the verifiers and the current values in, so every refusal is testable without a server.
 */
public final class RememberedBrowser {

    /** Cookie name; the path is the realm's, so realms never see each other's cookie. */
    public static final String COOKIE_NAME = "OTP_SIDECAR_REMEMBER";
    /** JWS `typ`: a cookie value is never mistaken for any other token signed with the same key. */
    static final String TYPE = "otp-sidecar-remember";
    /** Longest cookie value read; browsers keep at most 4096 bytes per cookie anyway. */
    static final int MAX_VALUE_LENGTH = 4096;
    private static final Set<String> MAC_ALGORITHMS = Set.of("HS256", "HS384", "HS512");
    /** Tolerance for an `iat` ahead of this node's clock (clock skew between Keycloak nodes). */
    private static final long IAT_LEEWAY_SECONDS = 60;

    private RememberedBrowser() {
    }

    /**
     * What a cookie is bound to. `revokedBefore` is the epoch second before which no cookie counts: the
     * later of the realm's and the user's not-before (admin "Sign out" of a user, realm revocation).
     */
    public record Binding(String realmId, String userId, String credentialStamp, long revokedBefore) {
        public Binding {
            Objects.requireNonNull(realmId, "realmId");
            Objects.requireNonNull(userId, "userId");
            Objects.requireNonNull(credentialStamp, "credentialStamp");
        }
    }

    /** Why a cookie does not let the user skip the step; the code goes into the log and the event. */
    public enum Refusal {
        MALFORMED("malformed"),
        ALGORITHM_NOT_ALLOWED("algorithm_not_allowed"),
        UNKNOWN_KEY("unknown_key"),
        BAD_SIGNATURE("bad_signature"),
        WRONG_TYPE("wrong_type"),
        OTHER_REALM("other_realm"),
        OTHER_USER("other_user"),
        EXPIRED("expired"),
        REVOKED("revoked"),
        CREDENTIALS_CHANGED("credentials_changed");

        private final String code;

        Refusal(String code) {
            this.code = code;
        }

        public String code() {
            return code;
        }
    }

    /** A cookie that does not count, with the reason. */
    public static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;
        private final transient Refusal reason;

        Refused(Refusal reason, String message) {
            super(message);
            this.reason = reason;
        }

        public Refusal reason() {
            return reason;
        }
    }

    /** The realm's verifier for a kid and HMAC algorithm; null (or VerificationException) when the key is unknown. */
    @FunctionalInterface
    public interface Verifiers {
        SignatureVerifierContext forKey(String kid, String algorithm) throws VerificationException;
    }

    /** What a verified cookie says. */
    public record Remembered(long issuedAt, long expiresAt) {
    }

    /** Signs a cookie value for `binding`, valid for `lifetime` from `now`. */
    public static String issue(Binding binding, Instant now, Duration lifetime, SignatureSignerContext signer) {
        if (!MAC_ALGORITHMS.contains(signer.getAlgorithm())) {
            throw new IllegalArgumentException("remember-browser cookies are signed with an HMAC key, not "
                    + signer.getAlgorithm());
        }
        long iat = now.getEpochSecond();
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("realm", binding.realmId());
        claims.put("sub", binding.userId());
        claims.put("cst", binding.credentialStamp());
        claims.put("iat", iat);
        claims.put("exp", iat + lifetime.toSeconds());
        return new JWSBuilder().type(TYPE).jsonContent(claims).sign(signer);
    }

    /**
     * Checks a cookie value against what it must be bound to now. Returns what it says, or throws
     * {@link Refused} naming the first check that failed.
     */
    public static Remembered check(String value, Binding expected, Instant now, Verifiers verifiers) throws Refused {
        if (value == null || value.isEmpty() || value.length() > MAX_VALUE_LENGTH) {
            throw new Refused(Refusal.MALFORMED, "empty or longer than " + MAX_VALUE_LENGTH + " characters");
        }
        JWSInput jws;
        try {
            jws = new JWSInput(value);
        } catch (JWSInputException | RuntimeException e) {
            throw new Refused(Refusal.MALFORMED, "not a compact JWS");
        }
        String alg = jws.getHeader().getRawAlgorithm();
        if (alg == null || !MAC_ALGORITHMS.contains(alg)) {
            throw new Refused(Refusal.ALGORITHM_NOT_ALLOWED, "alg " + alg + " is not one of " + MAC_ALGORITHMS);
        }
        String kid = jws.getHeader().getKeyId();
        SignatureVerifierContext verifier;
        try {
            verifier = kid == null ? null : verifiers.forKey(kid, alg);
        } catch (VerificationException | RuntimeException e) {
            verifier = null;
        }
        if (verifier == null) {
            throw new Refused(Refusal.UNKNOWN_KEY, "no realm " + alg + " key with kid " + kid);
        }
        boolean valid;
        try {
            valid = alg.equals(verifier.getAlgorithm())
                    && verifier.verify(jws.getEncodedSignatureInput().getBytes(StandardCharsets.US_ASCII), jws.getSignature());
        } catch (VerificationException | RuntimeException e) {
            valid = false;
        }
        if (!valid) {
            throw new Refused(Refusal.BAD_SIGNATURE, "signature does not verify with realm key " + kid);
        }
        if (!TYPE.equals(jws.getHeader().getType())) {
            throw new Refused(Refusal.WRONG_TYPE, "typ " + jws.getHeader().getType() + ", expected " + TYPE);
        }
        Map<?, ?> claims;
        try {
            claims = jws.readJsonContent(Map.class);
        } catch (JWSInputException | RuntimeException e) {
            throw new Refused(Refusal.MALFORMED, "payload is not a JSON object");
        }
        String realm = text(claims, "realm");
        String sub = text(claims, "sub");
        String stamp = text(claims, "cst");
        long iat = number(claims, "iat");
        long exp = number(claims, "exp");
        if (!realm.equals(expected.realmId())) {
            throw new Refused(Refusal.OTHER_REALM, "issued for another realm");
        }
        if (!sub.equals(expected.userId())) {
            throw new Refused(Refusal.OTHER_USER, "issued for another user");
        }
        long nowSeconds = now.getEpochSecond();
        if (nowSeconds >= exp) {
            throw new Refused(Refusal.EXPIRED, "expired at " + Instant.ofEpochSecond(exp));
        }
        if (iat > nowSeconds + IAT_LEEWAY_SECONDS || iat > exp) {
            throw new Refused(Refusal.MALFORMED, "iat " + iat + " lies in the future or after exp");
        }
        if (iat <= expected.revokedBefore()) {
            throw new Refused(Refusal.REVOKED, "issued at " + Instant.ofEpochSecond(iat) + ", not after the revocation at "
                    + Instant.ofEpochSecond(expected.revokedBefore()));
        }
        if (!MessageDigest.isEqual(stamp.getBytes(StandardCharsets.UTF_8),
                expected.credentialStamp().getBytes(StandardCharsets.UTF_8))) {
            throw new Refused(Refusal.CREDENTIALS_CHANGED, "the user's credentials changed since it was issued");
        }
        return new Remembered(iat, exp);
    }

    private static String text(Map<?, ?> claims, String name) throws Refused {
        if (claims.get(name) instanceof String s && !s.isEmpty()) {
            return s;
        }
        throw new Refused(Refusal.MALFORMED, "claim '" + name + "' missing or not a string");
    }

    private static long number(Map<?, ?> claims, String name) throws Refused {
        if (claims.get(name) instanceof Number n && (n instanceof Integer || n instanceof Long)) {
            return n.longValue();
        }
        throw new Refused(Refusal.MALFORMED, "claim '" + name + "' missing or not a whole number");
    }

    /**
     * A stamp over the user's stored credentials: SHA-256 (base64url) over type, id and creation time of each.
     * Setting or resetting a password gives the password credential a new creation time; adding or removing
     * any credential changes the set. No secret goes into it.
     */
    public static String credentialStamp(Stream<CredentialModel> credentials) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
        credentials
                .map(c -> String.valueOf(c.getType()) + '\u0000' + c.getId() + '\u0000' + c.getCreatedDate())
                .sorted(Comparator.naturalOrder())
                .forEach(line -> {
                    sha.update(line.getBytes(StandardCharsets.UTF_8));
                    sha.update((byte) '\n');
                });
        return Base64.getUrlEncoder().withoutPadding().encodeToString(sha.digest());
    }

    /** The Set-Cookie header value: HttpOnly, SameSite=Lax, Secure over https, limited to the realm's path. */
    public static String setCookie(String value, String path, long maxAgeSeconds, boolean secure) {
        StringBuilder header = new StringBuilder()
                .append(COOKIE_NAME).append('=').append(value)
                .append("; Path=").append(path)
                .append("; Max-Age=").append(Math.max(0, maxAgeSeconds))
                .append("; HttpOnly; SameSite=Lax");
        if (secure) {
            header.append("; Secure");
        }
        return header.toString();
    }

    /** The Set-Cookie header value that deletes the cookie. */
    public static String expireCookie(String path, boolean secure) {
        return setCookie("", path, 0, secure);
    }
}
