package dev.otpsidecar.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Proxy;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.keycloak.authentication.AuthenticationFlowContext;
import org.keycloak.connections.httpclient.HttpClientProvider;
import org.keycloak.crypto.SignatureProvider;
import org.keycloak.crypto.SignatureSignerContext;
import org.keycloak.events.Event;
import org.keycloak.forms.login.LoginFormsProvider;
import org.keycloak.keys.PublicKeyStorageProvider;
import org.keycloak.models.AuthenticatorConfigModel;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakContext;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.SingleUseObjectProvider;
import org.keycloak.models.UserModel;
import org.keycloak.services.managers.BruteForceProtector;
import org.keycloak.sessions.AuthenticationSessionModel;

/**
 * The Keycloak side of one login at the otp-sidecar step, with every part a test may set: the execution's
 * config, the user, the brute-force state, the realm's RS256 signer, the auth notes and the form. It records
 * what the step does: the flow outcome, the events, the page (template and attributes) and the auth notes.
 * Only Keycloak's session, context and providers are stand-ins; keys, JWS and HTTP are real.
 */
final class StepHarness {
    final Map<String, String> config = new HashMap<>();
    boolean noConfig;
    final Map<String, Object> user = new HashMap<>();
    boolean noUser;
    boolean bruteForceProtected;
    boolean temporarilyDisabled;
    boolean permanentlyLockedOut;
    SignatureSignerContext realmSigner;
    PublicKeyStorageProvider storage = new SidecarUnavailableTest.MemoryKeyStorage();

    final Map<String, String> form = new HashMap<>();
    final Map<String, String> authNotes = new HashMap<>();
    final Map<String, Object> pageAttributes = new HashMap<>();
    final List<String> templates = new ArrayList<>();
    final List<String> outcomes = new ArrayList<>();
    final Map<String, Long> singleUse = new ConcurrentHashMap<>();
    final SidecarUnavailableTest.RecordingEvents events;
    final RealmModel realm;
    final KeycloakSession session;
    final AuthenticationFlowContext context;

