package dev.otpsidecar.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.Signature;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.keycloak.crypto.SignatureException;
import org.keycloak.crypto.SignatureSignerContext;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

class RequestTokenBuilderTest {

    static final long NOW = 1_800_000_000L;
    static KeyPair realmKey;

    @BeforeAll
    static void key() throws Exception {
        realmKey = TestJws.rsa2048();
    }

    /** What the realm's RS256 SignatureProvider hands out, backed by a key made in the test. */
    static SignatureSignerContext signer() {
        return new SignatureSignerContext() {
            public String getKid() {
                return "realm-kid";
            }

            public String getAlgorithm() {
                return "RS256";
            }

            public String getHashAlgorithm() {
                return "SHA-256";
            }

            public byte[] sign(byte[] data) throws SignatureException {
                try {
                    Signature s = Signature.getInstance("SHA256withRSA");
                    s.initSign(realmKey.getPrivate());
                    s.update(data);
                    return s.sign();
                } catch (java.security.GeneralSecurityException e) {
                    throw new SignatureException(e.getMessage());
                }
            }
        };
    }

    static RequestTokenBuilder.Request request(String name, String locale) {
        return request(name, locale, "Acme", "Demo App");
    }

    static RequestTokenBuilder.Request request(String name, String locale, String realmDisplayName, String clientName) {
        return new RequestTokenBuilder.Request("http://localhost:18080/realms/acme", "otp-sidecar",
                "9a11e084-7ab3-4200-904a-2f19b46fbebc", "alice@example.com", name, locale, "demo-app",
                "q8mJ0n1a3sZk2bW7xY4c9A",
                "http://localhost:18080/realms/acme/login-actions/authenticate?session_code=abc&execution=e1&client_id=demo-app&tab_id=t1",
                new OtpSidecarConfig.OtpPolicy(6, 300, 5, 30, 3), realmDisplayName, clientName,
                "http://localhost:18090/");
    }

    final RequestTokenBuilder builder = new RequestTokenBuilder(Clock.fixed(Instant.ofEpochSecond(NOW), ZoneOffset.UTC));

    @Test
    void signsTheSectionOneClaimsWithTheRealmKey() throws Exception {
        String jwt = builder.sign(request("Alice Example", "de"), signer());
        String[] parts = jwt.split("\\.");
        assertEquals(3, parts.length);
        ObjectMapper json = new ObjectMapper();

        JsonNode header = json.readTree(TestJws.unb64(parts[0]));
        assertEquals("RS256", header.get("alg").asText());
        assertEquals("realm-kid", header.get("kid").asText());
        assertEquals("JWT", header.get("typ").asText());

        Signature verify = Signature.getInstance("SHA256withRSA");
        verify.initVerify(realmKey.getPublic());
        verify.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
        assertTrue(verify.verify(TestJws.unb64(parts[2])), "signature must verify with the realm's public key");

        JsonNode c = json.readTree(TestJws.unb64(parts[1]));
        assertEquals("http://localhost:18080/realms/acme", c.get("iss").asText());
        assertEquals("otp-sidecar", c.get("aud").asText());
        assertEquals("9a11e084-7ab3-4200-904a-2f19b46fbebc", c.get("sub").asText());
        assertEquals("alice@example.com", c.get("email").asText());
        assertEquals("Alice Example", c.get("name").asText());
        assertEquals("de", c.get("locale").asText());
        assertEquals("demo-app", c.get("azp").asText());
        assertEquals("Acme", c.get("realm_display_name").asText());
        assertEquals("Demo App", c.get("client_name").asText());
        assertEquals("http://localhost:18090/", c.get("client_url").asText());
        assertEquals("q8mJ0n1a3sZk2bW7xY4c9A", c.get("nonce").asText());
        assertTrue(c.get("return_uri").asText().startsWith("http://localhost:18080/realms/acme/login-actions/authenticate?"));
        assertEquals(NOW, c.get("iat").asLong());
        assertEquals(NOW + RequestTokenBuilder.LIFETIME_SECONDS, c.get("exp").asLong());
        assertTrue(c.get("exp").asLong() - c.get("iat").asLong() <= 300);
        UUID.fromString(c.get("jti").asText());
        JsonNode otp = c.get("otp");
        assertEquals(6, otp.get("length").asInt());
        assertEquals(300, otp.get("ttl").asInt());
        assertEquals(5, otp.get("max_attempts").asInt());
        assertEquals(30, otp.get("resend_cooldown").asInt());
        assertEquals(3, otp.get("max_resends").asInt());
        assertEquals(5, otp.size());
        assertEquals(Set.of("iss", "aud", "sub", "email", "name", "locale", "azp", "realm_display_name",
                "client_name", "client_url", "nonce", "return_uri", "iat", "exp", "jti", "otp"), fieldNames(c));
    }

