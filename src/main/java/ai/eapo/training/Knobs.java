package ai.eapo.training;

import ai.eapo.UserInputException;
import ai.eapo.algorithm.ExperienceSchedule;
import ai.eapo.algorithm.HyperParameters;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The settings that can change while a run is going (spec SYSTEM.md, "Knobs"): τ, the annealing steps T,
 * α_0, the learning rate and the samplers' max staleness. The Learner holds the authoritative copy,
 * validates every change with {@link #with}, and publishes the result.
 *
 * @param tau entropy threshold τ ≥ 0 in nats, may be +∞
 * @param annealingSteps T ≥ 0
 * @param initialRatio α_0 in [0, 1]
 * @param learningRate AdamW learning rate > 0
 * @param maxStaleness how many weight versions a sampler may run ahead of the learner, ≥ 0
 */
public record Knobs(double tau, long annealingSteps, double initialRatio, double learningRate, int maxStaleness) {

    public static final String TAU = "tau";
    public static final String ANNEALING_STEPS = "annealing-steps";
    public static final String INITIAL_RATIO = "initial-ratio";
    public static final String LEARNING_RATE = "lr";
    public static final String MAX_STALENESS = "max-staleness";

    public Knobs {
        require(tau >= 0, TAU, tau, "must be >= 0 nats (inf never consults the prior)");
        require(annealingSteps >= 0, ANNEALING_STEPS, annealingSteps, "must be >= 0");
        require(initialRatio >= 0 && initialRatio <= 1, INITIAL_RATIO, initialRatio, "must be in [0, 1]");
        require(learningRate > 0 && Double.isFinite(learningRate), LEARNING_RATE, learningRate, "must be a finite number > 0");
        require(maxStaleness >= 0, MAX_STALENESS, maxStaleness, "must be >= 0");
    }

    /** The knobs a run starts with. */
    public static Knobs initial(HyperParameters hyper, int maxStaleness) {
        return new Knobs(hyper.criticalPoints().entropyThreshold(), hyper.schedule().annealSteps(),
                hyper.schedule().initialRatio(), hyper.optimizer().learningRate(), maxStaleness);
    }

    /**
     * These knobs with {@code changes} (name → value as typed, e.g. {@code tau=1.5}) applied; all or nothing.
     *
     * @throws UserInputException naming the knob and the value when a name is unknown or a value invalid
     */
    public Knobs with(Map<String, String> changes) {
        double newTau = tau;
        long newSteps = annealingSteps;
        double newRatio = initialRatio;
        double newRate = learningRate;
        int newStaleness = maxStaleness;
        for (Map.Entry<String, String> change : changes.entrySet()) {
            String value = change.getValue().strip();
            switch (change.getKey()) {
                case TAU -> newTau = HyperParameters.INFINITY.equals(value) ? Double.POSITIVE_INFINITY : number(TAU, value);
                case ANNEALING_STEPS -> newSteps = whole(ANNEALING_STEPS, value);
                case INITIAL_RATIO -> newRatio = number(INITIAL_RATIO, value);
                case LEARNING_RATE -> newRate = number(LEARNING_RATE, value);
                case MAX_STALENESS -> newStaleness = Math.toIntExact(whole(MAX_STALENESS, value));
                default -> throw new UserInputException("unknown knob '" + change.getKey() + "'; knobs are "
                        + String.join(", ", TAU, ANNEALING_STEPS, INITIAL_RATIO, LEARNING_RATE, MAX_STALENESS));
            }
        }
        return new Knobs(newTau, newSteps, newRatio, newRate, newStaleness);
    }

    /** The algorithm options with τ, T and α_0 taken from these knobs. */
    public HyperParameters applyTo(HyperParameters hyper) {
        return new HyperParameters(new ExperienceSchedule(initialRatio, annealingSteps, hyper.schedule().shape()),
                hyper.criticalPoints().withThreshold(tau), hyper.groupSize(), hyper.advantage(), hyper.loss(), hyper.optimizer(),
                hyper.strategies());
    }

    /** Name → value, in the spelling {@link #with} accepts. */
    public Map<String, String> asMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(TAU, Double.isInfinite(tau) ? HyperParameters.INFINITY : Double.toString(tau));
        m.put(ANNEALING_STEPS, Long.toString(annealingSteps));
        m.put(INITIAL_RATIO, Double.toString(initialRatio));
        m.put(LEARNING_RATE, Double.toString(learningRate));
        m.put(MAX_STALENESS, Integer.toString(maxStaleness));
        return m;
    }

    private static double number(String knob, String value) {
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new UserInputException("knob " + knob + " = '" + value + "': not a number");
        }
    }

    private static long whole(String knob, String value) {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new UserInputException("knob " + knob + " = '" + value + "': not a whole number");
        }
    }

    private static void require(boolean valid, String knob, Object value, String rule) {
        if (!valid) {
            throw new UserInputException("knob " + knob + " = " + value + ": " + rule);
        }
    }
}
