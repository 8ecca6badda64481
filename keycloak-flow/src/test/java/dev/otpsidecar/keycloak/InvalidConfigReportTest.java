package dev.otpsidecar.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.keycloak.models.AuthenticationExecutionModel;
import org.keycloak.models.AuthenticationExecutionModel.Requirement;
import org.keycloak.models.AuthenticationFlowModel;
import org.keycloak.models.AuthenticatorConfigModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.KeycloakTransactionManager;
import org.keycloak.models.RealmModel;
import org.keycloak.models.RealmProvider;
import org.keycloak.provider.ProviderEvent;
import org.keycloak.provider.ProviderEventListener;

/**
 * At start-up (after migration) every enabled otp-sidecar execution whose config would be refused at login
 * is reported in the server log, by realm and config alias; disabled executions, other authenticators and
 * valid configs are not.
 */
class InvalidConfigReportTest {

    final List<LogRecord> logged = new ArrayList<>();
    final Logger logger = Logger.getLogger(OtpSidecarAuthenticatorFactory.class.getName());
    final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord record) {
            logged.add(record);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void listen() {
        logger.addHandler(handler);
    }

    @AfterEach
    void stopListening() {
        logger.removeHandler(handler);
    }

    static AuthenticationExecutionModel execution(String authenticator, Requirement requirement, String configId) {
        AuthenticationExecutionModel e = new AuthenticationExecutionModel();
        e.setAuthenticator(authenticator);
        e.setRequirement(requirement);
        e.setAuthenticatorConfig(configId);
        return e;
    }

    static AuthenticatorConfigModel config(String alias, Map<String, String> values) {
        AuthenticatorConfigModel c = new AuthenticatorConfigModel();
        c.setAlias(alias);
        c.setConfig(values);
        return c;
    }

    /** A server with one realm, `acme`, whose one flow holds these executions. */
    static KeycloakSession server(List<AuthenticationExecutionModel> executions) {
        AuthenticationFlowModel flow = new AuthenticationFlowModel();
        flow.setId("flow-1");
        Map<String, AuthenticatorConfigModel> configs = Map.of(
                "bad", config("bad-config", Map.of(OtpSidecarConfig.PUBLIC_URL, "https://id.example.com/otp")),
                "good", config("good-config", OtpSidecarConfigTest.valid()));
        RealmModel realm = (RealmModel) Proxy.newProxyInstance(InvalidConfigReportTest.class.getClassLoader(),
                new Class<?>[] {RealmModel.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getName" -> "acme";
                    case "getAuthenticationFlowsStream" -> Stream.of(flow);
                    case "getAuthenticationExecutionsStream" -> "flow-1".equals(args[0])
                            ? executions.stream() : Stream.empty();
                    case "getAuthenticatorConfigById" -> configs.get((String) args[0]);
                    default -> SidecarUnavailableTest.defaultValue(method.getReturnType());
                });
        RealmProvider realms = (RealmProvider) Proxy.newProxyInstance(InvalidConfigReportTest.class.getClassLoader(),
                new Class<?>[] {RealmProvider.class}, (proxy, method, args) -> method.getName().equals("getRealmsStream")
                        ? Stream.of(realm) : SidecarUnavailableTest.defaultValue(method.getReturnType()));
        KeycloakTransactionManager transactions = SidecarUnavailableTest.stub(KeycloakTransactionManager.class, Map.of());
        return SidecarUnavailableTest.stub(KeycloakSession.class, Map.of("realms", realms,
                "getTransactionManager", transactions));
    }

    List<String> errors() {
        return logged.stream().filter(r -> r.getLevel().intValue() >= Level.SEVERE.intValue())
                .map(LogRecord::getMessage).toList();
    }

    @Test
    void everyEnabledInvalidExecutionIsReportedByRealmAndAlias() {
        OtpSidecarAuthenticatorFactory.reportInvalidConfigs(server(List.of(
                execution(OtpSidecarAuthenticatorFactory.PROVIDER_ID, Requirement.REQUIRED, "bad"),
                execution(OtpSidecarAuthenticatorFactory.PROVIDER_ID, Requirement.ALTERNATIVE, null),
                execution(OtpSidecarAuthenticatorFactory.PROVIDER_ID, Requirement.DISABLED, "bad"),
                execution(OtpSidecarAuthenticatorFactory.PROVIDER_ID, Requirement.REQUIRED, "good"),
                execution("auth-username-password-form", Requirement.REQUIRED, "bad"))));
        List<String> errors = errors();
        assertEquals(2, errors.size(), errors.toString());
        assertTrue(errors.get(0).startsWith("otp-sidecar: realm 'acme', config 'bad-config' is invalid"
                + " and the step will refuse logins: " + OtpSidecarConfig.JWKS_URL + ": missing"), errors.get(0));
        assertTrue(errors.get(1).startsWith("otp-sidecar: realm 'acme', config '(none)' is invalid"), errors.get(1));
    }

    /**
     * The report is registered to run after migration; running it needs the server's transaction (and CDI)
     * runtime, so here only: registered once, and not run on other events. The report itself is the test above.
     */
    @Test
    void theReportIsRegisteredForAfterMigration() {
        KeycloakSession session = server(List.of(
                execution(OtpSidecarAuthenticatorFactory.PROVIDER_ID, Requirement.REQUIRED, null)));
        List<ProviderEventListener> listeners = new ArrayList<>();
        KeycloakSessionFactory factory = (KeycloakSessionFactory) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {KeycloakSessionFactory.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "register" -> {
                        listeners.add((ProviderEventListener) args[0]);
                        yield null;
                    }
                    case "create" -> session;
                    default -> SidecarUnavailableTest.defaultValue(method.getReturnType());
                });
        new OtpSidecarAuthenticatorFactory().postInit(factory);
        assertEquals(1, listeners.size(), "one listener registered");
        listeners.get(0).onEvent(new ProviderEvent() {
        });
        assertTrue(errors().isEmpty(), "not on other events: " + errors());
    }

    @Test
    void theFactoryDescribesTheStep() {
        OtpSidecarAuthenticatorFactory f = new OtpSidecarAuthenticatorFactory();
        assertTrue(f.getHelpText().contains("one-time code"), f.getHelpText());
    }
}
