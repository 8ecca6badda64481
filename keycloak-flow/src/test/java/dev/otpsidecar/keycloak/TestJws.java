package dev.otpsidecar.keycloak;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.Map;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import com.fasterxml.jackson.databind.ObjectMapper;

/** Real keys and real JWS signatures for the tests, with the JDK's own crypto. */
final class TestJws {

    private static final ObjectMapper JSON = new ObjectMapper();

    private TestJws() {
    }

    static KeyPair ecP256() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    static KeyPair rsa2048() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    static KeyPair ed25519() throws GeneralSecurityException {
        return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    }

    static String b64(byte[] bytes) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    static byte[] unb64(String s) {
        return Base64.getUrlDecoder().decode(s);
    }

    static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String signingInput(Map<String, Object> header, Map<String, Object> claims) {
        return b64(json(header).getBytes(StandardCharsets.UTF_8)) + "."
                + b64(json(claims).getBytes(StandardCharsets.UTF_8));
    }

    /** Signs with ES256, RS256 or EdDSA depending on alg. */
    static String sign(String alg, String kid, Map<String, Object> claims, PrivateKey key) throws GeneralSecurityException {
        String input = signingInput(Map.of("alg", alg, "kid", kid, "typ", "JWT"), claims);
        String jca = switch (alg) {
            case "ES256" -> "SHA256withECDSAinP1363Format";
            case "RS256" -> "SHA256withRSA";
            case "EdDSA" -> "Ed25519";
            default -> throw new IllegalArgumentException(alg);
        };
        Signature s = Signature.getInstance(jca);
        s.initSign(key);
        s.update(input.getBytes(StandardCharsets.US_ASCII));
        return input + "." + b64(s.sign());
    }

    static String hs256(String kid, Map<String, Object> claims, byte[] secret) throws GeneralSecurityException {
        String input = signingInput(Map.of("alg", "HS256", "kid", kid, "typ", "JWT"), claims);
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret, "HmacSHA256"));
        return input + "." + b64(mac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
    }

    static String unsigned(String kid, Map<String, Object> claims) {
        return signingInput(Map.of("alg", "none", "kid", kid), claims) + ".";
    }
}
