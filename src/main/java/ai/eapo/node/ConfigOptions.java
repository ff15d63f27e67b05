package ai.eapo.node;

import ai.eapo.UserInputException;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Where a command's settings come from: conf/application.conf, then {@code --config FILE}, then
 * {@code --set KEY=VALUE}, then the command's own flags. A picocli mixin of {@code train} and {@code eval}.
 */
final class ConfigOptions {

    /** Size above which a written checkpoint is split into safetensors shards. */
    static final String MAX_SHARD_BYTES = "eapo.model.max-shard-bytes";
    /** Keys that moved: old name to new name. A config that still sets an old one is refused with the new name. */
    static final Map<String, String> RENAMED = Map.of("eapo.model.init.max-shard-bytes", MAX_SHARD_BYTES);

    @Option(names = "--config", description = "HOCON file overriding conf/application.conf.")
    Path file;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Any key of conf/application.conf, over "
            + "--config; repeatable (e.g. --set eapo.algorithm.exgrpo.enabled=true).")
    List<String> settings = List.of();

    /** The command's {@code flags} over these options over conf/application.conf, resolved. */
    Config load(Map<String, Object> flags) {
        return load(flags, settings, file);
    }

    /**
     * {@code flags} over {@code settings} ({@code KEY=VALUE}, HOCON values) over {@code configFile} (may be null)
     * over conf/application.conf, resolved.
     */
    static Config load(Map<String, Object> flags, List<String> settings, Path configFile) {
        Config file = ConfigFactory.empty();
        if (configFile != null) {
            if (!Files.isRegularFile(configFile)) {
                throw new UserInputException("config file " + configFile + " does not exist");
            }
            try {
                file = ConfigFactory.parseFile(configFile.toFile());
            } catch (ConfigException e) {
                throw new UserInputException("config file " + configFile + ": " + e.getMessage());
            }
        }
        try {
            return refuseRenamedKeys(ConfigFactory.load(ConfigFactory.parseMap(flags).withFallback(parseSettings(settings))
                    .withFallback(file).withFallback(ConfigFactory.defaultApplication())));
        } catch (ConfigException e) {
            throw new UserInputException(e.getMessage());
        }
    }

    /** {@code config} itself, unless it sets a key that has moved ({@link #RENAMED}): then an error naming the new key. */
    static Config refuseRenamedKeys(Config config) {
        RENAMED.forEach((old, now) -> {
            if (config.hasPathOrNull(old)) {
                throw new UserInputException(old + " has moved: set " + now + " instead");
            }
        });
        return config;
    }

    /**
     * The {@code --set KEY=VALUE} entries as one config. A key must exist in conf/application.conf (or in a
     * library's reference.conf, for pekko keys), so a misspelt one is refused instead of silently ignored.
     */
    private static Config parseSettings(List<String> settings) {
        Config known = ConfigFactory.load();
        Config out = ConfigFactory.empty();
        for (String setting : settings) {
            int eq = setting.indexOf('=');
            String key = eq < 0 ? "" : setting.substring(0, eq).trim();
            if (key.isEmpty()) {
                throw new UserInputException("--set " + setting + ": expected KEY=VALUE");
            }
            Config parsed;
            try {
                parsed = ConfigFactory.parseString(setting);
            } catch (ConfigException e) {
                throw new UserInputException("--set " + setting + ": " + e.getMessage());
            }
            boolean isKey;
            try {
                isKey = known.hasPathOrNull(key);
            } catch (ConfigException e) {
                throw new UserInputException("--set " + setting + ": " + key + " is not a key (" + e.getMessage() + ")");
            }
            if (RENAMED.containsKey(key)) {
                throw new UserInputException("--set " + setting + ": " + key + " has moved: set " + RENAMED.get(key)
                        + " instead");
            }
            if (!isKey) {
                throw new UserInputException("--set " + setting + ": no such key " + key
                        + " in conf/application.conf");
            }
            out = parsed.withFallback(out);
        }
        return out;
    }

    /** Sets {@code key} to a flag's value when the flag was given. */
    static void put(Map<String, Object> flags, String key, Object value) {
        if (value != null) {
            flags.put(key, value instanceof Path p ? p.toString() : value);
        }
    }
}
