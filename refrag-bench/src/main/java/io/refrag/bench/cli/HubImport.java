package io.refrag.bench.cli;

import io.refrag.core.hub.HfModelId;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * {@code hub-import}: puts a local model folder into the Hugging Face cache under an id ({@link
 * io.refrag.core.hub.HfHub#importFolder}), so that REFRAG folders naming that id load on a machine without hub access.
 */
@Command(name = "hub-import", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Put a local model folder (an HF checkpoint or a REFRAG folder) into the Hugging Face cache "
            + "(HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub) under an id, so that it resolves "
            + "without network.",
            "Example (what scripts/hf-cache-from-shared.sh runs):",
            "  hub-import --from ../shared/models/stories260K --id refrag-java/stories260K"})
final class HubImport extends CliCommand {
    @Option(names = "--from", required = true, paramLabel = "DIR", description = "the model folder")
    Path from;

    @Option(names = "--id", required = true, paramLabel = "OWNER/NAME[@REV]", description = "the id it is published as")
    String id;

    @Override
    void execute() {
        HfModelId parsed = HfModelId.tryParse(id).orElseThrow(() -> new UsageException("hub-import: --id must be "
                + "owner/name[@revision], got '" + id + "'"));
        Path snapshot = CliOptions.hub(err()).importFolder(parsed, from);
        print(new Imported(parsed.repo(), parsed.revision(), snapshot.toString()), out -> out.printf(
                "%s@%s -> %s%n", parsed.repo(), parsed.revision(), snapshot));
    }

    /**
     * @param id the id
     * @param revision its revision
     * @param snapshot the cache folder it resolves to
     */
    record Imported(String id, String revision, String snapshot) {
    }
}
