package dev.otpsidecar.keycloak;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.InputStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.keycloak.models.AuthenticationExecutionModel.Requirement;
import org.keycloak.models.Constants;
import org.keycloak.provider.ProviderConfigProperty;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

class OtpSidecarAuthenticatorFactoryTest {

    final OtpSidecarAuthenticatorFactory factory = new OtpSidecarAuthenticatorFactory();

    @Test
    void identity() {
        assertEquals("otp-sidecar", factory.getId());
        assertEquals("Email code (otp-sidecar)", factory.getDisplayType());
        assertTrue(factory.isConfigurable());
        assertFalse(factory.isUserSetupAllowed());
        assertArrayEquals(new Requirement[] {Requirement.REQUIRED, Requirement.ALTERNATIVE, Requirement.CONDITIONAL,
                Requirement.DISABLED}, factory.getRequirementChoices());
        // A category outside password/otp/recovery codes would make brute-force detection ignore our failures.
        assertNull(factory.getReferenceCategory());
        assertTrue(factory.create(null).requiresUser());
    }

    @Test
    void offersEverySetting() {
        Set<String> names = factory.getConfigProperties().stream().map(ProviderConfigProperty::getName)
                .collect(Collectors.toSet());
        assertEquals(Set.of(OtpSidecarConfig.PUBLIC_URL, OtpSidecarConfig.JWKS_URL, OtpSidecarConfig.ISSUER,
                OtpSidecarConfig.AUDIENCE, OtpSidecarConfig.CODE_LENGTH, OtpSidecarConfig.TTL,
                OtpSidecarConfig.MAX_ATTEMPTS, OtpSidecarConfig.RESEND_COOLDOWN, OtpSidecarConfig.MAX_RESENDS,
                OtpSidecarConfig.REQUIRE_VERIFIED_EMAIL, OtpSidecarConfig.REMEMBER_DAYS), names);
        for (ProviderConfigProperty p : factory.getConfigProperties()) {
            if (p.getName().endsWith(".url") || p.getName().equals(OtpSidecarConfig.ISSUER)) {
                assertTrue(p.isRequired(), p.getName() + " must be required in the admin console");
            }
        }
    }

    /** The admin console can only pick from these options, so every one must pass validation. */
    @Test
    void everyNumberTheAdminConsoleOffersIsValid() throws Exception {
        int lists = 0;
        for (ProviderConfigProperty p : factory.getConfigProperties()) {
            if (!ProviderConfigProperty.LIST_TYPE.equals(p.getType())) {
                continue;
            }
            lists++;
            assertTrue(p.getOptions().contains(p.getDefaultValue()), p.getName() + " default not offered");
            for (String option : p.getOptions()) {
                Map<String, String> config = OtpSidecarConfigTest.valid();
                config.put(p.getName(), option);
                OtpSidecarConfig.parse(config);
            }
        }
        assertEquals(6, lists);
    }

    /** "Remember this browser" is off unless an admin turns it on: no key, the console's default, an empty value. */
    @Test
    void rememberThisBrowserIsOffByDefault() throws Exception {
        assertEquals(0, OtpSidecarConfig.parse(OtpSidecarConfigTest.valid()).rememberDays());
        ProviderConfigProperty property = factory.getConfigProperties().stream()
                .filter(p -> p.getName().equals(OtpSidecarConfig.REMEMBER_DAYS)).findFirst().orElseThrow();
        assertEquals("0", property.getDefaultValue());
        Map<String, String> blank = OtpSidecarConfigTest.valid();
        blank.put(OtpSidecarConfig.REMEMBER_DAYS, " ");
        assertEquals(0, OtpSidecarConfig.parse(blank).rememberDays());
        Map<String, String> on = OtpSidecarConfigTest.valid();
        on.put(OtpSidecarConfig.REMEMBER_DAYS, "30");
        assertEquals(30, OtpSidecarConfig.parse(on).rememberDays());
        Map<String, String> tooLong = OtpSidecarConfigTest.valid();
        tooLong.put(OtpSidecarConfig.REMEMBER_DAYS, "91");
        var e = org.junit.jupiter.api.Assertions.assertThrows(OtpSidecarConfig.InvalidConfigException.class,
                () -> OtpSidecarConfig.parse(tooLong));
        assertEquals(List.of("otp.remember.days: 91 is out of range; expected 0..90"), e.problems());
    }

    @Test
    void defaultsOfTheConsoleMatchTheParser() throws Exception {
        Map<String, String> defaults = new HashMap<>(OtpSidecarConfigTest.valid());
        for (ProviderConfigProperty p : factory.getConfigProperties()) {
            if (p.getDefaultValue() != null) {
                defaults.put(p.getName(), p.getDefaultValue().toString());
            }
        }
        assertEquals(OtpSidecarConfig.parse(OtpSidecarConfigTest.valid()).policy(), OtpSidecarConfig.parse(defaults).policy());
    }

    @Test
    void everyMessageExistsInEnglishAndGerman() throws Exception {
        Properties en = messages("en");
        Properties de = messages("de");
        assertEquals(en.keySet(), de.keySet());
        for (StepFailure f : StepFailure.values()) {
            assertNotNull(en.getProperty(f.messageKey()), f.messageKey());
            assertNotNull(en.getProperty(f.messageKey() + "Hint"), f.messageKey() + "Hint");
        }
        for (Object key : en.keySet()) {
            assertFalse(en.getProperty((String) key).contains("'"), key + ": MessageFormat would eat the apostrophe");
            assertFalse(de.getProperty((String) key).contains("'"), key + ": MessageFormat would eat the apostrophe");
        }
    }

