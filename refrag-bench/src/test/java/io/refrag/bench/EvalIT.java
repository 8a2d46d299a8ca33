package io.refrag.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.Refrag;
import io.refrag.core.RefragManifest;
import io.refrag.core.RefragOptions;
import io.refrag.core.RefragRequest;
import io.refrag.core.eval.EvalOptions;
import io.refrag.core.eval.EvalReport;
import io.refrag.core.eval.EvalRow;
import io.refrag.core.eval.Evaluator;
import io.refrag.core.eval.QaExample;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Precision;
import io.refrag.core.testing.SharedModels;
import io.refrag.core.corpus.TrainingCorpus;
import io.refrag.core.tensor.Device;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Quality on the shared models: the eval protocol orders no context above full context, the shipped trained model
 * keeps more of the full-context gain than an untrained projector, QA scores a known answer, and the shipped folder
 * loads as committed (and fails clearly when a file in it is missing or corrupt).
 */
class EvalIT {
    private static final ModelOptions CPU = new ModelOptions(Device.CPU, Precision.FP32);
    private static List<String> heldOut;

    @BeforeAll
    static void corpus() {
        heldOut = TrainingCorpus.read(SharedModels.shippedModel().resolve("heldout-stories.txt")).documents();
    }

    /** k = 8 at p = 0 and at p = 0.25 with the given policy, on 30 held-out stories. */
    private static EvalReport k8(RefragManifest m, String policy) {
        try (Refrag refrag = Refrag.open(m, CPU)) {
            return new Evaluator(refrag, new EvalOptions(64, 32, List.of(8), List.of(0.0, 0.25), List.of(policy), 30,
                    0)).perplexity(heldOut, (d, t) -> { });
        }
    }

    @Test
    void theShippedModelKeepsMoreOfTheGainThanAnUntrainedProjector() {
        EvalReport shipped = k8(RefragManifest.read(SharedModels.shippedModel()), "learned");
        EvalReport untrained = k8(RefragManifest.of(SharedModels.stories())
                .withEncoder(SharedModels.miniLm(), RefragManifest.DEFAULT_POOLING), "perplexity");
        EvalRow none = shipped.rows().get(0);
        EvalRow full = shipped.rows().get(1);
        for (EvalReport r : List.of(shipped, untrained)) {
            System.out.printf("eval on %d held-out stories: none %.4f, full %.4f, %s %.4f (%.1f%% kept), %s %.4f "
                    + "(%.1f%% kept)%n", r.documents(), r.rows().get(0).meanNll(), r.rows().get(1).meanNll(),
                    r.rows().get(2).label(), r.rows().get(2).meanNll(), 100 * r.rows().get(2).gainKept(),
                    r.rows().get(3).label(), r.rows().get(3).meanNll(), 100 * r.rows().get(3).gainKept());
        }
        assertEquals(30, shipped.documents());
        assertTrue(none.meanNll() > full.meanNll(), "the context helps the decoder");
        assertEquals(none.meanNll(), untrained.rows().get(0).meanNll(), 1e-9, "same decoder, same documents");
        EvalRow learned = shipped.rows().get(3);
        assertTrue(none.meanNll() > learned.meanNll() && learned.meanNll() > full.meanNll(),
                "k=8, p=0.25: the compressed context lies strictly between no context and full context");
        assertTrue(learned.gainKept() > untrained.rows().get(3).gainKept(),
                "the trained projector and policy keep more than an untrained projector with the perplexity policy");
        assertTrue(shipped.rows().get(2).gainKept() > untrained.rows().get(2).gainKept(),
                "p=0: the trained projector alone keeps more than the untrained one");
        assertTrue(learned.decoderInputLength() < full.decoderInputLength());
    }

