package ai.eapo.algorithm;

import java.util.Arrays;
import java.util.stream.Collectors;

/** An option whose values are spelled in configuration by fixed names (e.g. {@code token-mean}). */
public interface NamedOption {

    /** The name used for this value in configuration and metrics. */
    String configName();

    /**
     * Reads an option value by its configuration name.
     *
     * @throws IllegalArgumentException naming the key, the value and the accepted names
     */
    static <E extends Enum<E> & NamedOption> E parse(Class<E> type, String key, String name) {
        for (E value : type.getEnumConstants()) {
            if (value.configName().equals(name)) {
                return value;
            }
        }
        String accepted = Arrays.stream(type.getEnumConstants())
                .map(NamedOption::configName)
                .collect(Collectors.joining(" | "));
        throw new IllegalArgumentException(key + " = " + name + ": must be one of " + accepted);
    }
}
