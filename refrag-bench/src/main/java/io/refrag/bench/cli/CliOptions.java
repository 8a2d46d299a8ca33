package io.refrag.bench.cli;

import io.refrag.core.ModelSelection;
import io.refrag.core.RefragManifest;
import io.refrag.core.RefragRequest;
import io.refrag.core.exception.RefragException;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.hub.HfHub;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Pooling;
import io.refrag.core.model.Precision;
import io.refrag.core.tensor.Devices;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Option groups several commands share, as picocli mixins. */
final class CliOptions {
    private CliOptions() {
    }

    /** {@code --device}, {@code --precision}, {@code --threads}. */
    static final class Device {
        @Option(names = "--device", defaultValue = "auto", paramLabel = "D", converter = DeviceConverter.class,
                description = "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps (default: ${DEFAULT-VALUE})")
        io.refrag.core.tensor.Device device = io.refrag.core.tensor.Device.AUTO;

        @Option(names = "--precision", defaultValue = "fp32", paramLabel = "fp32|fp16",
                description = "compute precision (default: ${DEFAULT-VALUE})")
        String precision = "fp32";

        @Option(names = "--threads", paramLabel = "N",
                description = "PyTorch intra-op threads, 1 to the available cores (default: the library's choice, one "
                    + "for a decoder of hidden size <= 256, else the cores)")
        Integer threads;

        /**
         * Applies {@code --threads}; without it the library chooses when the decoder loads (one thread for a small
         * decoder, see {@link Devices#intraOpThreads}).
         *
         * @return the options
         */
        ModelOptions modelOptions() {
            applyThreads();
            return new ModelOptions(device, Precision.parse(precision), false, threads == null ? 0 : threads);
        }

        /** Sets {@code --threads} for all the command's native work, training included (the library honours it). */
        void applyThreads() {
            if (threads != null) {
                int cores = Runtime.getRuntime().availableProcessors();
                if (threads < 1 || threads > cores) {
                    throw new UsageException("--threads must be in [1, " + cores + "] (the cores available), got "
                            + threads);
                }
                System.setProperty(Devices.NUM_THREADS, Integer.toString(threads));
            }
        }
    }

    /**
     * What a request holds: {@code --question} (in the QA template after the passages) or {@code --prompt} (continued
     * as written), and the passages of {@code --context-file}.
     */
    static final class Request {
        @Option(names = "--question", paramLabel = "TEXT", description = "question answered after the passages")
        String question;

        @Option(names = "--prompt", paramLabel = "TEXT", description = "text to continue (after the passages, if any)")
        String prompt;

        @Option(names = "--context-file", paramLabel = "FILE", description = "passages, one per line")
        Path contextFile;

        @Option(names = "--passages", paramLabel = "N", description = "use the first N passages of the context file "
                + "(compare's default: as many as fit the decoder in full context)")
        Integer passages;

        /**
         * @param command the command, for the message
         * @return every passage of the context file; {@code --passages} is checked too
         */
        List<String> allPassages(String command) {
            if (contextFile == null) {
                throw new UsageException(command + ": give --context-file FILE (passages, one per line)");
            }
            if (passages != null && passages < 1) {
                throw new UsageException(command + ": --passages must be >= 1, got " + passages);
            }
            return RefragRequest.readPassages(requireFile("--context-file", contextFile));
        }

        /**
         * @param command the command, for the message
         * @return the question or the prompt, exactly one of which must be given
         */
        String text(String command) {
            if ((question == null) == (prompt == null)) {
                throw new UsageException(command + ": give --question TEXT (answered after the passages) or --prompt "
                        + "TEXT (continued after the passages), not both");
            }
            return question != null ? question : prompt;
        }

        /**
         * @param context passages
         * @return the passages, then the question in the QA template, or the prompt as written (a continuation)
         */
        RefragRequest request(List<String> context) {
            return question != null ? RefragRequest.of(question, context)
                    : RefragRequest.builder().context(context).text(prompt).build();
        }

        /**
         * @param all the context file's passages
         * @return the first {@code --passages} of them, or all
         */
        List<String> first(List<String> all) {
            return passages == null ? all : all.subList(0, Math.min(all.size(), passages));
        }
    }

    /** {@code --p} and {@code --policy}: how much of the context to expand, and which chunks. */
    static final class Expansion {
        @Option(names = "--p", paramLabel = "F", description = "fraction of chunks to expand (default: the pipeline's)")
        Double p;

        @Option(names = "--policy", paramLabel = "NAME", description = "expansion policy (default: the pipeline's)")
        String policy;
    }

