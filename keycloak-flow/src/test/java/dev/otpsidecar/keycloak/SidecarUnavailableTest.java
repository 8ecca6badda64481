package dev.otpsidecar.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.security.KeyPair;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.apache.http.impl.client.CloseableHttpClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.keycloak.authentication.AuthenticationFlowContext;
import org.keycloak.connections.httpclient.HttpClientBuilder;
import org.keycloak.connections.httpclient.HttpClientProvider;
import org.keycloak.crypto.KeyWrapper;
import org.keycloak.events.Details;
import org.keycloak.events.Errors;
import org.keycloak.events.Event;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.EventType;
import org.keycloak.forms.login.LoginFormsProvider;
import org.keycloak.keys.PublicKeyLoader;
import org.keycloak.keys.PublicKeyStorageProvider;
import org.keycloak.models.AuthenticatorConfigModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.SingleUseObjectProvider;
import org.keycloak.models.UserModel;

/**
 * authenticate() with the sidecar down: the user stays in Keycloak on the "not available" page with
 * "Send a new code", the event says {@code sidecar_unavailable}, and nothing counts toward brute force.
 * The sidecar's JWKS is served (or not) by a real HTTP server on loopback and fetched with Keycloak's
 * own HTTP client; only the surrounding Keycloak session, context and key cache are stand-ins.
 */
class SidecarUnavailableTest {

    static final String USER_ID = "9a11e084-7ab3-4200-904a-2f19b46fbebc";
    /** The realm's issuer in the harness, and the nonce of its pending request. */
    static final String REALM_ISSUER = "http://localhost:8080/realms/acme";
    static final String NONCE = "q8mJ0n1a3sZk2bW7xY4c9A";
    /** The sidecar's issuer in the harness's config. */
    static final String SIDECAR_ISSUER = "http://localhost:18081";
    static CloseableHttpClient http;
    static KeyPair sidecarKey;

    JwksEndpoint jwks;

    @BeforeAll
    static void client() throws Exception {
        http = new HttpClientBuilder().build();
        sidecarKey = TestJws.rsa2048();
    }

    @AfterAll
    static void closeClient() throws IOException {
        http.close();
    }

    @AfterEach
    void stopServer() {
        if (jwks != null) {
            jwks.close();
        }
    }

    /** A sidecar JWKS endpoint on loopback answering with the given status and body, after a delay. */
    URI serve(int status, String body, long delayMillis) throws IOException {
        jwks = JwksEndpoint.serving(status, body, delayMillis);
        return jwks.uri;
    }

    static URI closedPort() throws IOException {
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        return URI.create("http://localhost:" + port + "/.well-known/jwks.json");
    }

    /** A JWKS with one RS256 key (the sidecar's selectable RSA key). */
    static String rsaJwks(String kid) {
        RSAPublicKey key = (RSAPublicKey) sidecarKey.getPublic();
        Map<String, Object> jwk = new LinkedHashMap<>();
        jwk.put("kty", "RSA");
        jwk.put("kid", kid);
        jwk.put("alg", "RS256");
        jwk.put("use", "sig");
        jwk.put("n", TestJws.b64(unsigned(key.getModulus().toByteArray())));
        jwk.put("e", TestJws.b64(unsigned(key.getPublicExponent().toByteArray())));
        return TestJws.json(Map.of("keys", List.of(jwk)));
    }

    static byte[] unsigned(byte[] value) {
        return value.length > 1 && value[0] == 0 ? java.util.Arrays.copyOfRange(value, 1, value.length) : value;
    }

    @Test
    void sidecarNotListening() throws Exception {
        Harness h = new Harness(closedPort());
        new OtpSidecarAuthenticator(Clock.systemUTC()).authenticate(h.context);
        h.assertUnavailablePage();
        assertTrue(h.event().getDetails().get(Details.AUTHENTICATION_ERROR_DETAIL).contains("Connect"),
                h.event().getDetails().toString());
    }

    @Test
    void sidecarAnswers503() throws Exception {
        Harness h = new Harness(serve(503, "{}", 0));
        new OtpSidecarAuthenticator(Clock.systemUTC()).authenticate(h.context);
        h.assertUnavailablePage();
        assertTrue(h.event().getDetails().get(Details.AUTHENTICATION_ERROR_DETAIL).contains("HTTP 503"),
                h.event().getDetails().toString());
        assertEquals(1, jwks.requests.get());
    }

    @Test
    void sidecarPublishesNoKeys() throws Exception {
        Harness h = new Harness(serve(200, "{\"keys\":[]}", 0));
        new OtpSidecarAuthenticator(Clock.systemUTC()).authenticate(h.context);
        h.assertUnavailablePage();
        assertTrue(h.event().getDetails().get(Details.AUTHENTICATION_ERROR_DETAIL).contains("holds no keys"),
                h.event().getDetails().toString());
        assertTrue(h.storage.cache.isEmpty(), "a failed load must not be cached");
    }

