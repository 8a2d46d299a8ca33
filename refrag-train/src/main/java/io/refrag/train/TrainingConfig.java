package io.refrag.train;

import io.refrag.core.corpus.CorpusSource;
import io.refrag.core.corpus.TrainingCorpus;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.hub.HfHub;
import io.refrag.core.hub.HfModelId;
import io.refrag.core.json.JsonConfig;
import io.refrag.core.lora.LoraConfig;
import io.refrag.core.model.Compression;
import io.refrag.core.model.Pooling;
import io.refrag.core.tensor.Device;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;

/**
 * What every training task needs: the parts to start from, the data, the output folder and the optimiser settings.
 * Each task adds its own settings in its config ({@link ReconstructionConfig}, {@link ContinualPretrainingConfig},
 * {@link PolicyTrainingConfig}); {@link TrainingTask#read} reads both from one JSON file.
 *
 * @param decoder decoder checkpoint folder
 * @param encoder chunk-encoder checkpoint folder
 * @param initFrom a previous training output folder (its {@code refrag.json}) to start from, or null
 * @param output folder to write the trained parts, {@code refrag.json} and the resumable state into
 * @param corpus training documents (the last {@code heldOutDocuments} are held out for evaluation)
 * @param heldOutDocuments documents held out, at least 1
 * @param evalSamples held-out samples evaluated before and after training
 * @param k decoder tokens per chunk
 * @param pooling how the encoder pools a chunk into one vector (also written to {@code refrag.json})
 * @param device device of every part
 * @param options optimiser and loop settings
 * @param resume continue from the output folder's checkpoint when one is there
 * @param encoderLora LoRA adapters for the encoder (PEFT's keys in JSON: {@code r}, {@code lora_alpha},
 *     {@code lora_dropout}, {@code target_modules}), or null: when set and the encoder trains, its adapters train
 *     instead of its weights and are written as a PEFT folder
 * @param decoderLora the same for the decoder, or null
 */