    private static Properties messages(String locale) throws Exception {
        Properties p = new Properties();
        try (InputStream in = OtpSidecarAuthenticatorFactoryTest.class
                .getResourceAsStream("/theme-resources/messages/messages_" + locale + ".properties")) {
            assertNotNull(in, locale);
            p.load(new java.io.InputStreamReader(in, java.nio.charset.StandardCharsets.UTF_8));
        }
        return p;
    }

    /**
     * The shipped realm wires the step as documented: levels of authentication (password = 1, email code = 2)
     * mapped to acr values, both steps giving an AMR value, demo-app always at the email-code level, and a
     * config that passes validation with "remember this browser" off.
     */
    @Test
    void acmeRealmImportIsWiredAndValid() throws Exception {
        JsonNode realm = new ObjectMapper().readTree(new File("realm/acme-realm.json"));
        assertEquals("acme", realm.get("realm").asText());
        assertTrue(realm.get("bruteForceProtected").asBoolean());
        assertFalse(realm.get("permanentLockout").asBoolean());
        assertEquals(30, realm.get("failureFactor").asInt());
        assertEquals("browser-otp-sidecar", realm.get("browserFlow").asText());
        JsonNode loaMap = new ObjectMapper().readTree(realm.get("attributes").get("acr.loa.map").asText());
        assertEquals(1, loaMap.get("password").asInt());
        assertEquals(2, loaMap.get("email-otp").asInt());

        Map<String, JsonNode> flows = new HashMap<>();
        realm.get("authenticationFlows").forEach(f -> flows.put(f.get("alias").asText(), f));
        Map<String, Map<String, String>> configs = new HashMap<>();
        for (JsonNode c : realm.get("authenticatorConfig")) {
            Map<String, String> map = new HashMap<>();
            c.get("config").properties().forEach(e -> map.put(e.getKey(), e.getValue().asText()));
            configs.put(c.get("alias").asText(), map);
        }
        List<JsonNode> top = list(flows.get("browser-otp-sidecar").get("authenticationExecutions"));
        assertEquals("auth-cookie", top.get(0).get("authenticator").asText());
        assertEquals("ALTERNATIVE", top.get(0).get("requirement").asText());
        assertEquals("ALTERNATIVE", top.get(1).get("requirement").asText());
        List<JsonNode> forms = list(flows.get(top.get(1).get("flowAlias").asText()).get("authenticationExecutions"));
        assertEquals(2, forms.size());
        List<JsonNode> level1 = list(flows.get(forms.get(0).get("flowAlias").asText()).get("authenticationExecutions"));
        List<JsonNode> level2 = list(flows.get(forms.get(1).get("flowAlias").asText()).get("authenticationExecutions"));
        for (int level = 1; level <= 2; level++) {
            JsonNode branch = forms.get(level - 1);
            assertEquals("CONDITIONAL", branch.get("requirement").asText());
            JsonNode condition = (level == 1 ? level1 : level2).get(0);
            assertEquals("conditional-level-of-authentication", condition.get("authenticator").asText());
            assertEquals(Integer.toString(level),
                    configs.get(condition.get("authenticatorConfig").asText()).get("loa-condition-level"));
        }
        assertEquals("auth-username-password-form", level1.get(1).get("authenticator").asText());
        assertEquals("REQUIRED", level1.get(1).get("requirement").asText());
        assertEquals("pwd", configs.get(level1.get(1).get("authenticatorConfig").asText())
                .get(Constants.AUTHENTICATION_EXECUTION_REFERENCE_VALUE));
        assertEquals("otp-sidecar", level2.get(1).get("authenticator").asText());
        assertEquals("REQUIRED", level2.get(1).get("requirement").asText());

        Map<String, String> step = configs.get(level2.get(1).get("authenticatorConfig").asText());
        assertNotNull(step, "authenticatorConfig of the step");
        assertEquals("otp", step.get(Constants.AUTHENTICATION_EXECUTION_REFERENCE_VALUE));
        // Keycloak's AmrUtils drops a value whose max age (default 0 s) has passed when the token is made.
        assertEquals("36000", step.get(Constants.AUTHENTICATION_EXECUTION_REFERENCE_MAX_AGE));
        OtpSidecarConfig parsed = OtpSidecarConfig.parse(step);
        assertEquals("http://localhost:18081/authorize", parsed.authorizeUrl().toString());
        assertEquals(new OtpSidecarConfig.OtpPolicy(6, 300, 5, 30, 3), parsed.policy());
        assertEquals(0, parsed.rememberDays(), "remember this browser is off in the shipped realm");

        Map<String, JsonNode> clients = new HashMap<>();
        realm.get("clients").forEach(c -> clients.put(c.get("clientId").asText(), c));
        assertEquals("email-otp", clients.get("demo-app").get("attributes").get("minimum.acr.value").asText());
        assertFalse(clients.get("stepup-app").get("attributes").has("minimum.acr.value"));
        for (JsonNode client : clients.values()) {
            List<String> mappers = new java.util.ArrayList<>();
            client.get("protocolMappers").forEach(m -> mappers.add(m.get("protocolMapper").asText()));
            assertTrue(mappers.contains("oidc-amr-mapper"), client.get("clientId") + " has the AMR mapper");
        }
    }

    @Test
    void configCliYamlDescribesTheSameRealmAsTheImportJson() throws Exception {
        JsonNode json = new ObjectMapper().readTree(new File("realm/acme-realm.json"));
        JsonNode yaml = new ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory())
                .readTree(new File("realm/acme-realm.yaml"));
        assertEquals(json, yaml);
    }

    private static List<JsonNode> list(JsonNode array) {
        List<JsonNode> out = new java.util.ArrayList<>();
        array.forEach(out::add);
        out.sort((a, b) -> Integer.compare(a.get("priority").asInt(), b.get("priority").asInt()));
        return out;
    }
}
