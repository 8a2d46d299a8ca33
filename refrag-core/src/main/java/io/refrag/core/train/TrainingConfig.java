package io.refrag.core.train;

import io.refrag.core.InvalidRequestException;
import io.refrag.core.checkpoint.HfConfig;
import io.refrag.core.spi.CausalDecoder;
import io.refrag.core.spi.ModelOptions;
import io.refrag.core.spi.Pooling;
import io.refrag.core.spi.Precision;
import io.refrag.core.spi.Providers;

import java.nio.file.Path;
import java.util.Objects;

/**
 * What to train and on what. Built in code with {@link #builder()} or read from a JSON file with
 * {@link #read(Path)} (the CLI's {@code --config}); task-specific fields are ignored by the other tasks.
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
 * @param maxChunks reconstruction: chunks per sample of the hardest type (L)
 * @param curriculum reconstruction: the curriculum, or null to train on {@code maxChunks}-chunk samples only
 * @param trainEncoder reconstruction and CPT: whether the encoder trains (else only the projector)
 * @param contextTokens CPT and policy: context tokens s before the target
 * @param targetTokens CPT and policy: target tokens o to predict
 * @param expandFraction CPT: fraction of context chunks expanded at random; policy: the fraction p it picks
 * @param trainDecoder CPT: whether the decoder trains too
 * @param groupSize policy: sampled selections per input (GRPO group G)
 * @param clipEpsilon policy: PPO clipping range
 * @param ppoEpochs policy: optimisation passes over each sampled group
 */