public record TrainingConfig(Path decoder, Path encoder, Path initFrom, Path output, CorpusSource corpus,
        int heldOutDocuments, int evalSamples, int k, Pooling pooling, Device device, TrainingOptions options,
        boolean resume, LoraConfig encoderLora, LoraConfig decoderLora) {
    /** The JSON keys every task's config may hold. */
    static final Set<String> KEYS = Set.of("decoder", "encoder", "output", "corpus", "sampleCorpus", "initFrom",
            "heldOutDocuments", "evalSamples", "k", "pooling", "device", "resume", "training", "encoderLora",
            "decoderLora");
    /**
     * @param taskKeys the keys one task reads besides the common ones
     * @return every key that task's JSON config may hold
     */
    @SafeVarargs
    static Set<String> keysWith(Set<String>... taskKeys) {
        Set<String> all = new HashSet<>(KEYS);
        for (Set<String> k : taskKeys) {
            all.addAll(k);
        }
        return all;
    }

    /** The keys of its {@code training} object. */
    static final Set<String> OPTION_KEYS = Set.of("steps", "batchSize", "learningRate", "encoderLearningRate",
            "decoderLearningRate", "weightDecay", "beta1", "beta2", "warmupSteps", "minLearningRateRatio",
            "maxGradNorm", "seed", "checkpointEvery");

    /** The most held-out samples a run scores (they are built up front and held). */
    public static final int MAX_EVAL_SAMPLES = 100_000;
    /** The most chunks one sample may hold. */
    public static final int MAX_CHUNKS = 4_096;

    /** Validates the fields; messages name the field and the allowed values. */
    public TrainingConfig {
        Objects.requireNonNull(decoder, "decoder");
        Objects.requireNonNull(encoder, "encoder");
        Objects.requireNonNull(output, "output");
        Objects.requireNonNull(corpus, "corpus");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(pooling, "pooling");
        require(heldOutDocuments >= 1 && heldOutDocuments < corpus.size(), "heldOutDocuments must be in "
                + "[1, documents - 1] = [1, " + (corpus.size() - 1) + "], got " + heldOutDocuments);
        require(evalSamples >= 1 && evalSamples <= MAX_EVAL_SAMPLES, "evalSamples must be in [1, " + MAX_EVAL_SAMPLES
                + "] (they are held in memory), got " + evalSamples);
        require(k >= 1, "k (decoder tokens per chunk) must be >= 1, got " + k);
    }

    /**
     * @param ok the condition
     * @param message what was wrong and what is allowed
     * @throws InvalidRequestException prefixed "training config: " unless {@code ok}
     */
    static void require(boolean ok, String message) {
        if (!ok) {
            throw new InvalidRequestException("training config: " + message);
        }
    }

    /** @return a builder; decoder, encoder, output and corpus are required */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Reads the common keys of a JSON training config; relative paths resolve against the file's folder. Keys:
     * {@code decoder}, {@code encoder}, {@code output}, {@code corpus} (a text or {@code .jsonl} file) or
     * {@code sampleCorpus} ({@code {"documents": N, "tokens": T, "seed": S}}, sampled from the decoder when training
     * starts), and optionally {@code initFrom}, {@code heldOutDocuments}, {@code evalSamples}, {@code k},
     * {@code pooling}, {@code device}, {@code resume} and {@code training} ({@code steps}, {@code batchSize},
     * {@code learningRate}, {@code encoderLearningRate}, {@code decoderLearningRate}, {@code weightDecay},
     * {@code beta1}, {@code beta2}, {@code warmupSteps}, {@code minLearningRateRatio}, {@code maxGradNorm},
     * {@code seed}, {@code checkpointEvery}).
     *
     * @param c the parsed file
     * @return the config
     * @throws InvalidRequestException for a missing required key or a bad value
     */
    /**
     * @return a base model: a folder relative to the config, else a Hugging Face id through the environment's hub
     *     cache (the trained folder then names it by that id, so it stays portable)
     */
    private static Path model(Path dir, String value) {
        Path local = dir.resolve(value);
        if (Files.exists(local) || HfModelId.tryParse(value).isEmpty()) {
            return local; // a folder (checked when it loads)
        }
        return HfHub.fromEnvironment().resolve(value);
    }

    static TrainingConfig read(JsonConfig c) {
        c.optObject("sampleCorpus").ifPresent(s -> s.requireKnownKeys(Set.of("documents", "tokens", "seed")));
        c.optObject("training").ifPresent(t -> t.requireKnownKeys(OPTION_KEYS));
        Path dir = c.source().toAbsolutePath().getParent();
        Builder b = builder()
                .setDecoder(model(dir, c.requireString("decoder")))
                .setEncoder(model(dir, c.requireString("encoder")))
                .setOutput(dir.resolve(c.requireString("output")));
        if (c.has("corpus")) {
            b.setCorpus(TrainingCorpus.read(dir.resolve(c.requireString("corpus"))));
        } else if (c.has("sampleCorpus")) {
            JsonConfig s = c.optObject("sampleCorpus").orElseThrow();
            b.setCorpus(new CorpusSource.Sampled(s.requireInt("documents"), s.requireInt("tokens"),
                    s.optInt("seed").orElse(0)));
        } else {
            throw new InvalidRequestException(c.source() + ": give \"corpus\" (a text or .jsonl file) or "
                    + "\"sampleCorpus\": {\"documents\": N, \"tokens\": T}");
        }
        c.optString("initFrom").ifPresent(p -> b.optInitFrom(dir.resolve(p)));
        c.optInt("heldOutDocuments").ifPresent(b::optHeldOutDocuments);
        c.optInt("evalSamples").ifPresent(b::optEvalSamples);
        c.optInt("k").ifPresent(b::optK);
        c.optString("pooling").map(Pooling::parse).ifPresent(b::optPooling);
        c.optString("device").map(Device::parse).ifPresent(b::optDevice);
        b.optResume(c.optBoolean("resume", false));
        c.optObject("training").ifPresent(t -> b.optOptions(readOptions(t)));
        c.optObject("encoderLora").ifPresent(l -> b.optEncoderLora(LoraConfig.fromPeftJson(l.toJson(), c.source()
                + " encoderLora")));
        c.optObject("decoderLora").ifPresent(l -> b.optDecoderLora(LoraConfig.fromPeftJson(l.toJson(), c.source()
                + " decoderLora")));
        return b.build();
    }

    /** Reads the {@code training} object; absent keys keep {@link TrainingOptions}' defaults. */
    private static TrainingOptions readOptions(JsonConfig t) {
        TrainingOptions d = TrainingOptions.builder().build();
        TrainingOptions.Builder o = TrainingOptions.builder()
                .optSteps(t.optInt("steps").orElse(d.steps()))
                .optBatchSize(t.optInt("batchSize").orElse(d.batchSize()))
                .optLearningRate(t.optDouble("learningRate", d.learningRate()))
                .optWeightDecay(t.optDouble("weightDecay", d.weightDecay()))
                .optBetas(t.optDouble("beta1", d.beta1()), t.optDouble("beta2", d.beta2()))
                .optWarmupSteps(t.optInt("warmupSteps").orElse(d.warmupSteps()))
                .optMinLearningRateRatio(t.optDouble("minLearningRateRatio", d.minLearningRateRatio()))
                .optMaxGradNorm(t.optDouble("maxGradNorm", d.maxGradNorm()))
                .optSeed(t.optInt("seed").map(Long::valueOf).orElse(d.seed()))
                .optCheckpointEvery(t.optInt("checkpointEvery").orElse(d.checkpointEvery()));
        if (t.has("encoderLearningRate")) {
            o.optEncoderLearningRate(t.optDouble("encoderLearningRate", 0));
        }
        if (t.has("decoderLearningRate")) {
            o.optDecoderLearningRate(t.optDouble("decoderLearningRate", 0));
        }
        return o.build();
    }

    /** Builder of {@link TrainingConfig}. */
    public static final class Builder {
        private Path decoder;
        private Path encoder;
        private Path initFrom;
        private Path output;
        private CorpusSource corpus;
        private int heldOutDocuments;
        private int evalSamples = 32;
        private int k = Compression.DEFAULT_K;
        private Pooling pooling = Pooling.CLS;
        private Device device = Device.AUTO;
        private TrainingOptions options = TrainingOptions.builder().build();
        private boolean resume;
        private LoraConfig encoderLora;
        private LoraConfig decoderLora;

        private Builder() {
        }

        /**
         * @param v LoRA adapters for the encoder, or null to train its weights (when it trains)
         * @return this
         */
        public Builder optEncoderLora(LoraConfig v) {
            encoderLora = v;
            return this;
        }

        /**
         * @param v LoRA adapters for the decoder, or null to train its weights (when it trains)
         * @return this
         */
        public Builder optDecoderLora(LoraConfig v) {
            decoderLora = v;
            return this;
        }

        /**
         * @param v decoder checkpoint folder
         * @return this
         */
        public Builder setDecoder(Path v) {
            decoder = v;
            return this;
        }

        /**
         * @param v encoder checkpoint folder
         * @return this
         */
        public Builder setEncoder(Path v) {
            encoder = v;
            return this;
        }

        /**
         * @param v output folder
         * @return this
         */
        public Builder setOutput(Path v) {
            output = v;
            return this;
        }

        /**
         * @param v training documents, or a corpus to sample when training starts
         * @return this
         */
        public Builder setCorpus(CorpusSource v) {
            corpus = v;
            return this;
        }

        /**
         * @param v a previous training output folder to start from
         * @return this
         */
        public Builder optInitFrom(Path v) {
            initFrom = v;
            return this;
        }

        /**
         * @param v held-out documents (default: a tenth of the corpus, at least 1)
         * @return this
         */
        public Builder optHeldOutDocuments(int v) {
            heldOutDocuments = v;
            return this;
        }

        /**
         * @param v held-out samples evaluated (default 32)
         * @return this
         */
        public Builder optEvalSamples(int v) {
            evalSamples = v;
            return this;
        }

        /**
         * @param v decoder tokens per chunk (default {@value Compression#DEFAULT_K}, as for serving)
         * @return this
         */
        public Builder optK(int v) {
            k = v;
            return this;
        }

        /**
         * @param v chunk pooling (default cls, the pipeline's default)
         * @return this
         */
        public Builder optPooling(Pooling v) {
            pooling = v;
            return this;
        }

        /**
         * @param v device (default auto)
         * @return this
         */
        public Builder optDevice(Device v) {
            device = v;
            return this;
        }

        /**
         * @param v optimiser and loop settings
         * @return this
         */
        public Builder optOptions(TrainingOptions v) {
            options = v;
            return this;
        }

        /**
         * @param v continue from the output folder's checkpoint when present
         * @return this
         */
        public Builder optResume(boolean v) {
            resume = v;
            return this;
        }

        /**
         * @return the validated config
         * @throws InvalidRequestException if a required field is missing or a value is out of range
         */
        public TrainingConfig build() {
            if (decoder == null || encoder == null || output == null || corpus == null) {
                throw new InvalidRequestException("training config needs decoder, encoder, output and corpus");
            }
            int heldOut = heldOutDocuments > 0 ? heldOutDocuments : Math.max(1, corpus.size() / 10);
            return new TrainingConfig(decoder, encoder, initFrom, output, corpus, heldOut, evalSamples, k, pooling,
                    device, options, resume, encoderLora, decoderLora);
        }
    }
}
