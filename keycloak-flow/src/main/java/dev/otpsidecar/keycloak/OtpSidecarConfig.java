package dev.otpsidecar.keycloak;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The authenticator's configuration, parsed once from the execution's config map.
 * Parsing collects every problem at once, each naming its key, so an operator fixes them in one go.
 */
public final class OtpSidecarConfig {

    public static final String PUBLIC_URL = "otp.sidecar.public.url";
    public static final String JWKS_URL = "otp.sidecar.jwks.url";
    public static final String ISSUER = "otp.sidecar.issuer";
    public static final String AUDIENCE = "otp.sidecar.audience";
    public static final String CODE_LENGTH = "otp.code.length";
    public static final String TTL = "otp.ttl";
    public static final String MAX_ATTEMPTS = "otp.max.attempts";
    public static final String RESEND_COOLDOWN = "otp.resend.cooldown";
    public static final String MAX_RESENDS = "otp.max.resends";
    public static final String REQUIRE_VERIFIED_EMAIL = "otp.require.verified.email";
    /** Days a browser is remembered after a passed step; 0 (the default) turns the feature off. */
    public static final String REMEMBER_DAYS = "otp.remember.days";

    public static final String DEFAULT_AUDIENCE = "otp-sidecar";

    /** Inclusive bounds of a numeric setting and its default. */
    public record Bounds(String key, int min, int max, int defaultValue) {
    }

    public static final Bounds CODE_LENGTH_BOUNDS = new Bounds(CODE_LENGTH, 4, 10, 6);
    public static final Bounds TTL_BOUNDS = new Bounds(TTL, 60, 600, 300);
    public static final Bounds MAX_ATTEMPTS_BOUNDS = new Bounds(MAX_ATTEMPTS, 1, 10, 5);
    public static final Bounds RESEND_COOLDOWN_BOUNDS = new Bounds(RESEND_COOLDOWN, 0, 600, 30);
    public static final Bounds MAX_RESENDS_BOUNDS = new Bounds(MAX_RESENDS, 0, 10, 3);
    public static final Bounds REMEMBER_DAYS_BOUNDS = new Bounds(REMEMBER_DAYS, 0, 90, 0);

    /** The request's `otp` policy object (docs/protocol.md section 1). */
    public record OtpPolicy(int length, int ttl, int maxAttempts, int resendCooldown, int maxResends) {
    }

    private final URI publicUrl;
    private final URI jwksUrl;
    private final String issuer;
    private final String audience;
    private final OtpPolicy policy;
    private final boolean requireVerifiedEmail;
    private final int rememberDays;

    private OtpSidecarConfig(URI publicUrl, URI jwksUrl, String issuer, String audience, OtpPolicy policy,
                             boolean requireVerifiedEmail, int rememberDays) {
        this.publicUrl = publicUrl;
        this.jwksUrl = jwksUrl;
        this.issuer = issuer;
        this.audience = audience;
        this.policy = policy;
        this.requireVerifiedEmail = requireVerifiedEmail;
        this.rememberDays = rememberDays;
    }

    /** Thrown when the configuration is unusable; carries every problem found. */
    public static final class InvalidConfigException extends Exception {
        private static final long serialVersionUID = 1L;
        private final List<String> problems;

        InvalidConfigException(List<String> problems) {
            super(String.join("; ", problems));
            this.problems = Collections.unmodifiableList(new ArrayList<>(problems));
        }

        public List<String> problems() {
            return problems;
        }
    }

    /** Parses and validates; a null map (no config attached to the execution) is reported like an empty one. */
    public static OtpSidecarConfig parse(Map<String, String> raw) throws InvalidConfigException {
        Map<String, String> config = raw == null ? Map.of() : raw;
        List<String> problems = new ArrayList<>();

        URI publicUrl = url(config, PUBLIC_URL, problems);
        URI jwksUrl = url(config, JWKS_URL, problems);
        String issuer = trimmed(config.get(ISSUER));
        if (issuer == null) {
            problems.add(ISSUER + ": missing; set it to the sidecar's issuer (its public URL, e.g. https://id.example.com/otp)");
        }
        String audience = trimmed(config.get(AUDIENCE));
        if (audience == null) {
            audience = DEFAULT_AUDIENCE;
        }
        int length = number(config, CODE_LENGTH_BOUNDS, problems);
        int ttl = number(config, TTL_BOUNDS, problems);
        int attempts = number(config, MAX_ATTEMPTS_BOUNDS, problems);
        int cooldown = number(config, RESEND_COOLDOWN_BOUNDS, problems);
        int resends = number(config, MAX_RESENDS_BOUNDS, problems);
        boolean requireVerified = bool(config, REQUIRE_VERIFIED_EMAIL, true, problems);
        int rememberDays = number(config, REMEMBER_DAYS_BOUNDS, problems);

        if (!problems.isEmpty()) {
            throw new InvalidConfigException(problems);
        }
        return new OtpSidecarConfig(publicUrl, jwksUrl, issuer, audience,
                new OtpPolicy(length, ttl, attempts, cooldown, resends), requireVerified, rememberDays);
    }

