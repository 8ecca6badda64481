package dev.otpsidecar.keycloak;

import java.io.IOException;
import java.net.URI;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Function;
import java.util.Locale;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.ws.rs.core.Cookie;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriBuilder;

import org.jboss.logging.Logger;
import org.keycloak.authentication.AuthenticationFlowContext;
import org.keycloak.authentication.AuthenticationFlowError;
import org.keycloak.authentication.Authenticator;
import org.keycloak.authentication.authenticators.util.AuthenticatorUtils;
import org.keycloak.crypto.Algorithm;
import org.keycloak.crypto.KeyWrapper;
import org.keycloak.crypto.SignatureProvider;
import org.keycloak.crypto.SignatureSignerContext;
import org.keycloak.events.Details;
import org.keycloak.events.Errors;
import org.keycloak.forms.login.LoginFormsProvider;
import org.keycloak.keys.PublicKeyStorageProvider;
import org.keycloak.models.AuthenticatorConfigModel;
import org.keycloak.models.ClientModel;
import org.keycloak.services.util.ResolveRelative;
import org.keycloak.models.Constants;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.services.Urls;
import org.keycloak.theme.Theme;

/**
 * Hands the email one-time-code step to the otp-sidecar (docs/protocol.md sections 1 and 4):
 * authenticate() sends the browser to the sidecar with a signed request, action() checks the
 * assertion the browser brings back. Every non-success is an event and a page with "send a new code".
 */
public class OtpSidecarAuthenticator implements Authenticator {

    private static final Logger LOG = Logger.getLogger(OtpSidecarAuthenticator.class);

    /** Auth-session note holding the nonce of the pending request. */
    public static final String NONCE_NOTE = "otp-sidecar.nonce";
    /** Form field the sidecar posts back (docs/protocol.md section 4). */
    public static final String ASSERTION_PARAM = "assertion";
    /** Form field of our error page's "send a new code" button. */
    public static final String RESTART_PARAM = "restart";

    static final String REDIRECT_TEMPLATE = "otp-sidecar-redirect.ftl";
    static final String ERROR_TEMPLATE = "otp-sidecar-error.ftl";
    /** Event reason when the sidecar's keys cannot be loaded before the browser is sent there. */
    static final String SIDECAR_UNAVAILABLE = "sidecar_unavailable";
    private static final String JTI_KEY_PREFIX = "otp-sidecar.assertion.jti:";
    /**
     * Event detail carrying the request's jti, as the assertion's {@code req_jti} names it: the sidecar's
     * audit events carry the same value as {@code correlation_id} (docs/operations.md, Audit trail).
     */
    public static final String CORRELATION_DETAIL = "otp_correlation_id";
    /** Event reason when a remembered browser skipped the step. */
    static final String REMEMBERED_BROWSER = "remembered_browser";
    /** Event detail: until when the browser is remembered (set on issue and on a skip). */
    static final String REMEMBERED_UNTIL_DETAIL = "otp_sidecar_remembered_until";
    /** Event detail: why a remember-browser cookie did not count. */
    static final String REMEMBER_REFUSED_DETAIL = "otp_sidecar_remember_refused";

    private final Clock clock;
    /** The realm's issuer URL for a flow; Keycloak's own ({@link #realmIssuer}) except in tests. */
    private final Function<AuthenticationFlowContext, String> issuerOf;

    public OtpSidecarAuthenticator(Clock clock) {
        this(clock, OtpSidecarAuthenticator::realmIssuer);
    }

    OtpSidecarAuthenticator(Clock clock, Function<AuthenticationFlowContext, String> issuerOf) {
        this.clock = clock;
        this.issuerOf = issuerOf;
    }

    @Override
    public void authenticate(AuthenticationFlowContext context) {
        if (rememberedBrowserSkips(context)) {
            return;
        }
        // Re-rendering the step (refresh, back) keeps the nonce, so the sidecar can recognise the same
        // pending login; only "send a new code" starts over with a new one.
        sendRequest(context, false);
    }

