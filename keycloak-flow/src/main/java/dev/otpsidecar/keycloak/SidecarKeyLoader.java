package dev.otpsidecar.keycloak;

import java.io.IOException;
import java.net.URI;

import org.apache.http.client.config.RequestConfig;
import org.keycloak.crypto.PublicKeysWrapper;
import org.keycloak.http.simple.SimpleHttp;
import org.keycloak.http.simple.SimpleHttpResponse;
import org.keycloak.jose.jwk.JSONWebKeySet;
import org.keycloak.jose.jwk.JWK;
import org.keycloak.keys.PublicKeyLoader;
import org.keycloak.models.KeycloakSession;
import org.keycloak.util.JWKSUtils;

/**
 * Loads the sidecar's JWKS for {@link org.keycloak.keys.PublicKeyStorageProvider}, which caches the keys
 * by kid and calls this again (rate-limited) when an unknown kid shows up, the way identity brokering does.
 *
 * <p>Fetches with Keycloak's HTTP client (its proxy and TLS settings) but short timeouts of its own, since a
 * login waits for it. Anything but a 200 with at least one signing key is an exception, so the storage
 * caches nothing for a sidecar that is down and the next login tries again.
 */
final class SidecarKeyLoader implements PublicKeyLoader {

    /** Connecting to the sidecar's JWKS endpoint, and getting a pooled connection. */
    static final int CONNECT_TIMEOUT_MILLIS = 2_000;
    /** Waiting for the response once connected. */
    static final int READ_TIMEOUT_MILLIS = 3_000;

    private static final RequestConfig TIMEOUTS = RequestConfig.custom()
            .setConnectTimeout(CONNECT_TIMEOUT_MILLIS)
            .setConnectionRequestTimeout(CONNECT_TIMEOUT_MILLIS)
            .setSocketTimeout(READ_TIMEOUT_MILLIS)
            .build();

    private final KeycloakSession session;
    private final URI jwksUrl;

    SidecarKeyLoader(KeycloakSession session, URI jwksUrl) {
        this.session = session;
        this.jwksUrl = jwksUrl;
    }

    /** The cache key: one entry per realm and JWKS URL, so two configs never share keys by accident. */
    static String modelKey(String realmId, URI jwksUrl) {
        return "otp-sidecar::" + realmId + "::" + jwksUrl;
    }

    @Override
    @SuppressWarnings("deprecation") // JWK.Use is deprecated, but it is what JWKSUtils takes in 26.7
    public PublicKeysWrapper loadKeys() throws Exception {
        JSONWebKeySet jwks;
        try (SimpleHttpResponse response = SimpleHttp.create(session).withRequestConfig(TIMEOUTS)
                .doGet(jwksUrl.toString()).acceptJson().asResponse()) {
            if (response.getStatus() != 200) {
                throw new IOException("HTTP " + response.getStatus() + " from " + jwksUrl);
            }
            jwks = response.asJson(JSONWebKeySet.class);
        }
        if (jwks == null || jwks.getKeys() == null || jwks.getKeys().length == 0) {
            throw new IOException("the JWKS at " + jwksUrl + " holds no keys");
        }
        // A key without "use" is taken as a signing key: the sidecar publishes signing keys only.
        PublicKeysWrapper keys = JWKSUtils.getKeyWrappersForUse(jwks, JWK.Use.SIG, true);
        if (keys.getKeys().isEmpty()) {
            throw new IOException("the JWKS at " + jwksUrl + " holds no usable signing key");
        }
        return keys;
    }
}
