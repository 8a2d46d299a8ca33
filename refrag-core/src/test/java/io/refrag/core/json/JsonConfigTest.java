package io.refrag.core.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.exception.ModelLoadException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

/** Typed fields with errors that name the file, the key and what is allowed. */
class JsonConfigTest {
    @TempDir
    Path tmp;

    private JsonConfig json(String text) throws Exception {
        Path f = tmp.resolve("c.json");
        Files.writeString(f, text);
        return JsonConfig.readFile(f);
    }

    @Test
    void integersOutsideTheIntRangeAreRejectedNotWrapped() throws Exception {
        JsonConfig c = json("{\"hidden_size\": 4294967360, \"k\": 16, \"neg\": -2147483648, \"half\": 1.5}");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> c.optInt("hidden_size"));
        assertTrue(e.getMessage().contains("field 'hidden_size' must be an integer in [-2147483648, 2147483647]"),
                e.getMessage());
        assertEquals(16, c.requireInt("k"));
        assertEquals(Integer.MIN_VALUE, c.requireInt("neg"));
        assertThrows(ModelLoadException.class, () -> c.optInt("half"));
        assertFalse(c.optInt("absent").isPresent());
    }

    @Test
    void numbersAndBooleansCheckTheirType() throws Exception {
        JsonConfig c = json("{\"p\": 0.25, \"on\": true, \"bad\": \"yes\"}");
        assertEquals(0.25, c.optDouble("p", 1));
        assertEquals(1.0, c.optDouble("absent", 1));
        assertTrue(c.optBoolean("on", false));
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> c.optBoolean("bad", false));
        assertTrue(e.getMessage().contains("field 'bad' must be true or false, found \"yes\""), e.getMessage());
        e = assertThrows(ModelLoadException.class, () -> c.optDouble("bad", 0));
        assertTrue(e.getMessage().contains("field 'bad' must be a number"), e.getMessage());
    }
}