    @Override
    public void action(AuthenticationFlowContext context) {
        MultivaluedMap<String, String> form = context.getHttpRequest().getDecodedFormParameters();
        if (form.containsKey(RESTART_PARAM)) {
            sendRequest(context, true);
            return;
        }
        Ready ready = readyOrRefused(context);
        if (ready == null) {
            return;
        }
        OtpSidecarConfig config = ready.config();
        UserModel user = ready.user();

        String assertion = form.getFirst(ASSERTION_PARAM);
        if (assertion == null || assertion.isBlank()) {
            countedFailure(context, user, StepFailure.INVALID_ASSERTION.eventError(), "missing_assertion",
                    "the form carried no 'assertion'", StepFailure.INVALID_ASSERTION.messageKey());
            return;
        }

        String realmIssuer = issuerOf.apply(context);
        String nonce = context.getAuthenticationSession().getAuthNote(NONCE_NOTE);
        AssertionVerifier verifier = new AssertionVerifier(clock,
                keyResolver(context.getSession(), context.getRealm(), config),
                (key, lifespan) -> context.getSession().singleUseObjects().putIfAbsent(JTI_KEY_PREFIX + key, lifespan));
        AssertionVerifier.Verified verified;
        try {
            verified = verifier.verify(assertion,
                    new AssertionVerifier.Expected(config.issuer(), realmIssuer, nonce, user.getId()));
        } catch (AssertionVerifier.Rejected rejected) {
            if (rejected.reason() == AssertionVerifier.Reason.KEYS_UNAVAILABLE) {
                // Our dependency is down: not evidence of a guess, so not counted; the user can retry.
                LOG.warnf("otp-sidecar: sidecar keys unavailable at %s: %s", config.jwksUrl(), rejected.getMessage());
                context.getEvent().user(user)
                        .detail(Details.REASON, rejected.reason().code())
                        .detail(Details.AUTHENTICATION_ERROR_DETAIL, rejected.getMessage())
                        .error(Errors.INVALID_TOKEN);
                context.challenge(errorPage(context, "otpSidecarErrorUnavailable", true));
                return;
            }
            LOG.infof("otp-sidecar: assertion refused for user %s: %s (%s)", user.getId(),
                    rejected.reason().code(), rejected.getMessage());
            countedFailure(context, user, StepFailure.INVALID_ASSERTION.eventError(), rejected.reason().code(),
                    rejected.getMessage(), StepFailure.INVALID_ASSERTION.messageKey());
            return;
        }

        // The sidecar's audit trail of this challenge carries the same id.
        context.getEvent().detail(CORRELATION_DETAIL, verified.requestJti());
        // The challenge behind this nonce is finished either way; "send a new code" makes a new one.
        context.getAuthenticationSession().removeAuthNote(NONCE_NOTE);
        StepFailure failure = StepFailure.of(verified.result());
        if (failure == null) {
            context.getEvent().user(user).detail(Details.REASON, "success");
            if (config.rememberDays() > 0) {
                rememberBrowser(context, user, config.rememberDays());
            }
            context.success();
            return;
        }
        countedFailure(context, user, failure.eventError(), failure.reason(),
                "sidecar result '" + verified.result().wire() + "'", failure.messageKey());
    }