public record TrainingConfig(Path decoder, Path encoder, Path initFrom, Path output, TrainingCorpus corpus,
        int heldOutDocuments, int evalSamples, int k, Pooling pooling, String device, TrainingOptions options, boolean resume,
        int maxChunks, Curriculum curriculum, boolean trainEncoder, int contextTokens, int targetTokens,
        double expandFraction, boolean trainDecoder, int groupSize, double clipEpsilon, int ppoEpochs) {

    /** Validates the fields; messages name the field and the allowed values. */
    public TrainingConfig {
        Objects.requireNonNull(decoder, "decoder");
        Objects.requireNonNull(encoder, "encoder");
        Objects.requireNonNull(output, "output");
        Objects.requireNonNull(corpus, "corpus");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(pooling, "pooling");
        require(heldOutDocuments >= 1 && heldOutDocuments < corpus.documents().size(), "heldOutDocuments must be in "
                + "[1, documents - 1] = [1, " + (corpus.documents().size() - 1) + "], got " + heldOutDocuments);
        require(evalSamples >= 1, "evalSamples must be >= 1, got " + evalSamples);
        require(k >= 1, "k (decoder tokens per chunk) must be >= 1, got " + k);
        require(maxChunks >= 1, "maxChunks must be >= 1, got " + maxChunks);
        require(curriculum == null || curriculum.maxChunks() == maxChunks, "the curriculum's maxChunks ("
                + (curriculum == null ? 0 : curriculum.maxChunks()) + ") must equal maxChunks (" + maxChunks + ")");
        require(contextTokens >= k, "contextTokens must be >= k = " + k + ", got " + contextTokens);
        require(targetTokens >= 1, "targetTokens must be >= 1, got " + targetTokens);
        require(expandFraction >= 0 && expandFraction <= 1, "expandFraction (p) must be in [0, 1], got "
                + expandFraction);
        require(groupSize >= 2, "groupSize (G) must be >= 2 to normalise advantages within a group, got " + groupSize);
        require(clipEpsilon > 0 && clipEpsilon < 1, "clipEpsilon must be in (0, 1), got " + clipEpsilon);
        require(ppoEpochs >= 1, "ppoEpochs must be >= 1, got " + ppoEpochs);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new InvalidRequestException("training config: " + message);
        }
    }

    /** @return a builder; decoder, encoder, output and corpus are required */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Reads a JSON config; relative paths resolve against the file's folder. Keys: {@code decoder}, {@code encoder},
     * {@code output}, {@code corpus} (a text or {@code .jsonl} file) or {@code sampleCorpus}
     * ({@code {"documents": N, "tokens": T, "seed": S}}, sampled from the decoder while reading), and optionally
     * {@code initFrom}, {@code heldOutDocuments}, {@code evalSamples}, {@code k}, {@code pooling}, {@code device}, {@code resume},
     * {@code maxChunks}, {@code curriculum} (true, false or {@code {"stages", "ratio", "base"}}),
     * {@code trainEncoder}, {@code contextTokens}, {@code targetTokens}, {@code expandFraction}, {@code trainDecoder},
     * {@code groupSize}, {@code clipEpsilon}, {@code ppoEpochs} and {@code training} ({@code steps},
     * {@code batchSize}, {@code learningRate}, {@code encoderLearningRate}, {@code decoderLearningRate},
     * {@code weightDecay}, {@code beta1}, {@code beta2},
     * {@code warmupSteps}, {@code minLearningRateRatio}, {@code maxGradNorm}, {@code seed}, {@code checkpointEvery}).
     *
     * @param file the JSON file
     * @return the config
     * @throws InvalidRequestException for a missing file, a missing required key or a bad value
     */
    public static TrainingConfig read(Path file) {
        HfConfig c;
        try {
            c = HfConfig.readFile(file);
        } catch (io.refrag.core.ModelLoadException e) {
            throw new InvalidRequestException("cannot read training config: " + e.getMessage());
        }
        Path dir = file.toAbsolutePath().getParent();
        Builder b = builder()
                .setDecoder(dir.resolve(c.requireString("decoder")))
                .setEncoder(dir.resolve(c.requireString("encoder")))
                .setOutput(dir.resolve(c.requireString("output")));
        if (c.has("corpus")) {
            b.setCorpus(TrainingCorpus.read(dir.resolve(c.requireString("corpus"))));
        } else if (c.has("sampleCorpus")) {
            HfConfig s = c.optObject("sampleCorpus").orElseThrow();
            ModelOptions device = new ModelOptions(c.optString("device").orElse("auto"), Precision.FP32);
            try (CausalDecoder d = Providers.loadDecoder(dir.resolve(c.requireString("decoder")), device)) {
                b.setCorpus(TrainingCorpus.sample(d, s.requireInt("documents"), s.requireInt("tokens"),
                        s.optInt("seed").orElse(0)));
            }
        } else {
            throw new InvalidRequestException(file + ": give \"corpus\" (a text or .jsonl file) or \"sampleCorpus\": "
                    + "{\"documents\": N, \"tokens\": T}");
        }
        c.optString("initFrom").ifPresent(p -> b.optInitFrom(dir.resolve(p)));
        c.optInt("heldOutDocuments").ifPresent(b::optHeldOutDocuments);
        c.optInt("evalSamples").ifPresent(b::optEvalSamples);
        c.optInt("k").ifPresent(b::optK);
        c.optString("pooling").map(Pooling::parse).ifPresent(b::optPooling);
        c.optString("device").ifPresent(b::optDevice);
        b.optResume(c.optBoolean("resume", false));
        c.optInt("maxChunks").ifPresent(b::optMaxChunks);
        if (c.isObject("curriculum")) {
            HfConfig cur = c.optObject("curriculum").orElseThrow();
            b.optCurriculum(cur.optInt("stages").orElse(9), cur.optDouble("ratio", 2.0), cur.optInt("base").orElse(64));
        } else {
            b.optCurriculum(c.optBoolean("curriculum", true));
        }
        b.optTrainEncoder(c.optBoolean("trainEncoder", b.trainEncoder));
        c.optInt("contextTokens").ifPresent(b::optContextTokens);
        c.optInt("targetTokens").ifPresent(b::optTargetTokens);
        b.optExpandFraction(c.optDouble("expandFraction", b.expandFraction));
        b.optTrainDecoder(c.optBoolean("trainDecoder", false));
        c.optInt("groupSize").ifPresent(b::optGroupSize);
        b.optClipEpsilon(c.optDouble("clipEpsilon", b.clipEpsilon));
        c.optInt("ppoEpochs").ifPresent(b::optPpoEpochs);
        c.optObject("training").ifPresent(t -> {
            TrainingOptions.Builder o = TrainingOptions.builder();
            t.optInt("steps").ifPresent(o::optSteps);
            t.optInt("batchSize").ifPresent(o::optBatchSize);
            o.optLearningRate(t.optDouble("learningRate", 1e-3));
            if (t.has("encoderLearningRate")) {
                o.optEncoderLearningRate(t.optDouble("encoderLearningRate", 0));
            }
            if (t.has("decoderLearningRate")) {
                o.optDecoderLearningRate(t.optDouble("decoderLearningRate", 0));
            }
            o.optWeightDecay(t.optDouble("weightDecay", 0.01));
            o.optBetas(t.optDouble("beta1", 0.9), t.optDouble("beta2", 0.999));
            t.optInt("warmupSteps").ifPresent(o::optWarmupSteps);
            o.optMinLearningRateRatio(t.optDouble("minLearningRateRatio", 0.1));
            o.optMaxGradNorm(t.optDouble("maxGradNorm", 1.0));
            t.optInt("seed").ifPresent(o::optSeed);
            t.optInt("checkpointEvery").ifPresent(o::optCheckpointEvery);
            b.optOptions(o.build());
        });
        return b.build();
    }

    /** Builder of {@link TrainingConfig}. */
    public static final class Builder {
        private Path decoder;
        private Path encoder;
        private Path initFrom;
        private Path output;
        private TrainingCorpus corpus;
        private int heldOutDocuments;
        private int evalSamples = 32;
        private int k = 8;
        private Pooling pooling = Pooling.CLS;
        private String device = "auto";
        private TrainingOptions options = TrainingOptions.builder().build();
        private boolean resume;
        private int maxChunks = 8;
        private boolean curriculumOn = true;
        private int stages = 9;
        private double ratio = 2.0;
        private int base = 64;
        private boolean trainEncoder = true;
        private int contextTokens = 128;
        private int targetTokens = 32;
        private double expandFraction = 0.25;
        private boolean trainDecoder;
        private int groupSize = 4;
        private double clipEpsilon = 0.2;
        private int ppoEpochs = 2;

        private Builder() {
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
         * @param v training documents
         * @return this
         */
        public Builder setCorpus(TrainingCorpus v) {
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
         * @param v decoder tokens per chunk (default 8)
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
        public Builder optDevice(String v) {
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
         * @param v reconstruction: chunks per sample of the hardest type (default 8)
         * @return this
         */
        public Builder optMaxChunks(int v) {
            maxChunks = v;
            return this;
        }

        /**
         * @param on reconstruction: use the standard curriculum (default) or train on maxChunks-chunk samples only
         * @return this
         */
        public Builder optCurriculum(boolean on) {
            curriculumOn = on;
            return this;
        }

        /**
         * @param stagesV curriculum stages
         * @param ratioV geometric ratio (&gt; 1)
         * @param baseV count of the easiest type in the first stage
         * @return this
         */
        public Builder optCurriculum(int stagesV, double ratioV, int baseV) {
            curriculumOn = true;
            stages = stagesV;
            ratio = ratioV;
            base = baseV;
            return this;
        }

        /**
         * @param v whether the encoder trains (default true)
         * @return this
         */
        public Builder optTrainEncoder(boolean v) {
            trainEncoder = v;
            return this;
        }

        /**
         * @param v CPT/policy context tokens s (default 128)
         * @return this
         */
        public Builder optContextTokens(int v) {
            contextTokens = v;
            return this;
        }

        /**
         * @param v CPT/policy target tokens o (default 32)
         * @return this
         */
        public Builder optTargetTokens(int v) {
            targetTokens = v;
            return this;
        }

        /**
         * @param v CPT: fraction of context chunks expanded at random; policy: the fraction it picks (default 0.25)
         * @return this
         */
        public Builder optExpandFraction(double v) {
            expandFraction = v;
            return this;
        }

        /**
         * @param v CPT: whether the decoder trains too (default false)
         * @return this
         */
        public Builder optTrainDecoder(boolean v) {
            trainDecoder = v;
            return this;
        }

        /**
         * @param v policy: GRPO group size (default 4)
         * @return this
         */
        public Builder optGroupSize(int v) {
            groupSize = v;
            return this;
        }

        /**
         * @param v policy: PPO clipping range (default 0.2)
         * @return this
         */
        public Builder optClipEpsilon(double v) {
            clipEpsilon = v;
            return this;
        }

        /**
         * @param v policy: optimisation passes per sampled group (default 2)
         * @return this
         */
        public Builder optPpoEpochs(int v) {
            ppoEpochs = v;
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
            int heldOut = heldOutDocuments > 0 ? heldOutDocuments : Math.max(1, corpus.documents().size() / 10);
            return new TrainingConfig(decoder, encoder, initFrom, output, corpus, heldOut, evalSamples, k, pooling, device,
                    options, resume, maxChunks, curriculumOn ? new Curriculum(maxChunks, stages, ratio, base) : null,
                    trainEncoder, contextTokens, targetTokens, expandFraction, trainDecoder, groupSize, clipEpsilon,
                    ppoEpochs);
        }
    }
}
