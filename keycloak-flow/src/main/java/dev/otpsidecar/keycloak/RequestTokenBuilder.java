package dev.otpsidecar.keycloak;

import java.security.SecureRandom;
import java.time.Clock;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

import org.keycloak.crypto.SignatureSignerContext;
import org.keycloak.jose.jws.JWSBuilder;

/**
 * Builds and signs the request JWT of docs/protocol.md section 1. Knows nothing of the Keycloak session:
 * the authenticator passes the values in, so the claims are testable with any signer.
 */
public final class RequestTokenBuilder {

    /** Lifetime of a request; the protocol allows at most 300 s. */
    public static final long LIFETIME_SECONDS = 120;

    private static final SecureRandom RANDOM = new SecureRandom();

    /** Longest `realm_display_name` / `client_name`, in characters (code points); longer ones are cut. */
    public static final int DISPLAY_TEXT_MAX = 200;

    /** Longest `client_url` sent, in characters; a longer address is left out. */
    public static final int CLIENT_URL_MAX = 2048;

    /**
     * The values that go into one request. `name`, `locale`, `realmDisplayName`, `clientName` and
     * `clientUrl` may be null; the names are cut to {@link #DISPLAY_TEXT_MAX} characters; `clientUrl`
     * (the client's base URL, absolute) is sent only when it is an http(s) URL of at most
     * {@link #CLIENT_URL_MAX} characters.
     */
    public record Request(String realmIssuer, String audience, String userId, String email, String name,
                          String locale, String clientId, String nonce, String returnUri,
                          OtpSidecarConfig.OtpPolicy policy, String realmDisplayName, String clientName,
                          String clientUrl) {
        public Request {
            Objects.requireNonNull(realmIssuer, "realmIssuer");
            Objects.requireNonNull(audience, "audience");
            Objects.requireNonNull(userId, "userId");
            Objects.requireNonNull(email, "email");
            Objects.requireNonNull(clientId, "clientId");
            Objects.requireNonNull(nonce, "nonce");
            Objects.requireNonNull(returnUri, "returnUri");
            Objects.requireNonNull(policy, "policy");
        }
    }

    private final Clock clock;

    public RequestTokenBuilder(Clock clock) {
        this.clock = Objects.requireNonNull(clock);
    }

    /** 128 random bits from a CSPRNG, base64url without padding. */
    public static String newNonce() {
        byte[] bytes = new byte[16];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** The claims, in the order docs/protocol.md section 1 lists them. */
    public Map<String, Object> claims(Request request) {
        long iat = clock.instant().getEpochSecond();
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("iss", request.realmIssuer());
        claims.put("aud", request.audience());
        claims.put("sub", request.userId());
        claims.put("email", request.email());
        if (request.name() != null && !request.name().isBlank()) {
            claims.put("name", request.name());
        }
        if (request.locale() != null && !request.locale().isBlank()) {
            claims.put("locale", request.locale());
        }
        claims.put("azp", request.clientId());
        String realmDisplayName = displayText(request.realmDisplayName());
        if (realmDisplayName != null) {
            claims.put("realm_display_name", realmDisplayName);
        }
        String clientName = displayText(request.clientName());
        if (clientName != null) {
            claims.put("client_name", clientName);
        }
        String clientUrl = clientUrl(request.clientUrl());
        if (clientUrl != null) {
            claims.put("client_url", clientUrl);
        }
        claims.put("nonce", request.nonce());
        claims.put("return_uri", request.returnUri());
        claims.put("iat", iat);
        claims.put("exp", iat + LIFETIME_SECONDS);
        claims.put("jti", UUID.randomUUID().toString());
        OtpSidecarConfig.OtpPolicy p = request.policy();
        Map<String, Object> otp = new LinkedHashMap<>();
        otp.put("length", p.length());
        otp.put("ttl", p.ttl());
        otp.put("max_attempts", p.maxAttempts());
        otp.put("resend_cooldown", p.resendCooldown());
        otp.put("max_resends", p.maxResends());
        claims.put("otp", otp);
        return claims;
    }

    /**
     * A name for the page: trimmed, null when empty, cut to {@link #DISPLAY_TEXT_MAX} code points
     * (never inside a surrogate pair).
     */
    static String displayText(String value) {
        if (value == null) {
            return null;
        }
        String t = value.strip();
        if (t.isEmpty()) {
            return null;
        }
        if (t.codePointCount(0, t.length()) <= DISPLAY_TEXT_MAX) {
            return t;
        }
        return t.substring(0, t.offsetByCodePoints(0, DISPLAY_TEXT_MAX)).stripTrailing();
    }

    /** The client's address for the finished page's link, or null when it is not an absolute http(s) URL. */
    static String clientUrl(String value) {
        if (value == null) {
            return null;
        }
        String t = value.strip();
        if (t.isEmpty() || t.length() > CLIENT_URL_MAX) {
            return null;
        }
        String lower = t.toLowerCase(java.util.Locale.ROOT);
        return lower.startsWith("https://") || lower.startsWith("http://") ? t : null;
    }

    /** Signs with the given signer; the header carries alg and kid from the signer and typ JWT. */
    public String sign(Request request, SignatureSignerContext signer) {
        return new JWSBuilder().type("JWT").jsonContent(claims(request)).sign(signer);
    }
}