    private void sendRequest(AuthenticationFlowContext context, boolean freshNonce) {
        Ready ready = readyOrRefused(context);
        if (ready == null) {
            return;
        }
        OtpSidecarConfig config = ready.config();
        UserModel user = ready.user();
        String email = user.getEmail();
        if (email == null || email.isBlank()) {
            refuseUser(context, user, "no_email", "otpSidecarErrorNoEmail");
            return;
        }
        if (config.requireVerifiedEmail() && !user.isEmailVerified()) {
            refuseUser(context, user, "email_not_verified", "otpSidecarErrorEmailNotVerified");
            return;
        }

        // Sending the browser to a sidecar that is down would leave the user on the browser's own
        // connection error page; stay in Keycloak with a page that can retry instead.
        String unavailable = sidecarKeysProblem(context.getSession(), context.getRealm(), config);
        if (unavailable != null) {
            // Our dependency is down: not evidence of a guess, so not counted; the user can retry.
            LOG.warnf("otp-sidecar: not sending user %s to the sidecar, its keys are unavailable: %s",
                    user.getId(), unavailable);
            context.getEvent().user(user)
                    .detail(Details.REASON, SIDECAR_UNAVAILABLE)
                    .detail(Details.AUTHENTICATION_ERROR_DETAIL, unavailable)
                    .error(Errors.GENERIC_AUTHENTICATION_ERROR);
            context.challenge(errorPage(context, "otpSidecarErrorUnavailable", true));
            return;
        }

        String nonce = context.getAuthenticationSession().getAuthNote(NONCE_NOTE);
        if (freshNonce || nonce == null) {
            nonce = RequestTokenBuilder.newNonce();
            context.getAuthenticationSession().setAuthNote(NONCE_NOTE, nonce);
        }
        KeycloakSession session = context.getSession();
        Locale locale = session.getContext().resolveLocale(user);
        Properties messages = loginMessages(session, context.getRealm(), locale);
        ClientModel client = context.getAuthenticationSession().getClient();
        RequestTokenBuilder.Request request = new RequestTokenBuilder.Request(
                issuerOf.apply(context),
                config.audience(),
                user.getId(),
                email,
                displayName(user),
                locale.toLanguageTag(),
                client.getClientId(),
                nonce,
                context.getActionUrl(context.generateAccessCode()).toString(),
                config.policy(),
                localized(context.getRealm().getDisplayName(), messages),
                localized(client.getName(), messages),
                // The client's home (base URL against its root URL), as Keycloak's own
                // "back to application" links resolve it.
                client.getBaseUrl() == null ? null
                        : ResolveRelative.resolveRelativeUri(session, client.getRootUrl(), client.getBaseUrl()));
        String requestJwt;
        try {
            SignatureProvider provider = session.getProvider(SignatureProvider.class, Algorithm.RS256);
            SignatureSignerContext signer = provider.signer();
            requestJwt = new RequestTokenBuilder(clock).sign(request, signer);
        } catch (Exception e) {
            // Typically: the realm has no active RS256 key.
            LOG.errorf("otp-sidecar: cannot sign the request with the realm's RS256 key in realm %s: %s",
                    context.getRealm().getName(), e.toString());
            context.getEvent().user(user)
                    .detail(Details.REASON, "request_signing_failed")
                    .detail(Details.AUTHENTICATION_ERROR_DETAIL, "no usable active RS256 realm key")
                    .error(Errors.INVALID_CONFIG);
            context.challenge(errorPage(context, "otpSidecarErrorMisconfigured", false));
            return;
        }
        Response page = context.form()
                .setAttribute("otpSidecarAuthorizeUrl", config.authorizeUrl().toString())
                .setAttribute("otpSidecarRequest", requestJwt)
                .createForm(REDIRECT_TEMPLATE);
        context.challenge(page);
    }