    @Test
    void sidecarTooSlowTimesOut() throws Exception {
        Harness h = new Harness(serve(200, rsaJwks("slow"), SidecarKeyLoader.READ_TIMEOUT_MILLIS + 10_000L));
        long started = System.nanoTime();
        new OtpSidecarAuthenticator(Clock.systemUTC()).authenticate(h.context);
        long tookMillis = (System.nanoTime() - started) / 1_000_000;
        h.assertUnavailablePage();
        assertTrue(tookMillis < SidecarKeyLoader.READ_TIMEOUT_MILLIS + 7_000L, "waited " + tookMillis + " ms");
    }

    @Test
    void theRestartButtonChecksAgain() throws Exception {
        Harness h = new Harness(closedPort());
        h.form.put(OtpSidecarAuthenticator.RESTART_PARAM, "1");
        new OtpSidecarAuthenticator(Clock.systemUTC()).action(h.context);
        h.assertUnavailablePage();
    }

    @Test
    void loadedKeysAreCachedSoTheNextLoginMakesNoRequest() throws Exception {
        URI url = serve(200, rsaJwks("sidecar-kid-1"), 0);
        Harness h = new Harness(url);
        assertNull(OtpSidecarAuthenticator.sidecarKeysProblem(h.session, h.realm, h.config()));
        assertNull(OtpSidecarAuthenticator.sidecarKeysProblem(h.session, h.realm, h.config()));
        assertEquals(1, jwks.requests.get(), "the second check must be answered from the key cache");
        List<KeyWrapper> keys = h.storage.cache.values().iterator().next();
        assertEquals("sidecar-kid-1", keys.get(0).getKid());
        assertNotNull(keys.get(0).getPublicKey());
    }

    @Test
    void loaderRefusesNon200() throws Exception {
        Harness h = new Harness(serve(404, "{\"keys\":[]}", 0));
        IOException e = assertThrows(IOException.class, () -> new SidecarKeyLoader(h.session, h.jwksUrl).loadKeys());
        assertTrue(e.getMessage().contains("HTTP 404"), e.getMessage());
    }

    /** The Keycloak side of one login at the otp-sidecar step, recording what the step does with it. */
    static final class Harness {
        final URI jwksUrl;
        final Map<String, String> form = new HashMap<>();
        final Map<String, Object> pageAttributes = new HashMap<>();
        final List<String> templates = new ArrayList<>();
        final List<String> outcomes = new ArrayList<>();
        /** The AuthenticationFlowError of each failure()/failureChallenge() call, in order. */
        final List<Object> flowErrors = new ArrayList<>();
        final Map<String, String> authNotes = new HashMap<>();
        final MemoryKeyStorage storage = new MemoryKeyStorage();
        final RealmModel realm;
        final KeycloakSession session;
        final AuthenticationFlowContext context;
        final RecordingEvents events;

        Harness(URI jwksUrl) {
            this.jwksUrl = jwksUrl;
            KeycloakSessionFactory factory = stub(KeycloakSessionFactory.class, Map.of());
            HttpClientProvider httpProvider = stub(HttpClientProvider.class, Map.of(
                    "getHttpClient", http,
                    "getMaxConsumedResponseSize", 1_000_000L));
            realm = stub(RealmModel.class, Map.of("getId", "realm-id", "getName", "acme"));
            SingleUseObjectProvider singleUse = stub(SingleUseObjectProvider.class, Map.of("putIfAbsent", true));
            session = (KeycloakSession) Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {KeycloakSession.class}, (proxy, method, args) -> switch (method.getName()) {
                        case "getProvider" -> args[0] == PublicKeyStorageProvider.class ? storage
                                : args[0] == HttpClientProvider.class ? httpProvider : null;
                        case "getKeycloakSessionFactory" -> factory;
                        case "singleUseObjects" -> singleUse;
                        default -> defaultValue(method.getReturnType());
                    });

