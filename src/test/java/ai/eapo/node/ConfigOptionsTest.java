package ai.eapo.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.eapo.UserInputException;
import com.typesafe.config.Config;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Flags over --set over --config over conf/application.conf; a --set key must exist. */
class ConfigOptionsTest {

    static final String RATIO = "eapo.algorithm.exgrpo.ratio";
    static final String ENABLED = "eapo.algorithm.exgrpo.enabled";

    @Test
    void eachLayerOverridesTheOneBelow(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("run.conf");
        Files.writeString(file, RATIO + " = 0.25\neapo.train.seed = 3\n");
        Config fromFile = ConfigOptions.load(Map.of(), List.of(), file);
        assertEquals(0.25, fromFile.getDouble(RATIO));
        assertEquals(false, fromFile.getBoolean(ENABLED), "the default stays");

        Config withSet = ConfigOptions.load(Map.of(), List.of(ENABLED + "=true", RATIO + " = 0.75", "eapo.train.seed=4",
                "eapo.train.seed=5"), file);
        assertEquals(true, withSet.getBoolean(ENABLED));
        assertEquals(0.75, withSet.getDouble(RATIO), "--set over --config");
        assertEquals(5, withSet.getInt("eapo.train.seed"), "a later --set wins");

        Config withFlag = ConfigOptions.load(Map.of("eapo.train.seed", 9), List.of("eapo.train.seed=5"), file);
        assertEquals(9, withFlag.getInt("eapo.train.seed"), "flags over --set");
    }

    @Test
    void aMisspeltOrMalformedSettingIsRefusedWithItsText() {
        UserInputException unknown = assertThrows(UserInputException.class,
                () -> ConfigOptions.load(Map.of(), List.of("eapo.algorithm.exgrpo.enable=true"), null));
        assertTrue(unknown.getMessage().contains("--set eapo.algorithm.exgrpo.enable=true: no such key "
                + "eapo.algorithm.exgrpo.enable"), unknown.getMessage());
        UserInputException noValue = assertThrows(UserInputException.class,
                () -> ConfigOptions.load(Map.of(), List.of("eapo.train.seed"), null));
        assertTrue(noValue.getMessage().contains("--set eapo.train.seed: expected KEY=VALUE"), noValue.getMessage());
        UserInputException badValue = assertThrows(UserInputException.class,
                () -> ConfigOptions.load(Map.of(), List.of("eapo.train.seed={"), null));
        assertTrue(badValue.getMessage().startsWith("--set eapo.train.seed={: "), badValue.getMessage());
    }

    @Test
    void aMovedKeyIsRefusedWithItsNewName(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("old.conf");
        Files.writeString(file, "eapo.model.init.max-shard-bytes = 1GiB\n");
        UserInputException fromFile = assertThrows(UserInputException.class,
                () -> ConfigOptions.load(Map.of(), List.of(), file));
        assertTrue(fromFile.getMessage().contains("eapo.model.init.max-shard-bytes has moved: set "
                + "eapo.model.max-shard-bytes instead"), fromFile.getMessage());
        UserInputException fromSet = assertThrows(UserInputException.class,
                () -> ConfigOptions.load(Map.of(), List.of("eapo.model.init.max-shard-bytes=1GiB"), null));
        assertTrue(fromSet.getMessage().contains("--set eapo.model.init.max-shard-bytes=1GiB: "
                + "eapo.model.init.max-shard-bytes has moved: set eapo.model.max-shard-bytes instead"), fromSet.getMessage());
        assertEquals(1L << 30, ConfigOptions.load(Map.of(), List.of("eapo.model.max-shard-bytes=1GiB"), null)
                .getBytes(ConfigOptions.MAX_SHARD_BYTES));
    }
}