    /**
     * "Remember this browser": when the execution enables it and the browser brings a cookie that verifies
     * for this realm, this user, the user's current credentials and the revocations since, the step passes
     * without the sidecar. Never for a user brute-force detection has locked, nor one this step would refuse.
     * A cookie that does not verify is deleted and the step runs as usual.
     */
    private boolean rememberedBrowserSkips(AuthenticationFlowContext context) {
        AuthenticatorConfigModel model = context.getAuthenticatorConfig();
        OtpSidecarConfig config;
        try {
            config = OtpSidecarConfig.parse(model == null ? null : model.getConfig());
        } catch (OtpSidecarConfig.InvalidConfigException e) {
            return false; // the normal path reports it
        }
        if (config.rememberDays() == 0) {
            return false;
        }
        Cookie cookie = context.getHttpRequest().getHttpHeaders().getCookies().get(RememberedBrowser.COOKIE_NAME);
        UserModel user = context.getUser();
        if (cookie == null || user == null) {
            return false;
        }
        if (AuthenticatorUtils.getDisabledByBruteForceEventError(context, user) != null
                || user.getEmail() == null || user.getEmail().isBlank()
                || (config.requireVerifiedEmail() && !user.isEmailVerified())) {
            return false; // the normal path refuses with its page and event
        }
        KeycloakSession session = context.getSession();
        RealmModel realm = context.getRealm();
        try {
            RememberedBrowser.Remembered remembered = RememberedBrowser.check(cookie.getValue(),
                    rememberBinding(session, realm, user), clock.instant(), rememberVerifiers(session));
            context.getEvent().user(user)
                    .detail(Details.REASON, REMEMBERED_BROWSER)
                    .detail(REMEMBERED_UNTIL_DETAIL, Instant.ofEpochSecond(remembered.expiresAt()).toString());
            context.success();
            return true;
        } catch (RememberedBrowser.Refused refused) {
            LOG.infof("otp-sidecar: remember-browser cookie refused for user %s: %s (%s)", user.getId(),
                    refused.reason().code(), refused.getMessage());
            context.getEvent().detail(REMEMBER_REFUSED_DETAIL, refused.reason().code());
            session.getContext().getHttpResponse().addHeader(HttpHeaders.SET_COOKIE,
                    RememberedBrowser.expireCookie(realmCookiePath(context), isHttps(context)));
            return false;
        }
    }

    /** After a passed step: the cookie that lets this browser skip the step for `days`. Failing, the login goes on. */
    private void rememberBrowser(AuthenticationFlowContext context, UserModel user, int days) {
        KeycloakSession session = context.getSession();
        try {
            SignatureSignerContext signer = session.getProvider(SignatureProvider.class,
                    Constants.INTERNAL_SIGNATURE_ALGORITHM).signer();
            Duration lifetime = Duration.ofDays(days);
            Instant now = clock.instant();
            String value = RememberedBrowser.issue(rememberBinding(session, context.getRealm(), user), now, lifetime,
                    signer);
            session.getContext().getHttpResponse().addHeader(HttpHeaders.SET_COOKIE,
                    RememberedBrowser.setCookie(value, realmCookiePath(context), lifetime.toSeconds(), isHttps(context)));
            context.getEvent().detail(REMEMBERED_UNTIL_DETAIL, now.plus(lifetime).toString());
        } catch (Exception e) {
            LOG.warnf("otp-sidecar: cannot sign the remember-browser cookie in realm %s (no active %s key?): %s",
                    context.getRealm().getName(), Constants.INTERNAL_SIGNATURE_ALGORITHM, e.toString());
        }
    }

    private static RememberedBrowser.Binding rememberBinding(KeycloakSession session, RealmModel realm, UserModel user) {
        long revokedBefore = Math.max(realm.getNotBefore(), session.users().getNotBeforeOfUser(realm, user));
        return new RememberedBrowser.Binding(realm.getId(), user.getId(),
                RememberedBrowser.credentialStamp(user.credentialManager().getStoredCredentialsStream()), revokedBefore);
    }

    private static RememberedBrowser.Verifiers rememberVerifiers(KeycloakSession session) {
        return (kid, algorithm) -> {
            SignatureProvider provider = session.getProvider(SignatureProvider.class, algorithm);
            return provider == null ? null : provider.verifier(kid);
        };
    }

    /** The realm's path, e.g. /realms/acme/: the browser sends the cookie to this realm only. */
    private static String realmCookiePath(AuthenticationFlowContext context) {
        URI base = context.getSession().getContext().getUri().getBaseUri();
        return UriBuilder.fromUri(base).path("realms").path(context.getRealm().getName()).build().getRawPath() + "/";
    }

