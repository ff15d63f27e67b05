package ai.eapo.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.eapo.UserInputException;
import ai.eapo.node.EapoNode;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;
import picocli.CommandLine;

/** The plots of a metrics.jsonl: three readable PNGs, gaps skipped, absent series left out, bad lines named. */
class MetricsPlotsTest {

    /** Luma variance of a blank (one-colour) image is 0; a chart with axes, text and lines is far above this. */
    static final double MIN_PIXEL_VARIANCE = 100.0;

    /** Six steps: ea_accuracy absent from every line, nulls in resampled_ratio, held-out accuracy on two lines. */
    static final List<String> METRICS = List.of(
            "{\"step\":0,\"reward_mean\":0.10,\"accuracy\":0.10,\"resampled_ratio\":0.40,\"alpha\":0.50,\"entropy_mean\":1.9,\"kl\":null,\"loss\":0.7,\"heldout_accuracy\":null}",
            "{\"step\":1,\"reward_mean\":0.20,\"accuracy\":0.15,\"resampled_ratio\":null,\"alpha\":0.45,\"entropy_mean\":1.7,\"kl\":0.01,\"loss\":0.6}",
            "{\"step\":2,\"reward_mean\":0.35,\"accuracy\":0.30,\"resampled_ratio\":0.30,\"alpha\":0.40,\"entropy_mean\":1.5,\"kl\":0.02,\"loss\":0.5,\"heldout_accuracy\":0.25}",
            "",
            "{\"step\":3,\"reward_mean\":0.40,\"accuracy\":0.40,\"resampled_ratio\":0.20,\"alpha\":0.35,\"entropy_mean\":1.4,\"kl\":0.03,\"loss\":0.4,\"heldout_accuracy\":null}",
            "{\"step\":4,\"reward_mean\":0.55,\"accuracy\":0.50,\"resampled_ratio\":null,\"alpha\":0.30,\"entropy_mean\":1.2,\"kl\":0.03,\"loss\":0.3}",
            "{\"step\":5,\"reward_mean\":0.60,\"accuracy\":0.55,\"resampled_ratio\":0.10,\"alpha\":0.25,\"entropy_mean\":1.1,\"kl\":0.04,\"loss\":0.2,\"heldout_accuracy\":0.50}");

    @TempDir
    Path dir;

    @Test
    void writesThreeNonBlankPngsOfTheConfiguredSize() throws Exception {
        Path metrics = write("metrics.jsonl", METRICS);
        Path out = dir.resolve("plots");

        List<Path> written = MetricsPlots.write(metrics, out);

        assertEquals(List.of(out.resolve("reward_accuracy.png"), out.resolve("resampled_ratio.png"), out.resolve("entropy.png")),
                written);
        for (Path png : written) {
            assertTrue(Files.isRegularFile(png), png + " missing");
            BufferedImage image = ImageIO.read(png.toFile());
            assertNotNull(image, png + " is not a decodable image");
            assertEquals(MetricsPlots.WIDTH, image.getWidth(), png.toString());
            assertEquals(MetricsPlots.HEIGHT, image.getHeight(), png.toString());
            double variance = lumaVariance(image);
            assertTrue(variance > MIN_PIXEL_VARIANCE, png + " looks blank: luma variance " + variance);
        }
    }

    @Test
    void nullsAreSkippedAndAnAbsentSeriesIsLeftOut() throws Exception {
        Map<String, XYChart> charts = MetricsPlots.charts(write("metrics.jsonl", METRICS));

        XYChart reward = charts.get("reward_accuracy.png");
        assertEquals(Set.of("reward_mean", "accuracy", "heldout_accuracy"), reward.getSeriesMap().keySet());
        assertArrayEquals(new double[] {0, 1, 2, 3, 4, 5}, reward.getSeriesMap().get("reward_mean").getXData());
        assertArrayEquals(new double[] {2, 5}, reward.getSeriesMap().get("heldout_accuracy").getXData());
        assertArrayEquals(new double[] {0.25, 0.50}, reward.getSeriesMap().get("heldout_accuracy").getYData());

        XYChart resampled = charts.get("resampled_ratio.png");
        assertEquals(Set.of("resampled_ratio", "alpha"), resampled.getSeriesMap().keySet());
        assertArrayEquals(new double[] {0, 2, 3, 5}, resampled.getSeriesMap().get("resampled_ratio").getXData());
        assertArrayEquals(new double[] {0.40, 0.30, 0.20, 0.10}, resampled.getSeriesMap().get("resampled_ratio").getYData());
    }