            UserModel user = stub(UserModel.class, Map.of("getId", USER_ID, "getEmail", "alice@example.com",
                    "isEmailVerified", true));
            events = new RecordingEvents(realm, session);
            AuthenticatorConfigModel configModel = new AuthenticatorConfigModel();
            configModel.setConfig(Map.of(
                    OtpSidecarConfig.PUBLIC_URL, "http://localhost:18081",
                    OtpSidecarConfig.JWKS_URL, jwksUrl.toString(),
                    OtpSidecarConfig.ISSUER, SIDECAR_ISSUER));
            LoginFormsProvider forms = (LoginFormsProvider) Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {LoginFormsProvider.class}, (proxy, method, args) -> {
                        switch (method.getName()) {
                            case "setError" -> pageAttributes.put("error", args[0]);
                            case "setAttribute" -> pageAttributes.put((String) args[0], args[1]);
                            case "createForm" -> {
                                templates.add((String) args[0]);
                                return null;
                            }
                            default -> {
                                return defaultValue(method.getReturnType());
                            }
                        }
                        return proxy;
                    });
            Object authSession = stub(org.keycloak.sessions.AuthenticationSessionModel.class,
                    Map.of("getAuthNote", NONCE));
            org.keycloak.http.HttpRequest request = (org.keycloak.http.HttpRequest) Proxy.newProxyInstance(
                    getClass().getClassLoader(), new Class<?>[] {org.keycloak.http.HttpRequest.class},
                    (proxy, method, args) -> method.getName().equals("getDecodedFormParameters")
                            ? new jakarta.ws.rs.core.MultivaluedHashMap<>(form) : defaultValue(method.getReturnType()));
            context = (AuthenticationFlowContext) Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {AuthenticationFlowContext.class}, (proxy, method, args) -> switch (method.getName()) {
                        case "getAuthenticatorConfig" -> configModel;
                        case "getUser" -> user;
                        case "getRealm" -> realm;
                        case "getSession" -> session;
                        case "getEvent" -> events;
                        case "form" -> forms;
                        case "getHttpRequest" -> request;
                        case "getAuthenticationSession" -> {
                            outcomes.add("authenticationSession");
                            yield authSession;
                        }
                        case "challenge", "failureChallenge", "failure", "success", "forceChallenge" -> {
                            outcomes.add(method.getName());
                            if (method.getName().startsWith("failure")) {
                                flowErrors.add(args[0]);
                            }
                            yield null;
                        }
                        default -> defaultValue(method.getReturnType());
                    });
        }

        OtpSidecarConfig config() throws OtpSidecarConfig.InvalidConfigException {
            return OtpSidecarConfig.parse(context.getAuthenticatorConfig().getConfig());
        }

        Event event() {
            assertEquals(1, events.errors.size(), "exactly one error event");
            return events.errors.get(0);
        }

        void assertUnavailablePage() {
            Event event = event();
            assertEquals(EventType.LOGIN_ERROR, event.getType());
            assertEquals(Errors.GENERIC_AUTHENTICATION_ERROR, event.getError());
            assertEquals(OtpSidecarAuthenticator.SIDECAR_UNAVAILABLE, event.getDetails().get(Details.REASON));
            assertEquals(USER_ID, event.getUserId());
            assertTrue(event.getDetails().get(Details.AUTHENTICATION_ERROR_DETAIL).contains(jwksUrl.toString()));
            // The page: our error template with the "not available" message and "Send a new code".
            assertEquals(List.of(OtpSidecarAuthenticator.ERROR_TEMPLATE), templates);
            assertEquals("otpSidecarErrorUnavailable", pageAttributes.get("otpSidecarMessage"));
            assertEquals(Boolean.TRUE, pageAttributes.get("otpSidecarCanRestart"));
            assertFalse(pageAttributes.containsKey("otpSidecarAuthorizeUrl"), "must not send the browser away");
            // A plain challenge: not failureChallenge, so brute-force detection does not count it;
            // and no nonce or request was made.
            assertEquals(List.of("challenge"), outcomes);
        }
    }

    /** Keycloak's EventBuilder with the event kept for the test instead of sent to listeners. */
    static final class RecordingEvents extends EventBuilder {
        final List<Event> errors = new ArrayList<>();

        RecordingEvents(RealmModel realm, KeycloakSession session) {
            super(realm, session);
            event(EventType.LOGIN);
        }

        @Override
        public void error(String error) {
            Event event = getEvent().clone();
            event.setType(EventType.LOGIN_ERROR);
            event.setError(error);
            errors.add(event);
        }
    }

    /** The key cache as action() and authenticate() use it: load on a miss, keep what loaded. */
    static final class MemoryKeyStorage implements PublicKeyStorageProvider {
        final Map<String, List<KeyWrapper>> cache = new HashMap<>();

        @Override
        public List<KeyWrapper> getKeys(String modelKey, PublicKeyLoader loader) {
            return cache.computeIfAbsent(modelKey, k -> {
                try {
                    return loader.loadKeys().getKeys();
                } catch (Exception e) {
                    throw new RuntimeException("Error when loading public keys: " + e.getMessage(), e);
                }
            });
        }

        @Override
        public KeyWrapper getPublicKey(String modelKey, String kid, String algorithm, PublicKeyLoader loader) {
            return getKeys(modelKey, loader).stream().filter(k -> kid.equals(k.getKid())).findFirst().orElse(null);
        }

        @Override
        public KeyWrapper getFirstPublicKey(String modelKey, String algorithm, PublicKeyLoader loader) {
            throw new UnsupportedOperationException();
        }

        @Override
        public KeyWrapper getFirstPublicKey(String modelKey, java.util.function.Predicate<KeyWrapper> predicate,
                                            PublicKeyLoader loader) {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean reloadKeys(String modelKey, PublicKeyLoader loader) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void close() {
        }
    }

    @SuppressWarnings("unchecked")
    static <T> T stub(Class<T> type, Map<String, Object> answers) {
        return (T) Proxy.newProxyInstance(SidecarUnavailableTest.class.getClassLoader(), new Class<?>[] {type},
                (proxy, method, args) -> answers.containsKey(method.getName()) ? answers.get(method.getName())
                        : defaultValue(method.getReturnType()));
    }

    static Object defaultValue(Class<?> type) {
        if (type == boolean.class) {
            return false;
        }
        if (type == int.class) {
            return 0;
        }
        if (type == long.class) {
            return 0L;
        }
        if (Stream.class.isAssignableFrom(type)) {
            return Stream.empty();
        }
        return null;
    }
}
