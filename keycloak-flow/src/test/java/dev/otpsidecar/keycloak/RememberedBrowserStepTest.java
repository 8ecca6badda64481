package dev.otpsidecar.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.keycloak.crypto.KeyWrapper;
import org.keycloak.crypto.MacSignatureSignerContext;
import org.keycloak.events.Details;
import org.keycloak.events.Errors;
import org.keycloak.events.Event;

/**
 * "Remember this browser" inside the step: a cookie that verifies skips the sidecar, one that does not is
 * deleted and the step runs, a user the step would refuse is never waved through, and a passed step sets
 * the cookie only when the execution enables it. Real HMAC keys and JWS; Keycloak's parts are stand-ins.
 */
class RememberedBrowserStepTest {

    static KeyWrapper realmHmac;
    final AuthenticatorStepTest sidecar = new AuthenticatorStepTest();

    @BeforeAll
    static void keys() throws Exception {
        SidecarKeysServed.sidecarKeys();
        AuthenticatorStepTest.realmKey();
        realmHmac = RememberedBrowserTest.hmacKey("realm-hs512");
    }

    @AfterAll
    static void closeClient() throws IOException {
        AuthenticatorStepTest.closeClient();
    }

    @AfterEach
    void stop() {
        sidecar.stopJwks();
    }

    /** A pending login whose execution remembers browsers for 30 days. */
    StepHarness remembering() throws IOException {
        StepHarness h = sidecar.pending();
        h.config.put(OtpSidecarConfig.REMEMBER_DAYS, "30");
        h.rememberKey = realmHmac;
        h.realmSigner = RequestTokenBuilderTest.signer();
        return h;
    }

    /** A cookie the realm issued to `userId` just now, bound to no credentials (the stand-in user has none). */
    static String cookieFor(String userId) throws Exception {
        RememberedBrowser.Binding binding = new RememberedBrowser.Binding("realm-id", userId,
                RememberedBrowser.credentialStamp(Stream.empty()), 0);
        return RememberedBrowser.issue(binding, Instant.now().minusSeconds(5), Duration.ofDays(30),
                new MacSignatureSignerContext(realmHmac));
    }

    @Test
    void aCookieThatVerifiesSkipsTheSidecar() throws Exception {
        StepHarness h = remembering();
        h.cookies.put(RememberedBrowser.COOKIE_NAME, cookieFor(SidecarUnavailableTest.USER_ID));
        AuthenticatorStepTest.step().authenticate(h.context);
        assertEquals(List.of("success"), h.outcomes);
        assertTrue(h.templates.isEmpty(), "no page, no request to the sidecar");
        Event e = h.events.getEvent();
        assertEquals(OtpSidecarAuthenticator.REMEMBERED_BROWSER, e.getDetails().get(Details.REASON));
        assertTrue(e.getDetails().containsKey(OtpSidecarAuthenticator.REMEMBERED_UNTIL_DETAIL));
        assertEquals(SidecarUnavailableTest.USER_ID, e.getUserId());
    }

    @Test
    void aCookieForSomeoneElseIsDeletedAndTheStepRuns() throws Exception {
        StepHarness h = remembering();
        h.cookies.put(RememberedBrowser.COOKIE_NAME, cookieFor(RememberedBrowserTest.BOB));
        AuthenticatorStepTest.step().authenticate(h.context);
        assertEquals(List.of(OtpSidecarAuthenticator.REDIRECT_TEMPLATE), h.templates);
        assertEquals("other_user",
                h.events.getEvent().getDetails().get(OtpSidecarAuthenticator.REMEMBER_REFUSED_DETAIL));
        assertEquals(1, h.responseHeaders.size(), h.responseHeaders.toString());
        String deleted = h.responseHeaders.get(0);
        assertTrue(deleted.startsWith("Set-Cookie: " + RememberedBrowser.COOKIE_NAME + "=;"), deleted);
        assertTrue(deleted.contains("Max-Age=0"), deleted);
        assertTrue(deleted.contains("Path=/realms/acme/"), deleted);
        assertTrue(!deleted.contains("Secure"), "plain http: " + deleted);
    }

    @Test
    void overHttpsTheDeletionIsSecureToo() throws Exception {
        StepHarness h = remembering();
        h.scheme = "https";
        h.cookies.put(RememberedBrowser.COOKIE_NAME, "not-a-jws");
        AuthenticatorStepTest.step().authenticate(h.context);
        assertEquals("malformed", h.events.getEvent().getDetails().get(OtpSidecarAuthenticator.REMEMBER_REFUSED_DETAIL));
        assertTrue(h.responseHeaders.get(0).contains("Secure"), h.responseHeaders.toString());
    }

    @Test
    void withoutACookieTheStepRuns() throws Exception {
        StepHarness h = remembering();
        AuthenticatorStepTest.step().authenticate(h.context);
        assertEquals(List.of(OtpSidecarAuthenticator.REDIRECT_TEMPLATE), h.templates);
        assertTrue(h.responseHeaders.isEmpty());
    }

