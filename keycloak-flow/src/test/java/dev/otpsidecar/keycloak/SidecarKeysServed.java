package dev.otpsidecar.keycloak;

import java.io.IOException;
import java.net.URI;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/**
 * A test class whose logins fetch the sidecar's RSA test key under {@link #KID} from a {@link JwksEndpoint}
 * served for each test ({@link #serveJwks()}) and stopped after it.
 */
abstract class SidecarKeysServed {

    static final String KID = "sidecar-kid-1";
    JwksEndpoint jwks;

    @BeforeAll
    static void sidecarKeys() throws Exception {
        SidecarUnavailableTest.client();
    }

    @AfterEach
    void stopJwks() {
        if (jwks != null) {
            jwks.close();
        }
    }

    /** Serves the sidecar's key for this test; the URI the authenticator fetches it from. */
    URI serveJwks() throws IOException {
        jwks = JwksEndpoint.rsaKey(KID);
        return jwks.uri;
    }
}
