package dev.otpsidecar.keycloak;

import java.time.Clock;
import java.util.List;
import java.util.stream.IntStream;

import org.jboss.logging.Logger;
import org.keycloak.Config;
import org.keycloak.authentication.Authenticator;
import org.keycloak.authentication.AuthenticatorFactory;
import org.keycloak.models.AuthenticationExecutionModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.utils.KeycloakModelUtils;
import org.keycloak.models.utils.PostMigrationEvent;
import org.keycloak.provider.ProviderConfigProperty;
import org.keycloak.provider.ProviderConfigurationBuilder;

/**
 * Registers the otp-sidecar step. Keycloak 26.7 has no server-side validation hook for authenticator
 * configs, so the admin console is kept from producing bad values by what it does offer: URL fields are
 * marked required and every bounded number is a drop-down of in-range values. Configs that arrive
 * another way (realm import, REST) are checked at server start (logged, per key) and again at login,
 * where a bad one gives a clear page and an event, never a stack trace.
 */
public class OtpSidecarAuthenticatorFactory implements AuthenticatorFactory {

    public static final String PROVIDER_ID = "otp-sidecar";

    private static final Logger LOG = Logger.getLogger(OtpSidecarAuthenticatorFactory.class);

    private static final AuthenticationExecutionModel.Requirement[] REQUIREMENT_CHOICES = {
            AuthenticationExecutionModel.Requirement.REQUIRED,
            AuthenticationExecutionModel.Requirement.ALTERNATIVE,
            AuthenticationExecutionModel.Requirement.CONDITIONAL,
            AuthenticationExecutionModel.Requirement.DISABLED,
    };

    /** Offered choices for "remember this browser"; the parser accepts any whole number in the bounds. */
    static final List<String> REMEMBER_DAYS_OPTIONS = List.of("0", "1", "7", "14", "30", "60", "90");

    private static final List<ProviderConfigProperty> CONFIG_PROPERTIES = ProviderConfigurationBuilder.create()
            .property().name(OtpSidecarConfig.PUBLIC_URL)
            .label("Sidecar public URL")
            .helpText("Where browsers reach the sidecar; the request is posted to {this URL}/authorize. "
                    + "Must be https (http only for localhost, 127.0.0.0/8 or [::1]).")
            .type(ProviderConfigProperty.STRING_TYPE).required(true).add()
            .property().name(OtpSidecarConfig.JWKS_URL)
            .label("Sidecar JWKS URL")
            .helpText("Where Keycloak fetches the sidecar's public keys, usually an internal address, "
                    + "e.g. http://localhost:8081/.well-known/jwks.json in a pod. "
                    + "Must be https (http only for localhost, 127.0.0.0/8 or [::1]).")
            .type(ProviderConfigProperty.STRING_TYPE).required(true).add()
            .property().name(OtpSidecarConfig.ISSUER)
            .label("Sidecar issuer")
            .helpText("The 'iss' the sidecar puts into its assertions: its [server] public_url.")
            .type(ProviderConfigProperty.STRING_TYPE).required(true).add()
            .property().name(OtpSidecarConfig.AUDIENCE)
            .label("Audience")
            .helpText("The 'aud' of the request; must match the sidecar's expected audience.")
            .type(ProviderConfigProperty.STRING_TYPE).defaultValue(OtpSidecarConfig.DEFAULT_AUDIENCE).add()
            .property(numberList(OtpSidecarConfig.CODE_LENGTH_BOUNDS, "Code length",
                    "Digits in the emailed code."))
            .property(numberList(OtpSidecarConfig.TTL_BOUNDS, "Code lifetime (seconds)",
                    "How long a code stays valid."))
            .property(numberList(OtpSidecarConfig.MAX_ATTEMPTS_BOUNDS, "Max attempts",
                    "Wrong codes allowed per challenge before it locks; each locked challenge counts as a failed login."))
            .property(numberList(OtpSidecarConfig.RESEND_COOLDOWN_BOUNDS, "Resend cooldown (seconds)",
                    "Minimum time between two mails of the same challenge."))
            .property(numberList(OtpSidecarConfig.MAX_RESENDS_BOUNDS, "Max resends",
                    "New codes a user may request for one challenge."))
            .property().name(OtpSidecarConfig.REQUIRE_VERIFIED_EMAIL)
            .label("Require verified email")
            .helpText("Refuse users whose email address is not verified (recommended).")
            .type(ProviderConfigProperty.BOOLEAN_TYPE).defaultValue("true").add()
            .property(rememberDays())
            .build();