    @Test
    void whenTheExecutionDoesNotRememberACookieIsIgnored() throws Exception {
        StepHarness h = remembering();
        h.config.remove(OtpSidecarConfig.REMEMBER_DAYS);
        h.cookies.put(RememberedBrowser.COOKIE_NAME, cookieFor(SidecarUnavailableTest.USER_ID));
        AuthenticatorStepTest.step().authenticate(h.context);
        assertEquals(List.of(OtpSidecarAuthenticator.REDIRECT_TEMPLATE), h.templates);
    }

    @Test
    void aCookieWithoutAUserIsNoReasonToSkip() throws Exception {
        StepHarness h = remembering();
        h.cookies.put(RememberedBrowser.COOKIE_NAME, cookieFor(SidecarUnavailableTest.USER_ID));
        h.noUser = true;
        AuthenticatorStepTest.step().authenticate(h.context);
        assertEquals(List.of("challenge"), h.outcomes);
        assertEquals("no user identified before the otp-sidecar step",
                h.event().getDetails().get(Details.AUTHENTICATION_ERROR_DETAIL));
    }

    @Test
    void aUserTheStepWouldRefuseIsNeverWavedThrough() throws Exception {
        StepHarness locked = remembering();
        locked.cookies.put(RememberedBrowser.COOKIE_NAME, cookieFor(SidecarUnavailableTest.USER_ID));
        locked.bruteForceProtected = true;
        locked.temporarilyDisabled = true;
        AuthenticatorStepTest.step().authenticate(locked.context);
        assertEquals(Errors.USER_TEMPORARILY_DISABLED, locked.event().getError());

        for (String email : new String[] {null, " "}) {
            StepHarness noEmail = remembering();
            noEmail.cookies.put(RememberedBrowser.COOKIE_NAME, cookieFor(SidecarUnavailableTest.USER_ID));
            noEmail.user.put("getEmail", email);
            AuthenticatorStepTest.step().authenticate(noEmail.context);
            assertEquals("no_email", noEmail.event().getDetails().get(Details.REASON));
        }

        StepHarness unverified = remembering();
        unverified.cookies.put(RememberedBrowser.COOKIE_NAME, cookieFor(SidecarUnavailableTest.USER_ID));
        unverified.user.put("isEmailVerified", false);
        AuthenticatorStepTest.step().authenticate(unverified.context);
        assertEquals("email_not_verified", unverified.event().getDetails().get(Details.REASON));

        // Verification not required: the unverified user's cookie counts.
        StepHarness relaxed = remembering();
        relaxed.config.put(OtpSidecarConfig.REQUIRE_VERIFIED_EMAIL, "false");
        relaxed.cookies.put(RememberedBrowser.COOKIE_NAME, cookieFor(SidecarUnavailableTest.USER_ID));
        relaxed.user.put("isEmailVerified", false);
        AuthenticatorStepTest.step().authenticate(relaxed.context);
        assertEquals(List.of("success"), relaxed.outcomes);
    }

    @Test
    void aPassedStepSetsTheCookieForTheConfiguredDays() throws Exception {
        StepHarness h = remembering();
        h.form.put(OtpSidecarAuthenticator.ASSERTION_PARAM, CorrelationDetailTest.assertion("success", "req-r1"));
        AuthenticatorStepTest.step().action(h.context);
        assertEquals(List.of("success"), h.outcomes);
        assertEquals(1, h.responseHeaders.size(), h.responseHeaders.toString());
        String set = h.responseHeaders.get(0);
        assertTrue(set.startsWith("Set-Cookie: " + RememberedBrowser.COOKIE_NAME + "="), set);
        assertTrue(set.contains("Max-Age=" + Duration.ofDays(30).toSeconds()), set);
        assertTrue(set.contains("Path=/realms/acme/"), set);
        assertTrue(h.events.getEvent().getDetails().containsKey(OtpSidecarAuthenticator.REMEMBERED_UNTIL_DETAIL));
        // The cookie it set lets the next login skip the step.
        String value = set.substring(set.indexOf('=') + 1, set.indexOf(';'));
        StepHarness next = remembering();
        next.cookies.put(RememberedBrowser.COOKIE_NAME, value);
        AuthenticatorStepTest.step().authenticate(next.context);
        assertEquals(List.of("success"), next.outcomes);
    }

    @Test
    void aPassedStepSetsNoCookieWhenTheExecutionDoesNotRemember() throws Exception {
        StepHarness h = remembering();
        h.config.put(OtpSidecarConfig.REMEMBER_DAYS, "0");
        h.form.put(OtpSidecarAuthenticator.ASSERTION_PARAM, CorrelationDetailTest.assertion("success", "req-r2"));
        AuthenticatorStepTest.step().action(h.context);
        assertEquals(List.of("success"), h.outcomes);
        assertTrue(h.responseHeaders.isEmpty(), h.responseHeaders.toString());
        assertNull(h.events.getEvent().getDetails().get(OtpSidecarAuthenticator.REMEMBERED_UNTIL_DETAIL));
    }

}