    @Test
    void theShippedEncoderAdaptersLoadFromTheFolderAndChangeTheResult() {
        RefragManifest m = RefragManifest.read(SharedModels.shippedModel());
        assertEquals(SharedModels.shippedModel().resolve("encoder-adapter").toAbsolutePath().normalize(),
                m.encoderAdapter().toAbsolutePath().normalize(), "refrag.json names the encoder's LoRA adapters");
        EvalReport adapted = k8(m, "learned");
        EvalReport base = k8(m.withAdapters(null, null), "learned");
        System.out.printf("k=8 p=0 on 30 held-out stories: %.1f%% kept with the encoder adapters, %.1f%% without%n",
                100 * adapted.rows().get(2).gainKept(), 100 * base.rows().get(2).gainKept());
        assertEquals(base.rows().get(1).meanNll(), adapted.rows().get(1).meanNll(), 1e-9, "full context: no encoder");
        assertTrue(Math.abs(adapted.rows().get(2).meanNll() - base.rows().get(2).meanNll()) > 1e-4,
                "the adapters change the compressed result");
        assertTrue(adapted.rows().get(2).gainKept() > base.rows().get(2).gainKept(),
                "the projector was trained with the adapters: without them it keeps less");
        try (Refrag refrag = Refrag.load(SharedModels.shippedModel(), CPU);
                Refrag unmerged = Refrag.open(m, CPU.withUnmergedAdapter(true))) {
            float[] a = refrag.embed(List.of("Once upon a time, there was a little girl."))[0];
            float[] b = unmerged.embed(List.of("Once upon a time, there was a little girl."))[0];
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], 1e-5, "merged = unmerged at " + i);
            }
        }
    }

    @Test
    void qaScoresTheFullContextAnswerAsExact(@TempDir Path tmp) throws IOException {
        List<String> passages = List.of(heldOut.get(0).substring(0, 200), heldOut.get(1).substring(0, 200));
        String question = "What did they do?";
        String fullAnswer;
        try (Refrag refrag = Refrag.load(SharedModels.shippedModel(), CPU)) {
            fullAnswer = refrag.generate(RefragRequest.of(question, passages), RefragOptions.builder()
                    .optFullContext(true).optGeneration(io.refrag.core.generate.GenerationOptions.builder()
                            .optMaxNewTokens(8).build()).build()).text().split("\n", -1)[0];
            Path file = tmp.resolve("qa.jsonl");
            Files.writeString(file, "{\"question\": \"" + question + "\", \"passages\": [\"" + passages.get(0)
                    .replace("\"", "\\\"") + "\", \"" + passages.get(1).replace("\"", "\\\"") + "\"], \"answers\": [\""
                    + fullAnswer.replace("\"", "\\\"") + "\", \"unrelated\"]}\n");
            EvalReport r = new Evaluator(refrag, new EvalOptions(64, 8, List.of(8), List.of(0.0), List.of("none"), 5,
                    0)).qa(QaExample.readJsonl(file), (d, t) -> { });
            EvalRow full = r.rows().get(1);
            assertEquals(1, full.exactMatch(), "full context reproduces its own answer: '" + fullAnswer + "'");
            assertEquals(1, full.f1(), 1e-9);
            for (EvalRow row : r.rows()) {
                assertTrue(row.exactMatch() >= 0 && row.exactMatch() <= 1 && row.f1() >= row.exactMatch());
                assertTrue(Double.isFinite(row.meanNll()));
            }
        }
    }

    @Test
    void theShippedFolderFailsClearlyWhenAFileIsMissingOrCorrupt(@TempDir Path tmp) throws IOException {
        Path copy = tmp.resolve("model");
        copyFolder(SharedModels.shippedModel(), copy);
        // refrag.json's shared-model paths are relative to the folder: point them at the shared models instead
        RefragManifest m = RefragManifest.read(SharedModels.shippedModel());
        RefragManifest.read(copy); // reads as committed
        m.withProjector(copy.resolve("projector.safetensors")).withPolicy(m.policy(), copy.resolve("policy.safetensors"))
                .write(copy);
        try (Refrag ok = Refrag.load(copy, CPU)) {
            assertEquals(8, ok.defaults().k());
        }
        Files.write(copy.resolve("projector.safetensors"), new byte[] {1, 2, 3});
        ModelLoadException corrupt = assertThrows(ModelLoadException.class, () -> Refrag.load(copy, CPU));
        assertTrue(corrupt.getMessage().contains("projector.safetensors"), corrupt.getMessage());
        copyFolder(SharedModels.shippedModel(), tmp.resolve("model2"));
        Path copy2 = tmp.resolve("model2");
        m.withProjector(copy2.resolve("projector.safetensors"))
                .withPolicy(m.policy(), copy2.resolve("policy.safetensors")).write(copy2);
        Files.delete(copy2.resolve("policy.safetensors"));
        var missing = assertThrows(io.refrag.core.exception.RefragException.class, () -> Refrag.load(copy2, CPU));
        assertTrue(missing.getMessage().contains("policy.safetensors"), missing.getMessage());
    }

    private static void copyFolder(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.filter(f -> !f.equals(from)).toList()) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target);
                }
            }
        }
    }
}