    @Test
    void aChartWithNoSeriesAtAllIsNotWritten() throws Exception {
        Path metrics = write("metrics.jsonl", List.of(
                "{\"step\":0,\"reward_mean\":0.1,\"resampled_ratio\":0.4,\"entropy_mean\":null}",
                "{\"step\":1,\"reward_mean\":0.2,\"resampled_ratio\":0.3}"));

        List<Path> written = MetricsPlots.write(metrics, dir);

        assertEquals(List.of(dir.resolve("reward_accuracy.png"), dir.resolve("resampled_ratio.png")), written);
        assertFalse(Files.exists(dir.resolve("entropy.png")));
    }

    @Test
    void badLinesAreReportedWithFileAndLineNumber() throws Exception {
        Path notJson = write("not-json.jsonl", List.of(METRICS.get(0), METRICS.get(1), "{\"step\":2, reward_mean"));
        assertMessage(notJson, "not-json.jsonl line 3");

        Path noStep = write("no-step.jsonl", List.of(METRICS.get(0), "{\"reward_mean\":0.3}"));
        assertMessage(noStep, "no-step.jsonl line 2");

        Path textStep = write("text-step.jsonl", List.of("{\"step\":\"one\",\"reward_mean\":0.3}"));
        assertMessage(textStep, "text-step.jsonl line 1");

        Path textValue = write("text-value.jsonl", List.of(METRICS.get(0), "{\"step\":1,\"alpha\":\"high\"}"));
        assertMessage(textValue, "text-value.jsonl line 2");

        Path nothingToPlot = write("steps-only.jsonl", List.of("{\"step\":0,\"loss\":0.5}", "{\"step\":1,\"alpha\":null}"));
        assertMessage(nothingToPlot, "steps-only.jsonl: none of");

        Path empty = write("empty.jsonl", List.of());
        assertMessage(empty, "empty");

        assertMessage(dir.resolve("missing.jsonl"), "missing.jsonl");
    }

    @Test
    void plotCommandWritesBesideTheMetricsAndPrintsTheFiles() throws Exception {
        Path metrics = write("run/metrics.jsonl", METRICS);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = EapoNode.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));

        assertEquals(0, cli.execute("plot", metrics.toString()), err.toString());
        Path runDir = metrics.toAbsolutePath().getParent();
        for (String name : List.of("reward_accuracy.png", "resampled_ratio.png", "entropy.png")) {
            assertTrue(Files.isRegularFile(runDir.resolve(name)), name);
            assertTrue(out.toString().contains(runDir.resolve(name).toString()), out.toString());
        }

        Path bad = write("bad.jsonl", List.of(METRICS.get(0), "oops"));
        assertEquals(2, cli.execute("plot", bad.toString(), "--out", dir.resolve("bad-plots").toString()));
        assertTrue(err.toString().contains("bad.jsonl line 2"), err.toString());
    }

    private Path write(String name, List<String> lines) throws Exception {
        Path file = dir.resolve(name);
        Files.createDirectories(file.getParent());
        return Files.write(file, lines);
    }

    private static void assertMessage(Path metrics, String expected) {
        UserInputException e = assertThrows(UserInputException.class, () -> MetricsPlots.write(metrics, metrics.resolveSibling("plots")));
        assertTrue(e.getMessage().contains(expected), "expected \"" + expected + "\" in: " + e.getMessage());
    }

    private static double lumaVariance(BufferedImage image) {
        double sum = 0;
        double sumSquares = 0;
        long n = (long) image.getWidth() * image.getHeight();
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y);
                double luma = 0.299 * ((rgb >> 16) & 0xff) + 0.587 * ((rgb >> 8) & 0xff) + 0.114 * (rgb & 0xff);
                sum += luma;
                sumSquares += luma * luma;
            }
        }
        double mean = sum / n;
        return sumSquares / n - mean * mean;
    }
}
