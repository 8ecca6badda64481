package dev.otpsidecar.keycloak;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.EdECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.util.Base64;
import java.util.Iterator;
import java.util.Objects;
import java.util.Set;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Every check docs/protocol.md section 4 ("What Keycloak checks") asks of an assertion, with no Keycloak server involved:
 * the caller passes what is expected, a clock, a key resolver and a one-use registry for jti.
 */
public final class AssertionVerifier {

    /** Signature algorithms the sidecar may use; never `none`, never HS*. */
    public static final Set<String> ALLOWED_ALGORITHMS = Set.of("ES256", "EdDSA", "RS256");
    /** Clock skew tolerated on exp and iat. */
    public static final long LEEWAY_SECONDS = 10;
    /** The sidecar issues assertions valid for at most 60 s (docs/protocol.md section 4). */
    public static final long MAX_LIFETIME_SECONDS = 60;
    /** An assertion is a few hundred bytes; anything far larger is not one. */
    public static final int MAX_TOKEN_LENGTH = 8192;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** Why an assertion was refused; `code` is the stable `reason` detail of the Keycloak event. */
    public enum Reason {
        MALFORMED("malformed_assertion"),
        ALGORITHM_NOT_ALLOWED("algorithm_not_allowed"),
        UNKNOWN_KEY("unknown_key"),
        KEYS_UNAVAILABLE("sidecar_keys_unavailable"),
        BAD_SIGNATURE("bad_signature"),
        MISSING_CLAIM("missing_claim"),
        WRONG_ISSUER("wrong_issuer"),
        WRONG_AUDIENCE("wrong_audience"),
        ASSERTION_EXPIRED("assertion_expired"),
        BAD_IAT("bad_iat"),
        NONCE_MISMATCH("nonce_mismatch"),
        SUBJECT_MISMATCH("subject_mismatch"),
        UNKNOWN_RESULT("unknown_result"),
        REPLAYED("replayed_assertion");

        private final String code;

        Reason(String code) {
            this.code = code;
        }

        public String code() {
            return code;
        }
    }

    /** What the sidecar says happened in the challenge. */
    public enum Result {
        SUCCESS("success"), LOCKED("locked"), EXPIRED("expired"), CANCELLED("cancelled");

        private final String wire;

        Result(String wire) {
            this.wire = wire;
        }

        public String wire() {
            return wire;
        }

        static Result fromWire(String value) {
            for (Result r : values()) {
                if (r.wire.equals(value)) {
                    return r;
                }
            }
            return null;
        }
    }

    /** The assertion was refused; `detail` says which claim and what was expected (never a secret). */
    public static final class Rejected extends Exception {
        private static final long serialVersionUID = 1L;
        private final Reason reason;

        public Rejected(Reason reason, String detail) {
            super(detail);
            this.reason = reason;
        }

        public Rejected(Reason reason, String detail, Throwable cause) {
            super(detail, cause);
            this.reason = reason;
        }

        public Reason reason() {
            return reason;
        }
    }

    /** The sidecar's keys could not be fetched at all (as opposed to: fetched, kid not among them). */
    public static final class KeysUnavailableException extends Exception {
        private static final long serialVersionUID = 1L;

        public KeysUnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Finds the sidecar's public key by kid; returns null when no such key exists. */
    @FunctionalInterface
    public interface KeyResolver {
        PublicKey resolve(String kid, String algorithm) throws KeysUnavailableException;
    }

    /** Records a jti as used; returns false when it was already used. Must be atomic. */
    @FunctionalInterface
    public interface JtiRegistry {
        boolean markUsed(String key, long lifespanSeconds);
    }

    /** Values the assertion must match. */
    public record Expected(String sidecarIssuer, String realmIssuer, String nonce, String userId) {
        public Expected {
            Objects.requireNonNull(sidecarIssuer, "sidecarIssuer");
            Objects.requireNonNull(realmIssuer, "realmIssuer");
            Objects.requireNonNull(userId, "userId");
        }
    }

