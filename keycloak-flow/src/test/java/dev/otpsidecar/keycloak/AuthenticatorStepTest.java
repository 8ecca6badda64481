package dev.otpsidecar.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.keycloak.crypto.KeyWrapper;
import org.keycloak.events.Details;
import org.keycloak.events.Errors;
import org.keycloak.events.Event;
import org.keycloak.keys.PublicKeyLoader;
import org.keycloak.keys.PublicKeyStorageProvider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The step's own decisions, path by path, as the user and the realm's events see them: which page, which
 * event (error, reason, detail), and whether the flow counts a failure (failureChallenge) or not
 * (challenge). The sidecar's keys are served by a real HTTP server on loopback; assertions and requests
 * are real JWS.
 */
class AuthenticatorStepTest extends SidecarKeysServed {

    @BeforeAll
    static void realmKey() throws Exception {
        RequestTokenBuilderTest.key();
    }

    @AfterAll
    static void closeClient() throws IOException {
        SidecarUnavailableTest.closeClient();
    }

    static OtpSidecarAuthenticator step() {
        return CorrelationDetailTest.authenticator();
    }

    /** A harness whose login has a pending request (nonce noted) and the sidecar's keys served. */
    StepHarness pending() throws IOException {
        StepHarness h = new StepHarness(serveJwks());
        h.authNotes.put(OtpSidecarAuthenticator.NONCE_NOTE, SidecarUnavailableTest.NONCE);
        return h;
    }

    static JsonNode payload(String jws) throws IOException {
        return new ObjectMapper().readTree(TestJws.unb64(jws.split("\\.")[1]));
    }

    // --- action(): the assertion comes back

    @Test
    void aFormWithoutAnAssertionIsACountedFailure() throws Exception {
        for (String missing : new String[] {null, "  "}) {
            StepHarness h = pending();
            if (missing != null) {
                h.form.put(OtpSidecarAuthenticator.ASSERTION_PARAM, missing);
            }
            step().action(h.context);
            assertEquals(List.of("failureChallenge"), h.outcomes);
            Event e = h.event();
            assertEquals(Errors.INVALID_TOKEN, e.getError());
            assertEquals("missing_assertion", e.getDetails().get(Details.REASON));
            assertEquals("the form carried no 'assertion'", e.getDetails().get(Details.AUTHENTICATION_ERROR_DETAIL));
            h.assertErrorPage("otpSidecarErrorInvalid", true);
            assertEquals(SidecarUnavailableTest.NONCE, h.authNotes.get(OtpSidecarAuthenticator.NONCE_NOTE));
        }
    }

    @Test
    void keysThatCannotBeFetchedAtTheAssertionAreNotCounted() throws Exception {
        StepHarness h = new StepHarness(SidecarUnavailableTest.closedPort());
        h.authNotes.put(OtpSidecarAuthenticator.NONCE_NOTE, SidecarUnavailableTest.NONCE);
        h.form.put(OtpSidecarAuthenticator.ASSERTION_PARAM, CorrelationDetailTest.assertion("success", "req-1"));
        step().action(h.context);
        assertEquals(List.of("challenge"), h.outcomes);
        Event e = h.event();
        assertEquals(Errors.INVALID_TOKEN, e.getError());
        assertEquals("sidecar_keys_unavailable", e.getDetails().get(Details.REASON));
        assertTrue(e.getDetails().get(Details.AUTHENTICATION_ERROR_DETAIL).contains("ConnectException"),
                e.getDetails().toString());
        h.assertErrorPage("otpSidecarErrorUnavailable", true);
    }

    @Test
    void aVerifiedSuccessPassesTheStepAndEndsThePendingRequest() throws Exception {
        StepHarness h = pending();
        h.form.put(OtpSidecarAuthenticator.ASSERTION_PARAM, CorrelationDetailTest.assertion("success", "req-2"));
        step().action(h.context);
        assertEquals(List.of("success"), h.outcomes);
        assertTrue(h.events.errors.isEmpty());
        assertNull(h.authNotes.get(OtpSidecarAuthenticator.NONCE_NOTE), "the nonce is spent");
        // Remember-browser is off by default: nothing is remembered.
        assertNull(h.events.getEvent().getDetails().get(OtpSidecarAuthenticator.REMEMBERED_UNTIL_DETAIL));
    }

    @Test
    void theSameAssertionTwiceIsAReplay() throws Exception {
        String assertion = CorrelationDetailTest.assertion("success", "req-3");
        StepHarness h = pending();
        h.form.put(OtpSidecarAuthenticator.ASSERTION_PARAM, assertion);
        step().action(h.context);
        assertEquals(List.of("success"), h.outcomes);
        h.outcomes.clear();
        h.authNotes.put(OtpSidecarAuthenticator.NONCE_NOTE, SidecarUnavailableTest.NONCE);
        step().action(h.context);
        assertEquals(List.of("failureChallenge"), h.outcomes);
        assertEquals("replayed_assertion", h.event().getDetails().get(Details.REASON));
    }

