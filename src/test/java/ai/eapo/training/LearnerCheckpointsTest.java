package ai.eapo.training;

import ai.djl.Device;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.eapo.UserInputException;
import ai.eapo.algorithm.HyperParameters;
import ai.eapo.algorithm.StepPlanner;
import ai.eapo.model.Checkpoint;
import ai.eapo.model.LoraAdapters;
import ai.eapo.model.LoraConfig;
import ai.eapo.model.Generator;
import ai.eapo.model.PolicyModel;
import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A learner restored from its newest complete checkpoint goes on exactly as if it had never stopped. */
class LearnerCheckpointsTest {

    static final Path BASE = Path.of("models/tiny-base");
    static final com.typesafe.config.Config HYPER_CONFIG = ConfigFactory.parseString(
            "eapo.algorithm { experience.initial-ratio = 0, optimizer.lr = 1e-3, group-size = 4 }")
            .withFallback(ConfigFactory.load());
    static final HyperParameters HYPER = HyperParameters.fromConfig(HYPER_CONFIG);
    static final MicroBatching MICRO_BATCH = MicroBatching.ofResponses(4);
    /** Optimizer steps before the checkpoint: more than one, so that the moments and the bias correction matter. */
    static final int STEPS_BEFORE_SAVE = 3;
    static final long ONE_SHARD = Long.MAX_VALUE;
    static final DoubleSupplier WALL_SECONDS = () -> 1.0;
    static final int QUESTIONS = 2;
    static final int RESPONSES = 4;
    static final int PROMPT_TOKENS = 5;
    static final int RESPONSE_TOKENS = 6;

    @TempDir
    Path run;

    static PolicyModel base() {
        return Checkpoint.load(BASE, Device.cpu());
    }

    static LearnerStep learner(PolicyModel policy) {
        return new LearnerStep(policy, HYPER, Knobs.initial(HYPER, 0), MICRO_BATCH, 1f);
    }

    /** Step {@code step}'s batch: fixed random tokens, rewards that differ within each group, a real gradient. */
    static List<ScoredGroup> groups(long step) {
        Random r = new Random(step);
        int vocab = 128;
        List<ScoredGroup> out = new ArrayList<>();
        for (int q = 0; q < QUESTIONS; q++) {
            long[] prompt = r.longs(PROMPT_TOKENS, 1, vocab).toArray();
            List<Generator.Completion> responses = new ArrayList<>();
            double[] rewards = new double[RESPONSES];
            for (int j = 0; j < RESPONSES; j++) {
                float[] logProbs = new float[RESPONSE_TOKENS];
                Arrays.fill(logProbs, -4f - r.nextFloat());
                responses.add(new Generator.Completion(j, r.longs(RESPONSE_TOKENS, 1, vocab).toArray(), logProbs,
                        logProbs.clone(), keptAll(), new float[RESPONSE_TOKENS], new boolean[RESPONSE_TOKENS],
                        new long[RESPONSE_TOKENS], true, false));
                rewards[j] = j % 2;
            }
            out.add(ScoredGroup.of(step, q, q, prompt, responses, rewards, HYPER.advantage()));
        }
        return out;
    }

    static List<float[]> weights(PolicyModel policy) {
        return policy.parameters().values().stream().map(NDArray::toFloatArray).toList();
    }

    static boolean sameBits(List<float[]> a, List<float[]> b) {
        for (int i = 0; i < a.size(); i++) {
            if (!Arrays.equals(a.get(i), b.get(i))) {
                return false;
            }
        }
        return true;
    }

    /** Trains {@link #STEPS_BEFORE_SAVE} steps from the base, saves, and returns the weights after one more step. */
    List<float[]> trainSaveAndStepOnce(LearnerCheckpoints checkpoints) {
        try (PolicyModel policy = base(); LearnerStep learner = learner(policy)) {
            for (int step = 0; step < STEPS_BEFORE_SAVE; step++) {
                learner.apply(step, groups(step), WALL_SECONDS);
            }
            assertEquals(STEPS_BEFORE_SAVE, learner.optimizer().steps(), "no step may be skipped");
            checkpoints.save(STEPS_BEFORE_SAVE, policy, learner, BASE, ONE_SHARD);
            learner.apply(STEPS_BEFORE_SAVE, groups(STEPS_BEFORE_SAVE), WALL_SECONDS);
            return weights(policy);
        }
    }

