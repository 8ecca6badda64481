package dev.otpsidecar.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import dev.otpsidecar.keycloak.OtpSidecarConfig.InvalidConfigException;

class OtpSidecarConfigTest {

    static Map<String, String> valid() {
        Map<String, String> c = new HashMap<>();
        c.put(OtpSidecarConfig.PUBLIC_URL, "https://id.example.com/otp");
        c.put(OtpSidecarConfig.JWKS_URL, "http://localhost:8081/.well-known/jwks.json");
        c.put(OtpSidecarConfig.ISSUER, "https://id.example.com/otp");
        return c;
    }

    static Map<String, String> with(String key, String value) {
        Map<String, String> c = valid();
        if (value == null) {
            c.remove(key);
        } else {
            c.put(key, value);
        }
        return c;
    }

    static List<String> problems(Map<String, String> config) {
        return assertThrows(InvalidConfigException.class, () -> OtpSidecarConfig.parse(config)).problems();
    }

    @Test
    void minimalConfigGetsTheDefaults() throws Exception {
        OtpSidecarConfig c = OtpSidecarConfig.parse(valid());
        assertEquals("otp-sidecar", c.audience());
        assertEquals(new OtpSidecarConfig.OtpPolicy(6, 300, 5, 30, 3), c.policy());
        assertTrue(c.requireVerifiedEmail());
        assertEquals("https://id.example.com/otp/authorize", c.authorizeUrl().toString());
    }

    @Test
    void fullConfigIsTakenAsGiven() throws Exception {
        Map<String, String> m = valid();
        m.put(OtpSidecarConfig.AUDIENCE, "otp");
        m.put(OtpSidecarConfig.CODE_LENGTH, "8");
        m.put(OtpSidecarConfig.TTL, "600");
        m.put(OtpSidecarConfig.MAX_ATTEMPTS, "1");
        m.put(OtpSidecarConfig.RESEND_COOLDOWN, "0");
        m.put(OtpSidecarConfig.MAX_RESENDS, "10");
        m.put(OtpSidecarConfig.REQUIRE_VERIFIED_EMAIL, "false");
        OtpSidecarConfig c = OtpSidecarConfig.parse(m);
        assertEquals("otp", c.audience());
        assertEquals(new OtpSidecarConfig.OtpPolicy(8, 600, 1, 0, 10), c.policy());
        assertFalse(c.requireVerifiedEmail());
    }

