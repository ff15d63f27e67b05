package ai.eapo.training;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.eapo.UserInputException;
import ai.eapo.algorithm.CurriculumOptions;
import ai.eapo.algorithm.QuestionCurriculum;
import ai.eapo.model.Checkpoint;
import ai.eapo.model.LoraAdapters;
import ai.eapo.model.PolicyModel;
import ai.eapo.model.SafeTensors;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The learner's checkpoints in a run directory, so that a learner that was killed and is started again with the
 * same run directory goes on from the newest complete one.
 *
 * <p>Layout: {@code <run>/checkpoints/step-00000040/} holds the state after 40 learner steps, i.e. weight version
 * 40 and the next step to train. It is a Hugging Face model directory (config, weights, tokenizer files, so
 * {@code eapo-node generate --model} loads it) plus {@value #OPTIMIZER_FILE} (AdamW's first and second moments
 * in fp32, named {@code m.<param>} and {@code v.<param>}) and {@value #STATE_FILE} (format version, step,
 * optimizer step count and the live knobs).
 *
 * <p>A checkpoint is written under {@code step-N.partial/} and renamed to {@code step-N/} when every file is
 * there; that rename is what makes it complete, so a learner killed mid-save leaves at worst a leftover that
 * readers ignore and the next save deletes. Its {@link CheckpointManifest}, written just before the rename, is what a resume
 * verifies: a checkpoint damaged after it was complete is moved to {@value #REJECTED}/ and the one before is used. Files are not fsynced: a killed process loses nothing the kernel
 * already has, a power cut may.
 *
 * <p>The dataset position needs no saving: {@link ai.eapo.data.TrainingBatches#of} picks each step's batch from
 * the step number and the seed alone, so a run resumed at step N draws the batch it would have drawn.
 *
 * <p>Not thread-safe: one learner owns a run directory, and saves between steps on the thread that trains.
 */
public final class LearnerCheckpoints {

    public static final String DIRECTORY = "checkpoints";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    public static final String STATE_FILE = "learner.json";
    /** ExGRPO's replay buffer, present when ExGRPO is on. */
    public static final String REPLAY_FILE = "replay.bin";
    /** EXPO's curriculum as the learner last heard of it, present when the curriculum is on and had reported. */
    public static final String CURRICULUM_FILE = "curriculum.bin";

    /** Bumped when the contents change incompatibly; a checkpoint of another format is refused, not guessed at. */
    static final int FORMAT = 1;

    static final String FIRST_MOMENT_PREFIX = "m.";
    static final String SECOND_MOMENT_PREFIX = "v.";
    /**
     * Weights and moments are saved at full precision whatever the model's dtype: they are the learner's exact
     * state (the trained weights are fp32 in memory), so a resumed run goes on as if never stopped.
     */
    private static final String STATE_DTYPE = "F32";

    private static final String NAME_FORMAT = "step-%08d";
    private static final String PARTIAL_SUFFIX = ".partial";
    /** Where a checkpoint that fails verification is moved: kept for inspection, never resumed from or deleted. */
    public static final String REJECTED = "rejected";
    /** A complete checkpoint is moved to this name before it is deleted, so half-deleted is never mistaken for complete. */
    private static final String DELETING_SUFFIX = ".deleting";
    private static final Pattern COMPLETE = Pattern.compile("step-(\\d{8,18})");
    /** Our unfinished or half-deleted directories, including the temporary one {@link Checkpoint#save} makes. */
    private static final Pattern LEFTOVER = Pattern.compile("\\.?step-\\d{8,18}\\..+");

    private static final String KEY_FORMAT = "format";
    private static final String KEY_STEP = "step";
    private static final String KEY_OPTIMIZER_STEPS = "optimizer_steps";
    private static final String KEY_KNOBS = "knobs";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = LoggerFactory.getLogger(LearnerCheckpoints.class);

    private final Path directory;
    private final int keep;

    /** Checkpoints in {@code runDir/checkpoints}; each save keeps the newest {@code keep} complete ones. */
    public LearnerCheckpoints(Path runDir, int keep) {
        this.directory = runDir.resolve(DIRECTORY);
        if (keep < 1) {
            throw new UserInputException("learner checkpoints in " + directory + ": keep = " + keep
                    + ", must be >= 1 (the newest one is what a restart resumes from)");
        }
        this.keep = keep;
    }

    /** The directory the checkpoints are in. */
    public Path directory() {
        return directory;
    }

    /**
     * Saves the state after {@code step} learner steps: the policy's weights (HF layout, sharded above
     * {@code maxShardBytes}, tokenizer files copied from {@code modelDir} when not null), the optimizer and the
     * knobs. Then deletes all but the newest {@code keep} complete checkpoints. A checkpoint of the same step
     * is replaced.
     *
     * <p>Every file is listed with its size and checksum in a {@link CheckpointManifest}, written last before
     * the rename, which {@link #restore} verifies.
     *
     * @throws NotWritten naming the checkpoint and the cause when it cannot be written (disk full, permission
     *                    denied): nothing of it is left behind, and the checkpoints written before are intact
     */
    public void save(long step, PolicyModel policy, LearnerStep learner, Path modelDir, long maxShardBytes) {
        if (step < 0) {
            throw new IllegalArgumentException("a checkpoint's step must be >= 0, got " + step);
        }
        Path complete = directory.resolve(name(step));
        Path partial = directory.resolve(name(step) + PARTIAL_SUFFIX);
        try {
            Files.createDirectories(directory);
            deleteLeftovers();
            Checkpoint.saveTrained(policy, partial, modelDir, maxShardBytes, STATE_DTYPE);
            AdamW optimizer = learner.optimizer();
            Map<String, NDArray> moments = new LinkedHashMap<>();
            optimizer.firstMoments().forEach((name, m) -> moments.put(FIRST_MOMENT_PREFIX + name, m));
            optimizer.secondMoments().forEach((name, v) -> moments.put(SECOND_MOMENT_PREFIX + name, v));
            SafeTensors.write(partial.resolve(OPTIMIZER_FILE), moments, STATE_DTYPE);
            writeState(partial.resolve(STATE_FILE), step, optimizer.steps(), learner.knobs());
            if (learner.replay() != null) {
                writeData(partial.resolve(REPLAY_FILE), learner.replay()::writeTo);
            }
            if (learner.curriculum() != null) {
                writeData(partial.resolve(CURRICULUM_FILE), learner.curriculum()::writeTo);
            }
            CheckpointManifest.write(partial);
            if (Files.exists(complete)) {
                delete(complete);
            }
            Files.move(partial, complete, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | UncheckedIOException e) {
            // Disk full, permission denied...: the checkpoints already there stay as they are.
            deleteLeftoversQuietly();
            throw new NotWritten("learner checkpoint " + complete + " not written: " + e, e);
        }
        List<Path> all = completeCheckpoints();
        for (Path old : all.subList(0, Math.max(0, all.size() - keep))) {
            try {
                delete(old);
            } catch (IOException e) {
                LOG.warn("could not delete the old learner checkpoint {}: {}", old, e.toString());
            }
        }
    }

    /** A checkpoint that could not be written; the ones written before are intact and training may go on. */
    public static final class NotWritten extends RuntimeException {
        NotWritten(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The newest complete checkpoint's directory, if there is one. */
    public Optional<Path> latest() {
        List<Path> all = completeCheckpoints();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    /** The newest complete checkpoint's step (the next step to train), if there is one. */
    public OptionalLong latestStep() {
        return latest().map(dir -> OptionalLong.of(stepOf(dir))).orElse(OptionalLong.empty());
    }

    /**
     * The newest complete checkpoint that matches its manifest. Each newer one that does not is moved to
     * {@value #REJECTED}/ (never deleted) with the reason logged, and the one before it is tried.
     *
     * @throws UserInputException when there is no checkpoint, or none verifies: naming each and why
     */
    Path newestVerified() {
        List<Path> all = completeCheckpoints();
        if (all.isEmpty()) {
            throw new UserInputException("no complete learner checkpoint in " + directory + " to resume from");
        }
        List<String> reasons = new ArrayList<>();
        for (int i = all.size() - 1; i >= 0; i--) {
            Path dir = all.get(i);
            Optional<String> problem = CheckpointManifest.problem(dir);
            if (problem.isEmpty()) {
                return dir;
            }
            Path aside = moveAside(dir);
            LOG.warn("learner checkpoint {} fails verification: {}; moved to {}; trying the one before", dir.getFileName(),
                    problem.get(), aside);
            reasons.add(dir.getFileName() + ": " + problem.get() + " (moved to " + aside + ")");
        }
        throw new UserInputException("no learner checkpoint in " + directory + " verifies, so the run cannot resume: "
                + String.join("; ", reasons) + ". Nothing was deleted; start a new run id, or repair a checkpoint and "
                + "move it back");
    }

    /** Moves a checkpoint that failed verification under {@value #REJECTED}/, keeping a name not taken there. */
    private Path moveAside(Path dir) {
        try {
            Path rejected = Files.createDirectories(directory.resolve(REJECTED));
            Path target = rejected.resolve(dir.getFileName().toString());
            for (int n = 2; Files.exists(target); n++) {
                target = rejected.resolve(dir.getFileName() + "-" + n);
            }
            Files.move(dir, target, StandardCopyOption.ATOMIC_MOVE);
            return target;
        } catch (IOException e) {
            throw new UserInputException("learner checkpoint " + dir + " fails verification and cannot be moved aside: "
                    + e, e);
        }
    }

    /**
     * Loads the newest complete checkpoint that verifies into {@code policy} (already built, of the same architecture) and
     * {@code learner}: weights, optimizer moments and step count, and the knobs, which win over the ones the
     * learner was built with since they may have been changed while the run was going. Everything is read and
     * checked before anything changes, so a refused checkpoint leaves policy and learner as they were.
     *
     * @return the checkpoint's step: the next step to train and the weights' version
     * @throws UserInputException when there is no complete checkpoint, or naming the file that is missing or corrupt
     */
    public long restore(PolicyModel policy, LearnerStep learner) {
        Path dir = newestVerified();
        long step = stepOf(dir);
        Path stateFile = dir.resolve(STATE_FILE);
        JsonNode state = readState(stateFile, step);
        long optimizerSteps = state.get(KEY_OPTIMIZER_STEPS).asLong();
        Knobs knobs;
        try {
            knobs = learner.knobs().with(savedKnobs(stateFile, state));
        } catch (UserInputException e) {
            throw new UserInputException(stateFile + ": " + e.getMessage(), e);
        }
        ExperienceReplay replay = learner.replay() == null ? null : readReplay(dir.resolve(REPLAY_FILE), learner);
        QuestionCurriculum curriculum = learner.hyper().strategies().curriculum().enabled()
                ? readCurriculum(dir.resolve(CURRICULUM_FILE), learner.hyper().strategies().curriculum()) : null;
        Path optimizerFile = dir.resolve(OPTIMIZER_FILE);
        // Read on the CPU: copying into the policy's arrays goes through host memory anyway, and a GPU learner
        // then never holds two copies of the model on the device.
        // An adapter checkpoint is read alone: the frozen base is the policy's already.
        try (PolicyModel whole = LoraAdapters.isAdapter(dir) ? null : Checkpoint.load(dir, Device.cpu());
             NDManager momentsManager = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> saved = whole != null ? whole.parameters()
                    : LoraAdapters.readTensors(dir, policy.config(), momentsManager);
            requireSameTensors(dir, saved, policy);
            Map<String, NDArray> first = new LinkedHashMap<>();
            Map<String, NDArray> second = new LinkedHashMap<>();
            readMoments(optimizerFile, momentsManager, first, second);
            try {
                learner.optimizer().restoreState(first, second, optimizerSteps);
            } catch (IllegalArgumentException e) {
                throw new UserInputException(optimizerFile + ": " + e.getMessage(), e);
            }
            policy.loadWeights(saved);
        }
        learner.setKnobs(knobs);
        if (replay != null) {
            learner.restoreReplay(replay);
        }
        if (curriculum != null) {
            learner.restoreCurriculum(curriculum);
        }
        return step;
    }

    /** How a state writes itself into a data stream. */
    @FunctionalInterface
    private interface DataWriter {
        void writeTo(DataOutputStream out) throws IOException;
    }

    /** Writes {@code file} through {@code writer}, buffered. */
    private static void writeData(Path file, DataWriter writer) throws IOException {
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file)))) {
            writer.writeTo(out);
        }
    }

    /** The saved curriculum, or null when the checkpoint has none (saved before the first report, or by an older build). */
    private static QuestionCurriculum readCurriculum(Path file, CurriculumOptions options) {
        if (!Files.exists(file)) {
            return null;
        }
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
            return QuestionCurriculum.readFrom(in, options);
        } catch (IOException e) {
            throw new UserInputException(file + ": cannot read the question curriculum: " + e.getMessage(), e);
        }
    }

    private static ExperienceReplay readReplay(Path file, LearnerStep learner) {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
            return learner.replay().readSaved(in);
        } catch (NoSuchFileException e) {
            throw new UserInputException(file + ": missing (the run has ExGRPO on, so its checkpoints hold the replay "
                    + "buffer)", e);
        } catch (IOException e) {
            throw new UserInputException(file + ": cannot read the replay buffer: " + e.getMessage(), e);
        }
    }

    static String name(long step) {
        return String.format(NAME_FORMAT, step);
    }

    private static long stepOf(Path dir) {
        Matcher m = COMPLETE.matcher(dir.getFileName().toString());
        if (!m.matches()) {
            throw new IllegalStateException(dir + " is not a checkpoint directory");
        }
        return Long.parseLong(m.group(1));
    }

    /** The complete checkpoints, oldest first. */
    private List<Path> completeCheckpoints() {
        if (!Files.isDirectory(directory)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(directory)) {
            return entries.filter(p -> COMPLETE.matcher(p.getFileName().toString()).matches() && Files.isDirectory(p))
                    .sorted(Comparator.comparingLong(LearnerCheckpoints::stepOf))
                    .toList();
        } catch (IOException e) {
            throw new UserInputException("cannot list learner checkpoints in " + directory + ": " + e, e);
        }
    }

    /** After a failed save: the partial directory goes, and a second failure (the disk is full) only warns. */
    private void deleteLeftoversQuietly() {
        try {
            if (Files.isDirectory(directory)) {
                deleteLeftovers();
            }
        } catch (IOException e) {
            LOG.warn("could not delete an unfinished learner checkpoint in {}: {}", directory, e.toString());
        }
    }

    private void deleteLeftovers() throws IOException {
        List<Path> leftovers;
        try (Stream<Path> entries = Files.list(directory)) {
            leftovers = entries.filter(p -> LEFTOVER.matcher(p.getFileName().toString()).matches()).toList();
        }
        for (Path p : leftovers) {
            Checkpoint.deleteTree(p);
        }
    }

    /** Renames a complete checkpoint out of the way, then deletes it: a crash in between leaves only a leftover. */
    private static void delete(Path complete) throws IOException {
        Path doomed = complete.resolveSibling(complete.getFileName() + DELETING_SUFFIX);
        if (Files.exists(doomed)) {
            Checkpoint.deleteTree(doomed);
        }
        Files.move(complete, doomed, StandardCopyOption.ATOMIC_MOVE);
        Checkpoint.deleteTree(doomed);
    }

    private static void writeState(Path file, long step, long optimizerSteps, Knobs knobs) throws IOException {
        ObjectNode state = JSON.createObjectNode();
        state.put(KEY_FORMAT, FORMAT);
        state.put(KEY_STEP, step);
        state.put(KEY_OPTIMIZER_STEPS, optimizerSteps);
        ObjectNode saved = state.putObject(KEY_KNOBS);
        knobs.asMap().forEach(saved::put);
        try (OutputStream out = Files.newOutputStream(file)) {
            JSON.writerWithDefaultPrettyPrinter().writeValue(out, state);
        }
    }

    /** {@value #STATE_FILE}, checked: this format, the step its directory is named for, a step count. */
    private static JsonNode readState(Path file, long step) {
        if (!Files.isRegularFile(file)) {
            throw new UserInputException("learner checkpoint file " + file + " is missing");
        }
        JsonNode state;
        try {
            state = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UserInputException(file + ": not valid JSON (" + e.getMessage() + ")", e);
        }
        if (state == null || !state.isObject()) {
            throw new UserInputException(file + ": not a JSON object");
        }
        if (state.path(KEY_FORMAT).asInt(-1) != FORMAT) {
            throw new UserInputException(file + ": " + KEY_FORMAT + " = " + state.get(KEY_FORMAT)
                    + ", this version reads format " + FORMAT);
        }
        JsonNode savedStep = state.path(KEY_STEP);
        if (!savedStep.canConvertToLong() || savedStep.asLong() != step) {
            throw new UserInputException(file + ": " + KEY_STEP + " = " + state.get(KEY_STEP) + ", but its directory is "
                    + name(step));
        }
        JsonNode optimizerSteps = state.path(KEY_OPTIMIZER_STEPS);
        if (!optimizerSteps.canConvertToLong() || optimizerSteps.asLong() < 0) {
            throw new UserInputException(file + ": " + KEY_OPTIMIZER_STEPS + " = " + state.get(KEY_OPTIMIZER_STEPS)
                    + ", must be a whole number >= 0");
        }
        return state;
    }

    private static Map<String, String> savedKnobs(Path file, JsonNode state) {
        JsonNode knobs = state.path(KEY_KNOBS);
        if (!knobs.isObject()) {
            throw new UserInputException(file + ": " + KEY_KNOBS + " = " + state.get(KEY_KNOBS) + ", must be an object");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = knobs.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> knob = it.next();
            out.put(knob.getKey(), knob.getValue().asText());
        }
        return out;
    }

    /** The moments of {@value #OPTIMIZER_FILE} by parameter name, as fp32 arrays owned by {@code manager}. */
    private static void readMoments(Path file, NDManager manager, Map<String, NDArray> first, Map<String, NDArray> second) {
        try (SafeTensors.File st = SafeTensors.open(file)) {
            for (String tensor : st.entries().keySet()) {
                if (tensor.startsWith(FIRST_MOMENT_PREFIX)) {
                    first.put(tensor.substring(FIRST_MOMENT_PREFIX.length()), st.load(tensor, manager));
                } else if (tensor.startsWith(SECOND_MOMENT_PREFIX)) {
                    second.put(tensor.substring(SECOND_MOMENT_PREFIX.length()), st.load(tensor, manager));
                } else {
                    throw new UserInputException(file + ": tensor '" + tensor + "' is not an optimizer moment (names start "
                            + FIRST_MOMENT_PREFIX + " or " + SECOND_MOMENT_PREFIX + ")");
                }
            }
        } catch (IOException e) {
            throw new UserInputException("cannot read " + file + ": " + e, e);
        }
    }

    /** The saved weights must be the policy's tensors with the policy's shapes (the same architecture). */
    private static void requireSameTensors(Path dir, Map<String, NDArray> saved, PolicyModel policy) {
        for (Map.Entry<String, NDArray> p : policy.parameters().entrySet()) {
            NDArray w = saved.get(p.getKey());
            if (w == null) {
                throw new UserInputException(dir + ": has no tensor '" + p.getKey() + "', which the policy being resumed has");
            }
            if (!w.getShape().equals(p.getValue().getShape())) {
                throw new UserInputException(dir + ": tensor '" + p.getKey() + "' has shape " + w.getShape()
                        + ", the policy being resumed has " + p.getValue().getShape());
            }
        }
        List<String> extra = new ArrayList<>(saved.keySet());
        extra.removeAll(policy.parameters().keySet());
        if (!extra.isEmpty()) {
            throw new UserInputException(dir + ": tensors " + extra + " are not in the policy being resumed (another architecture?)");
        }
    }
}