    /** A compact JWS split into its parts; nothing in it is trusted yet. */
    public record ParsedToken(String algorithm, String kid, JsonNode claims, byte[] signingInput, byte[] signature) {
    }

    /** A verified assertion. */
    public record Verified(Result result, String jti, String requestJti) {
    }

    private final Clock clock;
    private final KeyResolver keys;
    private final JtiRegistry jtis;

    public AssertionVerifier(Clock clock, KeyResolver keys, JtiRegistry jtis) {
        this.clock = Objects.requireNonNull(clock);
        this.keys = Objects.requireNonNull(keys);
        this.jtis = Objects.requireNonNull(jtis);
    }

    /** Parses without verifying anything but the shape. */
    public static ParsedToken parse(String compact) throws Rejected {
        if (compact == null || compact.isBlank()) {
            throw new Rejected(Reason.MALFORMED, "no assertion in the request");
        }
        if (compact.length() > MAX_TOKEN_LENGTH) {
            throw new Rejected(Reason.MALFORMED, "assertion longer than " + MAX_TOKEN_LENGTH + " characters");
        }
        String[] parts = compact.split("\\.", -1);
        if (parts.length != 3) {
            throw new Rejected(Reason.MALFORMED, "assertion is not a compact JWS (expected 3 parts, got " + parts.length + ")");
        }
        JsonNode header = jsonObject(parts[0], "header");
        JsonNode claims = jsonObject(parts[1], "payload");
        byte[] signature = base64Url(parts[2], "signature");
        JsonNode alg = header.get("alg");
        if (alg == null || !alg.isTextual()) {
            throw new Rejected(Reason.MALFORMED, "JWS header has no 'alg'");
        }
        JsonNode kid = header.get("kid");
        if (kid != null && !kid.isTextual()) {
            throw new Rejected(Reason.MALFORMED, "JWS header 'kid' is not a string");
        }
        if (header.has("crit")) {
            throw new Rejected(Reason.MALFORMED, "JWS header 'crit' is not supported");
        }
        byte[] signingInput = (parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII);
        return new ParsedToken(alg.asText(), kid == null ? null : kid.asText(), claims, signingInput, signature);
    }

    /** Parses and verifies. */
    public Verified verify(String compact, Expected expected) throws Rejected {
        return verify(parse(compact), expected);
    }