    @Test
    void aRestoredLearnerTakesBitForBitTheStepTheOriginalTook() {
        LearnerCheckpoints checkpoints = new LearnerCheckpoints(run, 2);
        List<float[]> uninterrupted = trainSaveAndStepOnce(checkpoints);

        try (PolicyModel policy = base(); LearnerStep learner = learner(policy)) {
            BaseNDManager owner = (BaseNDManager) policy.parameters().values().iterator().next().getManager();
            int arrays = owner.getManagedArrays().size();
            assertEquals(STEPS_BEFORE_SAVE, checkpoints.restore(policy, learner));
            assertEquals(arrays, owner.getManagedArrays().size(), "restoring leaves no arrays behind");
            assertEquals(STEPS_BEFORE_SAVE, learner.optimizer().steps());
            learner.apply(STEPS_BEFORE_SAVE, groups(STEPS_BEFORE_SAVE), WALL_SECONDS);
            assertTrue(sameBits(uninterrupted, weights(policy)), "the resumed step differs from the uninterrupted one");
        }

        // The comparison can fail: the saved weights with a fresh optimizer take another step ...
        try (PolicyModel policy = Checkpoint.load(checkpoints.latest().orElseThrow(), Device.cpu());
             LearnerStep learner = learner(policy)) {
            learner.apply(STEPS_BEFORE_SAVE, groups(STEPS_BEFORE_SAVE), WALL_SECONDS);
            assertFalse(sameBits(uninterrupted, weights(policy)), "the moments make no difference?");
        }
        // ... and so do the saved moments with the step count (bias correction) of a fresh optimizer.
        try (PolicyModel policy = base(); LearnerStep learner = learner(policy)) {
            checkpoints.restore(policy, learner);
            AdamW optimizer = learner.optimizer();
            optimizer.restoreState(optimizer.firstMoments(), optimizer.secondMoments(), 0);
            learner.apply(STEPS_BEFORE_SAVE, groups(STEPS_BEFORE_SAVE), WALL_SECONDS);
            assertFalse(sameBits(uninterrupted, weights(policy)), "the step count makes no difference?");
        }
    }

    @Test
    void anAdapterLearnerSavesPeftAdaptersAndResumesBitForBit() {
        LoraConfig lora = new LoraConfig(4, 8, 0, List.of("q_proj", "v_proj", "down_proj"));
        LearnerCheckpoints checkpoints = new LearnerCheckpoints(run, 1);
        List<float[]> uninterrupted;
        try (PolicyModel frozen = base(); PolicyModel policy = frozen.withLora(lora, 7); LearnerStep learner = learner(policy)) {
            for (int step = 0; step < STEPS_BEFORE_SAVE; step++) {
                learner.apply(step, groups(step), WALL_SECONDS);
            }
            checkpoints.save(STEPS_BEFORE_SAVE, policy, learner, BASE, ONE_SHARD);
            learner.apply(STEPS_BEFORE_SAVE, groups(STEPS_BEFORE_SAVE), WALL_SECONDS);
            uninterrupted = weights(policy);
        }
        Path saved = checkpoints.latest().orElseThrow();
        assertTrue(LoraAdapters.isAdapter(saved), "a PEFT adapter directory");
        assertFalse(Files.exists(saved.resolve("model.safetensors")), "the frozen base is not saved again");
        try (PolicyModel frozen = base(); PolicyModel policy = frozen.withLora(lora, 99); LearnerStep learner = learner(policy)) {
            assertEquals(STEPS_BEFORE_SAVE, checkpoints.restore(policy, learner));
            learner.apply(STEPS_BEFORE_SAVE, groups(STEPS_BEFORE_SAVE), WALL_SECONDS);
            assertTrue(sameBits(uninterrupted, weights(policy)), "the resumed adapters' step differs");
        }
        try (PolicyModel loaded = Checkpoint.load(saved, Device.cpu())) {
            assertEquals(lora, loaded.lora(), "loads on the base its adapter_config.json names");
        }
    }

