package ai.eapo.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

class VerifierOptionsTest {

    @Test
    void shippedConfigurationEqualsDefaults() {
        assertEquals(VerifierOptions.defaults(), VerifierOptions.fromConfig(ConfigFactory.load()));
    }

    @Test
    void configurationOverridesDefaults() {
        VerifierOptions o = VerifierOptions.fromConfig(ConfigFactory.parseString(
                "eapo.verifier { timeout-ms = 50, relative-tolerance = 1e-6, fallback-to-last-number = false }"));
        assertEquals(50, o.timeoutMillis());
        assertEquals(1e-6, o.relativeTolerance());
        assertEquals(false, o.fallbackToLastNumber());
        assertEquals(VerifierOptions.defaults().maxAnswerChars(), o.maxAnswerChars());
    }
}
