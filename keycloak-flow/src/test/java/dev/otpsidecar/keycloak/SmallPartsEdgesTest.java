package dev.otpsidecar.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.keycloak.events.Errors;

/**
 * Edges of the configuration, the request's display fields, the key cache's name and the failure
 * events: each value an operator or a user sees, exactly at its bound.
 */
class SmallPartsEdgesTest {

    @Test
    void requireVerifiedEmailReadsTrueAndFalseInAnyCase() throws Exception {
        for (String yes : List.of("true", "TRUE", " True ")) {
            assertTrue(OtpSidecarConfig.parse(OtpSidecarConfigTest.with(OtpSidecarConfig.REQUIRE_VERIFIED_EMAIL, yes))
                    .requireVerifiedEmail(), yes);
        }
        for (String no : List.of("false", "FALSE")) {
            assertFalse(OtpSidecarConfig.parse(OtpSidecarConfigTest.with(OtpSidecarConfig.REQUIRE_VERIFIED_EMAIL, no))
                    .requireVerifiedEmail(), no);
        }
    }

    @Test
    void aUrlWithoutAHostIsRefusedAsSuch() {
        List<String> problems = OtpSidecarConfigTest.problems(
                OtpSidecarConfigTest.with(OtpSidecarConfig.PUBLIC_URL, "https:///otp"));
        assertEquals(List.of(OtpSidecarConfig.PUBLIC_URL + ": 'https:///otp' must be an absolute URL with a host"),
                problems);
    }

    @Test
    void thePublicUrlIsKeptAsGiven() throws Exception {
        assertEquals(URI.create("https://id.example.com/otp"),
                OtpSidecarConfig.parse(OtpSidecarConfigTest.valid()).publicUrl());
    }

    @Test
    void displayTextIsCutAfterExactlyTheMaximum() {
        int max = RequestTokenBuilder.DISPLAY_TEXT_MAX;
        String atMax = "a".repeat(max - 1) + "\uD83D\uDE00"; // the last code point is a surrogate pair
        assertEquals(atMax, RequestTokenBuilder.displayText(atMax));
        assertEquals(atMax, RequestTokenBuilder.displayText(atMax + "b"));
    }

    @Test
    void aClientUrlOfExactlyTheMaximumIsKept() {
        String prefix = "https://app.example.com/";
        String atMax = prefix + "a".repeat(RequestTokenBuilder.CLIENT_URL_MAX - prefix.length());
        assertEquals(atMax, RequestTokenBuilder.clientUrl(atMax));
        assertNull(RequestTokenBuilder.clientUrl(atMax + "a"));
    }

    @Test
    void theKeyCacheIsNamedByRealmAndJwksUrl() {
        URI jwks = URI.create("https://id.example.com/otp/.well-known/jwks.json");
        assertEquals("otp-sidecar::realm-1::https://id.example.com/otp/.well-known/jwks.json",
                SidecarKeyLoader.modelKey("realm-1", jwks));
        assertNotEquals(SidecarKeyLoader.modelKey("realm-1", jwks), SidecarKeyLoader.modelKey("realm-2", jwks));
    }

    @Test
    void eachFailureReportsItsEventError() {
        assertEquals(Map.of(StepFailure.LOCKED, Errors.INVALID_USER_CREDENTIALS,
                        StepFailure.EXPIRED, Errors.EXPIRED_CODE,
                        StepFailure.CANCELLED, Errors.INVALID_USER_CREDENTIALS,
                        StepFailure.INVALID_ASSERTION, Errors.INVALID_TOKEN),
                Map.of(StepFailure.LOCKED, StepFailure.LOCKED.eventError(),
                        StepFailure.EXPIRED, StepFailure.EXPIRED.eventError(),
                        StepFailure.CANCELLED, StepFailure.CANCELLED.eventError(),
                        StepFailure.INVALID_ASSERTION, StepFailure.INVALID_ASSERTION.eventError()));
    }
}
