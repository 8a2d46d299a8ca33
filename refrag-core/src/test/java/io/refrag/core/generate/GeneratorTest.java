package io.refrag.core.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.testing.FakeDecoder;
import org.junit.jupiter.api.Test;

import java.util.List;

/** The generation loop's stopping rules and its stream, over a decoder that writes "abcdef...". */
class GeneratorTest {
    private static final DecoderInput PROMPT = DecoderInput.ofTokens(1, 'x', 'y');

    private static GenerationResult run(List<String> stops, int maxNewTokens, StringBuilder stream) {
        GenerationOptions.Builder b = GenerationOptions.builder().optMaxNewTokens(maxNewTokens).optStopSequences(stops);
        if (stream != null) {
            b.optListener((id, delta) -> stream.append(delta));
        }
        return Generator.generate(new FakeDecoder(512), PROMPT, b.build(), System.nanoTime());
    }

    @Test
    void aStopSequenceEndsGenerationAndTheOutputAndStreamStopBeforeIt() {
        for (boolean streaming : new boolean[] {false, true}) {
            StringBuilder stream = streaming ? new StringBuilder() : null;
            GenerationResult r = run(List.of("zz", "def", "cdq"), 20, stream);
            assertEquals("abc", r.text());
            assertEquals(FinishReason.STOP, r.finishReason());
            assertEquals(6, r.generatedTokens(), "generation ends on the token that completes the stop sequence");
            if (streaming) {
                assertEquals("abc", stream.toString(), "the held-back 'de' never reaches the stream");
            }
        }
    }

    @Test
    void aTailThatNeverBecomesAStopSequenceIsReleasedAndTheLengthLimitStillApplies() {
        StringBuilder stream = new StringBuilder();
        GenerationResult r = run(List.of("efx"), 6, stream);
        assertEquals("abcdef", r.text());
        assertEquals(FinishReason.LENGTH, r.finishReason());
        assertEquals("abcdef", stream.toString(), "the last token releases the held-back 'ef'");
        StringBuilder partial = new StringBuilder();
        run(List.of("efx"), 7, partial);
        assertEquals("abcdefg", partial.toString());
    }

    @Test
    void emptyStopSequencesAreRefused() {
        var e = assertThrows(InvalidRequestException.class,
                () -> GenerationOptions.builder().optStopSequences(List.of("ok", "")));
        assertEquals("stop sequences must be non-empty texts, got [ok, ]", e.getMessage());
    }
}