    @Test
    void theExGrpoReplayBufferAndItsDelayedStartSurviveARestart() throws IOException {
        HyperParameters exgrpo = HyperParameters.fromConfig(ConfigFactory.parseString(
                "eapo.algorithm.exgrpo { enabled = true, start-accuracy = 0.25 }").withFallback(HYPER_CONFIG));
        LearnerCheckpoints checkpoints = new LearnerCheckpoints(run, 1);
        ExperienceReplay.Stats saved;
        java.util.SortedMap<Integer, Double> candidates;
        try (PolicyModel policy = base();
             LearnerStep learner = new LearnerStep(policy, exgrpo, Knobs.initial(exgrpo, 0), MICRO_BATCH, 1f)) {
            // Half of each group correct: Pass@1 0.5 > 0.25 starts replay; two correct per question are stored.
            learner.apply(0, groups(0), WALL_SECONDS);
            saved = learner.replay().stats();
            candidates = learner.replay().candidates();
            checkpoints.save(1, policy, learner, BASE, ONE_SHARD);
        }
        assertTrue(saved.active());
        assertEquals(QUESTIONS, saved.questions());
        assertEquals(QUESTIONS * RESPONSES / 2, saved.trajectories());
        assertTrue(Files.exists(checkpoints.latest().orElseThrow().resolve(LearnerCheckpoints.REPLAY_FILE)));
        try (PolicyModel policy = base();
             LearnerStep learner = new LearnerStep(policy, exgrpo, Knobs.initial(exgrpo, 0), MICRO_BATCH, 1f)) {
            assertEquals(0, learner.replay().stats().trajectories());
            checkpoints.restore(policy, learner);
            assertEquals(saved, learner.replay().stats());
            assertEquals(candidates, learner.replay().candidates());
        }
    }

    @Test
    void theCurriculumTheLearnerLastHeardOfSurvivesARestart() throws IOException {
        HyperParameters expo = HyperParameters.fromConfig(ConfigFactory.parseString(
                "eapo.algorithm.expo.curriculum.enabled = true").withFallback(HYPER_CONFIG));
        LearnerCheckpoints checkpoints = new LearnerCheckpoints(run, 1);
        LearnerCheckpoints unreported = new LearnerCheckpoints(run.resolve("unreported"), 1);
        double[] heard = {Double.NaN, 0.25, 1.0, 0.0};
        try (PolicyModel policy = base();
             LearnerStep learner = new LearnerStep(policy, expo, Knobs.initial(expo, 0), MICRO_BATCH, 1f)) {
            unreported.save(1, policy, learner, BASE, ONE_SHARD); // before the first step was planned
            learner.plan(0, new StepPlanner(heard.length, 1, 0));
            for (int q = 0; q < heard.length; q++) {
                if (!Double.isNaN(heard[q])) {
                    learner.curriculum().observe(q, heard[q]);
                }
            }
            checkpoints.save(2, policy, learner, BASE, ONE_SHARD);
        }
        try (PolicyModel policy = base();
             LearnerStep learner = new LearnerStep(policy, expo, Knobs.initial(expo, 0), MICRO_BATCH, 1f)) {
            assertNull(learner.curriculum());
            assertEquals(2, checkpoints.restore(policy, learner));
            assertArrayEquals(heard, learner.curriculum().accuracies(), 0.0);
            assertEquals(3, learner.curriculum().seen());
        }
        // A checkpoint without one resumes with every question unseen.
        try (PolicyModel policy = base();
             LearnerStep learner = new LearnerStep(policy, expo, Knobs.initial(expo, 0), MICRO_BATCH, 1f)) {
            assertEquals(1, unreported.restore(policy, learner));
            assertNull(learner.curriculum());
        }
    }

    @Test
    void aBf16ModelResumesWithItsExactFp32Weights() {
        // The trained weights live in fp32; saving them as the model's bf16 would round them at every checkpoint.
        Path bf16 = ai.eapo.model.TestPaths.shared().resolve("fixtures/tiny-qwen2-bf16");
        LearnerCheckpoints checkpoints = new LearnerCheckpoints(run, 1);
        List<float[]> trained;
        try (PolicyModel policy = Checkpoint.load(bf16, Device.cpu()); LearnerStep learner = learner(policy)) {
            learner.apply(0, groups(0), WALL_SECONDS);
            trained = weights(policy);
            checkpoints.save(1, policy, learner, null, ONE_SHARD);
        }
        try (PolicyModel policy = Checkpoint.load(bf16, Device.cpu()); LearnerStep learner = learner(policy)) {
            assertFalse(sameBits(trained, weights(policy)), "the step changed the weights");
            assertEquals(1, checkpoints.restore(policy, learner));
            assertTrue(sameBits(trained, weights(policy)), "the restored weights are the trained fp32 ones");
        }
    }

