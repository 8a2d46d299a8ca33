package io.refrag.bench.cli;

import io.refrag.core.Refrag;
import io.refrag.core.RefragManifest;
import io.refrag.core.RefragOptions;
import io.refrag.core.RefragResult;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.generate.GenerationResult;
import io.refrag.core.generate.Generator;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.spi.Providers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/**
 * {@code generate}: a prompt continued by the decoder alone, or a question answered over a context file through the
 * REFRAG pipeline ({@code --full-context} feeds every passage as tokens instead).
 */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Continue --prompt with the decoder alone, or answer --question over the passages of "
            + "--context-file (one per line) through REFRAG.",
            "Examples:",
            "  generate --decoder DIR --prompt \"Once upon a time\"",
            "  generate --model models/refrag-stories260k-k8 --question Q --context-file FILE --passages 3 --stream"})
final class Generate extends CliCommand {
    @Mixin
    CliOptions.Models models;

    @Mixin
    CliOptions.Request request;

    @Option(names = "--k", paramLabel = "N", description = "decoder tokens per chunk (default: the pipeline's)")
    Integer k;

    @Mixin
    CliOptions.Expansion expansion;

    @Option(names = "--full-context", description = "feed every passage as tokens (the baseline)")
    boolean fullContext;

    @Mixin
    CliOptions.Sampling sampling;

    @Mixin
    CliOptions.Device device;

    @Option(names = "--stream", description = "print the text as it is generated")
    boolean stream;

    @Override
    void execute() {
        if (stream && json) {
            throw new UsageException("generate: --stream prints text as it comes and --json prints one object at the "
                    + "end; give one of them");
        }
        GenerationOptions generation = sampling.generation();
        if (stream) {
            generation = generation.toBuilder().optListener((id, delta) -> {
                out().print(delta);
                out().flush();
            }).build();
        }
        if (request.question != null || request.contextFile != null) {
            refrag(generation);
        } else {
            decoderOnly(generation);
        }
    }

    private void decoderOnly(GenerationOptions generation) {
        String prompt = request.prompt;
        if (prompt == null) {
            throw new UsageException("generate: give --prompt TEXT, or --question TEXT with --context-file FILE");
        }
        Path decoderDir = models.decoderFolder(err());
        try (CausalDecoder decoder = Providers.loadDecoder(decoderDir, device.modelOptions())) {
            long start = System.nanoTime();
            int[] ids = decoder.info().withBos(decoder.tokenizer().encode(prompt).ids());
            GenerationResult r = Generator.generate(decoder, DecoderInput.ofTokens(ids), generation, start);
            print(r, out -> {
                out.println(stream ? "" : prompt + r.text());
                out.println(Main.metricsLine(r));
            });
        }
    }

    private void refrag(GenerationOptions generation) {
        request.text("generate");
        List<String> context = request.first(request.allPassages("generate"));
        withOverrides(RefragOptions.builder()); // every number is checked before a model loads
        RefragManifest manifest = models.manifest(!fullContext, expansion.policy, err());
        try (Refrag refrag = Refrag.open(manifest, device.modelOptions())) {
            RefragOptions options = withOverrides(refrag.defaults().toBuilder().optGeneration(generation)
                    .optFullContext(fullContext)).build();
            RefragResult r = refrag.generate(request.request(context), options);
            print(r, out -> {
                out.println(stream ? "" : r.text());
                out.println(Main.metricsLine(r.generation()));
                out.printf("decoder input %d positions (full context %d, %.2fx compression), %d/%d chunks expanded; "
                        + "encode %.2f ms, policy %.2f ms, prefill %.2f ms%n", r.decoderInputLength(),
                        r.fullContextTokens(), r.compressionRatio(), r.expandedChunks(), r.totalChunks(),
                        r.encodeMillis(), r.policyMillis(), r.generation().metrics().prefillMillis());
            });
        }
    }

    /** @return the builder with {@code --k} and {@code --p} applied where given */
    private RefragOptions.Builder withOverrides(RefragOptions.Builder b) {
        if (k != null) {
            b.optK(k);
        }
        if (expansion.p != null) {
            b.optExpansionFraction(expansion.p);
        }
        return b;
    }
}