    private static boolean isHttps(AuthenticationFlowContext context) {
        return "https".equalsIgnoreCase(context.getSession().getContext().getUri().getRequestUri().getScheme());
    }

    /** What both the request and the assertion side need before they may go on. */
    private record Ready(OtpSidecarConfig config, UserModel user) {
    }

    /**
     * The one guard of {@link #authenticate}/{@link #action}: a usable config, a user identified by an
     * earlier step, and that user not locked out. Otherwise the page and event are done and null returned.
     */
    private Ready readyOrRefused(AuthenticationFlowContext context) {
        OtpSidecarConfig config = configOrFailSafe(context);
        if (config == null) {
            return null;
        }
        UserModel user = context.getUser();
        if (user == null) {
            misconfigured(context, "no user identified before the otp-sidecar step");
            return null;
        }
        if (refuseIfLockedOut(context, user)) {
            return null;
        }
        return new Ready(config, user);
    }

    /** Parses the config; when it is unusable shows a clear page, emits an event and returns null. */
    private OtpSidecarConfig configOrFailSafe(AuthenticationFlowContext context) {
        AuthenticatorConfigModel model = context.getAuthenticatorConfig();
        try {
            return OtpSidecarConfig.parse(model == null ? null : model.getConfig());
        } catch (OtpSidecarConfig.InvalidConfigException e) {
            misconfigured(context, e.getMessage());
            return null;
        }
    }

    private void misconfigured(AuthenticationFlowContext context, String problems) {
        LOG.errorf("otp-sidecar: execution in realm %s is misconfigured: %s", context.getRealm().getName(), problems);
        if (context.getUser() != null) {
            context.getEvent().user(context.getUser());
        }
        context.getEvent()
                .detail(Details.REASON, "misconfigured")
                .detail(Details.AUTHENTICATION_ERROR_DETAIL, problems)
                .error(Errors.INVALID_CONFIG);
        context.challenge(errorPage(context, "otpSidecarErrorMisconfigured", false));
    }

    /** A user this step cannot serve: clear page, event, nothing counted (no secret was tried). */
    private void refuseUser(AuthenticationFlowContext context, UserModel user, String reason, String message) {
        context.getEvent().user(user).detail(Details.REASON, reason).error(Errors.INVALID_EMAIL);
        context.challenge(errorPage(context, message, false));
    }

    /**
     * Failed steps only count toward a lockout if a locked-out user is also stopped here;
     * otherwise the lockout would only bite at the next password entry.
     */
    private boolean refuseIfLockedOut(AuthenticationFlowContext context, UserModel user) {
        String error = AuthenticatorUtils.getDisabledByBruteForceEventError(context, user);
        if (error == null) {
            return false;
        }
        context.getEvent().user(user).detail(Details.REASON, "user_locked_out").error(error);
        context.challenge(errorPage(context, Errors.USER_TEMPORARILY_DISABLED.equals(error)
                ? "otpSidecarErrorTemporarilyLocked" : "otpSidecarErrorAccountLocked", false));
        return true;
    }

    /**
     * A failed step: event with the reason, and failureChallenge, which Keycloak's flow turns into
     * BruteForceProtector.failedLogin when the realm has brute-force detection on.
     */
    private void countedFailure(AuthenticationFlowContext context, UserModel user, String error, String reason,
                                String detail, String message) {
        context.getEvent().user(user)
                .detail(Details.REASON, reason)
                .detail(Details.AUTHENTICATION_ERROR_DETAIL, detail)
                .error(error);
        context.failureChallenge(AuthenticationFlowError.INVALID_CREDENTIALS, errorPage(context, message, true));
    }

    private static Response errorPage(AuthenticationFlowContext context, String message, boolean canRestart) {
        LoginFormsProvider form = context.form()
                .setError(message)
                .setAttribute("otpSidecarMessage", message)
                .setAttribute("otpSidecarCanRestart", canRestart);
        return form.createForm(ERROR_TEMPLATE);
    }