    @Test
    void anUnfinishedSaveIsIgnoredAndDeletedByTheNextSave() throws IOException {
        LearnerCheckpoints checkpoints = new LearnerCheckpoints(run, 2);
        try (PolicyModel policy = base(); LearnerStep learner = learner(policy)) {
            checkpoints.save(2, policy, learner, BASE, ONE_SHARD);
            // A learner killed while writing step 4: its own partial directory and Checkpoint.save's temporary one.
            Path partial = Files.createDirectories(checkpoints.directory().resolve("step-00000004.partial"));
            Files.writeString(partial.resolve(LearnerCheckpoints.STATE_FILE), "{\"format\": 1, \"st");
            Path weightsTemp = Files.createDirectories(checkpoints.directory().resolve(".step-00000004.partial.partial-123"));

            assertEquals(2, checkpoints.latestStep().orElseThrow());
            assertEquals(checkpoints.directory().resolve("step-00000002"), checkpoints.latest().orElseThrow());
            assertEquals(2, checkpoints.restore(policy, learner));

            checkpoints.save(5, policy, learner, BASE, ONE_SHARD);
            assertFalse(Files.exists(partial), "leftover deleted");
            assertFalse(Files.exists(weightsTemp), "leftover deleted");
            assertEquals(5, checkpoints.latestStep().orElseThrow());
        }
    }

    @Test
    void keepsTheNewestCompleteCheckpointsEachLoadableAsAModel() throws IOException {
        LearnerCheckpoints checkpoints = new LearnerCheckpoints(run, 2);
        try (PolicyModel policy = base(); LearnerStep learner = learner(policy)) {
            for (long step = 1; step <= 3; step++) {
                checkpoints.save(step, policy, learner, BASE, ONE_SHARD);
            }
            checkpoints.save(3, policy, learner, BASE, ONE_SHARD); // the same step again replaces it
        }
        try (Stream<Path> entries = Files.list(checkpoints.directory())) {
            assertEquals(List.of("step-00000002", "step-00000003"),
                    entries.map(p -> p.getFileName().toString()).sorted().toList());
        }
        Path latest = checkpoints.latest().orElseThrow();
        assertTrue(Files.isRegularFile(latest.resolve("tokenizer.json")), "eapo-node generate needs the tokenizer");
        try (PolicyModel loaded = Checkpoint.load(latest, Device.cpu()); PolicyModel base = base()) {
            assertTrue(sameBits(weights(base), weights(loaded)), "untrained, the checkpoint holds the base weights");
        }
    }

    @Test
    void theSavedKnobsWinOverTheOnesTheLearnerWasBuiltWith() {
        LearnerCheckpoints checkpoints = new LearnerCheckpoints(run, 1);
        Knobs changed;
        try (PolicyModel policy = base(); LearnerStep learner = learner(policy)) {
            changed = learner.knobs().with(Map.of(Knobs.TAU, "inf", Knobs.ANNEALING_STEPS, "7",
                    Knobs.INITIAL_RATIO, "0.25", Knobs.LEARNING_RATE, "5e-4", Knobs.MAX_STALENESS, "3"));
            learner.setKnobs(changed);
            checkpoints.save(0, policy, learner, BASE, ONE_SHARD);
        }
        try (PolicyModel policy = base(); LearnerStep learner = learner(policy)) {
            assertNotEquals(changed, learner.knobs());
            checkpoints.restore(policy, learner);
            assertEquals(changed, learner.knobs());
            assertEquals(7, learner.hyper().schedule().annealSteps(), "the restored knobs are in force");
        }
    }

    @Test
    void aTruncatedFileIsNamedWithItsSizesAndChangesNothing() throws IOException {
        LearnerCheckpoints checkpoints = new LearnerCheckpoints(run, 1);
        try (PolicyModel policy = base(); LearnerStep learner = learner(policy)) {
            learner.apply(0, groups(0), WALL_SECONDS);
            checkpoints.save(1, policy, learner, BASE, ONE_SHARD);
        }
        Path dir = checkpoints.latest().orElseThrow();
        Path optimizer = dir.resolve(LearnerCheckpoints.OPTIMIZER_FILE);
        long size = Files.size(optimizer);
        try (FileChannel file = FileChannel.open(optimizer, StandardOpenOption.WRITE)) {
            file.truncate(size / 2);
        }
        try (PolicyModel policy = base(); LearnerStep learner = learner(policy)) {
            List<float[]> before = weights(policy);
            UserInputException e = assertThrows(UserInputException.class, () -> checkpoints.restore(policy, learner));
            assertTrue(e.getMessage().contains(optimizer + ": " + size / 2 + " bytes, manifest.json says " + size),
                    e.getMessage());
            assertTrue(e.getMessage().contains("step-00000001") && e.getMessage().contains("Nothing was deleted"),
                    e.getMessage());
            assertTrue(sameBits(before, weights(policy)), "a refused checkpoint leaves the weights alone");
            assertEquals(0, learner.optimizer().steps());
        }
        assertTrue(Files.isRegularFile(checkpoints.directory().resolve(LearnerCheckpoints.REJECTED)
                .resolve("step-00000001").resolve(LearnerCheckpoints.OPTIMIZER_FILE)), "moved aside, not deleted");
        assertTrue(checkpoints.latest().isEmpty());
    }