    StepHarness(URI jwksUrl) {
        config.put(OtpSidecarConfig.PUBLIC_URL, "http://localhost:18081");
        config.put(OtpSidecarConfig.JWKS_URL, jwksUrl.toString());
        config.put(OtpSidecarConfig.ISSUER, SidecarUnavailableTest.SIDECAR_ISSUER);
        user.put("getId", SidecarUnavailableTest.USER_ID);
        user.put("getEmail", "alice@example.com");
        user.put("isEmailVerified", true);
        user.put("getFirstName", " Alice ");
        user.put("getLastName", "Doe");

        KeycloakSessionFactory factory = SidecarUnavailableTest.stub(KeycloakSessionFactory.class, Map.of());
        HttpClientProvider httpProvider = SidecarUnavailableTest.stub(HttpClientProvider.class, Map.of(
                "getHttpClient", SidecarUnavailableTest.http,
                "getMaxConsumedResponseSize", 1_000_000L));
        realm = (RealmModel) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {RealmModel.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getId" -> "realm-id";
                    case "getName" -> "acme";
                    case "isBruteForceProtected" -> bruteForceProtected;
                    default -> SidecarUnavailableTest.defaultValue(method.getReturnType());
                });
        SingleUseObjectProvider singleUseObjects = (SingleUseObjectProvider) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {SingleUseObjectProvider.class},
                (proxy, method, args) -> method.getName().equals("putIfAbsent")
                        ? singleUse.putIfAbsent((String) args[0], (Long) args[1]) == null
                        : SidecarUnavailableTest.defaultValue(method.getReturnType()));
        KeycloakContext keycloakContext = (KeycloakContext) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {KeycloakContext.class}, (proxy, method, args) -> method.getName().equals("resolveLocale")
                        ? Locale.GERMAN : SidecarUnavailableTest.defaultValue(method.getReturnType()));
        session = (KeycloakSession) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {KeycloakSession.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getProvider" -> args[0] == PublicKeyStorageProvider.class ? storage
                            : args[0] == HttpClientProvider.class ? httpProvider
                            : args[0] == SignatureProvider.class && realmSigner != null
                                    ? SidecarUnavailableTest.stub(SignatureProvider.class, Map.of("signer", realmSigner))
                            : null;
                    case "getKeycloakSessionFactory" -> factory;
                    case "singleUseObjects" -> singleUseObjects;
                    case "getContext" -> keycloakContext;
                    default -> SidecarUnavailableTest.defaultValue(method.getReturnType());
                });

        UserModel userModel = (UserModel) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {UserModel.class}, (proxy, method, args) -> user.containsKey(method.getName())
                        ? user.get(method.getName()) : SidecarUnavailableTest.defaultValue(method.getReturnType()));
        BruteForceProtector protector = (BruteForceProtector) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {BruteForceProtector.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "isTemporarilyDisabled" -> temporarilyDisabled;
                    case "isPermanentlyLockedOut" -> permanentlyLockedOut;
                    default -> SidecarUnavailableTest.defaultValue(method.getReturnType());
                });
        events = new SidecarUnavailableTest.RecordingEvents(realm, session);
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
                            return SidecarUnavailableTest.defaultValue(method.getReturnType());
                        }
                    }
                    return proxy;
                });
        ClientModel client = SidecarUnavailableTest.stub(ClientModel.class, Map.of("getClientId", "portal",
                "getName", "Portal"));
        AuthenticationSessionModel authSession = (AuthenticationSessionModel) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {AuthenticationSessionModel.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getAuthNote" -> authNotes.get((String) args[0]);
                    case "setAuthNote" -> authNotes.put((String) args[0], (String) args[1]);
                    case "removeAuthNote" -> authNotes.remove((String) args[0]);
                    case "getClient" -> client;
                    default -> SidecarUnavailableTest.defaultValue(method.getReturnType());
                });
        org.keycloak.http.HttpRequest request = (org.keycloak.http.HttpRequest) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {org.keycloak.http.HttpRequest.class},
                (proxy, method, args) -> method.getName().equals("getDecodedFormParameters")
                        ? new jakarta.ws.rs.core.MultivaluedHashMap<>(form)
                        : SidecarUnavailableTest.defaultValue(method.getReturnType()));
        context = (AuthenticationFlowContext) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {AuthenticationFlowContext.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getAuthenticatorConfig" -> {
                        if (noConfig) {
                            yield null;
                        }
                        AuthenticatorConfigModel model = new AuthenticatorConfigModel();
                        model.setConfig(config);
                        yield model;
                    }
                    case "getUser" -> noUser ? null : userModel;
                    case "getRealm" -> realm;
                    case "getSession" -> session;
                    case "getEvent" -> events;
                    case "form" -> forms;
                    case "getHttpRequest" -> request;
                    case "getProtector" -> protector;
                    case "getAuthenticationSession" -> authSession;
                    case "generateAccessCode" -> "access-code";
                    case "getActionUrl" -> URI.create(
                            "http://localhost:8080/realms/acme/login-actions/authenticate?session_code=" + args[0]);
                    case "challenge", "failureChallenge", "failure", "success", "forceChallenge" -> {
                        outcomes.add(method.getName());
                        yield null;
                    }
                    default -> SidecarUnavailableTest.defaultValue(method.getReturnType());
                });
    }

    /** The one error event the step sent. */
    Event event() {
        assertEquals(1, events.errors.size(), "exactly one error event: " + events.errors);
        return events.errors.get(0);
    }

    /** The error page with this message, offering "Send a new code" or not. */
    void assertErrorPage(String message, boolean canRestart) {
        assertEquals(List.of(OtpSidecarAuthenticator.ERROR_TEMPLATE), templates);
        assertEquals(message, pageAttributes.get("otpSidecarMessage"));
        assertEquals(message, pageAttributes.get("error"));
        assertEquals(canRestart, pageAttributes.get("otpSidecarCanRestart"));
    }
}