    @Test
    void leavesOutOptionalClaimsThatAreUnknown() {
        var claims = builder.claims(request(null, " "));
        assertFalse(claims.containsKey("name"));
        assertFalse(claims.containsKey("locale"));
    }

    @Test
    void leavesOutRealmAndClientNamesThatAreUnsetOrBlank() {
        var unset = builder.claims(request("A", "en", null, null));
        assertFalse(unset.containsKey("realm_display_name"));
        assertFalse(unset.containsKey("client_name"));
        var blank = builder.claims(request("A", "en", "  ", "\t"));
        assertFalse(blank.containsKey("realm_display_name"));
        assertFalse(blank.containsKey("client_name"));
    }

    @Test
    void cutsRealmAndClientNamesTo200CharactersWithoutSplittingACharacter() {
        String longRealm = "R".repeat(250);
        // 199 letters, then characters outside the BMP (two UTF-16 units each): the cut must not halve one.
        String longClient = "c".repeat(199) + "\uD83D\uDE00".repeat(5);
        var claims = builder.claims(request("A", "en", longRealm, longClient));
        assertEquals("R".repeat(200), claims.get("realm_display_name"));
        String client = (String) claims.get("client_name");
        assertEquals(200, client.codePointCount(0, client.length()));
        assertEquals("c".repeat(199) + "\uD83D\uDE00", client);
        var exact = builder.claims(request("A", "en", "x".repeat(200), " Demo App "));
        assertEquals("x".repeat(200), exact.get("realm_display_name"));
        assertEquals("Demo App", exact.get("client_name"), "surrounding blanks are trimmed");
    }

    /** The finished page links to the client's home only when that is an absolute http(s) address. */
    @Test
    void sendsTheClientUrlOnlyWhenItIsAnAbsoluteHttpAddress() {
        assertEquals("https://app.example.com/home", RequestTokenBuilder.clientUrl(" https://app.example.com/home "));
        assertEquals("http://localhost:18090/", RequestTokenBuilder.clientUrl("http://localhost:18090/"));
        for (String unusable : new String[] {null, "", "  ", "/realms/acme/account/", "javascript:alert(1)",
                "data:text/html,x", "ftp://example.com/", "https://app.example.com/" + "x".repeat(2100)}) {
            assertEquals(null, RequestTokenBuilder.clientUrl(unusable), String.valueOf(unusable));
        }
    }

    /** Keycloak lets a client or realm name be a message key, `${key}`; the page gets the user's text. */
    @Test
    void namesThatAreMessageKeysAreLookedUpInTheLoginMessages() {
        java.util.Properties de = new java.util.Properties();
        de.setProperty("client_demo", "Demo-Anwendung");
        assertEquals("Demo-Anwendung", OtpSidecarAuthenticator.localized("${client_demo}", de));
        assertEquals("Demo-Anwendung", OtpSidecarAuthenticator.localized(" ${client_demo} ", de));
        assertEquals("${client_unknown}", OtpSidecarAuthenticator.localized("${client_unknown}", de), "unknown key: as written");
        assertEquals("${client_demo}", OtpSidecarAuthenticator.localized("${client_demo}", null), "no messages: as written");
        assertEquals("Demo App", OtpSidecarAuthenticator.localized("Demo App", de));
        assertEquals("Pay ${client_demo} now", OtpSidecarAuthenticator.localized("Pay ${client_demo} now", de),
                "only a name that is a key as a whole is looked up");
        assertEquals(null, OtpSidecarAuthenticator.localized(null, de));
    }

    @Test
    void everyRequestHasItsOwnJti() {
        Set<Object> jtis = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            jtis.add(builder.claims(request("A", "en")).get("jti"));
        }
        assertEquals(100, jtis.size());
    }

    @Test
    void nonceIs128RandomBitsInBase64Url() {
        String a = RequestTokenBuilder.newNonce();
        String b = RequestTokenBuilder.newNonce();
        assertNotEquals(a, b);
        assertEquals(22, a.length());
        assertTrue(a.matches("[A-Za-z0-9_-]{22}"), a);
        assertEquals(16, TestJws.unb64(a).length);
    }

    private static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new HashSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
