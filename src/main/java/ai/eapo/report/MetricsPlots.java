package ai.eapo.report;

import ai.eapo.UserInputException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * PNG plots of a training run's {@code metrics.jsonl}, so a run can be judged at a glance (does reward rise, does
 * the share of prior experience anneal, does entropy collapse) without a notebook. Three charts against
 * {@code step}: {@code reward_accuracy.png} (held-out accuracy as markers, since only evaluation steps have it),
 * {@code resampled_ratio.png} and {@code entropy.png}. Null or missing values are skipped rather than drawn as 0;
 * a series with no value on any line is left out, and a chart with no series at all is not written (a file with
 * nothing to plot is an error). Rendering is headless, so it runs on training nodes without a display.
 */
public final class MetricsPlots {

    static final int WIDTH = 900;
    static final int HEIGHT = 540;
    static final String STEP = "step";
    /** XChart's default pattern prints 0.05 as ".05". */
    static final String Y_AXIS_DECIMALS = "0.###";

    /** One chart: its file, its title and y axis, the keys drawn as lines and the keys drawn as markers only. */
    record Chart(String fileName, String title, String yTitle, List<String> lines, List<String> markers) {
    }

    static final List<Chart> CHARTS = List.of(
            new Chart("reward_accuracy.png", "Reward and accuracy", "value",
                    List.of("reward_mean", "accuracy", "ea_accuracy", "policy_accuracy"), List.of("heldout_accuracy")),
            new Chart("resampled_ratio.png", "Experience: resampled ratio and alpha", "ratio",
                    List.of("resampled_ratio", "alpha"), List.of()),
            new Chart("entropy.png", "Policy entropy", "entropy (nats)",
                    List.of("entropy_mean"), List.of()));

    /** A metrics line that parsed: its 1-based number in the file, its step and the whole object. */
    private record Row(int number, double step, JsonNode values) {
    }

    static {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    private MetricsPlots() {
    }

    /**
     * Writes the charts of {@code metricsJsonl} into {@code outDir} (created if missing) and returns the files
     * written. Throws {@link UserInputException} for a missing or empty file, a file with nothing to plot, or a line
     * that is not a JSON object with a numeric {@code step} or holds a non-numeric value for a plotted key.
     */
    public static List<Path> write(Path metricsJsonl, Path outDir) {
        Map<String, XYChart> charts = charts(metricsJsonl);
        List<Path> written = new ArrayList<>();
        try {
            Files.createDirectories(outDir);
            for (Map.Entry<String, XYChart> chart : charts.entrySet()) {
                Path file = outDir.resolve(chart.getKey());
                BitmapEncoder.saveBitmap(chart.getValue(), file.toString(), BitmapEncoder.BitmapFormat.PNG);
                written.add(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing plots to " + outDir, e);
        }
        return written;
    }

    /** The charts of {@code metricsJsonl} by file name, in {@link #CHARTS} order, leaving out those with no series. */
    static Map<String, XYChart> charts(Path metricsJsonl) {
        List<Row> rows = read(metricsJsonl);
        Map<String, XYChart> charts = new LinkedHashMap<>();
        for (Chart chart : CHARTS) {
            XYChart xy = render(chart, rows, metricsJsonl);
            if (!xy.getSeriesMap().isEmpty()) {
                charts.put(chart.fileName(), xy);
            }
        }
        if (charts.isEmpty()) {
            List<String> keys = CHARTS.stream().flatMap(c -> Stream.concat(c.lines().stream(), c.markers().stream())).toList();
            throw new UserInputException(metricsJsonl + ": none of " + keys + " has a value on any line");
        }
        return charts;
    }

    private static List<Row> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new UserInputException(file + ": no such metrics file");
        } catch (IOException e) {
            throw new UserInputException(file + ": cannot read: " + e.getMessage(), e);
        }
        ObjectMapper json = new ObjectMapper();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            String where = file + " line " + (i + 1);
            JsonNode node;
            try {
                node = json.readTree(line);
            } catch (JsonProcessingException e) {
                throw new UserInputException(where + ": not JSON: " + e.getOriginalMessage(), e);
            }
            if (node == null || !node.isObject()) {
                throw new UserInputException(where + ": not a JSON object");
            }
            JsonNode step = node.get(STEP);
            if (step == null || !step.isNumber()) {
                throw new UserInputException(where + ": no numeric \"" + STEP + "\" (found " + step + ")");
            }
            rows.add(new Row(i + 1, step.asDouble(), node));
        }
        if (rows.isEmpty()) {
            throw new UserInputException(file + ": no metrics lines (the file is empty)");
        }
        return rows;
    }

    private static XYChart render(Chart chart, List<Row> rows, Path file) {
        XYChart xy = new XYChartBuilder().width(WIDTH).height(HEIGHT)
                .title(chart.title()).xAxisTitle(STEP).yAxisTitle(chart.yTitle()).build();
        xy.getStyler().setYAxisDecimalPattern(Y_AXIS_DECIMALS);
        for (String key : chart.lines()) {
            addSeries(xy, key, rows, file, false);
        }
        for (String key : chart.markers()) {
            addSeries(xy, key, rows, file, true);
        }
        return xy;
    }

    /** Adds the series of {@code key}, skipping lines where it is null or missing; nothing if it is never present. */
    private static void addSeries(XYChart xy, String key, List<Row> rows, Path file, boolean markersOnly) {
        List<Double> steps = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        for (Row row : rows) {
            JsonNode value = row.values().get(key);
            if (value == null || value.isNull()) {
                continue;
            }
            if (!value.isNumber()) {
                throw new UserInputException(file + " line " + row.number() + ": \"" + key + "\" is not a number: " + value);
            }
            steps.add(row.step());
            values.add(value.asDouble());
        }
        if (steps.isEmpty()) {
            return;
        }
        XYSeries series = xy.addSeries(key, steps, values);
        if (markersOnly) {
            series.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        } else if (steps.size() > 1) {
            series.setMarker(SeriesMarkers.NONE);
        } // a lone point keeps its marker: a line through one point would be invisible
    }
}