    /** Saves steps 1 and 2 (one optimizer step apart); returns the state of step 1's policy. */
    private List<float[]> twoCheckpoints(LearnerCheckpoints checkpoints) {
        try (PolicyModel policy = base(); LearnerStep learner = learner(policy)) {
            learner.apply(0, groups(0), WALL_SECONDS);
            checkpoints.save(1, policy, learner, BASE, ONE_SHARD);
            List<float[]> first = weights(policy);
            learner.apply(1, groups(1), WALL_SECONDS);
            checkpoints.save(2, policy, learner, BASE, ONE_SHARD);
            return first;
        }
    }

    /** Resumes; the newest checkpoint failed verification for {@code why} and the run resumed from step 1's. */
    private void resumesFromTheFirst(LearnerCheckpoints checkpoints, List<float[]> first, String why) {
        try (PolicyModel policy = base(); LearnerStep learner = learner(policy)) {
            assertEquals(1, checkpoints.restore(policy, learner), why);
            assertTrue(sameBits(first, weights(policy)), why + ": step 1's weights");
            assertEquals(1, learner.optimizer().steps());
        }
        Path rejected = checkpoints.directory().resolve(LearnerCheckpoints.REJECTED);
        assertTrue(Files.isDirectory(rejected.resolve("step-00000002")), why + ": moved aside");
        assertEquals(1, checkpoints.latestStep().orElseThrow());
    }

    @Test
    void aNewestCheckpointWithAFlippedByteIsMovedAsideAndThePreviousOneResumes() throws IOException {
        LearnerCheckpoints checkpoints = new LearnerCheckpoints(run, 2);
        List<float[]> first = twoCheckpoints(checkpoints);
        Path weightsFile = checkpoints.latest().orElseThrow().resolve(Checkpoint.SINGLE_FILE);
        byte[] bytes = Files.readAllBytes(weightsFile);
        bytes[bytes.length / 2] ^= 1; // same size: only the checksum tells
        Files.write(weightsFile, bytes);
        assertTrue(CheckpointManifest.problem(weightsFile.getParent()).orElseThrow()
                .startsWith(weightsFile + ": CRC32C "), "the file and both checksums are named");
        resumesFromTheFirst(checkpoints, first, "flipped byte");
    }

    @Test
    void aMissingManifestAFileMissingOrAFileAddedFailsVerification() throws IOException {
        LearnerCheckpoints checkpoints = new LearnerCheckpoints(run, 2);
        List<float[]> first = twoCheckpoints(checkpoints);
        Path newest = checkpoints.latest().orElseThrow();
        assertTrue(CheckpointManifest.problem(newest).isEmpty(), "a checkpoint as written verifies");

        Path added = newest.resolve("notes.txt");
        Files.writeString(added, "written after the checkpoint");
        assertEquals(added + " is not in manifest.json (added after the checkpoint was written)",
                CheckpointManifest.problem(newest).orElseThrow());
        Files.delete(added);

        Path state = newest.resolve(LearnerCheckpoints.STATE_FILE);
        byte[] saved = Files.readAllBytes(state);
        Files.delete(state);
        assertEquals(state + " is missing (listed in manifest.json)", CheckpointManifest.problem(newest).orElseThrow());
        Files.write(state, saved);
        assertTrue(CheckpointManifest.problem(newest).isEmpty());

        Files.delete(newest.resolve(CheckpointManifest.FILE));
        assertTrue(CheckpointManifest.problem(newest).orElseThrow().contains("manifest.json is missing"));
        resumesFromTheFirst(checkpoints, first, "missing manifest");
    }

