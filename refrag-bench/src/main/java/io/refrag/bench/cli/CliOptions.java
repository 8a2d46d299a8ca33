package io.refrag.bench.cli;

import io.refrag.core.RefragManifest;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.hub.HfHub;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.PolicyNames;
import io.refrag.core.model.Pooling;
import io.refrag.core.model.Precision;
import io.refrag.core.tensor.Devices;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/** Option groups several commands share, as picocli mixins. */
final class CliOptions {
    private CliOptions() {
    }

    /** {@code --device}, {@code --precision}, {@code --threads}. */
    static final class Device {
        @Option(names = "--device", defaultValue = "auto", paramLabel = "D",
                description = "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps (default: ${DEFAULT-VALUE})")
        String device = "auto";

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
         * @param decoderFolder the decoder the command loads
         * @return the options
         */
        ModelOptions modelOptions(Path decoderFolder) {
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

        /**
         * @param needsEncoder whether an encoder is required (REFRAG mode)
         * @param policy the pipeline's policy from {@code --policy}, or null to keep the folder's
         * @param err where downloads report progress
         * @return the parts and defaults
         */
        RefragManifest manifest(boolean needsEncoder, String policy, PrintWriter err) {
            if (model != null && decoder != null) {
                throw new UsageException("give --model (a REFRAG folder) or --decoder, not both");
            }
            if (model == null && decoder == null) {
                throw new UsageException("give --model DIR (a REFRAG folder) or --decoder DIR");
            }
            HfHub hub = hub(err);
            RefragManifest m = model != null ? RefragManifest.read(hub.resolve(model), hub)
                    : RefragManifest.of(hub.resolve(decoder));
            if (projector != null) {
                m = m.withProjector(requireFile("--projector", projector));
            }
            if (encoder == null && needsEncoder && m.encoder() == null) {
                throw new UsageException("REFRAG mode needs --encoder DIR (or a --model folder that names one)");
            }
            if (encoder != null || pooling != null) {
                if (encoder == null && m.encoder() == null) {
                    throw new UsageException("--pooling sets how the encoder pools a chunk: it needs --encoder DIR (or "
                            + "a --model folder that names one)");
                }
                m = m.withEncoder(encoder != null ? hub.resolve(encoder) : m.encoder(),
                        pooling != null ? Pooling.parse(pooling) : m.pooling());
            }
            if (policy != null || policyFile != null) {
                m = m.withPolicy(policy != null ? policy : m.policy(),
                        policyFile == null ? m.policyFile() : requireFile("--policy-file", policyFile));
                if (policyFile != null && !m.policy().equals(PolicyNames.LEARNED)) {
                    throw new UsageException("--policy-file holds a learned policy's weights: it needs --policy "
                            + PolicyNames.LEARNED + " (the policy is '" + m.policy() + "')");
                }
            }
            return m;
        }

        /** @return the decoder folder alone (for commands without an encoder) */
        Path decoderFolder(PrintWriter err) {
            return manifest(false, null, err).decoder();
        }
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
