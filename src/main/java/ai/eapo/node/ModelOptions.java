package ai.eapo.node;

import ai.djl.Device;
import ai.eapo.model.Checkpoint;
import com.typesafe.config.ConfigFactory;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The options every model-using command shares: which checkpoint, on which device. */
final class ModelOptions {

    @Option(names = "--model", required = true, description = "Local Hugging Face model directory.")
    Path model;

    @Option(names = "--device", description = "cpu or gpu:N (default: eapo.device in application.conf).")
    String device;

    Device device() {
        return Checkpoint.device(device != null ? device : ConfigFactory.load().getString("eapo.device"));
    }
}