    public Verified verify(ParsedToken token, Expected expected) throws Rejected {
        if (!ALLOWED_ALGORITHMS.contains(token.algorithm())) {
            throw new Rejected(Reason.ALGORITHM_NOT_ALLOWED,
                    "alg '" + token.algorithm() + "' is not allowed; expected one of " + ALLOWED_ALGORITHMS);
        }
        if (token.kid() == null || token.kid().isEmpty()) {
            throw new Rejected(Reason.UNKNOWN_KEY, "JWS header has no 'kid'");
        }
        PublicKey key;
        try {
            key = keys.resolve(token.kid(), token.algorithm());
        } catch (KeysUnavailableException e) {
            throw new Rejected(Reason.KEYS_UNAVAILABLE, "sidecar keys could not be loaded: " + e.getMessage(), e);
        }
        if (key == null) {
            throw new Rejected(Reason.UNKNOWN_KEY, "no sidecar key with kid '" + token.kid() + "'");
        }
        verifySignature(token, key);

        JsonNode claims = token.claims();
        String iss = requiredString(claims, "iss");
        if (!iss.equals(expected.sidecarIssuer())) {
            throw new Rejected(Reason.WRONG_ISSUER, "iss '" + iss + "' is not the configured sidecar issuer '"
                    + expected.sidecarIssuer() + "'");
        }
        checkAudience(claims, expected.realmIssuer());

        long now = clock.instant().getEpochSecond();
        long exp = requiredNumber(claims, "exp");
        long iat = requiredNumber(claims, "iat");
        if (now > exp + LEEWAY_SECONDS) {
            throw new Rejected(Reason.ASSERTION_EXPIRED, "exp " + exp + " has passed (now " + now + ")");
        }
        if (iat > now + LEEWAY_SECONDS) {
            throw new Rejected(Reason.BAD_IAT, "iat " + iat + " is in the future (now " + now + ")");
        }
        if (exp < iat || exp - iat > MAX_LIFETIME_SECONDS) {
            throw new Rejected(Reason.BAD_IAT, "lifetime exp-iat = " + (exp - iat) + " s; expected 0.."
                    + MAX_LIFETIME_SECONDS);
        }

        String nonce = requiredString(claims, "nonce");
        if (expected.nonce() == null || !constantTimeEquals(nonce, expected.nonce())) {
            throw new Rejected(Reason.NONCE_MISMATCH, expected.nonce() == null
                    ? "no request is pending in this login session"
                    : "nonce does not match the request of this login session");
        }
        String sub = requiredString(claims, "sub");
        if (!sub.equals(expected.userId())) {
            throw new Rejected(Reason.SUBJECT_MISMATCH, "sub '" + sub + "' is not the user of this login session");
        }
        String requestJti = requiredString(claims, "req_jti");
        String jti = requiredString(claims, "jti");
        String resultValue = requiredString(claims, "result");
        Result result = Result.fromWire(resultValue);
        if (result == null) {
            throw new Rejected(Reason.UNKNOWN_RESULT, "result '" + resultValue
                    + "'; expected success, locked, expired or cancelled");
        }

        // Last, so only an otherwise valid assertion uses up its jti; lives until it could no longer pass exp.
        long lifespan = Math.max(1, exp + LEEWAY_SECONDS - now + 1);
        if (!jtis.markUsed(iss + "#" + jti, lifespan)) {
            throw new Rejected(Reason.REPLAYED, "assertion jti '" + jti + "' was already used");
        }
        return new Verified(result, jti, requestJti);
    }

    private static void verifySignature(ParsedToken token, PublicKey resolved) throws Rejected {
        PublicKey key = toJdkKey(token, resolved);
        String javaAlgorithm;
        switch (token.algorithm()) {
            case "ES256" -> {
                if (!(key instanceof ECPublicKey ec) || ec.getParams().getCurve().getField().getFieldSize() != 256) {
                    throw new Rejected(Reason.BAD_SIGNATURE, "key '" + token.kid() + "' is not a P-256 key, alg is ES256");
                }
                if (token.signature().length != 64) {
                    throw new Rejected(Reason.BAD_SIGNATURE, "ES256 signature must be 64 bytes, got "
                            + token.signature().length);
                }
                javaAlgorithm = "SHA256withECDSAinP1363Format";
            }
            case "RS256" -> {
                if (!(key instanceof RSAPublicKey rsa) || rsa.getModulus().bitLength() < 2048) {
                    throw new Rejected(Reason.BAD_SIGNATURE, "key '" + token.kid()
                            + "' is not an RSA key of at least 2048 bits, alg is RS256");
                }
                javaAlgorithm = "SHA256withRSA";
            }
            case "EdDSA" -> {
                if (!(key instanceof EdECPublicKey)) {
                    throw new Rejected(Reason.BAD_SIGNATURE, "key '" + token.kid() + "' is not an EdDSA key, alg is EdDSA");
                }
                javaAlgorithm = "EdDSA";
            }
            default -> throw new Rejected(Reason.ALGORITHM_NOT_ALLOWED, "alg '" + token.algorithm() + "' is not allowed");
        }
        boolean valid;
        try {
            Signature verifier = Signature.getInstance(javaAlgorithm);
            verifier.initVerify(key);
            verifier.update(token.signingInput());
            valid = verifier.verify(token.signature());
        } catch (GeneralSecurityException e) {
            throw new Rejected(Reason.BAD_SIGNATURE, "signature could not be verified: " + e.getMessage(), e);
        }
        if (!valid) {
            throw new Rejected(Reason.BAD_SIGNATURE, "signature does not verify with key '" + token.kid() + "'");
        }
    }

