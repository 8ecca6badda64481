package dev.otpsidecar.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.keycloak.events.Details;
import org.keycloak.events.Event;
import org.keycloak.events.EventType;

/**
 * action() puts the request's jti, as the verified assertion's {@code req_jti} names it, into Keycloak's
 * event for the step ({@code otp_correlation_id}), so one login can be followed across Keycloak's events
 * and the sidecar's audit trail. A real RS256 assertion, its key served by a real HTTP server on loopback.
 */
class CorrelationDetailTest extends SidecarKeysServed {

    /** The authenticator as Keycloak makes it, with the realm's issuer given (no JAX-RS runtime here). */
    static OtpSidecarAuthenticator authenticator() {
        return new OtpSidecarAuthenticator(Clock.systemUTC(), context -> SidecarUnavailableTest.REALM_ISSUER);
    }

    static String assertion(String result, String requestJti) throws Exception {
        long now = System.currentTimeMillis() / 1000;
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("iss", SidecarUnavailableTest.SIDECAR_ISSUER);
        c.put("aud", SidecarUnavailableTest.REALM_ISSUER);
        c.put("sub", SidecarUnavailableTest.USER_ID);
        c.put("nonce", SidecarUnavailableTest.NONCE);
        c.put("req_jti", requestJti);
        c.put("jti", UUID.randomUUID().toString());
        c.put("iat", now - 1);
        c.put("exp", now + 50);
        c.put("result", result);
        c.put("amr", List.of("otp"));
        c.put("otp_channel", "email");
        return TestJws.sign("RS256", KID, c, SidecarUnavailableTest.sidecarKey.getPrivate());
    }

    @Test
    void aSuccessfulStepCarriesTheRequestJtiInItsEvent() throws Exception {
        SidecarUnavailableTest.Harness h = new SidecarUnavailableTest.Harness(serveJwks());
        String jti = UUID.randomUUID().toString();
        h.form.put(OtpSidecarAuthenticator.ASSERTION_PARAM, assertion("success", jti));
        authenticator().action(h.context);
        assertTrue(h.outcomes.contains("success"), h.outcomes.toString());
        assertTrue(h.events.errors.isEmpty(), "no error event");
        // The LOGIN event Keycloak sends when the flow completes is built from this one.
        Event login = h.events.getEvent();
        assertEquals(EventType.LOGIN, login.getType());
        assertEquals(jti, login.getDetails().get(OtpSidecarAuthenticator.CORRELATION_DETAIL));
        assertEquals("success", login.getDetails().get(Details.REASON));
    }

    @Test
    void aLockedStepCarriesTheRequestJtiInItsErrorEvent() throws Exception {
        SidecarUnavailableTest.Harness h = new SidecarUnavailableTest.Harness(serveJwks());
        String jti = UUID.randomUUID().toString();
        h.form.put(OtpSidecarAuthenticator.ASSERTION_PARAM, assertion("locked", jti));
        authenticator().action(h.context);
        assertTrue(h.outcomes.contains("failureChallenge"), h.outcomes.toString());
        Event error = h.event();
        assertEquals(EventType.LOGIN_ERROR, error.getType());
        assertEquals(jti, error.getDetails().get(OtpSidecarAuthenticator.CORRELATION_DETAIL));
    }

    @Test
    void aRefusedAssertionClaimsNoCorrelation() throws Exception {
        SidecarUnavailableTest.Harness h = new SidecarUnavailableTest.Harness(serveJwks());
        // A tampered signature: refused, and nothing it says is trusted or logged as ours.
        String valid = assertion("success", "req-forged");
        h.form.put(OtpSidecarAuthenticator.ASSERTION_PARAM, valid.substring(0, valid.length() - 4) + "AAAA");
        authenticator().action(h.context);
        Event error = h.event();
        assertEquals(EventType.LOGIN_ERROR, error.getType());
        assertNull(error.getDetails().get(OtpSidecarAuthenticator.CORRELATION_DETAIL));
    }
}