    @Test
    void aLockedResultIsACountedFailureWithItsOwnPage() throws Exception {
        StepHarness h = pending();
        h.form.put(OtpSidecarAuthenticator.ASSERTION_PARAM, CorrelationDetailTest.assertion("locked", "req-4"));
        step().action(h.context);
        assertEquals(List.of("failureChallenge"), h.outcomes);
        Event e = h.event();
        assertEquals(Errors.INVALID_USER_CREDENTIALS, e.getError());
        assertEquals("locked", e.getDetails().get(Details.REASON));
        assertEquals("sidecar result 'locked'", e.getDetails().get(Details.AUTHENTICATION_ERROR_DETAIL));
        h.assertErrorPage("otpSidecarErrorLocked", true);
        assertNull(h.authNotes.get(OtpSidecarAuthenticator.NONCE_NOTE), "the challenge behind it is finished");
    }

    // --- the guard both sides share

    @Test
    void anUnusableConfigShowsTheMisconfiguredPage() throws Exception {
        StepHarness h = pending();
        h.config.remove(OtpSidecarConfig.ISSUER);
        step().authenticate(h.context);
        assertEquals(List.of("challenge"), h.outcomes);
        Event e = h.event();
        assertEquals(Errors.INVALID_CONFIG, e.getError());
        assertEquals("misconfigured", e.getDetails().get(Details.REASON));
        assertTrue(e.getDetails().get(Details.AUTHENTICATION_ERROR_DETAIL).startsWith(OtpSidecarConfig.ISSUER + ": missing"),
                e.getDetails().toString());
        assertEquals(SidecarUnavailableTest.USER_ID, e.getUserId());
        h.assertErrorPage("otpSidecarErrorMisconfigured", false);
    }

    @Test
    void anExecutionWithoutConfigIsMisconfigured() throws Exception {
        StepHarness h = pending();
        h.noConfig = true;
        h.form.put(OtpSidecarAuthenticator.ASSERTION_PARAM, CorrelationDetailTest.assertion("success", "req-5"));
        step().action(h.context);
        assertEquals(List.of("challenge"), h.outcomes);
        assertEquals("misconfigured", h.event().getDetails().get(Details.REASON));
        h.assertErrorPage("otpSidecarErrorMisconfigured", false);
    }

    @Test
    void anExecutionWithoutConfigIsMisconfiguredAtTheRequestToo() throws Exception {
        StepHarness h = pending();
        h.noConfig = true;
        step().authenticate(h.context);
        assertEquals(List.of("challenge"), h.outcomes);
        assertEquals("misconfigured", h.event().getDetails().get(Details.REASON));
        h.assertErrorPage("otpSidecarErrorMisconfigured", false);
    }

    @Test
    void theRealmIssuerIsTheRealmsUrl() throws Exception {
        assertEquals("http://localhost:8080/realms/acme", OtpSidecarAuthenticator.realmIssuer(pending().context));
    }

    @Test
    void aRealmNameThatIsAMessageKeyIsSentInTheUsersLanguage() throws Exception {
        StepHarness h = pending();
        h.realmSigner = RequestTokenBuilderTest.signer();
        h.realmDisplayName = "${acmeRealm}";
        h.messages.setProperty("acmeRealm", "Acme AG");
        step().authenticate(h.context);
        assertEquals("Acme AG",
                payload((String) h.pageAttributes.get("otpSidecarRequest")).get("realm_display_name").asText());
    }

    @Test
    void noUserBeforeTheStepIsAMisconfiguredFlow() throws Exception {
        StepHarness h = pending();
        h.noUser = true;
        step().authenticate(h.context);
        assertEquals(List.of("challenge"), h.outcomes);
        Event e = h.event();
        assertEquals(Errors.INVALID_CONFIG, e.getError());
        assertEquals("no user identified before the otp-sidecar step",
                e.getDetails().get(Details.AUTHENTICATION_ERROR_DETAIL));
        assertNull(e.getUserId());
        h.assertErrorPage("otpSidecarErrorMisconfigured", false);
    }

    @Test
    void aTemporarilyLockedUserIsStoppedHereWithoutACount() throws Exception {
        StepHarness h = pending();
        h.bruteForceProtected = true;
        h.temporarilyDisabled = true;
        h.form.put(OtpSidecarAuthenticator.ASSERTION_PARAM, CorrelationDetailTest.assertion("success", "req-6"));
        step().action(h.context);
        assertEquals(List.of("challenge"), h.outcomes);
        Event e = h.event();
        assertEquals(Errors.USER_TEMPORARILY_DISABLED, e.getError());
        assertEquals("user_locked_out", e.getDetails().get(Details.REASON));
        h.assertErrorPage("otpSidecarErrorTemporarilyLocked", false);
        assertTrue(h.singleUse.isEmpty(), "the assertion was not even looked at");
    }

