package ai.eapo.model;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * What libtorch's OpenMP worker threads (libgomp) do between parallel regions: spin (libgomp's default, the
 * fastest for one role alone on its cores) or sleep. In a process where several roles compute at once (the
 * learner, samplers and the prior of the one-machine pipeline), the spinning workers of one role hold the cores
 * the others need: {@code bench pipeline} on 2 cores ran an EAPO step in 1.04–1.07× GRPO's time with sleeping
 * workers against 1.14–1.22× spinning, and the asynchronous run 1.07–1.18× faster; a decode alone ran 1.3× slower.
 *
 * <p>libgomp reads {@code OMP_WAIT_POLICY} from the environment once, when the engine loads it, so {@link #apply}
 * sets it in this process's environment before then and says when it is too late. A policy in the environment
 * when the process started is the user's and stays.
 */
public final class OpenMpWaitPolicy {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(OpenMpWaitPolicy.class);
    static final String VARIABLE = "OMP_WAIT_POLICY";
    private static final Path MAPS = Path.of("/proc/self/maps");
    /** The policy {@link #apply} set in this process (System.getenv does not see it), or null. */
    private static volatile String applied;

    /** {@code eapo.node.openmp-wait-policy}. */
    public enum Setting {
        /** Passive where the process runs more than one computing role, else libgomp's default. */
        AUTO,
        ACTIVE,
        PASSIVE;

        public static Setting parse(String value, String key) {
            try {
                return valueOf(value.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(key + " must be auto, active or passive, got \"" + value + "\"");
            }
        }

        /** The policy to set for a process running {@code computingRoles} roles that compute; null: leave libgomp's default. */
        public String policyFor(int computingRoles) {
            return switch (this) {
                case ACTIVE -> "ACTIVE";
                case PASSIVE -> "PASSIVE";
                case AUTO -> computingRoles > 1 ? "PASSIVE" : null;
            };
        }
    }

    /** How {@link #apply} went. */
    public enum Outcome { SET, KEPT_FROM_ENVIRONMENT, TOO_LATE, UNSUPPORTED, NOTHING_TO_DO }

    private OpenMpWaitPolicy() {
    }

    /** Sets {@code policy} (null: nothing) for libgomp if it is not loaded yet and the environment names none. */
    public static Outcome apply(String policy) {
        if (policy == null || policy.equals(applied)) {
            return Outcome.NOTHING_TO_DO;
        }
        String given = System.getenv(VARIABLE); // the environment the process started with
        if (given != null) {
            LOG.info("{}={} from the environment is kept (this node's setting would be {})", VARIABLE, given, policy);
            return Outcome.KEPT_FROM_ENVIRONMENT;
        }
        if (openMpLoaded()) {
            LOG.warn("{} not set to {}: the OpenMP runtime is already loaded and has read its settings", VARIABLE, policy);
            return Outcome.TOO_LATE;
        }
        Function setenv = libcSetenv();
        if (setenv == null || setenv.invokeInt(new Object[]{VARIABLE, policy, 0}) != 0) {
            LOG.info("{} not set: no setenv in this C library", VARIABLE);
            return Outcome.UNSUPPORTED;
        }
        applied = policy;
        LOG.info("{}={} for libtorch's OpenMP threads (eapo.node.openmp-wait-policy)", VARIABLE, policy);
        return Outcome.SET;
    }

    /** Whether libgomp is mapped into this process (it then read its environment when it was loaded). */
    static boolean openMpLoaded() {
        try {
            return Files.readString(MAPS).contains("libgomp");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static Function libcSetenv() {
        try {
            return NativeLibrary.getInstance("c").getFunction("setenv");
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return null;
        }
    }
}
