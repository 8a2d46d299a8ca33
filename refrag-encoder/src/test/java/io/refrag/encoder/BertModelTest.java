package io.refrag.encoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.model.ChunkEncoder;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.Pooling;
import io.refrag.core.model.Precision;
import io.refrag.core.spi.Providers;
import io.refrag.core.tensor.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.List;

/** Tiny random BERT/RoBERTa checkpoints against the float64 {@link NaiveBert}. */
class BertModelTest {
    private static final ModelOptions CPU = new ModelOptions(Device.CPU, Precision.FP32);

    @TempDir
    Path tmp;

    private static String text(int... ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(sb.isEmpty() ? "" : " ").append('t').append(id);
        }
        return sb.toString();
    }

    @ParameterizedTest(name = "roberta={0} prefix=''{1}''")
    @CsvSource({"true, roberta.", "true, ''", "false, bert.", "false, ''"})
    void paddedBatchMatchesTheReferenceForEveryPooling(boolean roberta, String prefix) {
        Path dir = RandomBertCheckpoint.builder().roberta(roberta).prefix(prefix).seed(roberta ? 3 : 4)
                .write(tmp.resolve("m"));
        int cls = roberta ? 0 : 2;
        int sep = roberta ? 2 : 3;
        int[][] bodies = {{10, 11, 12, 13, 14, 15, 16}, {20, 21}, {30, 31, 32, 33}};
        List<String> texts = List.of(text(bodies[0]), text(bodies[1]), text(bodies[2]));
        NaiveBert naive = new NaiveBert(dir, prefix);
        for (Pooling pooling : new Pooling[] {Pooling.CLS, Pooling.MEAN}) {
            try (BertChunkEncoder enc = BertChunkEncoder.load(dir, CPU, pooling)) {
                float[][] got = enc.encode(texts);
                for (int i = 0; i < bodies.length; i++) {
                    int[] ids = new int[bodies[i].length + 2];
                    ids[0] = cls;
                    System.arraycopy(bodies[i], 0, ids, 1, bodies[i].length);
                    ids[ids.length - 1] = sep;
                    assertArrayEquals(ids, enc.tokenizer().encode(texts.get(i)).ids());
                    double[][] h = naive.lastHidden(ids);
                    double[] expected = new double[h[0].length];
                    for (int d = 0; d < expected.length; d++) {
                        if (pooling == Pooling.CLS) {
                            expected[d] = h[0][d];
                        } else {
                            for (double[] row : h) {
                                expected[d] += row[d] / h.length;
                            }
                        }
                    }
                    for (int d = 0; d < expected.length; d++) {
                        assertEquals(expected[d], got[i][d], 1e-4, pooling + " text " + i + " dim " + d);
                    }
                }
            }
        }
    }

    @Test
    void poolerPoolingNeedsPoolerWeightsAndUnknownTypesAreNamed() {
        Path dir = RandomBertCheckpoint.builder().pooler(false).write(tmp.resolve("np"));
        var e = assertThrows(ModelLoadException.class, () -> BertChunkEncoder.load(dir, CPU, Pooling.POOLER));
        assertTrue(e.getMessage().contains("pooler"), e.getMessage());
        try (ChunkEncoder enc = Providers.loadEncoder(dir, CPU, Pooling.MEAN)) {
            float[][] v = enc.encode(List.of("t5 t6"));
            assertEquals(1, v.length);
            assertEquals(32, v[0].length);
        }
        var unknown = assertThrows(ModelLoadException.class,
                () -> Providers.loadEncoder(io.refrag.core.testing.SharedModels.stories(), CPU, Pooling.CLS));
        assertTrue(unknown.getMessage().contains("'llama'") && unknown.getMessage().contains("roberta"),
                unknown.getMessage());
    }

    @Test
    void encodingLeavesNoArraysBehind() {
        Path dir = RandomBertCheckpoint.builder().write(tmp.resolve("l"));
        try (BertChunkEncoder enc = BertChunkEncoder.load(dir, CPU, Pooling.MEAN)) {
            int weights = enc.liveArrayCount();
            for (int i = 0; i < 20; i++) {
                enc.encode(List.of(text(5, 6, 7), text(8)));
            }
            assertEquals(weights, enc.liveArrayCount());
        }
    }
}
