package ai.eapo.algorithm;

/** Validation of option values with messages that name the configuration key and the bad value. */
final class OptionCheck {

    private OptionCheck() {
    }

    /** @throws IllegalArgumentException "{key} = {value}: {rule}" unless {@code valid} */
    static void require(boolean valid, String key, Object value, String rule) {
        if (!valid) {
            throw new IllegalArgumentException(key + " = " + value + ": " + rule);
        }
    }

    /** @throws IllegalArgumentException when {@code value} is null */
    static void requirePresent(Object value, String key) {
        require(value != null, key, null, "must be set");
    }
}
