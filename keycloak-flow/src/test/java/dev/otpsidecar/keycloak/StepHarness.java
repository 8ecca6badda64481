package dev.otpsidecar.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Proxy;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.ws.rs.core.Cookie;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;

import org.keycloak.authentication.AuthenticationFlowContext;
import org.keycloak.connections.httpclient.HttpClientProvider;
import org.keycloak.crypto.KeyWrapper;
import org.keycloak.crypto.MacSignatureSignerContext;
import org.keycloak.crypto.MacSignatureVerifierContext;
import org.keycloak.crypto.SignatureProvider;
import org.keycloak.crypto.SignatureSignerContext;
import org.keycloak.events.Event;
import org.keycloak.forms.login.LoginFormsProvider;
import org.keycloak.http.HttpResponse;
import org.keycloak.keys.PublicKeyStorageProvider;
import org.keycloak.models.AuthenticatorConfigModel;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakContext;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.KeycloakUriInfo;
import org.keycloak.models.RealmModel;
import org.keycloak.models.SingleUseObjectProvider;
import org.keycloak.models.SubjectCredentialManager;
import org.keycloak.models.ThemeManager;
import org.keycloak.models.UserModel;
import org.keycloak.models.UserProvider;
import org.keycloak.services.managers.BruteForceProtector;
import org.keycloak.sessions.AuthenticationSessionModel;
import org.keycloak.theme.Theme;

