package dev.otpsidecar.keycloak;

import org.keycloak.events.Errors;

/**
 * How a finished but unsuccessful challenge is reported: the Keycloak event error, the `reason` detail,
 * and the message of the page. Every one of them counts as a failed login for brute-force detection.
 */
public enum StepFailure {
    LOCKED(Errors.INVALID_USER_CREDENTIALS, "locked", "otpSidecarErrorLocked"),
    EXPIRED(Errors.EXPIRED_CODE, "expired", "otpSidecarErrorExpired"),
    // Counted too: otherwise "guess until one try is left, cancel, start over" would never lock.
    CANCELLED(Errors.INVALID_USER_CREDENTIALS, "cancelled", "otpSidecarErrorCancelled"),
    /** The assertion itself was refused (see {@link AssertionVerifier.Reason} for the specific reason). */
    INVALID_ASSERTION(Errors.INVALID_TOKEN, null, "otpSidecarErrorInvalid");

    private final String eventError;
    private final String reason;
    private final String messageKey;

    StepFailure(String eventError, String reason, String messageKey) {
        this.eventError = eventError;
        this.reason = reason;
        this.messageKey = messageKey;
    }

    /** The failure for a verified result; null for success. */
    public static StepFailure of(AssertionVerifier.Result result) {
        return switch (result) {
            case SUCCESS -> null;
            case LOCKED -> LOCKED;
            case EXPIRED -> EXPIRED;
            case CANCELLED -> CANCELLED;
        };
    }

    public String eventError() {
        return eventError;
    }

    /** The event's `reason` detail; for INVALID_ASSERTION the verifier's reason code is used instead. */
    public String reason() {
        return reason;
    }

    public String messageKey() {
        return messageKey;
    }
}