    /**
     * Re-reads the key through the JDK's own key factory: Keycloak may hand out BouncyCastle key objects,
     * which the JDK's signature engines refuse.
     */
    private static PublicKey toJdkKey(ParsedToken token, PublicKey key) throws Rejected {
        String family = switch (token.algorithm()) {
            case "ES256" -> "EC";
            case "RS256" -> "RSA";
            default -> "EdDSA";
        };
        byte[] encoded = key.getEncoded();
        if (encoded == null) {
            throw new Rejected(Reason.BAD_SIGNATURE, "key '" + token.kid() + "' has no X.509 encoding");
        }
        try {
            return KeyFactory.getInstance(family).generatePublic(new X509EncodedKeySpec(encoded));
        } catch (GeneralSecurityException e) {
            throw new Rejected(Reason.BAD_SIGNATURE, "key '" + token.kid() + "' is not a " + family
                    + " key, alg is " + token.algorithm(), e);
        }
    }

    private static void checkAudience(JsonNode claims, String realmIssuer) throws Rejected {
        JsonNode aud = claims.get("aud");
        if (aud == null || aud.isNull()) {
            throw new Rejected(Reason.MISSING_CLAIM, "claim 'aud' is missing");
        }
        if (aud.isTextual()) {
            if (aud.asText().equals(realmIssuer)) {
                return;
            }
        } else if (aud.isArray()) {
            for (Iterator<JsonNode> it = aud.elements(); it.hasNext(); ) {
                JsonNode a = it.next();
                if (a.isTextual() && a.asText().equals(realmIssuer)) {
                    return;
                }
            }
        } else {
            throw new Rejected(Reason.MALFORMED, "claim 'aud' is neither a string nor an array");
        }
        throw new Rejected(Reason.WRONG_AUDIENCE, "aud " + aud + " does not contain the realm issuer '" + realmIssuer + "'");
    }

    private static String requiredString(JsonNode claims, String name) throws Rejected {
        JsonNode value = claims.get(name);
        if (value == null || value.isNull()) {
            throw new Rejected(Reason.MISSING_CLAIM, "claim '" + name + "' is missing");
        }
        if (!value.isTextual() || value.asText().isEmpty()) {
            throw new Rejected(Reason.MALFORMED, "claim '" + name + "' must be a non-empty string");
        }
        return value.asText();
    }

    private static long requiredNumber(JsonNode claims, String name) throws Rejected {
        JsonNode value = claims.get(name);
        if (value == null || value.isNull()) {
            throw new Rejected(Reason.MISSING_CLAIM, "claim '" + name + "' is missing");
        }
        if (!value.isNumber() || !value.canConvertToLong()) {
            throw new Rejected(Reason.MALFORMED, "claim '" + name + "' must be a number of seconds");
        }
        return value.asLong();
    }

    private static JsonNode jsonObject(String part, String what) throws Rejected {
        byte[] bytes = base64Url(part, what);
        JsonNode node;
        try {
            node = JSON.readTree(bytes);
        } catch (Exception e) {
            throw new Rejected(Reason.MALFORMED, "JWS " + what + " is not valid JSON");
        }
        if (node == null || !node.isObject()) {
            throw new Rejected(Reason.MALFORMED, "JWS " + what + " is not a JSON object");
        }
        return node;
    }

    private static byte[] base64Url(String part, String what) throws Rejected {
        if (part.indexOf('=') >= 0) {
            throw new Rejected(Reason.MALFORMED, "JWS " + what + " must be unpadded base64url");
        }
        try {
            return Base64.getUrlDecoder().decode(part);
        } catch (IllegalArgumentException e) {
            throw new Rejected(Reason.MALFORMED, "JWS " + what + " is not base64url");
        }
    }

    /** Compares without an early exit on the first differing byte. */
    static boolean constantTimeEquals(String a, String b) {
        return MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }
}