    private static ProviderConfigProperty rememberDays() {
        OtpSidecarConfig.Bounds bounds = OtpSidecarConfig.REMEMBER_DAYS_BOUNDS;
        ProviderConfigProperty property = new ProviderConfigProperty(bounds.key(), "Remember this browser (days)",
                "After a passed step, a browser skips it for this many days (a signed, HttpOnly cookie bound to "
                        + "realm and user; a credential change, a sign-out of the user by an admin or a brute-force "
                        + "lockout ends it). 0 = off. Allowed: " + bounds.min() + ".." + bounds.max() + ".",
                ProviderConfigProperty.LIST_TYPE, Integer.toString(bounds.defaultValue()));
        property.setOptions(REMEMBER_DAYS_OPTIONS);
        return property;
    }

    private static ProviderConfigProperty numberList(OtpSidecarConfig.Bounds bounds, String label, String help) {
        int step = bounds.max() - bounds.min() > 20 ? stepFor(bounds) : 1;
        List<String> options = IntStream.rangeClosed(bounds.min(), bounds.max())
                .filter(n -> n == bounds.min() || n == bounds.max() || n == bounds.defaultValue() || n % step == 0)
                .mapToObj(Integer::toString)
                .toList();
        ProviderConfigProperty property = new ProviderConfigProperty(bounds.key(), label,
                help + " Allowed: " + bounds.min() + ".." + bounds.max() + ".",
                ProviderConfigProperty.LIST_TYPE, Integer.toString(bounds.defaultValue()));
        property.setOptions(options);
        property.setRequired(true);
        return property;
    }

    /** Whole-minute steps for second counts, 15 s steps below a minute's range. */
    private static int stepFor(OtpSidecarConfig.Bounds bounds) {
        return bounds.min() >= 60 ? 60 : 15;
    }

    private final OtpSidecarAuthenticator authenticator = new OtpSidecarAuthenticator(Clock.systemUTC());

    @Override
    public String getId() {
        return PROVIDER_ID;
    }

    @Override
    public String getDisplayType() {
        return "Email code (otp-sidecar)";
    }

    @Override
    public String getHelpText() {
        return "Sends the user to the otp-sidecar service, which emails a one-time code; the step succeeds "
                + "when the sidecar's signed assertion comes back.";
    }

    /**
     * No category on purpose: Keycloak's brute-force protector ignores failures whose category is not
     * password/otp/recovery codes, and "otp" would make Keycloak treat this step as the TOTP credential.
     * Without a category, every failed step counts as a failed login.
     */
    @Override
    public String getReferenceCategory() {
        return null;
    }

    @Override
    public boolean isConfigurable() {
        return true;
    }

    @Override
    public AuthenticationExecutionModel.Requirement[] getRequirementChoices() {
        return REQUIREMENT_CHOICES.clone();
    }

    @Override
    public boolean isUserSetupAllowed() {
        return false;
    }

    @Override
    public List<ProviderConfigProperty> getConfigProperties() {
        return CONFIG_PROPERTIES;
    }

    @Override
    public Authenticator create(KeycloakSession session) {
        return authenticator;
    }

    @Override
    public void init(Config.Scope config) {
    }

    @Override
    public void postInit(KeycloakSessionFactory factory) {
        factory.register(event -> {
            if (event instanceof PostMigrationEvent) {
                KeycloakModelUtils.runJobInTransaction(factory, OtpSidecarAuthenticatorFactory::reportInvalidConfigs);
            }
        });
    }

    /** Logs every otp-sidecar execution whose config would be refused at login, naming realm, alias and keys. */
    static void reportInvalidConfigs(KeycloakSession session) {
        session.realms().getRealmsStream().forEach(realm -> realm.getAuthenticationFlowsStream()
                .flatMap(flow -> realm.getAuthenticationExecutionsStream(flow.getId()))
                .filter(execution -> PROVIDER_ID.equals(execution.getAuthenticator()))
                .filter(execution -> execution.getRequirement() != AuthenticationExecutionModel.Requirement.DISABLED)
                .forEach(execution -> {
                    var model = execution.getAuthenticatorConfig() == null ? null
                            : realm.getAuthenticatorConfigById(execution.getAuthenticatorConfig());
                    try {
                        OtpSidecarConfig.parse(model == null ? null : model.getConfig());
                    } catch (OtpSidecarConfig.InvalidConfigException e) {
                        LOG.errorf("otp-sidecar: realm '%s', config '%s' is invalid and the step will refuse logins: %s",
                                realm.getName(), model == null ? "(none)" : model.getAlias(), e.getMessage());
                    }
                }));
    }

    @Override
    public void close() {
    }
}