    /** Reads {@code --device} with {@link io.refrag.core.tensor.Device#parse}, so that a bad name exits 2 at once. */
    static final class DeviceConverter implements ITypeConverter<io.refrag.core.tensor.Device> {
        @Override
        public io.refrag.core.tensor.Device convert(String value) {
            try {
                return io.refrag.core.tensor.Device.parse(value);
            } catch (RefragException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** {@code --max-new-tokens}, {@code --temperature}, {@code --top-k}, {@code --top-p}, {@code --seed}. */
    static final class Sampling {
        @Option(names = "--max-new-tokens", defaultValue = "64", paramLabel = "N",
                description = "most tokens to generate (default: ${DEFAULT-VALUE})")
        int maxNewTokens;

        @Option(names = "--temperature", defaultValue = "0", paramLabel = "T",
                description = "sampling temperature, 0 = greedy (default: ${DEFAULT-VALUE})")
        float temperature;

        @Option(names = "--top-k", defaultValue = "0", paramLabel = "K", description = "top-k, 0 = off")
        int topK;

        @Option(names = "--top-p", defaultValue = "1", paramLabel = "P", description = "nucleus mass, 1 = off")
        float topP;

        @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "sampling seed")
        long seed;

        GenerationOptions generation() {
            return GenerationOptions.builder().optMaxNewTokens(maxNewTokens).optTemperature(temperature)
                    .optTopK(topK).optTopP(topP).optSeed(seed).build();
        }
    }

    /**
     * The models of a pipeline: a REFRAG folder ({@code --model}, whose encoder, projector, policy file and pooling
     * the other options override) or its parts. Folders may be Hugging Face ids ({@code owner/name[@revision]}).
     */
    static final class Models {
        @Option(names = "--model", paramLabel = "DIR|ID", description = "a REFRAG folder (refrag.json) or its HF id")
        String model;

        @Option(names = "--decoder", paramLabel = "DIR|ID", description = "decoder checkpoint folder or HF id")
        String decoder;

        @Option(names = "--encoder", paramLabel = "DIR|ID", description = "chunk-encoder checkpoint folder or HF id")
        String encoder;

        @Option(names = "--projector", paramLabel = "FILE", description = "trained projector safetensors")
        Path projector;

        @Option(names = "--policy-file", paramLabel = "FILE", description = "learned policy weights (--policy learned)")
        Path policyFile;

        @Option(names = "--pooling", paramLabel = "cls|mean|pooler", description = "how the encoder pools a chunk")
        String pooling;

        @Option(names = "--chunk-store", paramLabel = "DIR", description = "a chunk store (refrag-spark's corpus job) "
                + "read below the cache, for the model it was built for")
        Path chunkStore;

        /**
         * @param needsEncoder whether an encoder is required (REFRAG mode)
         * @param policy the pipeline's policy from {@code --policy}, or null to keep the folder's
         * @param err where downloads report progress
         * @return the parts and defaults ({@link ModelSelection#resolve}, its messages naming these options)
         */
        RefragManifest manifest(boolean needsEncoder, String policy, PrintWriter err) {
            RefragManifest m = new ModelSelection(model, decoder, encoder, projector, policyFile,
                    pooling == null ? null : Pooling.parse(pooling), policy)
                    .resolve(hub(err), needsEncoder, CliOptions::optionName);
            return chunkStore == null ? m : m.withChunkStore(chunkStore.toAbsolutePath());
        }

        /** @return the decoder folder alone (for commands without an encoder) */
        Path decoderFolder(PrintWriter err) {
            return manifest(false, null, err).decoder();
        }
    }

    /** @return the command-line option of a {@link ModelSelection} field: {@code policyFile} is {@code --policy-file} */
    static String optionName(String field) {
        return "--" + field.replaceAll("([A-Z])", "-$1").toLowerCase(java.util.Locale.ROOT);
    }

    /** @return the hub the environment configures, reporting download progress on {@code err} */
    static HfHub hub(PrintWriter err) {
        return HfHub.fromEnvironment(System.getenv(), (file, done, total) -> err.printf(
                "download %s: %d / %d MB%n", file, done >> 20, total >> 20));
    }

    /**
     * @param option the option's name, for the message
     * @param file what it names
     * @return the file
     * @throws UsageException if it is not an existing file
     */
    static Path requireFile(String option, Path file) {
        if (!Files.isRegularFile(file)) {
            throw new UsageException(option + " " + file + " is not an existing file");
        }
        return file;
    }

    /**
     * A file a command will write, checked before any work: its folder must exist.
     *
     * @param option the option's name
     * @param file the file, or null
     * @return its absolute path, or null
     */
    static Path outputFile(String option, Path file) {
        if (file == null) {
            return null;
        }
        Path p = file.toAbsolutePath();
        if (!Files.isDirectory(p.getParent())) {
            throw new UsageException(option + " " + p + ": folder " + p.getParent() + " does not exist");
        }
        return p;
    }
}
