package io.refrag.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.hub.HfHub;
import io.refrag.core.model.PolicyNames;
import io.refrag.core.model.Pooling;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.UnaryOperator;

/** The one door for model ids and overrides: combinations checked before any model loads, named as the caller names them. */
class ModelSelectionTest {
    private static final UnaryOperator<String> OPTIONS = f -> "--" + f.replaceAll("([A-Z])", "-$1").toLowerCase();

    @TempDir
    Path tmp;

    private HfHub hub;
    private Path decoder;
    private Path encoder;
    private Path folder;

    @BeforeEach
    void folders() throws Exception {
        hub = HfHub.of(tmp.resolve("hub-cache"), "http://127.0.0.1:9", true, null, null);
        decoder = Files.createDirectories(tmp.resolve("decoder"));
        encoder = Files.createDirectories(tmp.resolve("encoder"));
        folder = Files.createDirectories(tmp.resolve("refrag"));
        RefragManifest.of(decoder).withEncoder(encoder, Pooling.CLS).withDefaults(8, 0.25).write(folder);
    }

    private static ModelSelection decoderOnly(Path decoder) {
        return new ModelSelection(null, decoder.toString(), null, null, null, null, null);
    }

    @Test
    void aFolderGivesItsManifestAndOverridesReplaceItsParts() throws Exception {
        assertEquals(RefragManifest.read(folder), ModelSelection.folder(folder.toString()).resolve(hub, true,
                ModelSelection.FIELD_NAMES));
        Path policy = Files.writeString(tmp.resolve("policy.safetensors"), "x");
        Path other = Files.createDirectories(tmp.resolve("other-encoder"));
        RefragManifest m = new ModelSelection(folder.toString(), null, other.toString(), null, policy, Pooling.MEAN,
                PolicyNames.LEARNED).resolve(hub, true, ModelSelection.FIELD_NAMES);
        assertEquals(other, m.encoder());
        assertEquals(Pooling.MEAN, m.pooling());
        assertEquals(PolicyNames.LEARNED, m.policy());
        assertEquals(policy, m.policyFile());
        assertEquals(8, m.k(), "the folder's defaults stay");
        RefragManifest pooled = new ModelSelection(folder.toString(), null, null, null, null, Pooling.MEAN, null)
                .resolve(hub, true, ModelSelection.FIELD_NAMES);
        assertEquals(encoder.toRealPath(), pooled.encoder().toRealPath(), "pooling alone keeps the folder's encoder");
        assertEquals(Pooling.MEAN, pooled.pooling());
    }

    @Test
    void aDecoderAloneServesFullContextButNotRefrag() {
        RefragManifest m = decoderOnly(decoder).resolve(hub, false, ModelSelection.FIELD_NAMES);
        assertEquals(decoder, m.decoder());
        assertNull(m.encoder());
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> decoderOnly(decoder).resolve(hub, true, OPTIONS));
        assertTrue(e.getMessage().contains("REFRAG mode needs --encoder"), e.getMessage());
    }

    @Test
    void impossibleCombinationsAreRefusedInTheCallersNames() throws Exception {
        String[][] cases = {
            {"both", "give model (a REFRAG folder) or decoder, not both", "give --model (a REFRAG folder) or --decoder, not both"},
            {"neither", "give model (a REFRAG folder) or decoder", "give --model (a REFRAG folder) or --decoder"},
            {"pooling", "pooling sets how the encoder pools a chunk", "--pooling sets how the encoder pools a chunk"},
            {"policyFile", "policyFile holds a learned policy's weights: it needs policy learned",
                "--policy-file holds a learned policy's weights: it needs --policy learned"},
            {"projector", "projector " + tmp.resolve("nope") + " is not an existing file",
                "--projector " + tmp.resolve("nope") + " is not an existing file"},
        };
        Path weights = Files.writeString(tmp.resolve("w.safetensors"), "x");
        for (String[] c : cases) {
            ModelSelection s = switch (c[0]) {
                case "both" -> new ModelSelection(folder.toString(), decoder.toString(), null, null, null, null, null);
                case "neither" -> new ModelSelection(null, null, encoder.toString(), null, null, null, null);
                case "pooling" -> new ModelSelection(null, decoder.toString(), null, null, null, Pooling.MEAN, null);
                case "policyFile" -> new ModelSelection(folder.toString(), null, null, null, weights, null, "random");
                default -> new ModelSelection(folder.toString(), null, null, tmp.resolve("nope"), null, null, null);
            };
            String library = assertThrows(InvalidRequestException.class,
                    () -> s.resolve(hub, false, ModelSelection.FIELD_NAMES)).getMessage();
            assertTrue(library.contains(c[1]), c[0] + ": " + library);
            String cli = assertThrows(InvalidRequestException.class, () -> s.resolve(hub, false, OPTIONS))
                    .getMessage();
            assertTrue(cli.contains(c[2]), c[0] + ": " + cli);
        }
    }

    @Test
    void idsGoThroughTheHubAndAnOfflineMissIsAClearError() {
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> ModelSelection.folder("someone/missing-model").resolve(hub, false, ModelSelection.FIELD_NAMES));
        assertTrue(e.getMessage().contains("someone/missing-model"), e.getMessage());
    }
}
