package ai.eapo.node;

import ai.eapo.UserInputException;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * {@code ctl watch}: scrapes a node's {@code /metrics} every interval and prints its main numbers as one line of a
 * compact table, the same numbers Prometheus gets. Ends after the given number of lines, or when a node that
 * answered stops answering (the run is over).
 */
final class MetricsWatch {

    /** Column heading, series, label filter, scale, format; NaN prints as "-". */
    private record Column(String heading, String series, Map<String, String> labels, double scale, String format,
                          boolean sum) {
    }

    private static final double MB = 1e6;
    private static final List<Column> COLUMNS = List.of(
            new Column("step", "eapo_learner_step", Map.of(), 1, "%6.0f", false),
            new Column("version", "eapo_weight_version", Map.of(), 1, "%8.0f", false),
            new Column("tok/s", "eapo_tokens_per_second", Map.of(), 1, "%7.0f", false),
            new Column("stale", "eapo_staleness_mean", Map.of(), 1, "%6.2f", false),
            new Column("reward", "eapo_reward_mean", Map.of(), 1, "%7.3f", false),
            new Column("alpha", "eapo_experience_ratio", Map.of(), 1, "%6.3f", false),
            new Column("resampled", "eapo_resampled_ratio", Map.of(), 1, "%10.3f", false),
            new Column("busy L", "eapo_actor_busy_share", Map.of("kind", "learner"), 1, "%7.2f", false),
            new Column("busy S", "eapo_actor_busy_share", Map.of("kind", "sampler"), 1, "%7.2f", false),
            new Column("busy P", "eapo_actor_busy_share", Map.of("kind", "prior"), 1, "%7.2f", false),
            new Column("queue", "eapo_questions_waiting", Map.of(), 1, "%6.0f", false),
            new Column("unscored", "eapo_responses_awaiting_rewards", Map.of(), 1, "%9.0f", false),
            new Column("prior q", "eapo_prior_consultations_in_flight", Map.of(), 1, "%8.0f", false),
            new Column("rss MB", "eapo_resident_memory_bytes", Map.of(), MB, "%7.0f", false),
            new Column("heap MB", "jvm_memory_used_bytes", Map.of("area", "heap"), MB, "%8.0f", true),
            new Column("samplers", "eapo_cluster_members", Map.of("role", "sampler"), 1, "%9.0f", false));

    private final URI page;
    private final Duration every;
    private final Duration timeout;
    private final HttpClient http;

    MetricsWatch(URI page, Duration every, Duration timeout) {
        this.page = page;
        this.every = every;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
    }

    /** Prints {@code lines} lines (0 = until the node stops); the exit status, 0 (no answer at all throws). */
    int print(int lines, PrintStream out) throws InterruptedException {
        StringBuilder heading = new StringBuilder();
        for (Column c : COLUMNS) {
            heading.append(String.format("%" + width(c) + "s", c.heading()));
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        int printed = 0;
        while (lines == 0 || printed < lines) {
            PrometheusText metrics;
            try {
                metrics = PrometheusText.parse(scrape());
            } catch (IOException e) {
                if (printed > 0) {
                    out.println("the node stopped answering (" + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()) + "): the run is over");
                    return 0;
                } else if (System.nanoTime() > deadline) {
                    throw new UserInputException("ctl watch: no metrics at " + page + " within "
                            + timeout.toSeconds() + " s (" + e.getMessage() + ")");
                }
                Thread.sleep(every.toMillis());
                continue;
            }
            if (printed % 20 == 0) {
                out.println(heading);
            }
            out.println(line(metrics));
            out.flush();
            printed++;
            if (lines == 0 || printed < lines) {
                Thread.sleep(every.toMillis());
            }
        }
        return 0;
    }

    private String scrape() throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(page).timeout(timeout).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("HTTP " + response.statusCode());
        }
        return response.body();
    }

    static String line(PrometheusText metrics) {
        StringBuilder line = new StringBuilder();
        for (Column c : COLUMNS) {
            double v = c.sum()
                    ? metrics.sum(c.series(), c.labels()) : metrics.value(c.series(), c.labels());
            line.append(Double.isNaN(v) ? String.format("%" + width(c) + "s", "-")
                    : String.format(c.format(), v / c.scale()));
        }
        return line.toString();
    }

    private static int width(Column c) {
        return Integer.parseInt(c.format().substring(1, c.format().indexOf('.')));
    }
}