    @Test
    void authorizeUrlDoesNotDoubleTheSlash() throws Exception {
        assertEquals("https://id.example.com/otp/authorize",
                OtpSidecarConfig.parse(with(OtpSidecarConfig.PUBLIC_URL, "https://id.example.com/otp/")).authorizeUrl().toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {OtpSidecarConfig.PUBLIC_URL, OtpSidecarConfig.JWKS_URL, OtpSidecarConfig.ISSUER})
    void missingRequiredSettingIsNamed(String key) {
        List<String> p = problems(with(key, null));
        assertEquals(1, p.size(), p.toString());
        assertTrue(p.get(0).startsWith(key + ": missing"), p.toString());
        assertEquals(p, problems(with(key, "   ")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://id.example.com/otp", "http://10.0.0.5:8081", "ftp://localhost/x"})
    void plainHttpIsRefusedOutsideLoopback(String url) {
        List<String> p = problems(with(OtpSidecarConfig.PUBLIC_URL, url));
        assertTrue(p.get(0).contains("https"), p.toString());
        assertTrue(p.get(0).startsWith(OtpSidecarConfig.PUBLIC_URL), p.toString());
        assertTrue(problems(with(OtpSidecarConfig.JWKS_URL, url)).get(0).startsWith(OtpSidecarConfig.JWKS_URL));
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://localhost:18081", "http://127.0.0.1:8081/otp", "http://[::1]:8081", "https://otp.internal"})
    void loopbackHttpAndHttpsAreAccepted(String url) throws Exception {
        OtpSidecarConfig.parse(with(OtpSidecarConfig.PUBLIC_URL, url));
        OtpSidecarConfig.parse(with(OtpSidecarConfig.JWKS_URL, url));
    }

    @ParameterizedTest
    @ValueSource(strings = {"not a url", "/relative/path", "https://user:pw@id.example.com/otp",
            "https://id.example.com/otp?x=1", "https://id.example.com/otp#f"})
    void malformedUrlsAreRefused(String url) {
        List<String> p = problems(with(OtpSidecarConfig.PUBLIC_URL, url));
        assertEquals(1, p.size());
        assertTrue(p.get(0).startsWith(OtpSidecarConfig.PUBLIC_URL), p.toString());
    }

    @ParameterizedTest
    @CsvSource({
            OtpSidecarConfig.CODE_LENGTH + ",3", OtpSidecarConfig.CODE_LENGTH + ",11",
            OtpSidecarConfig.TTL + ",59", OtpSidecarConfig.TTL + ",601",
            OtpSidecarConfig.MAX_ATTEMPTS + ",0", OtpSidecarConfig.MAX_ATTEMPTS + ",11",
            OtpSidecarConfig.RESEND_COOLDOWN + ",-1", OtpSidecarConfig.RESEND_COOLDOWN + ",601",
            OtpSidecarConfig.MAX_RESENDS + ",-1", OtpSidecarConfig.MAX_RESENDS + ",11",
    })
    void outOfRangeNumbersAreRefusedWithTheirRange(String key, String value) {
        List<String> p = problems(with(key, value));
        assertEquals(1, p.size(), p.toString());
        assertTrue(p.get(0).startsWith(key + ": " + value + " is out of range; expected "), p.toString());
    }

    @ParameterizedTest
    @CsvSource({
            OtpSidecarConfig.CODE_LENGTH + ",4", OtpSidecarConfig.CODE_LENGTH + ",10",
            OtpSidecarConfig.TTL + ",60", OtpSidecarConfig.TTL + ",600",
            OtpSidecarConfig.MAX_ATTEMPTS + ",1", OtpSidecarConfig.MAX_ATTEMPTS + ",10",
            OtpSidecarConfig.RESEND_COOLDOWN + ",0", OtpSidecarConfig.RESEND_COOLDOWN + ",600",
            OtpSidecarConfig.MAX_RESENDS + ",0", OtpSidecarConfig.MAX_RESENDS + ",10",
    })
    void boundsAreInclusive(String key, String value) throws Exception {
        OtpSidecarConfig.parse(with(key, value));
    }

    @Test
    void nonNumbersAndNonBooleansAreRefused() {
        assertTrue(problems(with(OtpSidecarConfig.TTL, "5m")).get(0).contains("not a whole number"));
        assertTrue(problems(with(OtpSidecarConfig.REQUIRE_VERIFIED_EMAIL, "yes")).get(0).contains("not a boolean"));
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        List<String> p = problems(null);
        assertEquals(3, p.size(), p.toString());
        Map<String, String> bad = new HashMap<>();
        bad.put(OtpSidecarConfig.PUBLIC_URL, "http://id.example.com");
        bad.put(OtpSidecarConfig.CODE_LENGTH, "2");
        bad.put(OtpSidecarConfig.MAX_RESENDS, "many");
        List<String> all = problems(bad);
        // Bad public URL, missing JWKS URL and issuer, bad length, bad resends: all five at once.
        assertEquals(5, all.size(), all.toString());
        for (String key : List.of(OtpSidecarConfig.PUBLIC_URL, OtpSidecarConfig.JWKS_URL, OtpSidecarConfig.ISSUER,
                OtpSidecarConfig.CODE_LENGTH, OtpSidecarConfig.MAX_RESENDS)) {
            assertTrue(all.stream().anyMatch(problem -> problem.startsWith(key + ":")), key + " not named in " + all);
        }
    }

    @ParameterizedTest
    @CsvSource({
        "localhost, true", "127.0.0.1, true", "127.1.2.3, true", "[::1], true",
        "127.0.0.256, false", "127.0.0.1.example.com, false", "128.0.0.1, false", "example.com, false"
    })
    void loopbackIsLocalhostAll127Slash8AndIpv6One(String host, boolean loopback) {
        assertEquals(loopback, OtpSidecarConfig.isLoopback(host), host);
    }
}
