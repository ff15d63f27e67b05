package ai.eapo.node;

import ai.eapo.UserInputException;
import ai.eapo.model.Checkpoint;
import ai.eapo.model.LoraAdapters;
import ai.eapo.model.PolicyModel;
import com.typesafe.config.ConfigFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code merge-lora --adapter DIR [--base DIR] --out DIR}: a whole Hugging Face checkpoint whose weights are the
 * base's with the adapters merged in (W + alpha/r · B A), for tools that know nothing of adapters.
 */
@Command(name = "merge-lora", mixinStandardHelpOptions = true,
        description = "Merge a PEFT LoRA adapter into its base and write a whole checkpoint (HF layout).")
final class MergeLoraCommand implements Callable<Integer> {

    @Option(names = "--adapter", required = true, description = "PEFT adapter directory (adapter_config.json).")
    Path adapter;

    @Option(names = "--base", description = "Base model directory (default: base_model_name_or_path of the adapter).")
    Path base;

    @Option(names = "--out", required = true, description = "Output model directory.")
    Path out;

    @Option(names = "--device", description = "cpu or gpu:N (default: eapo.device in application.conf).")
    String device;

    @Override
    public Integer call() throws Exception {
        if (!LoraAdapters.isAdapter(adapter)) {
            throw new UserInputException(adapter + " is not an adapter directory (no " + LoraAdapters.CONFIG_FILE + ")");
        }
        Path baseDir = base != null ? base : LoraAdapters.baseOf(adapter);
        try (PolicyModel adapted = LoraAdapters.load(adapter, baseDir, Checkpoint.device(device != null ? device
                : ConfigFactory.load().getString("eapo.device")));
             PolicyModel merged = adapted.merged()) {
            Path tokenizer = Files.isRegularFile(adapter.resolve("tokenizer.json")) ? adapter : baseDir;
            Checkpoint.save(merged, out, tokenizer,
                    ConfigOptions.refuseRenamedKeys(ConfigFactory.load()).getBytes(ConfigOptions.MAX_SHARD_BYTES));
        }
        System.out.println("merged " + adapter + " into " + baseDir + ": " + out);
        return 0;
    }
}