    @Test
    void aPermanentlyLockedUserGetsTheAccountLockedPage() throws Exception {
        StepHarness h = pending();
        h.bruteForceProtected = true;
        h.permanentlyLockedOut = true;
        step().authenticate(h.context);
        assertEquals(List.of("challenge"), h.outcomes);
        assertEquals(Errors.USER_DISABLED, h.event().getError());
        h.assertErrorPage("otpSidecarErrorAccountLocked", false);
    }

    @Test
    void withoutBruteForceDetectionNobodyIsLockedOut() throws Exception {
        StepHarness h = pending();
        h.temporarilyDisabled = true; // what the protector would say, were the realm protected
        h.form.put(OtpSidecarAuthenticator.ASSERTION_PARAM, CorrelationDetailTest.assertion("success", "req-7"));
        step().action(h.context);
        assertEquals(List.of("success"), h.outcomes);
    }

    // --- authenticate(): the request to the sidecar

    @Test
    void aUserWithoutAnEmailAddressIsRefusedUncounted() throws Exception {
        for (String email : new String[] {null, " "}) {
            StepHarness h = pending();
            h.user.put("getEmail", email);
            step().authenticate(h.context);
            assertEquals(List.of("challenge"), h.outcomes);
            Event e = h.event();
            assertEquals(Errors.INVALID_EMAIL, e.getError());
            assertEquals("no_email", e.getDetails().get(Details.REASON));
            h.assertErrorPage("otpSidecarErrorNoEmail", false);
        }
    }

    @Test
    void anUnverifiedAddressIsRefusedOnlyWhenVerificationIsRequired() throws Exception {
        StepHarness h = pending();
        h.user.put("isEmailVerified", false);
        step().authenticate(h.context);
        assertEquals(List.of("challenge"), h.outcomes);
        assertEquals("email_not_verified", h.event().getDetails().get(Details.REASON));
        h.assertErrorPage("otpSidecarErrorEmailNotVerified", false);

        StepHarness relaxed = pending();
        relaxed.user.put("isEmailVerified", false);
        relaxed.config.put(OtpSidecarConfig.REQUIRE_VERIFIED_EMAIL, "false");
        relaxed.realmSigner = RequestTokenBuilderTest.signer();
        step().authenticate(relaxed.context);
        assertEquals(List.of(OtpSidecarAuthenticator.REDIRECT_TEMPLATE), relaxed.templates);
    }

    @Test
    void theRequestPageSendsASignedRequestForThePendingLogin() throws Exception {
        StepHarness h = pending();
        h.realmSigner = RequestTokenBuilderTest.signer();
        step().authenticate(h.context);
        assertEquals(List.of("challenge"), h.outcomes);
        assertTrue(h.events.errors.isEmpty());
        assertEquals(List.of(OtpSidecarAuthenticator.REDIRECT_TEMPLATE), h.templates);
        assertEquals("http://localhost:18081/authorize", h.pageAttributes.get("otpSidecarAuthorizeUrl"));
        JsonNode request = payload((String) h.pageAttributes.get("otpSidecarRequest"));
        // A re-rendered step keeps its nonce, so the sidecar recognises the same login.
        assertEquals(SidecarUnavailableTest.NONCE, request.get("nonce").asText());
        assertEquals("alice@example.com", request.get("email").asText());
        assertEquals("Alice Doe", request.get("name").asText());
        assertEquals("de", request.get("locale").asText());
        assertEquals("portal", request.get("azp").asText());
        assertEquals("http://localhost:8080/realms/acme/login-actions/authenticate?session_code=access-code",
                request.get("return_uri").asText());
        assertFalse(request.has("client_url"), "the client has no base URL");
    }

    @Test
    void aUserWithoutANameIsSentWithout() throws Exception {
        StepHarness h = pending();
        h.realmSigner = RequestTokenBuilderTest.signer();
        h.user.put("getFirstName", null);
        h.user.put("getLastName", "  ");
        step().authenticate(h.context);
        assertFalse(payload((String) h.pageAttributes.get("otpSidecarRequest")).has("name"));
    }

    @Test
    void aUserWithOnlyAFirstNameIsSentByIt() throws Exception {
        StepHarness h = pending();
        h.realmSigner = RequestTokenBuilderTest.signer();
        h.user.put("getLastName", null);
        step().authenticate(h.context);
        assertEquals("Alice", payload((String) h.pageAttributes.get("otpSidecarRequest")).get("name").asText());
    }