    private static String trimmed(String value) {
        if (value == null) {
            return null;
        }
        String t = value.trim();
        return t.isEmpty() ? null : t;
    }

    /** An absolute http(s) URL; plain http only to a loopback host (tests and a sidecar in the same pod). */
    private static URI url(Map<String, String> config, String key, List<String> problems) {
        String value = trimmed(config.get(key));
        if (value == null) {
            problems.add(key + ": missing; expected an https:// URL (http:// only for localhost, 127.0.0.0/8 or [::1])");
            return null;
        }
        URI uri;
        try {
            uri = new URI(value);
        } catch (URISyntaxException e) {
            problems.add(key + ": '" + value + "' is not a valid URL");
            return null;
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        String host = uri.getHost() == null ? "" : uri.getHost().toLowerCase(Locale.ROOT);
        if (!uri.isAbsolute() || host.isEmpty()) {
            problems.add(key + ": '" + value + "' must be an absolute URL with a host");
            return null;
        }
        if (uri.getRawUserInfo() != null || uri.getRawQuery() != null || uri.getRawFragment() != null) {
            problems.add(key + ": '" + value + "' must not carry user-info, a query or a fragment");
            return null;
        }
        if (scheme.equals("https")) {
            return uri;
        }
        if (scheme.equals("http") && isLoopback(host)) {
            return uri;
        }
        problems.add(key + ": '" + value + "' must use https (http is accepted only for localhost, 127.0.0.0/8 or [::1])");
        return null;
    }

    /** localhost, any IPv4 literal of 127.0.0.0/8, or [::1]: the same set as the sidecar's {@code is_loopback_host}. */
    static boolean isLoopback(String host) {
        return host.equals("localhost") || host.equals("[::1]") || LOOPBACK_V4.matcher(host).matches();
    }

    private static final java.util.regex.Pattern LOOPBACK_V4 =
            java.util.regex.Pattern.compile("127(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}");

    private static int number(Map<String, String> config, Bounds bounds, List<String> problems) {
        String value = trimmed(config.get(bounds.key()));
        if (value == null) {
            return bounds.defaultValue();
        }
        int n;
        try {
            n = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            problems.add(bounds.key() + ": '" + value + "' is not a whole number; expected "
                    + bounds.min() + ".." + bounds.max());
            return bounds.defaultValue();
        }
        if (n < bounds.min() || n > bounds.max()) {
            problems.add(bounds.key() + ": " + n + " is out of range; expected " + bounds.min() + ".." + bounds.max());
        }
        return n;
    }

    private static boolean bool(Map<String, String> config, String key, boolean defaultValue, List<String> problems) {
        String value = trimmed(config.get(key));
        if (value == null) {
            return defaultValue;
        }
        if (value.equalsIgnoreCase("true")) {
            return true;
        }
        if (value.equalsIgnoreCase("false")) {
            return false;
        }
        problems.add(key + ": '" + value + "' is not a boolean; expected true or false");
        return defaultValue;
    }

    /** Where the browser posts the request: {public URL}/authorize. */
    public URI authorizeUrl() {
        String base = publicUrl.toString();
        return URI.create((base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + "/authorize");
    }

    public URI publicUrl() {
        return publicUrl;
    }

    public URI jwksUrl() {
        return jwksUrl;
    }

    public String issuer() {
        return issuer;
    }

    public String audience() {
        return audience;
    }

    public OtpPolicy policy() {
        return policy;
    }

    public boolean requireVerifiedEmail() {
        return requireVerifiedEmail;
    }

    /** Days a browser that passed the step may skip it; 0 = never (the default). */
    public int rememberDays() {
        return rememberDays;
    }
}
