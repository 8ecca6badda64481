package dev.otpsidecar.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.keycloak.authentication.AuthenticationFlowError;
import org.keycloak.events.Details;
import org.keycloak.events.Event;

/**
 * How action() reports a refused step to Keycloak. Every refusal that may be a guess (a wrong, tampered,
 * foreign or missing assertion, and the sidecar's locked, expired and cancelled results) goes through
 * {@code context.failureChallenge(INVALID_CREDENTIALS, page)}: that call, and only that one, is what
 * Keycloak's flow turns into {@code BruteForceProtector.failedLogin}. A plain {@code challenge(page)} would
 * show the same page and the same event while counting nothing, so guessing would never lock anyone.
 * An outage of the sidecar's keys is not a guess: it stays a plain {@code challenge}.
 */
class FailureReportingTest extends SidecarKeysServed {

    /** Claims of an assertion the harness's login would accept, changed by `change`. */
    static Map<String, Object> claims(UnaryOperator<Map<String, Object>> change) {
        long now = System.currentTimeMillis() / 1000;
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("iss", SidecarUnavailableTest.SIDECAR_ISSUER);
        c.put("aud", SidecarUnavailableTest.REALM_ISSUER);
        c.put("sub", SidecarUnavailableTest.USER_ID);
        c.put("nonce", SidecarUnavailableTest.NONCE);
        c.put("req_jti", UUID.randomUUID().toString());
        c.put("jti", UUID.randomUUID().toString());
        c.put("iat", now - 1);
        c.put("exp", now + 50);
        c.put("result", "success");
        c.put("amr", List.of("otp"));
        c.put("otp_channel", "email");
        return change.apply(c);
    }

    static String signed(UnaryOperator<Map<String, Object>> change) throws Exception {
        return TestJws.sign("RS256", KID, claims(change), SidecarUnavailableTest.sidecarKey.getPrivate());
    }

    static UnaryOperator<Map<String, Object>> with(String claim, Object value) {
        return c -> {
            c.put(claim, value);
            return c;
        };
    }

    /** The form field `assertion` the browser brings back (null: none), and the event reason it must give. */
    static Stream<Arguments> refusals() throws Exception {
        long now = System.currentTimeMillis() / 1000;
        String valid = signed(UnaryOperator.identity());
        return Stream.of(
                Arguments.of("no assertion", null, "missing_assertion"),
                Arguments.of("blank assertion", " ", "missing_assertion"),
                Arguments.of("tampered signature", valid.substring(0, valid.length() - 4) + "AAAA", "bad_signature"),
                Arguments.of("not a JWS", "not.a.jws", "malformed_assertion"),
                Arguments.of("unknown key", TestJws.sign("RS256", "not-published", claims(UnaryOperator.identity()),
                        SidecarUnavailableTest.sidecarKey.getPrivate()), "unknown_key"),
                Arguments.of("another login's nonce", signed(with("nonce", "another-nonce-0000000000")),
                        "nonce_mismatch"),
                Arguments.of("another user", signed(with("sub", UUID.randomUUID().toString())), "subject_mismatch"),
                Arguments.of("another issuer", signed(with("iss", "http://evil.example")), "wrong_issuer"),
                Arguments.of("another audience", signed(with("aud", "http://localhost:8080/realms/other")),
                        "wrong_audience"),
                Arguments.of("expired assertion", signed(with("iat", now - 200).andThen(with("exp", now - 140))::apply),
                        "assertion_expired"),
                Arguments.of("result locked", signed(with("result", "locked")), "locked"),
                Arguments.of("result expired", signed(with("result", "expired")), "expired"),
                Arguments.of("result cancelled", signed(with("result", "cancelled")), "cancelled"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusals")
    void aRefusalIsReportedThroughFailureChallenge(String name, String assertion, String reason) throws Exception {
        SidecarUnavailableTest.Harness h = new SidecarUnavailableTest.Harness(serveJwks());
        if (assertion != null) {
            h.form.put(OtpSidecarAuthenticator.ASSERTION_PARAM, assertion);
        }
        CorrelationDetailTest.authenticator().action(h.context);

        assertEquals(List.of("failureChallenge"), flowOutcomes(h), "counted for brute force: " + name);
        assertEquals(List.of(AuthenticationFlowError.INVALID_CREDENTIALS), h.flowErrors);
        Event event = h.event();
        assertEquals(reason, event.getDetails().get(Details.REASON));
        assertEquals(SidecarUnavailableTest.USER_ID, event.getUserId());
        // The page: our error template, with "Send a new code".
        assertEquals(List.of(OtpSidecarAuthenticator.ERROR_TEMPLATE), h.templates);
        assertEquals(Boolean.TRUE, h.pageAttributes.get("otpSidecarCanRestart"));
    }

    @Test
    void theSidecarsKeysUnavailableAtTheAssertionIsNotCounted() throws Exception {
        // A cold key cache and nothing listening: the assertion cannot be checked, which is no guess.
        SidecarUnavailableTest.Harness h = new SidecarUnavailableTest.Harness(SidecarUnavailableTest.closedPort());
        h.form.put(OtpSidecarAuthenticator.ASSERTION_PARAM, signed(UnaryOperator.identity()));
        CorrelationDetailTest.authenticator().action(h.context);

        assertEquals(List.of("challenge"), flowOutcomes(h));
        assertEquals(List.of(), h.flowErrors);
        assertEquals(AssertionVerifier.Reason.KEYS_UNAVAILABLE.code(), h.event().getDetails().get(Details.REASON));
        assertEquals("otpSidecarErrorUnavailable", h.pageAttributes.get("otpSidecarMessage"));
    }

    @Test
    void aValidAssertionSucceedsWithoutAnyFailure() throws Exception {
        SidecarUnavailableTest.Harness h = new SidecarUnavailableTest.Harness(serveJwks());
        h.form.put(OtpSidecarAuthenticator.ASSERTION_PARAM, signed(UnaryOperator.identity()));
        CorrelationDetailTest.authenticator().action(h.context);

        assertEquals(List.of("success"), flowOutcomes(h));
        assertEquals(List.of(), h.flowErrors);
    }

    /** What the step told the flow (challenge, failureChallenge, success, ...), without session lookups. */
    static List<String> flowOutcomes(SidecarUnavailableTest.Harness h) {
        return h.outcomes.stream().filter(o -> !o.equals("authenticationSession")).toList();
    }
}