    @Test
    void aJwksWithoutASigningKeyIsRefused() throws Exception {
        String encryptionOnly = SidecarUnavailableTest.rsaJwks(KID).replace("\"use\":\"sig\"", "\"use\":\"enc\"");
        jwks = JwksEndpoint.serving(encryptionOnly);
        URI url = jwks.uri;
        StepHarness h = new StepHarness(url);
        IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                () -> new SidecarKeyLoader(h.session, url).loadKeys());
        assertEquals("the JWKS at " + url + " holds no usable signing key", e.getMessage());
    }

    @Test
    void theFirstRequestOfALoginMakesItsNonceAndSendANewCodeMakesAnother() throws Exception {
        StepHarness h = new StepHarness(serveJwks());
        h.realmSigner = RequestTokenBuilderTest.signer();
        step().authenticate(h.context);
        String first = h.authNotes.get(OtpSidecarAuthenticator.NONCE_NOTE);
        assertNotNull(first, "a nonce is noted for the assertion to match");
        assertEquals(first, payload((String) h.pageAttributes.get("otpSidecarRequest")).get("nonce").asText());

        h.form.put(OtpSidecarAuthenticator.RESTART_PARAM, "1");
        step().action(h.context);
        String second = h.authNotes.get(OtpSidecarAuthenticator.NONCE_NOTE);
        assertNotEquals(first, second);
        assertEquals(second, payload((String) h.pageAttributes.get("otpSidecarRequest")).get("nonce").asText());
    }

    @Test
    void aRealmWithoutAnRs256KeyShowsTheMisconfiguredPage() throws Exception {
        StepHarness h = pending();
        step().authenticate(h.context);
        assertEquals(List.of("challenge"), h.outcomes);
        Event e = h.event();
        assertEquals(Errors.INVALID_CONFIG, e.getError());
        assertEquals("request_signing_failed", e.getDetails().get(Details.REASON));
        assertEquals("no usable active RS256 realm key", e.getDetails().get(Details.AUTHENTICATION_ERROR_DETAIL));
        h.assertErrorPage("otpSidecarErrorMisconfigured", false);
    }

    // --- the sidecar's keys

    /** A key cache whose every lookup fails with `failure`, or answers with no keys. */
    static PublicKeyStorageProvider failingStorage(RuntimeException failure) {
        return new PublicKeyStorageProvider() {
            @Override
            public List<KeyWrapper> getKeys(String modelKey, PublicKeyLoader loader) {
                if (failure != null) {
                    throw failure;
                }
                return List.of();
            }

            @Override
            public KeyWrapper getPublicKey(String modelKey, String kid, String algorithm, PublicKeyLoader loader) {
                throw new UnsupportedOperationException();
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
        };
    }

    @Test
    void anEmptyKeySetIsAProblem() throws Exception {
        StepHarness h = pending();
        h.storage = failingStorage(null);
        String url = h.config.get(OtpSidecarConfig.JWKS_URL);
        assertEquals("no signing keys from " + url,
                OtpSidecarAuthenticator.sidecarKeysProblem(h.session, h.realm, OtpSidecarConfig.parse(h.config)));
    }

    @Test
    void aFetchProblemIsNamedByItsRootCause() throws Exception {
        StepHarness h = pending();
        String url = h.config.get(OtpSidecarConfig.JWKS_URL);
        OtpSidecarConfig config = OtpSidecarConfig.parse(h.config);
        h.storage = failingStorage(new RuntimeException("outer", new IllegalStateException("inner")));
        assertEquals("fetching " + url + " failed: IllegalStateException: inner",
                OtpSidecarAuthenticator.sidecarKeysProblem(h.session, h.realm, config));
        h.storage = failingStorage(new RuntimeException("outer", new IllegalStateException()));
        assertEquals("fetching " + url + " failed: IllegalStateException",
                OtpSidecarAuthenticator.sidecarKeysProblem(h.session, h.realm, config));
        h.storage = failingStorage(new RuntimeException("alone"));
        assertEquals("fetching " + url + " failed: RuntimeException: alone",
                OtpSidecarAuthenticator.sidecarKeysProblem(h.session, h.realm, config));
    }

    @Test
    void theStepIsConfiguredForUsersWithAnAddress() {
        OtpSidecarAuthenticator step = step();
        assertTrue(step.configuredFor(null, null,
                SidecarUnavailableTest.stub(org.keycloak.models.UserModel.class, Map.of("getEmail", "a@example.com"))));
        assertFalse(step.configuredFor(null, null,
                SidecarUnavailableTest.stub(org.keycloak.models.UserModel.class, Map.of("getEmail", " "))));
        assertFalse(step.configuredFor(null, null,
                SidecarUnavailableTest.stub(org.keycloak.models.UserModel.class, Map.of())));
        assertTrue(step.requiresUser());
    }
}
