package io.refrag.bench.cli;

import io.refrag.core.Refrag;
import io.refrag.core.spi.CausalDecoder;
import io.refrag.core.spi.ModelOptions;
import io.refrag.core.spi.Pooling;
import io.refrag.core.spi.Providers;

import java.nio.file.Path;

/** Builds a {@link Refrag} pipeline from command-line options. */
final class Pipelines {
    private Pipelines() {
    }

    /**
     * @param a parsed options (encoder, projector, policy, pooling, device, precision)
     * @param decoderDir the decoder folder
     * @param needsEncoder whether --encoder is required (REFRAG mode)
     * @return the pipeline
     */
    static Refrag open(Args a, Path decoderDir, boolean needsEncoder) {
        ModelOptions options = Main.modelOptions(a);
        Path encoderDir = needsEncoder || a.has("encoder") ? a.requireDir("encoder") : null;
        Path projector = a.optFile("projector");
        Path policyFile = a.optFile("policy-file");
        Pooling pooling = Pooling.parse(a.string("pooling", "cls"));
        CausalDecoder decoder = Providers.loadDecoder(decoderDir, options);
        Refrag.Builder b = Refrag.builder().setDecoder(decoder).optModelOptions(options);
        try {
            if (encoderDir != null) {
                b.optEncoder(Providers.loadEncoder(encoderDir, options, pooling));
            }
            if (projector != null) {
                b.optProjector(Providers.projectors().load(projector, options));
            }
            b.optPolicy(a.string("policy", "none"), policyFile);
            return b.build();
        } catch (RuntimeException e) {
            decoder.close();
            throw e;
        }
    }
}