import org.keycloak.urls.HostnameProvider;
import org.keycloak.urls.UrlType;

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
    /** The realm's HMAC key for remember-browser cookies (HS512), or none. */
    KeyWrapper rememberKey;
    /** The browser's cookies. */
    final Map<String, String> cookies = new HashMap<>();
    /** The scheme of the request's URL. */
    String scheme = "http";
    /** Headers the step added to the response, as "Name: value". */
    final List<String> responseHeaders = new ArrayList<>();
    PublicKeyStorageProvider storage = new SidecarUnavailableTest.MemoryKeyStorage();

    final Map<String, String> form = new HashMap<>();
    final Map<String, String> authNotes = new HashMap<>();
    final Map<String, Object> pageAttributes = new HashMap<>();
    final List<String> templates = new ArrayList<>();
    final List<String> outcomes = new ArrayList<>();
    /** The pages the step made (createForm) and the ones it handed to the flow (challenge and the like). */
    final List<Response> pagesMade = new ArrayList<>();
    final List<Response> pagesShown = new ArrayList<>();
    /** The login theme's messages, in the user's locale. */
    final Properties messages = new Properties();
    String realmDisplayName;
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
                    case "getDisplayName" -> realmDisplayName;
                    default -> SidecarUnavailableTest.defaultValue(method.getReturnType());
                });
        SingleUseObjectProvider singleUseObjects = (SingleUseObjectProvider) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {SingleUseObjectProvider.class},
                (proxy, method, args) -> method.getName().equals("putIfAbsent")
                        ? singleUse.putIfAbsent((String) args[0], (Long) args[1]) == null
                        : SidecarUnavailableTest.defaultValue(method.getReturnType()));
        Theme login = (Theme) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Theme.class},
                (proxy, method, args) -> method.getName().equals("getEnhancedMessages") ? messages
                        : SidecarUnavailableTest.defaultValue(method.getReturnType()));
        ThemeManager themes = (ThemeManager) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ThemeManager.class}, (proxy, method, args) -> method.getName().equals("getTheme")
                        && args.length == 1 && args[0] == Theme.Type.LOGIN ? login
                        : SidecarUnavailableTest.defaultValue(method.getReturnType()));
        // No revocation (notBefore 0) and no stored credentials: what a cookie is bound to.
        UserProvider users = SidecarUnavailableTest.stub(UserProvider.class, Map.of());
        user.put("credentialManager", SidecarUnavailableTest.stub(SubjectCredentialManager.class, Map.of()));
        HttpResponse response = (HttpResponse) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {HttpResponse.class}, (proxy, method, args) -> {
                    if (method.getName().equals("addHeader")) {
                        responseHeaders.add(args[0] + ": " + args[1]);
                    }
                    return SidecarUnavailableTest.defaultValue(method.getReturnType());
                });
        HostnameProvider hostname = (HostnameProvider) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {HostnameProvider.class}, (proxy, method, args) -> method.getName().equals("getBaseUri")
                        ? URI.create(scheme + "://localhost:8080/") : SidecarUnavailableTest.defaultValue(method.getReturnType()));
        UriInfo requestUri = (UriInfo) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {UriInfo.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getRequestUri" -> URI.create(scheme + "://localhost:8080/realms/acme/login-actions/authenticate");
                    case "getBaseUri" -> URI.create(scheme + "://localhost:8080/");
                    default -> SidecarUnavailableTest.defaultValue(method.getReturnType());
                });
        KeycloakContext keycloakContext = (KeycloakContext) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {KeycloakContext.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "resolveLocale" -> Locale.GERMAN;
                    case "getHttpResponse" -> response;
                    case "getUri" -> new KeycloakUriInfo(session(), UrlType.FRONTEND, requestUri);
                    default -> SidecarUnavailableTest.defaultValue(method.getReturnType());
                });
        session = (KeycloakSession) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {KeycloakSession.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getProvider" -> args[0] == PublicKeyStorageProvider.class ? storage
                            : args[0] == HttpClientProvider.class ? httpProvider
                            : args[0] == HostnameProvider.class ? hostname
                            : args[0] == SignatureProvider.class ? signatures((String) args[1])
                            : null;
                    case "getKeycloakSessionFactory" -> factory;
                    case "singleUseObjects" -> singleUseObjects;
                    case "getContext" -> keycloakContext;
                    case "users" -> users;
                    case "theme" -> themes;
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
                            Response page = Response.ok(args[0]).build();
                            pagesMade.add(page);
                            return page;
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
                (proxy, method, args) -> switch (method.getName()) {
                    case "getDecodedFormParameters" -> new jakarta.ws.rs.core.MultivaluedHashMap<>(form);
                    case "getHttpHeaders" -> headers();
                    default -> SidecarUnavailableTest.defaultValue(method.getReturnType());
                });
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
                        for (Object arg : args == null ? new Object[0] : args) {
                            if (arg instanceof Response page) {
                                pagesShown.add(page);
                            }
                        }
                        yield null;
                    }
                    default -> SidecarUnavailableTest.defaultValue(method.getReturnType());
                });
    }

    /** The request's headers: only the cookies are read. Made when asked for (Cookie needs a JAX-RS runtime). */
    private HttpHeaders headers() {
        return (HttpHeaders) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {HttpHeaders.class}, (proxy, method, args) -> {
                    if (method.getName().equals("getCookies")) {
                        Map<String, Cookie> jar = new HashMap<>();
                        cookies.forEach((name, value) -> jar.put(name, new Cookie.Builder(name).value(value).build()));
                        return jar;
                    }
                    return SidecarUnavailableTest.defaultValue(method.getReturnType());
                });
    }

    private KeycloakSession session() {
        return session;
    }

    /** The realm's signature provider for `algorithm`: RS256 signs requests, HS512 remember cookies. */
    private SignatureProvider signatures(String algorithm) {
        if ("RS256".equals(algorithm) && realmSigner != null) {
            return SidecarUnavailableTest.stub(SignatureProvider.class, Map.of("signer", realmSigner));
        }
        if ("HS512".equals(algorithm) && rememberKey != null) {
            return (SignatureProvider) Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {SignatureProvider.class}, (proxy, method, args) -> switch (method.getName()) {
                        case "signer" -> new MacSignatureSignerContext(rememberKey);
                        case "verifier" -> rememberKey.getKid().equals(args[0])
                                ? new MacSignatureVerifierContext(rememberKey) : null;
                        default -> SidecarUnavailableTest.defaultValue(method.getReturnType());
                    });
        }
        return null;
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
        assertEquals(pagesMade, pagesShown, "the page made is the page shown");
    }
}