    private static AssertionVerifier.KeyResolver keyResolver(KeycloakSession session, RealmModel realm,
                                                             OtpSidecarConfig config) {
        return (kid, algorithm) -> {
            PublicKeyStorageProvider storage = session.getProvider(PublicKeyStorageProvider.class);
            KeyWrapper key;
            try {
                key = storage.getPublicKey(SidecarKeyLoader.modelKey(realm.getId(), config.jwksUrl()), kid, algorithm,
                        new SidecarKeyLoader(session, config.jwksUrl()));
            } catch (RuntimeException e) {
                throw new AssertionVerifier.KeysUnavailableException(
                        "fetching " + config.jwksUrl() + " failed: " + rootMessage(e), e);
            }
            if (key == null || !(key.getPublicKey() instanceof PublicKey publicKey)) {
                return null;
            }
            return publicKey;
        };
    }

    /**
     * Whether the sidecar can be used: its signing keys load through the same storage action() uses.
     * With the keys cached this is a cache lookup; with a cold cache it fetches the JWKS (short timeouts,
     * see {@link SidecarKeyLoader}). Returns null when usable, else what went wrong.
     */
    static String sidecarKeysProblem(KeycloakSession session, RealmModel realm, OtpSidecarConfig config) {
        PublicKeyStorageProvider storage = session.getProvider(PublicKeyStorageProvider.class);
        List<KeyWrapper> keys;
        try {
            keys = storage.getKeys(SidecarKeyLoader.modelKey(realm.getId(), config.jwksUrl()),
                    new SidecarKeyLoader(session, config.jwksUrl()));
        } catch (RuntimeException e) {
            return "fetching " + config.jwksUrl() + " failed: " + rootMessage(e);
        }
        if (keys == null || keys.isEmpty()) {
            return "no signing keys from " + config.jwksUrl();
        }
        return null;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    static String realmIssuer(AuthenticationFlowContext context) {
        return Urls.realmIssuer(context.getSession().getContext().getUri().getBaseUri(), context.getRealm().getName());
    }

    private static final Pattern MESSAGE_KEY = Pattern.compile("\\$\\{([^{}]+)}");

    /** The login theme's messages in the user's locale, with the realm's own translations; null if unreadable. */
    private static Properties loginMessages(KeycloakSession session, RealmModel realm, Locale locale) {
        try {
            return session.theme().getTheme(Theme.Type.LOGIN).getEnhancedMessages(realm, locale);
        } catch (IOException | RuntimeException e) {
            LOG.debugf("otp-sidecar: login theme messages unavailable for %s: %s", locale, e.toString());
            return null;
        }
    }

    /**
     * A realm or client name as the user reads it: a name that is a message key ({@code ${key}}, as Keycloak
     * allows for both) is looked up in the login theme's messages; an unknown key stays as written.
     */
    static String localized(String raw, Properties messages) {
        if (raw == null) {
            return null;
        }
        Matcher key = MESSAGE_KEY.matcher(raw.strip());
        if (key.matches() && messages != null) {
            String text = messages.getProperty(key.group(1));
            if (text != null && !text.isBlank()) {
                return text;
            }
        }
        return raw;
    }

    private static String displayName(UserModel user) {
        String first = user.getFirstName() == null ? "" : user.getFirstName().trim();
        String last = user.getLastName() == null ? "" : user.getLastName().trim();
        String name = (first + " " + last).trim();
        return name.isEmpty() ? null : name;
    }

    @Override
    public boolean requiresUser() {
        return true;
    }

    @Override
    public boolean configuredFor(KeycloakSession session, RealmModel realm, UserModel user) {
        return user.getEmail() != null && !user.getEmail().isBlank();
    }

    @Override
    public void setRequiredActions(KeycloakSession session, RealmModel realm, UserModel user) {
        // Nothing to set up: the user's email address is the only "credential".
    }

    @Override
    public void close() {
    }
}