    @Test
    void whenNoCheckpointVerifiesTheRunRefusesToStartNamingEachAndDeletesNothing() throws IOException {
        LearnerCheckpoints checkpoints = new LearnerCheckpoints(run, 2);
        twoCheckpoints(checkpoints);
        Files.writeString(checkpoints.directory().resolve("step-00000001").resolve(CheckpointManifest.FILE), "{\"form");
        Path optimizer = checkpoints.directory().resolve("step-00000002").resolve(LearnerCheckpoints.OPTIMIZER_FILE);
        Files.write(optimizer, new byte[0]);
        try (PolicyModel policy = base(); LearnerStep learner = learner(policy)) {
            UserInputException e = assertThrows(UserInputException.class, () -> checkpoints.restore(policy, learner));
            assertTrue(e.getMessage().contains("no learner checkpoint in " + checkpoints.directory() + " verifies"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("step-00000002: " + optimizer + ": 0 bytes"), e.getMessage());
            assertTrue(e.getMessage().contains("step-00000001: ") && e.getMessage().contains("not valid JSON"),
                    e.getMessage());
        }
        try (Stream<Path> rejected = Files.list(checkpoints.directory().resolve(LearnerCheckpoints.REJECTED))) {
            assertEquals(List.of("step-00000001", "step-00000002"),
                    rejected.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void aFullDiskLeavesTheLastGoodCheckpointIntactAndTheNextSaveSucceedsOnceThereIsRoom() throws IOException {
        long checkpointBytes;
        LearnerCheckpoints measured = new LearnerCheckpoints(run, 1);
        try (PolicyModel policy = base(); LearnerStep learner = learner(policy)) {
            measured.save(0, policy, learner, BASE, ONE_SHARD);
            try (Stream<Path> files = Files.walk(measured.latest().orElseThrow())) {
                checkpointBytes = files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
            }
        }
        // A disk with room for two checkpoints and a bit (the old one is deleted after the new one is complete);
        // other files take half a checkpoint of it.
        try (FileSystem disk = Jimfs.newFileSystem(Configuration.unix().toBuilder()
                .setMaxSize(checkpointBytes * 22 / 10).build())) {
            Path runDir = Files.createDirectories(disk.getPath("/run"));
            LearnerCheckpoints checkpoints = new LearnerCheckpoints(runDir, 1);
            try (PolicyModel policy = base(); LearnerStep learner = learner(policy)) {
                checkpoints.save(1, policy, learner, BASE, ONE_SHARD);
                Path filler = Files.write(runDir.resolve("other-files"), new byte[(int) (checkpointBytes / 2)]);
                learner.apply(1, groups(1), WALL_SECONDS);
                LearnerCheckpoints.NotWritten e = assertThrows(LearnerCheckpoints.NotWritten.class,
                        () -> checkpoints.save(2, policy, learner, BASE, ONE_SHARD));
                assertTrue(e.getMessage().contains("step-00000002") && e.getMessage().contains("space"), e.getMessage());
                try (Stream<Path> entries = Files.list(checkpoints.directory())) {
                    assertEquals(List.of("step-00000001"), entries.map(p -> p.getFileName().toString()).toList(),
                            "nothing half-written is left beside the last good checkpoint");
                }
                assertTrue(CheckpointManifest.problem(checkpoints.latest().orElseThrow()).isEmpty(), "and it verifies");

                Files.delete(filler);
                checkpoints.save(2, policy, learner, BASE, ONE_SHARD);
                assertEquals(2, checkpoints.latestStep().orElseThrow());
                assertTrue(CheckpointManifest.problem(checkpoints.latest().orElseThrow()).isEmpty());
            }
        }
    }

    @Test
    void withoutACheckpointThereIsNothingToResume() {
        LearnerCheckpoints checkpoints = new LearnerCheckpoints(run, 1);
        assertTrue(checkpoints.latestStep().isEmpty());
        assertTrue(checkpoints.latest().isEmpty());
        try (PolicyModel policy = base(); LearnerStep learner = learner(policy)) {
            UserInputException e = assertThrows(UserInputException.class, () -> checkpoints.restore(policy, learner));
            assertTrue(e.getMessage().contains(checkpoints.directory().toString()), e.getMessage());
        }
        UserInputException e = assertThrows(UserInputException.class, () -> new LearnerCheckpoints(run, 0));
        assertTrue(e.getMessage().contains("keep = 0"), e.getMessage());
    }

    /** Sampling without top-p / top-k keeps the whole mass of every token's distribution. */
    private static float[] keptAll() {
        float[] kept = new float[RESPONSE_TOKENS];
        Arrays.fill(kept, 1f);
        return kept;
    }
}
