package dev.otpsidecar.keycloak;

import java.net.URI;

import org.keycloak.crypto.PublicKeysWrapper;
import org.keycloak.jose.jwk.JSONWebKeySet;
import org.keycloak.jose.jwk.JWK;
import org.keycloak.keys.PublicKeyLoader;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.utils.JWKSHttpUtils;
import org.keycloak.util.JWKSUtils;

/**
 * Loads the sidecar's JWKS for {@link org.keycloak.keys.PublicKeyStorageProvider}, which caches the keys
 * by kid and calls this again (rate-limited) when an unknown kid shows up, the way identity brokering does.
 */
final class SidecarKeyLoader implements PublicKeyLoader {

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
        JSONWebKeySet jwks = JWKSHttpUtils.sendJwksRequest(session, jwksUrl.toString());
        if (jwks == null || jwks.getKeys() == null) {
            return PublicKeysWrapper.EMPTY;
        }
        // A key without "use" is taken as a signing key: the sidecar publishes signing keys only.
        return JWKSUtils.getKeyWrappersForUse(jwks, JWK.Use.SIG, true);
    }
}
