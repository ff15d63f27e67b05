package ai.eapo.algorithm;

/** How the experience ratio decays over the annealing period, as a function s(x) of progress x = k / T. */
public enum ScheduleShape implements NamedOption {
    /** s(x) = 1 − x, clamped at 0. */
    LINEAR("linear") {
        @Override
        double factor(double progress) {
            return Math.max(0.0, 1.0 - progress);
        }
    },
    /** s(x) = ½(1 + cos πx) for x &lt; 1, else 0. */
    COSINE("cosine") {
        @Override
        double factor(double progress) {
            return progress < 1.0 ? 0.5 * (1.0 + Math.cos(Math.PI * progress)) : 0.0;
        }
    },
    /** s(x) = 1: the ratio never anneals, whatever T is. */
    CONSTANT("constant") {
        @Override
        double factor(double progress) {
            return 1.0;
        }
    };

    private final String configName;

    ScheduleShape(String configName) {
        this.configName = configName;
    }

    /** s(progress) for progress ≥ 0; progress may be +∞ (annealing already complete). */
    abstract double factor(double progress);

    @Override
    public String configName() {
        return configName;
    }
}
